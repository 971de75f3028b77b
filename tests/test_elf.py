"""elfaudit.readers.elf: the ELF reader, checked against binutils (readelf, nm) as oracles.

Libraries are built at test time with the ``build_lib`` fixture; foreign classes, byte
orders and machines are written by a small ELF writer below (readelf reads any of them).
Hostile input is made by truncating, bit-flipping and patching built libraries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from binutils import View, needs_binutils, nm_defined, readelf_view

from elfaudit.base.errors import ElfReadError
from elfaudit.model.abi import LibraryABI, VersionDef
from elfaudit.readers.elf import is_elf, read_library, read_library_bytes

BuildLib = Callable[..., Path]


# --------------------------------------------------------------------------- sources

RICH_C = r"""
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@V1");
__asm__(".symver foo_v2, foo@@V2");

int base_fn(void) { return 0; }
int table[10] = {1};
char small_obj = 1;
__thread int tls_counter;
__attribute__((weak)) int weak_fn(void) { return 3; }
__attribute__((visibility("protected"))) int prot_fn(void) { return 4; }
static int impl(void) { return 5; }
static void *resolve(void) { return (void *)impl; }
int ifn(void) __attribute__((ifunc("resolve")));
int uniq = 1;
__asm__(".type uniq, @gnu_unique_object");
int diamond(void) { return 6; }
int hidden_helper(void) { return 7; }
"""

RICH_MAP = """
V1 { global: foo; base_fn; table; local: *; };
V2 { global: foo; small_obj; tls_counter; weak_fn; } V1;
V3 { global: prot_fn; ifn; uniq; } V1;
V4 { global: diamond; } V2 V3;
"""

PLAIN_C = r"""
#include <math.h>
#include <stdio.h>
double use_libm(double x) { return cos(x); }
int say(void) { return printf("hi\n"); }
int counter = 3;
"""


@pytest.fixture(scope="module")
def rich_lib(build_lib: BuildLib) -> Path:
    return build_lib(RICH_C, RICH_MAP, soname="librich.so.1")


@pytest.fixture(scope="module")
def plain_lib(build_lib: BuildLib) -> Path:
    """Unversioned, with DT_NEEDED entries and versioned imports from libc/libm."""
    return build_lib(PLAIN_C, None, soname="libplain.so.2", extra=("-Wl,--no-as-needed", "-lm"))


def _try_build(build_lib: BuildLib, *args: Any, **kwargs: Any) -> Path:
    try:
        return build_lib(*args, **kwargs)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"toolchain cannot build this variant: {exc.stderr.strip()[:200]}")


# --------------------------------------------------------------------------- oracles


def view_of(lib: LibraryABI) -> View:
    return View(
        soname=lib.soname,
        needed=list(lib.needed),
        defs=[(v.index, v.name, v.base, v.weak, v.parents) for v in lib.versions],
        needs=[(n.file, n.name, n.index, n.weak) for n in lib.version_needs],
        exports={(s.name, s.version, s.default, s.type, s.binding, s.size) for s in lib.symbols},
        markers=set(lib.markers),
        imports={(i.name, i.version, i.weak) for i in lib.imports},
    )


def assert_matches_binutils(path: Path, lib: LibraryABI) -> None:
    expected = readelf_view(path)
    got = view_of(lib)
    assert got.soname == expected.soname
    assert got.needed == expected.needed
    assert got.defs == expected.defs
    assert got.needs == expected.needs
    assert got.exports - expected.exports == set()
    assert expected.exports - got.exports == set()
    assert got.markers == expected.markers
    assert got.imports == expected.imports
    # The file of every versioned import is the verneed entry declaring that version.
    pairs = {(name, file) for file, name, _, _ in expected.needs}
    for imp in lib.imports:
        if imp.version is not None:
            assert (imp.version, imp.file) in pairs
        else:
            assert imp.file is None
    # nm lists markers without a version, like unversioned symbols.
    mine = {(s.name, s.version, s.default) for s in lib.symbols}
    mine |= {(m, None, True) for m in lib.markers}
    assert mine == nm_defined(path)
    assert len(lib.markers) == len(set(lib.markers))


# --------------------------------------------------------------------------- built libraries


def _node(lib: LibraryABI, name: str) -> VersionDef:
    node = lib.node(name)
    assert node is not None, name
    return node


@needs_binutils
def test_rich_library_matches_binutils(rich_lib: Path) -> None:
    assert_matches_binutils(rich_lib, read_library(rich_lib))


def test_rich_library_facts(rich_lib: Path) -> None:
    lib = read_library(rich_lib)
    assert lib.path == str(rich_lib)
    assert (lib.machine, lib.elf_class, lib.byte_order) == ("x86_64", 64, "little")
    assert lib.soname == "librich.so.1"
    assert lib.sha256 == hashlib.sha256(rich_lib.read_bytes()).hexdigest()
    undigested = read_library(rich_lib, digest=False)
    assert undigested.sha256 is None  # what compare reads: everything else the same
    assert undigested == dataclasses.replace(lib, sha256=None)

    base = [v for v in lib.versions if v.base]
    assert [v.name for v in base] == ["librich.so.1"] and base[0].index == 1
    assert lib.node_names == ("V1", "V2", "V3", "V4")
    assert [v.index for v in lib.versions] == [1, 2, 3, 4, 5]
    assert _node(lib, "V1").parents == ()
    assert _node(lib, "V2").parents == ("V1",)
    assert _node(lib, "V3").parents == ("V1",)
    # Two parents: every verdaux after the first, in file order (ld writes them reversed).
    assert sorted(_node(lib, "V4").parents) == ["V2", "V3"]
    assert sorted(lib.markers) == ["V1", "V2", "V3", "V4"]
    assert not any(s.name in lib.node_names for s in lib.symbols)

    by_label = {s.label: s for s in lib.symbols}
    assert len(by_label) == len(lib.symbols)
    # The same name under two versions: two entries, one hidden, one default.
    foo = sorted((s.version, s.default) for s in lib.symbols if s.name == "foo")
    assert foo == [("V1", False), ("V2", True)]
    assert by_label["foo@V1"].type == "FUNC"
    assert by_label["table@@V1"].type == "OBJECT"
    assert by_label["table@@V1"].size == 40
    assert by_label["small_obj@@V2"].size == 1
    assert by_label["tls_counter@@V2"].type == "TLS"
    assert by_label["tls_counter@@V2"].size == 4
    assert by_label["weak_fn@@V2"].binding == "WEAK"
    assert by_label["prot_fn@@V3"].visibility == "PROTECTED"
    assert by_label["base_fn@@V1"].visibility == "DEFAULT"
    assert by_label["ifn@@V3"].type == "IFUNC"
    assert by_label["uniq@@V3"].binding == "UNIQUE"
    assert by_label["diamond@@V4"].binding == "GLOBAL"
    assert "hidden_helper" not in {s.name for s in lib.symbols}  # local: *


@needs_binutils
def test_unversioned_library_with_needed(plain_lib: Path) -> None:
    lib = read_library(plain_lib)
    assert_matches_binutils(plain_lib, lib)
    assert lib.soname == "libplain.so.2"
    assert lib.needed[:1] == ("libm.so.6",) and "libc.so.6" in lib.needed
    assert not lib.versioned and lib.versions == () and lib.markers == ()
    names = {s.name: s for s in lib.symbols}
    assert {"use_libm", "say", "counter"} <= names.keys()
    assert all(s.version is None and s.default for s in lib.symbols)
    cos = [i for i in lib.imports if i.name == "cos"]
    assert len(cos) == 1 and cos[0].file == "libm.so.6" and cos[0].version is not None
    assert cos[0].version.startswith("GLIBC_")
    finalize = [i for i in lib.imports if i.name == "__cxa_finalize"]
    assert finalize and finalize[0].weak and finalize[0].file == "libc.so.6"
    assert {n.file for n in lib.version_needs} == {"libc.so.6", "libm.so.6"}


@needs_binutils
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(("-Wl,--hash-style=sysv",), id="sysv-hash"),
        pytest.param(("-Wl,--hash-style=both",), id="both-hash"),
        pytest.param(("-fuse-ld=gold",), id="gold"),
        pytest.param(("-m32", "-nostdlib"), id="i386"),
        pytest.param(("-mx32", "-nostdlib"), id="x32"),
    ],
)
def test_variants_match_binutils(build_lib: BuildLib, extra: tuple[str, ...]) -> None:
    path = _try_build(build_lib, RICH_C, RICH_MAP, soname="librich.so.1", extra=extra)
    lib = read_library(path)
    assert_matches_binutils(path, lib)
    if "-m32" in extra:
        assert (lib.machine, lib.elf_class) == ("i386", 32)
    elif "-mx32" in extra:
        assert (lib.machine, lib.elf_class) == ("x86_64", 32)
    assert _strip_section_headers(path.read_bytes()) != path.read_bytes()
    stripped = read_library_bytes(_strip_section_headers(path.read_bytes()), "stripped.so")
    assert _same_abi(stripped, lib)


SYSTEM_LIBS = [
    "libc.so.6",
    "libm.so.6",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "libz.so.1",
    "libcrypto.so.3",
    "libglib-2.0.so.0",
]


@needs_binutils
@pytest.mark.parametrize("name", SYSTEM_LIBS)
def test_system_library_matches_binutils(name: str) -> None:
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"):
        path = Path(d) / name
        if path.exists():
            break
    else:
        pytest.skip(f"{name} is not installed here")
    lib = read_library(path)
    assert_matches_binutils(path, lib)
    # Without section headers, PT_DYNAMIC leads to the same tables.
    stripped = read_library_bytes(_strip_section_headers(path.read_bytes()), name)
    assert _same_abi(stripped, lib)


def test_non_utf8_name_is_backslash_escaped(rich_lib: Path) -> None:
    data = bytearray(rich_lib.read_bytes())
    dynstr = _sections(bytes(data))[".dynstr"]
    at = data.index(b"\0diamond\0", dynstr.offset, dynstr.offset + dynstr.size) + 1
    data[at + 2] = 0xFF  # "di\xffmond"
    lib = read_library_bytes(bytes(data), "bad-utf8.so")
    names = {s.name for s in lib.symbols}
    assert "di\\xffmond" in names and "diamond" not in names


def test_is_elf(rich_lib: Path) -> None:
    assert is_elf(rich_lib.read_bytes()[:4])
    assert is_elf(rich_lib.read_bytes())
    assert not is_elf(b"\x7fEL")
    assert not is_elf(b"")
    assert not is_elf(b"!<arch>\n")


def test_accepts_pathlike_and_str(rich_lib: Path) -> None:
    a = read_library(rich_lib)
    b = read_library(str(rich_lib))
    c = read_library_bytes(rich_lib.read_bytes(), str(rich_lib))
    assert a == b == c


# --------------------------------------------------------------------------- foreign ELF files

EM = {"ppc64": 21, "s390": 22, "ppc": 20, "arm": 40, "aarch64": 183, "riscv": 243, "m68k": 4}


@dataclass
class Sym:
    name: str
    versym: int  # raw .gnu.version value (0x8000 = hidden)
    type: int  # STT_*
    bind: int  # STB_*
    where: str = "def"  # def, und, abs
    size: int = 0
    value: int = 0x100
    vis: int = 0


# (index, flags, [name, parents...]); flags: 1 BASE, 2 WEAK
SYNTH_DEFS = [(1, 1, ["libsynth.so.3"]), (2, 0, ["S_1.0"]), (3, 2, ["S_2.0", "S_1.0"])]
SYNTH_NEEDS = [("libc.so.6", [("GLIBC_2.17", 4, 0), ("GLIBC_2.34", 5, 2)])]
SYNTH_SYMS = [
    Sym("old_fn", 0x8002, 2, 1, size=16),
    Sym("old_fn", 3, 2, 1, size=24),
    Sym("a_table", 2, 1, 1, size=1234567),
    Sym("a_weak", 3, 2, 2, size=8, vis=3),
    Sym("a_tls", 3, 6, 1, size=4),
    Sym("an_ifunc", 3, 10, 1, size=12),
    Sym("unversioned", 1, 2, 1, size=4),
    Sym("S_1.0", 2, 1, 1, where="abs", value=0),
    Sym("S_2.0", 3, 1, 1, where="abs", value=0),
    Sym("malloc", 4, 2, 1, where="und", value=0),
    Sym("optional", 5, 2, 2, where="und", value=0),
    Sym("plain_import", 1, 0, 1, where="und", value=0),
]


def synth_elf(bits: int, endian: str, machine: int, *, strip: bool = False) -> bytes:
    """A minimal shared object with dynamic symbols, versions and needs, in any layout."""
    e = "<" if endian == "little" else ">"
    addr = "Q" if bits == 64 else "I"
    strings = bytearray(b"\0")
    offsets: dict[str, int] = {}

    def s(text: str) -> int:
        if text not in offsets:
            offsets[text] = len(strings)
            strings.extend(text.encode() + b"\0")
        return offsets[text]

    for text in ["libsynth.so.3", "libc.so.6", "libm.so.6"]:
        s(text)
    text_index = 8  # .text, see the section list below
    sym_size = 24 if bits == 64 else 16
    dynsym = bytearray(sym_size)
    for sym in SYNTH_SYMS:
        shndx = {"def": text_index, "und": 0, "abs": 0xFFF1}[sym.where]
        info = (sym.bind << 4) | sym.type
        if bits == 64:
            dynsym += struct.pack(
                e + "IBBHQQ", s(sym.name), info, sym.vis, shndx, sym.value, sym.size
            )
        else:
            dynsym += struct.pack(
                e + "IIIBBH", s(sym.name), sym.value, sym.size, info, sym.vis, shndx
            )
    nsyms = len(SYNTH_SYMS) + 1
    versym = struct.pack(f"{e}{nsyms}H", 0, *(sym.versym for sym in SYNTH_SYMS))
    verdef = bytearray()
    for k, (index, flags, names) in enumerate(SYNTH_DEFS):
        step = 0 if k == len(SYNTH_DEFS) - 1 else 20 + 8 * len(names)
        verdef += struct.pack(e + "HHHHIII", 1, flags, index, len(names), 0, 20, step)
        for j, name in enumerate(names):
            verdef += struct.pack(e + "II", s(name), 0 if j == len(names) - 1 else 8)
    verneed = bytearray()
    for k, (file, auxes) in enumerate(SYNTH_NEEDS):
        step = 0 if k == len(SYNTH_NEEDS) - 1 else 16 + 16 * len(auxes)
        verneed += struct.pack(e + "HHIII", 1, len(auxes), s(file), 16, step)
        for j, (name, index, flags) in enumerate(auxes):
            last = j == len(auxes) - 1
            verneed += struct.pack(e + "IHHII", 0, flags, index, s(name), 0 if last else 16)
    hashtab = struct.pack(f"{e}II", 1, nsyms) + struct.pack(f"{e}{1 + nsyms}I", *[0] * (1 + nsyms))

    ehsize, phsize, shsize = (64, 56, 64) if bits == 64 else (52, 32, 40)
    dyn_size = 16 if bits == 64 else 8
    # Layout: header, 2 program headers, then the sections in this order, 8-aligned.
    order = [
        ".dynsym",
        ".dynstr",
        ".gnu.version",
        ".gnu.version_d",
        ".gnu.version_r",
        ".hash",
        ".dynamic",
        ".text",
    ]
    ndyn = 14
    contents = {
        ".dynsym": bytes(dynsym),
        ".dynstr": bytes(strings),  # complete: every name was added above
        ".gnu.version": versym,
        ".gnu.version_d": bytes(verdef),
        ".gnu.version_r": bytes(verneed),
        ".hash": hashtab,
        ".dynamic": b"\0" * (dyn_size * ndyn),
        ".text": b"\0" * 32,
    }
    pos = ehsize + 2 * phsize
    where: dict[str, int] = {}
    for name in order:
        pos = (pos + 7) & ~7
        where[name] = pos
        pos += len(contents[name])
    dyn = [
        (1, offsets["libc.so.6"]),  # DT_NEEDED
        (1, offsets["libm.so.6"]),
        (14, offsets["libsynth.so.3"]),  # DT_SONAME
        (4, where[".hash"]),
        (5, where[".dynstr"]),
        (6, where[".dynsym"]),
        (10, len(strings)),
        (11, sym_size),
        (0x6FFFFFF0, where[".gnu.version"]),
        (0x6FFFFFFC, where[".gnu.version_d"]),
        (0x6FFFFFFD, len(SYNTH_DEFS)),
        (0x6FFFFFFE, where[".gnu.version_r"]),
        (0x6FFFFFFF, len(SYNTH_NEEDS)),
        (0, 0),
    ]
    assert len(dyn) == ndyn
    contents[".dynamic"] = b"".join(
        struct.pack(e + ("qQ" if bits == 64 else "iI"), t, v) for t, v in dyn
    )
    shstr = bytearray(b"\0")
    shname = {}
    for name in [*order, ".shstrtab"]:
        shname[name] = len(shstr)
        shstr += name.encode() + b"\0"
    pos = (pos + 7) & ~7
    where[".shstrtab"] = pos
    contents[".shstrtab"] = bytes(shstr)
    pos += len(shstr)
    shoff = (pos + 7) & ~7
    load_size = where[".shstrtab"]

    image = bytearray(shoff)
    for name, offset in where.items():
        image[offset : offset + len(contents[name])] = contents[name]
    secidx = {name: i + 1 for i, name in enumerate(order)}
    secidx[".shstrtab"] = len(order) + 1
    assert secidx[".text"] == text_index
    # (type, link, info, entsize, flags)
    kinds = {
        ".dynsym": (11, secidx[".dynstr"], 1, sym_size, 2),
        ".dynstr": (3, 0, 0, 0, 2),
        ".gnu.version": (0x6FFFFFFF, secidx[".dynsym"], 0, 2, 2),
        ".gnu.version_d": (0x6FFFFFFD, secidx[".dynstr"], len(SYNTH_DEFS), 0, 2),
        ".gnu.version_r": (0x6FFFFFFE, secidx[".dynstr"], len(SYNTH_NEEDS), 0, 2),
        ".hash": (5, secidx[".dynsym"], 0, 4, 2),
        ".dynamic": (6, secidx[".dynstr"], 0, dyn_size, 3),
        ".text": (1, 0, 0, 0, 6),
        ".shstrtab": (3, 0, 0, 0, 0),
    }
    shdrs = bytearray(shsize)  # null section
    for name in [*order, ".shstrtab"]:
        kind, link, info, entsize, flags = kinds[name]
        fields = (
            shname[name],
            kind,
            flags,
            where[name],
            where[name],
            len(contents[name]),
            link,
            info,
            8,
            entsize,
        )
        if bits == 64:
            shdrs += struct.pack(e + "IIQQQQIIQQ", *fields)
        else:
            shdrs += struct.pack(e + "IIIIIIIIII", *fields)
    nsec = len(order) + 2
    if not strip:
        image += shdrs

    # EI_OSABI 3 (GNU): readelf names type 10 IFUNC only there, as ld marks such files.
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if endian == "little" else 2, 1, 3])
    ident += b"\0" * (16 - len(ident))
    header = ident + struct.pack(
        e + "HHI" + addr * 3 + "IHHHHHH",
        3,  # ET_DYN
        machine,
        1,
        0,
        ehsize,
        0 if strip else shoff,
        0,
        ehsize,
        phsize,
        2,
        shsize,
        0 if strip else nsec,
        0 if strip else secidx[".shstrtab"],
    )
    image[: len(header)] = header
    loads = (1, 0, 0, 0, load_size, load_size, 5, 0x1000)  # type, off, vaddr, paddr, ...
    dynseg = (
        2,
        where[".dynamic"],
        where[".dynamic"],
        where[".dynamic"],
        len(contents[".dynamic"]),
        len(contents[".dynamic"]),
        6,
        8,
    )
    for k, (ptype, off, vaddr, paddr, filesz, memsz, flags, align) in enumerate([loads, dynseg]):
        at = ehsize + k * phsize
        if bits == 64:
            ph = struct.pack(e + "IIQQQQQQ", ptype, flags, off, vaddr, paddr, filesz, memsz, align)
        else:
            ph = struct.pack(e + "IIIIIIII", ptype, off, vaddr, paddr, filesz, memsz, flags, align)
        image[at : at + phsize] = ph
    return bytes(image)


FOREIGN = [
    (64, "big", "ppc64"),
    (64, "big", "s390"),
    (32, "big", "ppc"),
    (32, "big", "m68k"),
    (32, "little", "arm"),
    (64, "little", "aarch64"),
    (64, "little", "riscv"),
]


@pytest.mark.parametrize(("bits", "endian", "machine"), FOREIGN)
def test_foreign_layouts(bits: int, endian: str, machine: str, tmp_path: Path) -> None:
    data = synth_elf(bits, endian, EM[machine])
    lib = read_library_bytes(data, "libsynth.so.3")
    assert (lib.machine, lib.elf_class, lib.byte_order) == (machine, bits, endian)
    # Expected from the writer's own tables (not from the reader).
    assert lib.soname == "libsynth.so.3"
    assert lib.needed == ("libc.so.6", "libm.so.6")
    assert [(v.index, v.name, v.base, v.weak, v.parents) for v in lib.versions] == [
        (i, names[0], bool(f & 1), bool(f & 2), tuple(names[1:])) for i, f, names in SYNTH_DEFS
    ]
    assert [(n.file, n.name, n.index, n.weak) for n in lib.version_needs] == [
        (file, name, i, bool(f & 2)) for file, auxes in SYNTH_NEEDS for name, i, f in auxes
    ]
    assert lib.markers == ("S_1.0", "S_2.0")
    labels = [(s.label, s.type, s.binding, s.visibility, s.size) for s in lib.symbols]
    assert labels == [
        ("old_fn@S_1.0", "FUNC", "GLOBAL", "DEFAULT", 16),
        ("old_fn@@S_2.0", "FUNC", "GLOBAL", "DEFAULT", 24),
        ("a_table@@S_1.0", "OBJECT", "GLOBAL", "DEFAULT", 1234567),
        ("a_weak@@S_2.0", "FUNC", "WEAK", "PROTECTED", 8),
        ("a_tls@@S_2.0", "TLS", "GLOBAL", "DEFAULT", 4),
        ("an_ifunc@@S_2.0", "IFUNC", "GLOBAL", "DEFAULT", 12),
        ("unversioned", "FUNC", "GLOBAL", "DEFAULT", 4),
    ]
    assert [(i.name, i.version, i.file, i.weak) for i in lib.imports] == [
        ("malloc", "GLIBC_2.17", "libc.so.6", False),
        ("optional", "GLIBC_2.34", "libc.so.6", True),
        ("plain_import", None, None, False),
    ]
    # Section headers gone: the same through PT_DYNAMIC and DT_HASH.
    stripped = read_library_bytes(synth_elf(bits, endian, EM[machine], strip=True), "s")
    assert _same_abi(stripped, lib)
    if shutil.which("readelf") and shutil.which("nm"):
        path = tmp_path / "libsynth.so.3"
        path.write_bytes(data)
        assert_matches_binutils(path, read_library(path))


# --------------------------------------------------------------------------- hostile input


@dataclass
class Sec:
    index: int
    header: int  # file offset of the section header
    offset: int
    size: int


def _sections(data: bytes) -> dict[str, Sec]:
    """Section table of an ELF64 little-endian file (the libraries built here)."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    rows = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = rows[shstrndx][4]
    out = {}
    for i, row in enumerate(rows):
        end = data.index(b"\0", strtab + row[0])
        out[data[strtab + row[0] : end].decode()] = Sec(i, shoff + i * shentsize, row[4], row[5])
    return out


def _strip_section_headers(data: bytes) -> bytes:
    """Zero e_shoff, e_shnum and e_shstrndx (any class/byte order): like sstrip."""
    out = bytearray(data)
    e = "<" if data[5] == 1 else ">"
    if data[4] == 2:
        struct.pack_into(e + "Q", out, 0x28, 0)
        struct.pack_into(e + "HH", out, 0x3C, 0, 0)
    else:
        struct.pack_into(e + "I", out, 0x20, 0)
        struct.pack_into(e + "HH", out, 0x30, 0, 0)
    return bytes(out)


def _same_abi(a: LibraryABI, b: LibraryABI) -> bool:
    return (
        a.soname,
        a.needed,
        a.machine,
        a.elf_class,
        a.byte_order,
        a.versions,
        a.symbols,
        a.markers,
        a.version_needs,
        a.imports,
    ) == (
        b.soname,
        b.needed,
        b.machine,
        b.elf_class,
        b.byte_order,
        b.versions,
        b.symbols,
        b.markers,
        b.version_needs,
        b.imports,
    )


def _read_or_reject(data: bytes, path: str = "hostile.so") -> LibraryABI | None:
    """Reading returns a library or raises ElfReadError: one line, naming the file."""
    try:
        return read_library_bytes(data, path)
    except ElfReadError as exc:
        assert exc.path == path
        assert str(exc).startswith(f"{path}: ")
        assert "\n" not in str(exc)
        assert not exc.reason.startswith("internal error"), exc.reason
        return None


def _patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, offset, *values)
    return bytes(out)


def _expect_reject(data: bytes, *needles: str) -> str:
    with pytest.raises(ElfReadError) as info:
        read_library_bytes(data, "crafted.so")
    reason = info.value.reason
    assert info.value.path == "crafted.so"
    assert not reason.startswith("internal error"), reason
    assert any(n in reason for n in needles), reason
    return reason


# Section header field offsets (ELF64).
SH_TYPE, SH_OFFSET, SH_SIZE, SH_LINK, SH_INFO, SH_ENTSIZE = 4, 24, 32, 40, 44, 56


def test_truncated_at_many_offsets(rich_lib: Path) -> None:
    data = rich_lib.read_bytes()
    stripped = _strip_section_headers(data)
    for cut in [*range(0, len(data), 97), len(data) - 1]:
        # The section header table is at the end: every cut loses part of it.
        with pytest.raises(ElfReadError) as info:
            read_library_bytes(data[:cut], "cut.so")
        assert not info.value.reason.startswith("internal error"), info.value.reason
        # Without section headers a cut may only remove what the reader does not need.
        _read_or_reject(stripped[:cut])


def _interesting(data: bytes) -> list[range]:
    secs = _sections(data)
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    out = [range(0, 64), range(phoff, phoff + 56 * 12), range(shoff, len(data))]
    tables = [".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".gnu.version_r"]
    tables += [".dynamic", ".gnu.hash"]
    out.extend(range(secs[n].offset, secs[n].offset + secs[n].size) for n in tables if n in secs)
    return out


@pytest.mark.parametrize("strip", [False, True], ids=["sections", "no-sections"])
def test_bit_flips(rich_lib: Path, strip: bool) -> None:
    original = rich_lib.read_bytes()
    regions = _interesting(original)
    data = _strip_section_headers(original) if strip else original
    rng = random.Random(20260501 + strip)
    outcomes = {"read": 0, "rejected": 0}
    for _ in range(1200):
        region = rng.choice(regions)
        out = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 3))):
            pos = rng.choice(region)
            out[pos] ^= 1 << rng.randrange(8)
        result = _read_or_reject(bytes(out))
        outcomes["read" if result else "rejected"] += 1
    for _ in range(300):  # whole words overwritten: huge counts, offsets, sizes
        region = rng.choice(regions)
        pos = rng.choice(region)
        out = bytearray(data)
        out[pos : pos + 4] = rng.choice(
            [b"\xff\xff\xff\xff", b"\0\0\0\0", b"\xff\xff\xff\x7f", rng.randbytes(4)]
        )
        result = _read_or_reject(bytes(out[: len(data)]))
        outcomes["read" if result else "rejected"] += 1
    assert outcomes["read"] and outcomes["rejected"]


def test_verdef_chain_loops_to_itself(rich_lib: Path) -> None:
    data = rich_lib.read_bytes()
    vd = _sections(data)[".gnu.version_d"]
    _expect_reject(_patch(data, vd.offset + 16, "I", 0), "entry chain loops")
    # Pointing to itself and claiming billions of entries.
    looped = _patch(_patch(data, vd.offset + 16, "I", 0), vd.header + SH_INFO, "I", 0xFFFFFFFF)
    _expect_reject(looped, "claims 4294967295 entries")
    _expect_reject(_patch(data, vd.offset + 6, "H", 0xFFFF), "verdaux")
    # The aux chain of the last (multi-parent) entry loops.
    ends = [vd.offset + i for i in range(0, vd.size, 4)]
    for at in ends:
        if (
            struct.unpack_from("<HH", data, at)[0] == 1
            and struct.unpack_from("<H", data, at + 6)[0] == 3
        ):
            _expect_reject(_patch(data, at + 20 + 4, "I", 0), "loops")
            break
    else:
        pytest.fail("no verdef entry with three verdaux entries")


def test_verneed_chain_claims_too_much(plain_lib: Path) -> None:
    data = plain_lib.read_bytes()
    vn = _sections(data)[".gnu.version_r"]
    _expect_reject(_patch(data, vn.header + SH_INFO, "I", 1_000_000_000), "claims")
    _expect_reject(_patch(data, vn.offset + 2, "H", 0xFFFF), "vernaux")
    # vn_next of the first entry pointing to itself (the library needs libc and libm).
    _expect_reject(_patch(data, vn.offset + 12, "I", 0), "entry chain loops")
    _expect_reject(_patch(data, vn.offset + 4, "I", 0xFFFFFF), "string offset")


def test_section_header_corruptions(rich_lib: Path) -> None:
    data = rich_lib.read_bytes()
    secs = _sections(data)
    ds = secs[".dynsym"]
    _expect_reject(
        _patch(data, ds.header + SH_OFFSET, "Q", 1 << 40),
        "truncated: section .dynsym extends past end of file",
    )
    _expect_reject(_patch(data, ds.header + SH_SIZE, "Q", len(data)), "truncated")
    _expect_reject(_patch(data, ds.header + SH_ENTSIZE, "Q", 0), "sh_entsize is 0")
    _expect_reject(_patch(data, ds.header + SH_ENTSIZE, "Q", 1 << 40), "sh_entsize")
    _expect_reject(_patch(data, ds.header + SH_LINK, "I", ds.index), "not a string table")
    _expect_reject(_patch(data, ds.header + SH_LINK, "I", 9999), "not a string table")
    vs = secs[".gnu.version"]
    _expect_reject(_patch(data, vs.header + SH_SIZE, "Q", 4), "entries for")
    _expect_reject(_patch(data, vs.header + SH_ENTSIZE, "Q", 0), "sh_entsize")
    _expect_reject(_patch(data, 0x28, "Q", len(data) + 8), "section header table")
    _expect_reject(_patch(data, 0x28, "Q", 1 << 62), "section header table")
    _expect_reject(_patch(data, 0x3A, "H", 8), "e_shentsize")
    # e_shnum 0: the count comes from section 0's sh_size; claim far too many.
    big = _patch(
        _patch(data, 0x3C, "H", 0), struct.unpack_from("<Q", data, 0x28)[0] + SH_SIZE, "Q", 1 << 40
    )
    _expect_reject(big, "section header table")


def test_table_content_corruptions(rich_lib: Path) -> None:
    data = rich_lib.read_bytes()
    secs = _sections(data)
    ds, dstr, vs = secs[".dynsym"], secs[".dynstr"], secs[".gnu.version"]
    last = ds.offset + ds.size - 24  # the last symbol is never local
    _expect_reject(_patch(data, last, "I", 0xFFFFFFF0), "string offset", "past the end")
    # An unterminated string at the end of .dynstr.
    unterminated = _patch(
        _patch(data, last, "I", dstr.size - 1), dstr.offset + dstr.size - 1, "B", 0x41
    )
    _expect_reject(unterminated, "not NUL-terminated")
    nsyms = ds.size // 24
    _expect_reject(_patch(data, vs.offset + 2 * (nsyms - 1), "H", 0x7777), "version index")
    vd = secs[".gnu.version_d"]
    _expect_reject(_patch(data, vd.offset, "H", 7), "unsupported version")


def test_no_dynamic_symbol_table(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "t.c"
    src.write_text("int f(void) { return 1; }\n")
    obj = tmp_path / "t.o"
    subprocess.run(["gcc", "-c", "-o", str(obj), str(src)], check=True)
    with pytest.raises(ElfReadError, match="no dynamic symbol table") as info:
        read_library(obj)
    assert str(obj) in str(info.value)


def test_not_elf_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    with pytest.raises(ElfReadError, match="empty file") as info:
        read_library(empty)
    assert str(empty) in info.value.message

    rng = random.Random(7)
    for n in (1, 3, 4, 15, 16, 63, 64, 65, 1000, 100_000):
        blob = rng.randbytes(n)
        with pytest.raises(ElfReadError, match=r"not an ELF file|empty file"):
            read_library_bytes(blob if not blob.startswith(b"\x7fELF") else b"x" + blob, "r")
        # With the magic in front: rejected or read, never anything else.
        _read_or_reject(b"\x7fELF" + blob)
        _read_or_reject(b"\x7fELF\x02\x01\x01" + blob)
        _read_or_reject(b"\x7fELF\x01\x02\x01" + blob)

    text = tmp_path / "script.so"
    text.write_text("/* GNU ld script */\nGROUP ( libc.so.6 )\n")
    with pytest.raises(ElfReadError, match="not an ELF file"):
        read_library(text)

    with pytest.raises(ElfReadError, match="directory") as info:
        read_library(tmp_path)
    assert str(tmp_path) in info.value.message

    missing = tmp_path / "nope.so"
    with pytest.raises(ElfReadError, match="no such file") as info:
        read_library(missing)
    assert str(missing) in info.value.message

    fifo = tmp_path / "fifo.so"
    os.mkfifo(fifo)
    with pytest.raises(ElfReadError, match="not a regular file"):
        read_library(fifo)  # must not block waiting for a writer


def test_header_only_files() -> None:
    for bits, endian in ((32, "little"), (64, "big")):
        data = synth_elf(bits, endian, 62)
        for cut in range(0, 80):
            _read_or_reject(data[:cut])
        bad_class = bytearray(data)
        bad_class[4] = 3
        _expect_reject(bytes(bad_class), "ELF class")
        bad_data = bytearray(data)
        bad_data[5] = 0
        _expect_reject(bytes(bad_data), "data encoding")


def _run_python(*lines: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


def test_importing_elf_leaves_no_stand_in_modules() -> None:
    """pdb and traceback (imported by pyelftools' construct, never used by elfaudit) are
    not loaded by ``import elfaudit.readers.elf``, and nothing stands in for them afterwards: the
    import system finds and loads the real modules as usual."""
    _run_python(
        "import importlib.util, sys, types",
        "import elfaudit.readers.elf",
        "assert not {'pdb', 'traceback', 'bdb', 'cmd'} & set(sys.modules), sorted(sys.modules)",
        "odd = [n for n, m in sys.modules.items() if type(m) is elfaudit.readers.elf._Deferred]",
        "assert not odd, odd",
        "spec = importlib.util.find_spec('pdb')",
        "assert spec is not None and spec.name == 'pdb' and spec.origin.endswith('pdb.py')",
        "import pdb",
        "assert type(pdb) is types.ModuleType and pdb.__spec__.origin == spec.origin",
        "assert pdb.Pdb.__module__ == 'pdb' and 'bdb' in sys.modules",
        "print('ok')",
    )


def test_pyelftools_debugger_globals_load_the_real_modules_on_first_use() -> None:
    """What is left of the stand-ins lives only in ``elftools.construct.debug``'s globals;
    its first use imports the real module, the very one ``import`` gives everyone else."""
    _run_python(
        "import sys",
        "import elfaudit.readers.elf",
        "from elftools.construct import debug",
        "assert type(debug.pdb) is elfaudit.readers.elf._Deferred",
        "try:",
        "    raise ValueError('boom')",
        "except ValueError:",
        "    text = ''.join(debug.traceback.format_exception(*sys.exc_info()))",
        "assert 'ValueError: boom' in text, text",
        "import traceback",
        "assert debug.traceback.format_exception is traceback.format_exception",
        "assert sys.modules['traceback'] is traceback",
        "assert debug.pdb.post_mortem is sys.modules['pdb'].post_mortem",
        "print('ok')",
    )


def test_a_debugger_module_loaded_before_elf_stays_the_real_one() -> None:
    _run_python(
        "import sys, traceback",
        "import elfaudit.readers.elf",
        "from elftools.construct import debug",
        "assert debug.traceback is traceback and sys.modules['traceback'] is traceback",
        "assert type(debug.pdb) is elfaudit.readers.elf._Deferred and 'pdb' not in sys.modules",
        "print('ok')",
    )

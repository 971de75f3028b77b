"""elfaudit.readers.elf_image: the loaded view of an ELF file, checked against binutils.

gcc builds tiny PIC libraries and executables holding pointer tables; ``readelf -rW`` says
which slots are relocated and with what, ``objdump -s`` what the bytes are. Foreign byte
orders, classes and machines are checked on small files built here byte by byte
(:func:`synth`), as are the corrupt inputs.
"""

from __future__ import annotations

import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from elfaudit.base.errors import ElfReadError
from elfaudit.readers.elf_image import Image

needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("readelf") is None,
    reason="gcc or binutils are not installed",
)

SOURCE = r"""
static const char *tab[] = {"alpha", "beta", "gamma"};
const char *pub[] = {"one", "two"};
extern int ext_var;
int *pext = &ext_var;
static int counter = 7;
int *pcounter = &counter;
struct entry { const char *name; int *id; long flags; };
static int id1, id2;
struct entry entries[] = {{"e.one", &id1, 3}, {"e.two", &id2, 5}};
const char **get(void) { return tab; }
int use(void) { return counter + id1 + id2; }
"""

EXE = r"""
static const char *tab[] = {"x", "yy"};
const char **p = tab;
int main(void) { return tab[0][0] + (p != 0); }
"""


def _build(tmp: Path, name: str, source: str, *flags: str) -> Path | None:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / name
    done = subprocess.run(
        ["gcc", "-O0", "-o", str(out), str(src), *flags],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return out if done.returncode == 0 else None


def _readelf_relocs(path: Path) -> dict[int, tuple[str, str, int | None]]:
    """offset -> (type, symbol, addend) from ``readelf -rW`` (REL tables: addend None)."""
    text = subprocess.run(
        ["readelf", "-rW", str(path)], capture_output=True, text=True, check=True
    ).stdout
    out: dict[int, tuple[str, str, int | None]] = {}
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]{8,16})\s+[0-9a-f]+\s+(R_\S+)\s*(.*)$", line)
        if not m:
            continue
        rest = m.group(3).split()
        addend: int | None = None
        sym = ""
        if "+" in rest:  # value name + addend
            sym = rest[1].split("@")[0]
            addend = int(rest[-1], 16)
        elif len(rest) == 1:  # RELATIVE with an addend only (RELA)
            addend = int(rest[0], 16)
        elif len(rest) >= 2:
            sym = rest[1].split("@")[0]
        out[int(m.group(1), 16)] = (m.group(2), sym, addend)
    return out


def _objdump_bytes(path: Path, section: str) -> dict[int, bytes]:
    """address -> bytes of each line of ``objdump -s -j section``."""
    text = subprocess.run(
        ["objdump", "-s", "-j", section, str(path)], capture_output=True, text=True, check=True
    ).stdout
    out: dict[int, bytes] = {}
    for line in text.splitlines():
        m = re.match(r"^ ([0-9a-f]+) ((?:[0-9a-f]{2,8} ){1,4})", line)
        if m:
            out[int(m.group(1), 16)] = bytes.fromhex(m.group(2).replace(" ", ""))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    tmp = tmp_path_factory.mktemp("elfimage")
    out: dict[str, Path] = {}
    variants = {
        "lib64.so": (SOURCE, "-shared", "-fPIC"),
        "relr64.so": (SOURCE, "-shared", "-fPIC", "-Wl,-z,pack-relative-relocs"),
        "lib32.so": (SOURCE, "-m32", "-shared", "-fPIC", "-nostdlib"),
        "pie": (EXE, "-fPIE", "-pie"),
        "nopie": (EXE, "-fno-PIE", "-no-pie"),
        "stripped.so": (SOURCE, "-shared", "-fPIC", "-s"),
    }
    for name, (src, *flags) in variants.items():
        path = _build(tmp, name, src, *flags)
        if path is not None:
            out[name] = path
    assert "lib64.so" in out
    return out


def _image(path: Path) -> Image:
    return Image.from_bytes(path.read_bytes(), str(path))


def _symbol_value(path: Path, name: str) -> int:
    text = subprocess.run(
        ["readelf", "-sW", str(path)], capture_output=True, text=True, check=True
    ).stdout
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7].split("@")[0] == name and f[6] != "UND":
            return int(f[1], 16)
    raise AssertionError(f"{name} not in readelf -s of {path}")


@needs_gcc
@pytest.mark.parametrize("name", ["lib64.so", "lib32.so", "relr64.so", "pie"])
def test_relocated_tables_match_readelf(built: dict[str, Path], name: str) -> None:
    if name not in built:
        pytest.skip(f"gcc could not build {name} here (no -m32 or -z pack-relative-relocs)")
    path = built[name]
    im = _image(path)
    relocs = _readelf_relocs(path)
    slots = set(im.reloc_slots())
    assert list(im.reloc_slots()) == sorted(slots)
    # every RELA/REL slot readelf lists is one of ours (RELR entries are not listed per slot)
    assert set(relocs) <= slots
    for off, (rtype, sym, addend) in relocs.items():
        assert im.relocated(off)
        if rtype.endswith("_RELATIVE"):
            want = addend if addend is not None else im.word(off, im.pointer_size)
            assert im.pointer(off) == want, (hex(off), rtype)
        elif sym and im.symbol(sym) is None:  # undefined: 0 + addend
            assert im.pointer(off) == (addend or 0)
            assert im.target(off) == sym


@needs_gcc
@pytest.mark.parametrize("name", ["lib64.so", "lib32.so", "relr64.so", "stripped.so"])
def test_pointer_tables_read_back(built: dict[str, Path], name: str) -> None:
    if name not in built:
        pytest.skip(f"gcc could not build {name} here")
    im = _image(built[name])
    psize = im.pointer_size
    pub = im.symbol("pub")
    assert pub is not None
    assert [im.cstring(im.pointer(pub + i * psize)) for i in range(2)] == ["one", "two"]
    entries = im.symbol("entries")
    assert entries is not None
    stride = 3 * psize  # name, id, long flags
    names = [im.cstring(im.pointer(entries + i * stride)) for i in range(2)]
    assert names == ["e.one", "e.two"]
    assert [im.word(entries + i * stride + 2 * psize, psize) for i in range(2)] == [3, 5]
    ids = [im.pointer(entries + i * stride + psize) for i in range(2)]
    assert ids[0] != ids[1] and all(not im.executable(i) for i in ids)
    assert all(im.relocated(entries + i * stride) for i in range(2))
    assert not im.relocated(entries + 2 * psize)  # the flags word
    get = im.symbol("get")
    assert get is not None and im.executable(get)
    counter = im.pointer(im.symbol("pcounter") or 0)
    assert im.word(counter, 4) == 7
    ext = im.symbol("pext")
    assert ext is not None and im.relocated(ext) and im.target(ext) == "ext_var"
    assert im.pointer(ext) == 0
    if name == "stripped.so":
        assert ".symtab" not in im.sections()


@needs_gcc
def test_read_matches_objdump(built: dict[str, Path]) -> None:
    for name in ("lib64.so", "lib32.so", "pie"):
        if name not in built:
            continue
        path = built[name]
        im = _image(path)
        secs = im.sections()
        assert {".data", ".rodata", ".dynamic", ".text"} <= set(secs)
        for sec in (".data", ".rodata", ".text"):
            lines = _objdump_bytes(path, sec)
            assert lines
            for addr, raw in lines.items():
                assert im.read(addr, len(raw)) == raw, (name, sec, hex(addr))
        bss_addr, bss_size = secs[".bss"]
        assert im.read(bss_addr, bss_size) == bytes(bss_size)
        assert im.cstring(bss_addr) == ""


@needs_gcc
def test_pie_and_non_pie_executables(built: dict[str, Path]) -> None:
    for name, pie in (("pie", True), ("nopie", False)):
        if name not in built:
            pytest.skip(f"gcc could not build {name}")
        path = built[name]
        im = _image(path)
        assert im.e_type == (3 if pie else 2)
        p = im.symbol("p")
        assert p is not None
        assert im.relocated(p) == pie
        tab = im.pointer(p)
        assert tab == _symbol_value(path, "tab")
        assert [im.cstring(im.pointer(tab + i * 8)) for i in range(2)] == ["x", "yy"]


def test_unmapped_reads_fail_in_one_line(built: dict[str, Path]) -> None:
    im = _image(built["lib64.so"])
    with pytest.raises(ElfReadError) as exc:
        im.read(1 << 40, 8)
    assert str(exc.value).startswith(f"{built['lib64.so']}: ") and "\n" not in str(exc.value)
    assert im.cstring(1 << 40) is None
    assert not im.executable(1 << 40)
    assert im.symbol("no_such_symbol") is None
    rodata = im.sections()[".rodata"][0]
    assert im.cstring(rodata, limit=0) is None


# --------------------------------------------------------------------------- synthetic files

EM = {"x86_64": 62, "i386": 3, "s390x": 22, "ppc64": 21, "aarch64": 183, "mips": 8, "arm": 40}
RELATIVE = {62: 8, 3: 8, 22: 12, 21: 22, 183: 1027, 40: 23}
ABSOLUTE = {62: 1, 3: 1, 22: 22, 21: 38, 183: 257, 8: 18, 40: 2}


def synth(
    bits: int,
    endian: str,
    machine: int,
    relocs: list[tuple[int, int, int, int]],
    *,
    rela: bool = True,
    stored: dict[int, int] | None = None,
    symbols: tuple[tuple[str, int], ...] = (("target", 0x1100),),
    mips64: bool = False,
) -> bytes:
    """One PT_LOAD (vaddr 0 = file offset 0, 0x2000 bytes, 0x1000 more of zeros) and a
    PT_DYNAMIC with a symbol table and one REL/RELA table; ``relocs``: (offset, sym, type,
    addend); ``stored``: words to write at addresses."""
    e = endian
    size = 0x2000
    img = bytearray(size)
    ehsize, phsize = (64, 56) if bits == 64 else (52, 32)
    # string table, symbols
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n, _ in symbols)
    str_at, sym_at, rel_at, dyn_at = 0x200, 0x300, 0x400, 0x800
    img[str_at : str_at + len(strtab)] = strtab
    syms = bytearray(24 if bits == 64 else 16)
    name_off = 1
    for n, value in symbols:
        if bits == 64:
            syms += struct.pack(e + "IBBHQQ", name_off, 0x11, 0, 5, value, 8)
        else:
            syms += struct.pack(e + "IIIBBH", name_off, value, 4, 0x11, 0, 5)
        name_off += len(n) + 1
    img[sym_at : sym_at + len(syms)] = syms
    table = bytearray()
    for off, sym, rtype, addend in relocs:
        if mips64:
            table += struct.pack(e + "QIBBBB", off, sym, 0, 0, 18, rtype)
            if rela:
                table += struct.pack(e + "q", addend)
        elif bits == 64:
            table += struct.pack(e + ("QQq" if rela else "QQ"), off, (sym << 32) | rtype, addend)[
                : 24 if rela else 16
            ]
        else:
            info = (sym << 8) | rtype
            table += struct.pack(
                e + ("IIi" if rela else "II"), off, info, *([addend] if rela else [])
            )
    img[rel_at : rel_at + len(table)] = table
    w = "Q" if bits == 64 else "I"
    for addr, value in (stored or {}).items():
        struct.pack_into(e + w, img, addr, value)
    tags = [
        (5, str_at),
        (10, len(strtab)),
        (6, sym_at),
        (11, 24 if bits == 64 else 16),
        (7 if rela else 17, rel_at),
        (8 if rela else 18, len(table)),
        (9 if rela else 19, (24 if rela else 16) if bits == 64 else (12 if rela else 8)),
        (0, 0),
    ]
    dyn = b"".join(struct.pack(e + ("qQ" if bits == 64 else "iI"), t, v) for t, v in tags)
    img[dyn_at : dyn_at + len(dyn)] = dyn
    phoff = ehsize
    if bits == 64:
        hdr = struct.pack(
            e + "HHIQQQIHHHHHH", 3, machine, 1, 0, phoff, 0, 0, ehsize, phsize, 2, 64, 0, 0
        )
        ph = struct.pack(e + "IIQQQQQQ", 1, 5, 0, 0, 0, size, size + 0x1000, 0x1000)
        ph += struct.pack(e + "IIQQQQQQ", 2, 6, dyn_at, dyn_at, dyn_at, len(dyn), len(dyn), 8)
    else:
        hdr = struct.pack(
            e + "HHIIIIIHHHHHH", 3, machine, 1, 0, phoff, 0, 0, ehsize, phsize, 2, 40, 0, 0
        )
        ph = struct.pack(e + "IIIIIIII", 1, 0, 0, 0, size, size + 0x1000, 5, 0x1000)
        ph += struct.pack(e + "IIIIIIII", 2, dyn_at, dyn_at, dyn_at, len(dyn), len(dyn), 6, 4)
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if e == "<" else 2, 1]) + bytes(9)
    img[0 : len(ident) + len(hdr)] = ident + hdr
    img[phoff : phoff + len(ph)] = ph
    return bytes(img)


@pytest.mark.parametrize(
    ("arch", "bits", "endian", "rela"),
    [
        ("x86_64", 64, "<", True),
        ("s390x", 64, ">", True),
        ("ppc64", 64, ">", True),
        ("aarch64", 64, "<", True),
        ("i386", 32, "<", False),
        ("arm", 32, "<", False),
        ("ppc64", 32, ">", True),  # a 32-bit big-endian layout with ppc64's numbers
    ],
)
def test_foreign_classes_and_byte_orders(arch: str, bits: int, endian: str, rela: bool) -> None:
    m = EM[arch]
    if bits == 32 and arch == "ppc64":
        m, rel_type, abs_type = 20, 22, 1  # EM_PPC
    else:
        rel_type, abs_type = RELATIVE[m], ABSOLUTE[m]
    p = bits // 8
    relocs = [
        (0x1000, 0, rel_type, 0x1800),
        (0x1000 + p, 1, abs_type, 4),
        (0x1000 + 2 * p, 0, rel_type, 0x1810),
    ]
    stored = {} if rela else {0x1000: 0x1800, 0x1000 + p: 4, 0x1000 + 2 * p: 0x1810}
    data = synth(bits, endian, m, relocs, rela=rela, stored=stored)
    data = data[:0x1800] + b"hello\0" + data[0x1806:0x1810] + b"world\0" + data[0x1816:]
    im = Image.from_bytes(data, "synth.so")
    assert (im.bits, im.endian, im.machine, im.pointer_size) == (bits, endian, m, p)
    assert list(im.reloc_slots()) == [0x1000, 0x1000 + p, 0x1000 + 2 * p]
    assert im.pointer(0x1000) == 0x1800 and im.cstring(0x1800) == "hello"
    assert im.pointer(0x1000 + p) == 0x1104 and im.target(0x1000 + p) == "target"
    assert im.cstring(im.pointer(0x1000 + 2 * p)) == "world"
    assert im.symbol("target") == 0x1100
    assert im.sections() == {}
    assert im.word(0x1800, 2) == int.from_bytes(b"he", "little" if endian == "<" else "big")
    assert im.read(0x2000, 16) == bytes(16)  # past p_filesz: zeros
    assert im.executable(0x10)


def test_mips64_r_info_layout() -> None:
    for endian in "<>":
        data = synth(
            64,
            endian,
            8,
            [(0x1000, 0, 3, 0), (0x1008, 1, 3, 0)],
            rela=False,
            stored={0x1000: 0x1800, 0x1008: 8},
            mips64=True,
        )
        im = Image.from_bytes(data, "mips64.so")
        assert im.pointer(0x1000) == 0x1800
        assert im.pointer(0x1008) == 0x1108  # REL32 against a defined symbol: S + stored


def test_unknown_machine_and_type_say_so() -> None:
    data = synth(64, "<", 0x1234, [(0x1000, 0, 8, 0x1800)])
    im = Image.from_bytes(data, "odd.so")
    with pytest.raises(ElfReadError, match=r"^odd\.so: relocations of machine 4660"):
        im.pointer(0x1000)
    data = synth(64, "<", 62, [(0x1000, 0, 99, 0x1800)])
    im = Image.from_bytes(data, "odd.so")
    assert im.relocated(0x1000) and 0x1000 not in im.reloc_slots()
    with pytest.raises(ElfReadError, match=r"unsupported relocation type 99 at 0x1000"):
        im.pointer(0x1000)


def _one_line_error(data: bytes, touch: bool = True) -> str:
    with pytest.raises(ElfReadError) as exc:
        im = Image.from_bytes(data, "bad.so")
        if touch:
            im.reloc_slots()
            im.symbol("x")
            im.sections()
    text = str(exc.value)
    assert text.startswith("bad.so: ") and "\n" not in text
    return text


def test_corrupt_inputs() -> None:
    good = synth(64, "<", 62, [(0x1000, 0, 8, 0x1800)])
    assert "not an ELF file" in _one_line_error(b"MZ\0\0" + bytes(100))
    assert "empty file" in _one_line_error(b"")
    assert "truncated" in _one_line_error(good[:40])
    # relocation offset far outside every segment
    bad = synth(64, "<", 62, [(0x7FFF_0000, 0, 8, 0x1800)])
    assert "relocation offset 0x7fff0000 is in no loaded segment" in _one_line_error(bad)
    # absurd DT_RELASZ (tag 8 is the sixth dynamic entry)
    huge = bytearray(good)
    struct.pack_into("<qQ", huge, 0x800 + 5 * 16, 8, 1 << 40)
    assert "extends past" in _one_line_error(bytes(huge))
    # absurd e_phnum
    many = bytearray(good)
    struct.pack_into("<H", many, 56, 0xFFFF)
    assert "program header table" in _one_line_error(bytes(many))
    # symbol index past the table
    bad = synth(64, "<", 62, [(0x1000, 5000, 1, 0)])
    im = Image.from_bytes(bad, "bad.so")
    with pytest.raises(ElfReadError, match="symbol index 5000"):
        im.pointer(0x1000)
    # a PT_LOAD whose file part runs past the end of the file
    assert "truncated" in _one_line_error(good[:0x1F00])


def test_truncated_everywhere_is_one_line_or_fine(built: dict[str, Path]) -> None:
    data = built["lib64.so"].read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 300)):
        try:
            im = Image.from_bytes(data[:cut], "cut.so")
            for slot in im.reloc_slots():
                im.pointer(slot)
            im.symbol("get")
            im.sections()
        except ElfReadError as exc:
            assert str(exc).startswith("cut.so: ") and "\n" not in str(exc)


def test_flipped_bytes_never_escape(built: dict[str, Path]) -> None:
    data = built["lib64.so"].read_bytes()

    rng = random.Random(13)
    for _ in range(400):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        try:
            im = Image.from_bytes(bytes(bad), "flip.so")
            for slot in im.reloc_slots():
                im.pointer(slot)
                im.cstring(im.pointer(slot))
            im.symbol("get")
            im.sections()
        except ElfReadError as exc:
            assert "\n" not in str(exc)


def test_offset_and_code(built: dict[str, Path]) -> None:
    path = built["lib64.so"]
    data = path.read_bytes()
    im = _image(path)
    rodata, size = im.sections()[".rodata"]
    at = im.offset(rodata)
    assert at is not None and data[at : at + size] == im.read(rodata, size)
    bss = im.sections()[".bss"][0]
    assert im.offset(bss) is None  # zero-filled: no file bytes
    assert im.offset(1 << 40) is None
    text, text_size = im.sections()[".text"]
    code = im.code()
    assert code and all(im.executable(base) for base, _ in code)
    assert any(base <= text and text + text_size <= base + len(blob) for base, blob in code)
    get = im.symbol("get")
    assert get is not None and any(base <= get < base + len(blob) for base, blob in code)


# --------------------------------------------------------------------------- real libraries

REAL_ARCHES = ("amd64", "i386", "arm64", "armhf", "ppc64el", "s390x", "riscv64")


@pytest.mark.real
@pytest.mark.parametrize("arch", REAL_ARCHES)
def test_real_libvirt_relocations_match_readelf(arch: str) -> None:
    """Every dynamic relocation readelf lists in sid's libvirt.so.0 of each architecture
    (RELA and REL, both byte orders): RELATIVE slots read as their addend (REL: the stored
    word), absolute and GLOB_DAT slots against defined symbols as value + addend."""
    import realdebs

    if shutil.which("readelf") is None:
        pytest.skip("readelf is not installed")
    path = realdebs.libraries("sid", arch)["libvirt.so.0"]
    im = _image(path)
    relocs = _readelf_relocs(path)
    assert len(relocs) > 1000
    assert all(im.relocated(off) for off in relocs)
    tls = ("TLS", "DTP", "TPOFF", "TPREL", "TP_REL")  # not pointers: not in reloc_slots
    pointers = {off for off, (rtype, _, _) in relocs.items() if not any(t in rtype for t in tls)}
    assert pointers <= set(im.reloc_slots())
    mask = (1 << im.bits) - 1
    relative = 0
    for off, (rtype, sym, addend) in relocs.items():
        if rtype.endswith("_RELATIVE"):
            want = addend if addend is not None else im.word(off, im.pointer_size)
            assert im.pointer(off) == want & mask, (arch, hex(off), rtype)
            relative += 1
        elif sym and addend is not None and rtype.endswith(("_GLOB_DAT", "_64", "ABS64")):
            value = im.symbol(sym)
            if value is not None:
                assert im.pointer(off) == (value + addend) & mask, (arch, hex(off), rtype)
    assert relative > 1000

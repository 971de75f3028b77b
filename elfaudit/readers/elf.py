"""Read what an ELF file exports and needs at the dynamic-linking level.

This is the only module that imports pyelftools.  pyelftools parses the ELF header and the
section headers actually used (found by a bulk scan of the ``sh_type`` fields: a header costs
pyelftools ~30 us and a file may hold thousands); the tables themselves (``.dynsym``,
``.gnu.version``, ``.gnu.version_d``, ``.gnu.version_r``, ``.dynamic``) are decoded in bulk
from the raw bytes with :mod:`struct`, in the file's own class and byte order.  pyelftools'
per-entry parsing costs about 50 us per symbol, and its verdef/verneed iterators follow
``vd_next``/``vn_next`` without bounds, so they are not used.

Symbol type 10 is reported as ``IFUNC`` and binding 10 as ``UNIQUE`` whatever the file's
``EI_OSABI`` (readelf names them so only under ELFOSABI_GNU/FreeBSD; glibc's loader honours
them in any Linux file).  A version index found in both ``.gnu.version_d`` and
``.gnu.version_r`` resolves to the definition for defined symbols and to the need for
undefined ones; indexes are looked up in the tables, never compared with their sizes.

When the section headers are absent (``sstrip``-ed files) the same tables are found through
``PT_DYNAMIC`` and ``DT_SYMTAB``/``DT_STRTAB``/``DT_VERSYM``/``DT_VERDEF``/``DT_VERNEED``,
counting the symbols with ``DT_GNU_HASH`` or ``DT_HASH``.

Hostile input: every offset, size and count read from the file is checked against the bytes
present before it is used, and every loop is bounded by what its table can hold.  Anything
wrong raises :class:`~elfaudit.base.errors.ElfReadError` with one line naming the problem.

Names are decoded as UTF-8 with ``errors="backslashreplace"``: an invalid byte becomes the
text ``\\xNN``.  Distinct byte strings stay distinct (symbol names never contain a
backslash), and the result is printable and JSON-safe everywhere, unlike
``surrogateescape`` (lone surrogates make ``print`` and UTF-8 encoders raise downstream) or
``replace`` (which merges different invalid names).
"""

from __future__ import annotations

import importlib
import itertools
import os
import stat
import struct
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any

from elfaudit.base.errors import ElfReadError, one_line
from elfaudit.model.abi import (
    ImportedSymbol,
    LibraryABI,
    Symbol,
    VersionDef,
    VersionNeed,
    new_symbol,
)
from elfaudit.readers import ELF_MAGIC, BadElf, bad_elf


class _Deferred(types.ModuleType):
    """A module object that imports the real module on the first read of an attribute,
    and answers from it then and on every later read.

    Only :func:`_defer_debugger_modules` creates these, for the span of one import;
    afterwards none is left in ``sys.modules``, so they live on solely as the ``pdb`` and
    ``traceback`` globals of ``elftools.construct.debug``.
    """

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:  # read while the import below is still running
            del sys.modules[name]
        return getattr(importlib.import_module(name), attr)


def _defer_debugger_modules() -> dict[str, _Deferred]:
    """Put stand-ins for ``pdb`` and ``traceback`` in ``sys.modules`` while pyelftools'
    structure definitions import (see the ``try`` below); returns those it put there.

    pyelftools (0.33) vendors ``construct``; its package ``__init__`` runs ``from .debug
    import Probe, Debugger``, and ``elftools/construct/debug.py`` does ``import traceback``
    and ``import pdb`` at module level. Nothing else in pyelftools names either module.
    ``debug.py`` reads them in one place only, ``Debugger.handle_exc``
    (``traceback.format_exception(...)`` and ``pdb.post_mortem(...)``), which runs only
    inside a ``Debugger(...)`` construct that pyelftools never builds and elfaudit never
    uses. Loading the two, with ``bdb``, ``cmd``, ``code``, ``codeop``, ``glob``,
    ``signal`` and ``textwrap``, cost 20 M instructions (~4 ms) of every run.

    So for the span of that one import, a :class:`_Deferred` takes the place of each of
    the two not loaded yet, and ``debug.py`` binds that object as its global.
    """
    standins = {name: _Deferred(name) for name in ("pdb", "traceback") if name not in sys.modules}
    sys.modules.update(standins)
    return standins


def _restore_debugger_modules(standins: dict[str, _Deferred]) -> None:
    """Take the stand-ins out of ``sys.modules`` again (a real module that was loaded
    meanwhile stays). From then on ``import pdb``, ``importlib.util.find_spec("pdb")``
    and everything else see the ordinary import system, and
    ``elftools.construct.debug.pdb`` still works: its first attribute read imports the
    real module through ``sys.modules``, the same module object everyone else gets."""
    for name, standin in standins.items():
        if sys.modules.get(name) is standin:
            del sys.modules[name]


_standins = _defer_debugger_modules()
try:
    from elftools.elf.structs import ELFStructs  # noqa: TID251 - pyelftools' home module
finally:
    _restore_debugger_modules(_standins)
    del _standins


__all__ = ["is_elf", "read_library", "read_library_bytes"]


# Section types: located by number in a bulk scan, then checked by pyelftools' name.
_SHT_DYNSYM_NUM = 11
_SHT_DYNAMIC_NUM = 6
_SHT_VERDEF_NUM = 0x6FFFFFFD
_SHT_VERNEED_NUM = 0x6FFFFFFE
_SHT_VERSYM_NUM = 0x6FFFFFFF
_WANTED_SECTIONS = frozenset(
    {_SHT_DYNSYM_NUM, _SHT_DYNAMIC_NUM, _SHT_VERDEF_NUM, _SHT_VERNEED_NUM, _SHT_VERSYM_NUM}
)
_SHT_STRTAB = frozenset({"SHT_STRTAB"})
_SHT_NOBITS = frozenset({"SHT_NOBITS"})

_SHN_UNDEF = 0
_SHN_ABS = 0xFFF1
_SHN_XINDEX = 0xFFFF
_STB_LOCAL = 0
_STB_WEAK = 2
_STT_OBJECT = 1
_VERSYM_HIDDEN = 0x8000
_VER_FLG_BASE = 0x1
_VER_FLG_WEAK = 0x2

_PT_LOAD = 1
_PT_DYNAMIC = 2

_DT_NULL = 0
_DT_NEEDED = 1
_DT_HASH = 4
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_STRSZ = 10
_DT_SYMENT = 11
_DT_SONAME = 14
_DT_GNU_HASH = 0x6FFFFEF5
_DT_VERSYM = 0x6FFFFFF0
_DT_VERDEF = 0x6FFFFFFC
_DT_VERDEFNUM = 0x6FFFFFFD
_DT_VERNEED = 0x6FFFFFFE
_DT_VERNEEDNUM = 0x6FFFFFFF

_TYPES = tuple(
    {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS"}.get(
        n, "IFUNC" if n == 10 else f"TYPE_{n}"
    )
    for n in range(16)
)
_BINDINGS = tuple(
    {0: "LOCAL", 1: "GLOBAL", 2: "WEAK", 10: "UNIQUE"}.get(n, f"BIND_{n}") for n in range(16)
)
_VISIBILITIES = ("DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED")

# e_machine names that do not simply lowercase well ("EM_386" -> "i386").
_MACHINE_NAMES = {
    "EM_386": "i386",
    "EM_IA_64": "ia64",
    "EM_68K": "m68k",
    "EM_88K": "m88k",
    "EM_SPARC32PLUS": "sparc32plus",
    "EM_MIPS_RS3_LE": "mips_rs3_le",
}

_VERDEF_SIZE = 20  # Elf_Verdef: vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next
_VERDAUX_SIZE = 8  # Elf_Verdaux: vda_name, vda_next
_VERNEED_SIZE = 16  # Elf_Verneed: vn_version, vn_cnt, vn_file, vn_aux, vn_next
_VERNAUX_SIZE = 16  # Elf_Vernaux: vna_hash, vna_flags, vna_other, vna_name, vna_next


def is_elf(data_prefix: bytes) -> bool:
    """True if the bytes start with the ELF magic number (4 bytes are enough)."""
    return bytes(data_prefix[:4]) == ELF_MAGIC


def read_library(path: str | os.PathLike[str], *, digest: bool = True) -> LibraryABI:
    """Read the dynamic symbols, version definitions and needs of the ELF file at ``path``.

    ``digest=False`` leaves ``sha256`` unset: comparing two releases never needs it, and
    loading OpenSSL's hashlib costs ~5 ms (the ~4 ms of hashing a 5 MB library run on a
    worker thread, beside the decoding).
    """
    name = os.fsdecode(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ElfReadError(name, "no such file") from None
    except OSError as exc:
        raise ElfReadError(name, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ElfReadError(name, "is a directory, not an ELF file")
    if not stat.S_ISREG(st.st_mode):
        raise ElfReadError(name, "not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ElfReadError(name, f"cannot read: {exc.strerror or exc}") from None
    return read_library_bytes(data, name, digest=digest)


def read_library_bytes(data: bytes, path: str, *, digest: bool = True) -> LibraryABI:
    """Like :func:`read_library` for a file already in memory; ``path`` names it in results."""
    try:
        return _Reader(bytes(data), path, digest).read()
    except BadElf as exc:
        raise ElfReadError(path, exc.reason) from None
    except Exception as exc:  # a failure the checks above did not foresee: still one line
        detail = one_line(exc, empty="")  # "ValueError: " for an empty message, as before
        raise ElfReadError(
            path, f"internal error while decoding: {type(exc).__name__}: {detail}"
        ) from exc


# --------------------------------------------------------------------------- internals


class _Region:
    """A byte range of the file holding one table; ``name`` is used in messages.

    (A plain class: each dataclass costs about 1 ms of start-up to generate.)
    """

    __slots__ = ("name", "offset", "size")

    def __init__(self, name: str, offset: int, size: int) -> None:
        self.name = name
        self.offset = offset
        self.size = size


class _Strings:
    """A string table; lookups are bounded by the table."""

    __slots__ = ("_data", "_end", "_start", "name", "size")

    def __init__(self, data: bytes, region: _Region) -> None:
        self._data = data
        self._start = region.offset
        self._end = region.offset + region.size
        self.name = region.name
        self.size = region.size

    def latin1(self) -> str:
        """The whole table decoded as Latin-1: one character per byte, so offsets match.

        Hot loops slice names out of it and re-decode the rare non-ASCII ones with
        :func:`_utf8`; :meth:`get` remains the checked path for everything else.
        """
        return self._data[self._start : self._end].decode("latin-1")

    def get(self, offset: int, user: str) -> str:
        if offset >= self.size:
            bad_elf(
                f"corrupt {user}: string offset {offset} is past the end of "
                f"{self.name} ({self.size} bytes)"
            )
        start = self._start + offset
        end = self._data.find(b"\0", start, self._end)
        if end < 0:
            bad_elf(f"corrupt {self.name}: string at offset {offset} is not NUL-terminated")
        return self._data[start:end].decode("utf-8", "backslashreplace")


class _Tables:
    """Where the dynamic tables are, found through sections or through PT_DYNAMIC."""

    __slots__ = (
        "dynamic",
        "dynamic_entries",
        "dynamic_strings",
        "dynstr",
        "dynsym",
        "nsyms",
        "verdef",
        "verdef_count",
        "verdef_strings",
        "verneed",
        "verneed_count",
        "verneed_strings",
        "versym",
    )

    def __init__(self, dynsym: _Region, nsyms: int, dynstr: _Region) -> None:
        self.dynsym = dynsym
        self.nsyms = nsyms
        self.dynstr = dynstr
        self.versym: _Region | None = None
        self.verdef: _Region | None = None
        self.verdef_count = 0
        self.verdef_strings: _Region | None = None
        self.verneed: _Region | None = None
        self.verneed_count = 0
        self.verneed_strings: _Region | None = None
        self.dynamic: _Region | None = None
        self.dynamic_strings: _Region | None = None
        # Already decoded (the PT_DYNAMIC path reads .dynamic first).
        self.dynamic_entries: list[tuple[int, int]] | None = None


class _Reader:
    def __init__(self, data: bytes, path: str, digest: bool = True) -> None:
        self.data = data
        self.path = path
        self.size = len(data)
        self.digest = digest

    # ------------------------------------------------------------------ top level

    def read(self) -> LibraryABI:
        data = self.data
        if not data:
            bad_elf("empty file")
        if not is_elf(data):
            bad_elf("not an ELF file")
        if len(data) < 16:
            bad_elf("truncated: ELF identification")
        ei_class, ei_data = data[4], data[5]
        if ei_class not in (1, 2):
            bad_elf(f"unsupported ELF class {ei_class} (expected 1 for 32-bit or 2 for 64-bit)")
        if ei_data not in (1, 2):
            bad_elf(f"unsupported ELF data encoding {ei_data} (expected 1 or 2)")
        self.bits = 32 if ei_class == 1 else 64
        self.e = "<" if ei_data == 1 else ">"
        ehsize = 52 if self.bits == 32 else 64
        if len(data) < ehsize:
            bad_elf(f"truncated: ELF header needs {ehsize} bytes, file has {len(data)}")
        self.sym_size = 16 if self.bits == 32 else 24
        self.dyn_size = 8 if self.bits == 32 else 16
        self.shdr_size = 40 if self.bits == 32 else 64
        self.phdr_size = 32 if self.bits == 32 else 56

        try:
            # pyelftools' structure definitions for this class and byte order parse the
            # ELF header and, later, the few section headers used. (ELFFile would do the
            # same, but importing it also loads the DWARF reader: +30 ms of start-up.)
            self.structs = ELFStructs(little_endian=self.e == "<", elfclass=self.bits)
            self.structs.create_basic_structs()
            header = self.structs.Elf_Ehdr.parse(data[:ehsize])
            self.structs.create_advanced_structs(
                header["e_type"], header["e_machine"], header["e_ident"]["EI_OSABI"]
            )
            machine = _machine_name(header["e_machine"])
            self.e_shoff = int(header["e_shoff"])
            self.e_shnum = int(header["e_shnum"])
            self.e_shentsize = int(header["e_shentsize"])
            self.e_shstrndx = int(header["e_shstrndx"])
            self.e_phoff = int(header["e_phoff"])
            self.e_phnum = int(header["e_phnum"])
            self.e_phentsize = int(header["e_phentsize"])
        except Exception as exc:
            bad_elf(f"malformed ELF header: {one_line(exc)}")

        # Hashing starts once the header has parsed (not for a file rejected at once) and
        # runs while the tables are located and decoded.
        self.sha256 = _Digest(data) if self.digest else None
        tables = self._tables_from_sections() or self._tables_from_segments()
        return self._decode(tables, machine)

    # ------------------------------------------------------------------ via section headers

    def _scan_sections(self) -> dict[int, int]:
        """Check the section header table's bounds; first index of each wanted sh_type.

        Only the 4-byte ``sh_type`` of each entry is read here, in bulk: a file may hold
        many thousands of section headers, and pyelftools parses one in about 30 us.  The
        few headers actually used are then parsed by pyelftools (:meth:`_shdr`).
        """
        self._nsections = 0
        self._shdrs: dict[int, Any] = {}
        if self.e_shoff == 0:
            return {}
        if self.e_shentsize < self.shdr_size:
            bad_elf(f"corrupt ELF header: e_shentsize {self.e_shentsize} < {self.shdr_size}")
        if self.e_shoff + self.shdr_size > self.size:
            bad_elf("truncated: section header table starts past end of file")
        count = self.e_shnum
        if count == 0:  # >= SHN_LORESERVE sections: the count is in section 0's sh_size
            self._nsections = 1
            count = int(self._shdr(0)["sh_size"])
        if self.e_shoff + count * self.e_shentsize > self.size:
            bad_elf(f"truncated: section header table ({count} entries) extends past end of file")
        self._nsections = count
        fmt = f"{self.e}4xI{self.e_shentsize - 8}x"
        view = memoryview(self.data)[self.e_shoff : self.e_shoff + count * self.e_shentsize]
        first: dict[int, int] = {}
        for i, (sh_type,) in enumerate(struct.iter_unpack(fmt, view)):
            if sh_type in _WANTED_SECTIONS and sh_type not in first:
                first[sh_type] = i
        return first

    def _shdr(self, index: int) -> Any:
        """Section header ``index`` (checked to exist), parsed by pyelftools and cached."""
        if not 0 <= index < self._nsections:
            bad_elf(f"corrupt section header table: no section {index}")
        header = self._shdrs.get(index)
        if header is None:
            try:
                # One header, without building a Section object (which would resolve
                # names and links and fail on unrelated damaged sections).
                start = self.e_shoff + index * self.e_shentsize
                if start + self.shdr_size > self.size:
                    bad_elf(f"truncated: section header {index} extends past end of file")
                header = self.structs.Elf_Shdr.parse(self.data[start : start + self.shdr_size])
            except Exception as exc:
                bad_elf(f"malformed section header {index}: {one_line(exc)}")
            self._shdrs[index] = header
        return header

    def _section_name(self, index: int, default: str) -> str:
        """The section's name for messages; ``default`` if the names are unusable."""
        try:
            shstrndx = self.e_shstrndx
            if shstrndx == _SHN_XINDEX:
                shstrndx = int(self._shdr(0)["sh_link"])
            strtab = self._shdr(shstrndx)
            start = int(strtab["sh_offset"])
            end = min(start + int(strtab["sh_size"]), self.size)
            pos = start + int(self._shdr(index)["sh_name"])
            stop = self.data.find(b"\0", pos, end)
            if pos < end and stop > pos:
                return self.data[pos:stop].decode("utf-8", "backslashreplace")
        except (BadElf, KeyError, TypeError, ValueError):
            pass
        return default

    def _tables_from_sections(self) -> _Tables | None:
        first = self._scan_sections()

        def region(index: int, default: str) -> _Region:
            h = self._shdr(index)
            name = self._section_name(index, default)
            if h["sh_type"] in _SHT_NOBITS:
                bad_elf(
                    f"section {name} has no contents in this file (SHT_NOBITS: debug-info file?)"
                )
            offset, size = int(h["sh_offset"]), int(h["sh_size"])
            if offset + size > self.size:
                bad_elf(f"truncated: section {name} extends past end of file")
            return _Region(name, offset, size)

        def strings(index: int, user: _Region) -> _Region:
            link = int(self._shdr(index)["sh_link"])
            if not 0 < link < self._nsections or self._shdr(link)["sh_type"] not in _SHT_STRTAB:
                bad_elf(f"corrupt section {user.name}: sh_link {link} is not a string table")
            return region(link, ".dynstr")

        def entsize(index: int, user: _Region, expected: int) -> None:
            got = int(self._shdr(index)["sh_entsize"])
            if got != expected:
                bad_elf(f"corrupt section {user.name}: sh_entsize is {got}, expected {expected}")

        i_sym = first.get(_SHT_DYNSYM_NUM)
        if i_sym is None:
            return None
        dynsym = region(i_sym, ".dynsym")
        entsize(i_sym, dynsym, self.sym_size)
        if dynsym.size % self.sym_size:
            bad_elf(
                f"corrupt section {dynsym.name}: size {dynsym.size} is not a multiple of "
                f"{self.sym_size}"
            )
        tables = _Tables(dynsym, dynsym.size // self.sym_size, strings(i_sym, dynsym))

        i = first.get(_SHT_VERSYM_NUM)
        if i is not None:
            tables.versym = region(i, ".gnu.version")
            entsize(i, tables.versym, 2)
        i = first.get(_SHT_VERDEF_NUM)
        if i is not None:
            tables.verdef = region(i, ".gnu.version_d")
            tables.verdef_count = int(self._shdr(i)["sh_info"])
            tables.verdef_strings = strings(i, tables.verdef)
        i = first.get(_SHT_VERNEED_NUM)
        if i is not None:
            tables.verneed = region(i, ".gnu.version_r")
            tables.verneed_count = int(self._shdr(i)["sh_info"])
            tables.verneed_strings = strings(i, tables.verneed)
        i = first.get(_SHT_DYNAMIC_NUM)
        if i is not None:
            tables.dynamic = region(i, ".dynamic")
            entsize(i, tables.dynamic, self.dyn_size)
            tables.dynamic_strings = strings(i, tables.dynamic)
        return tables

    # ------------------------------------------------------------------ via program headers

    def _tables_from_segments(self) -> _Tables:
        none = "no dynamic symbol table (no .dynsym section and no PT_DYNAMIC segment)"
        if self.e_phoff == 0 or self.e_phnum == 0:
            bad_elf(none)
        if self.e_phnum == 0xFFFF:
            bad_elf("corrupt ELF header: e_phnum is PN_XNUM but there are no section headers")
        if self.e_phentsize < self.phdr_size:
            bad_elf(f"corrupt ELF header: e_phentsize {self.e_phentsize} < {self.phdr_size}")
        if self.e_phoff + self.e_phnum * self.e_phentsize > self.size:
            bad_elf("truncated: program header table extends past end of file")

        e = self.e
        loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        dynamic: _Region | None = None
        for i in range(self.e_phnum):
            at = self.e_phoff + i * self.e_phentsize
            if self.bits == 64:
                p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                    e + "IIQQQQ", self.data, at
                )
            else:
                p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                    e + "IIIII", self.data, at
                )
            if p_type == _PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == _PT_DYNAMIC and dynamic is None:
                dynamic = _Region("PT_DYNAMIC", p_offset, p_filesz)
        if dynamic is None:
            bad_elf(none)
        if dynamic.offset + dynamic.size > self.size:
            bad_elf("truncated: PT_DYNAMIC segment extends past end of file")

        entries = self._dynamic_entries(dynamic)
        tags: dict[int, int] = {}
        for tag, value in entries:
            tags.setdefault(tag, value)

        def locate(tag: int, name: str) -> tuple[int, int]:
            """File offset of the address in ``tag`` and how many bytes follow it there."""
            if tag not in tags:
                bad_elf(f"corrupt dynamic section: {name} is missing")
            addr = tags[tag]
            for vaddr, offset, filesz in loads:
                if vaddr <= addr < vaddr + filesz:
                    start = offset + (addr - vaddr)
                    end = min(offset + filesz, self.size)
                    if start >= end:
                        bad_elf(f"truncated: {name} points past end of file")
                    return start, end - start
            bad_elf(f"corrupt dynamic section: {name} address {addr:#x} is in no loaded segment")

        def table(tag: int, name: str, size: int | None = None) -> _Region:
            start, room = locate(tag, name)
            if size is None:
                return _Region(name, start, room)
            if size > room:
                bad_elf(f"truncated: {name} table ({size} bytes) extends past end of its segment")
            return _Region(name, start, size)

        if _DT_STRSZ not in tags:
            bad_elf("corrupt dynamic section: DT_STRSZ is missing")
        dynstr = table(_DT_STRTAB, "DT_STRTAB", tags[_DT_STRSZ])
        syment = tags.get(_DT_SYMENT, self.sym_size)
        if syment != self.sym_size:
            bad_elf(f"corrupt dynamic section: DT_SYMENT is {syment}, expected {self.sym_size}")
        nsyms = self._count_symbols(tags, locate)
        tables = _Tables(table(_DT_SYMTAB, "DT_SYMTAB", nsyms * self.sym_size), nsyms, dynstr)
        if _DT_VERSYM in tags:
            tables.versym = table(_DT_VERSYM, "DT_VERSYM", 2 * nsyms)
        if _DT_VERDEF in tags:
            tables.verdef = table(_DT_VERDEF, "DT_VERDEF")
            tables.verdef_count = tags.get(_DT_VERDEFNUM, 0)
            tables.verdef_strings = dynstr
        if _DT_VERNEED in tags:
            tables.verneed = table(_DT_VERNEED, "DT_VERNEED")
            tables.verneed_count = tags.get(_DT_VERNEEDNUM, 0)
            tables.verneed_strings = dynstr
        tables.dynamic = dynamic
        tables.dynamic_strings = dynstr
        tables.dynamic_entries = entries
        return tables

    def _count_symbols(
        self, tags: dict[int, int], locate: Callable[[int, str], tuple[int, int]]
    ) -> int:
        """The number of dynamic symbols, from DT_GNU_HASH or DT_HASH (no section headers)."""
        e = self.e
        if _DT_GNU_HASH in tags:
            start, room = locate(_DT_GNU_HASH, "DT_GNU_HASH")
            if room < 16:
                bad_elf("truncated: DT_GNU_HASH table")
            nbuckets, symoffset, maskwords, _ = struct.unpack_from(e + "IIII", self.data, start)
            buckets_at = 16 + maskwords * (self.bits // 8)
            chains_at = buckets_at + 4 * nbuckets
            if chains_at > room:
                bad_elf("truncated: DT_GNU_HASH table extends past end of its segment")
            buckets = struct.unpack_from(f"{e}{nbuckets}I", self.data, start + buckets_at)
            last = max(buckets, default=0)
            if last < symoffset:
                return int(symoffset)
            index = last
            while True:  # bounded: each step reads 4 more bytes of the table
                at = chains_at + 4 * (index - symoffset)
                if at + 4 > room:
                    bad_elf("corrupt DT_GNU_HASH table: hash chain runs past end of its segment")
                (value,) = struct.unpack_from(e + "I", self.data, start + at)
                if value & 1:
                    return index + 1
                index += 1
        if _DT_HASH in tags:
            start, room = locate(_DT_HASH, "DT_HASH")
            if room < 8:
                bad_elf("truncated: DT_HASH table")
            return int(struct.unpack_from(e + "II", self.data, start)[1])
        bad_elf("cannot count the dynamic symbols: no section headers, no DT_GNU_HASH or DT_HASH")

    # ------------------------------------------------------------------ decoding

    def _dynamic_entries(self, region: _Region) -> list[tuple[int, int]]:
        fmt = self.e + ("iI" if self.bits == 32 else "qQ")
        usable = region.size - region.size % self.dyn_size
        view = memoryview(self.data)[region.offset : region.offset + usable]
        out: list[tuple[int, int]] = []
        for tag, value in struct.iter_unpack(fmt, view):
            if tag == _DT_NULL:
                break
            out.append((tag, value))
        return out

    def _decode(self, t: _Tables, machine: str) -> LibraryABI:
        data = self.data
        soname: str | None = None
        needed: list[str] = []
        if t.dynamic is not None and t.dynamic_strings is not None:
            entries = t.dynamic_entries
            if entries is None:
                entries = self._dynamic_entries(t.dynamic)
            dynstrings = _Strings(data, t.dynamic_strings)
            for tag, value in entries:
                if tag == _DT_NEEDED:
                    needed.append(dynstrings.get(value, f"{t.dynamic.name} DT_NEEDED"))
                elif tag == _DT_SONAME and soname is None:
                    soname = dynstrings.get(value, f"{t.dynamic.name} DT_SONAME")

        versions: list[VersionDef] = []
        if t.verdef is not None and t.verdef_strings is not None:
            versions = self._verdefs(t.verdef, t.verdef_count, _Strings(data, t.verdef_strings))
        needs: list[VersionNeed] = []
        if t.verneed is not None and t.verneed_strings is not None:
            needs = self._verneeds(t.verneed, t.verneed_count, _Strings(data, t.verneed_strings))

        symbols, markers, imports = self._symbols(t, versions, needs)
        return LibraryABI(
            path=self.path,
            soname=soname,
            needed=tuple(needed),
            machine=machine,
            elf_class=self.bits,
            byte_order="little" if self.e == "<" else "big",
            versions=tuple(versions),
            symbols=tuple(symbols),
            markers=tuple(markers),
            version_needs=tuple(needs),
            imports=tuple(imports),
            sha256=self.sha256.value() if self.sha256 is not None else None,
        )

    @staticmethod
    def _check_count(region: _Region, count: int, entry_size: int) -> None:
        capacity = region.size // entry_size
        if count > capacity:
            bad_elf(
                f"corrupt {region.name}: claims {count} entries but its {region.size} bytes "
                f"hold at most {capacity}"
            )

    @staticmethod
    def _check_entry(
        region: _Region, what: str, i: int, count: int, offset: int, size: int
    ) -> None:
        if offset + size > region.size:
            bad_elf(f"corrupt {region.name}: {what} {i} of {count} lies past the end of the table")

    @staticmethod
    def _check_next(region: _Region, what: str, i: int, count: int, step: int) -> None:
        if step == 0 and i + 1 < count:
            bad_elf(
                f"corrupt {region.name}: entry chain loops ({what} {i} of {count} has a zero "
                "next offset)"
            )

    def _verdefs(self, region: _Region, count: int, strings: _Strings) -> list[VersionDef]:
        e, data, base = self.e, self.data, region.offset
        self._check_count(region, count, _VERDEF_SIZE)
        aux_budget = region.size // _VERDAUX_SIZE  # distinct aux entries the table can hold
        out: list[VersionDef] = []
        seen: set[int] = set()
        offset = 0
        for i in range(count):
            self._check_entry(region, "verdef", i, count, offset, _VERDEF_SIZE)
            version, flags, index, cnt, _, aux, step = struct.unpack_from(
                e + "HHHHIII", data, base + offset
            )
            if version != 1:
                bad_elf(f"corrupt {region.name}: verdef {i} has unsupported version {version}")
            if cnt == 0:
                bad_elf(f"corrupt {region.name}: verdef {i} has no name (vd_cnt 0)")
            aux_budget -= cnt
            if aux_budget < 0:
                bad_elf(f"corrupt {region.name}: more verdaux entries than the table can hold")
            if index in seen:
                bad_elf(f"corrupt {region.name}: version index {index} is defined twice")
            seen.add(index)
            names = []
            at = offset + aux
            for j in range(cnt):
                self._check_entry(region, f"verdaux of verdef {i}:", j, cnt, at, _VERDAUX_SIZE)
                name_offset, aux_step = struct.unpack_from(e + "II", data, base + at)
                names.append(strings.get(name_offset, region.name))
                self._check_next(region, f"verdaux of verdef {i}:", j, cnt, aux_step)
                at += aux_step
            out.append(
                VersionDef(
                    name=names[0],
                    index=index,
                    parents=tuple(names[1:]),
                    base=bool(flags & _VER_FLG_BASE),
                    weak=bool(flags & _VER_FLG_WEAK),
                )
            )
            self._check_next(region, "verdef", i, count, step)
            offset += step
        return out

    def _verneeds(self, region: _Region, count: int, strings: _Strings) -> list[VersionNeed]:
        e, data, base = self.e, self.data, region.offset
        self._check_count(region, count, _VERNEED_SIZE)
        aux_budget = region.size // _VERNAUX_SIZE
        out: list[VersionNeed] = []
        seen: set[int] = set()
        offset = 0
        for i in range(count):
            self._check_entry(region, "verneed", i, count, offset, _VERNEED_SIZE)
            version, cnt, file_offset, aux, step = struct.unpack_from(
                e + "HHIII", data, base + offset
            )
            if version != 1:
                bad_elf(f"corrupt {region.name}: verneed {i} has unsupported version {version}")
            aux_budget -= cnt
            if aux_budget < 0:
                bad_elf(f"corrupt {region.name}: more vernaux entries than the table can hold")
            file = strings.get(file_offset, region.name)
            at = offset + aux
            for j in range(cnt):
                self._check_entry(region, f"vernaux of verneed {i}:", j, cnt, at, _VERNAUX_SIZE)
                _, flags, index, name_offset, aux_step = struct.unpack_from(
                    e + "IHHII", data, base + at
                )
                if index in seen:
                    bad_elf(f"corrupt {region.name}: version index {index} is needed twice")
                seen.add(index)
                out.append(
                    VersionNeed(
                        file=file,
                        name=strings.get(name_offset, region.name),
                        index=index,
                        weak=bool(flags & _VER_FLG_WEAK),
                    )
                )
                self._check_next(region, f"vernaux of verneed {i}:", j, cnt, aux_step)
                at += aux_step
            self._check_next(region, "verneed", i, count, step)
            offset += step
        return out

    def _raw_symbols(self, t: _Tables) -> Iterable[tuple[int, int, int, int, int, int]]:
        """(st_name, st_info, st_other, st_shndx, st_value, st_size) for every entry."""
        view = memoryview(self.data)[t.dynsym.offset : t.dynsym.offset + t.nsyms * self.sym_size]
        if self.bits == 64:
            return struct.iter_unpack(self.e + "IBBHQQ", view)
        return (
            (name, info, other, shndx, value, size)
            for name, value, size, info, other, shndx in struct.iter_unpack(self.e + "IIIBBH", view)
        )

    def _symbols(
        self, t: _Tables, versions: list[VersionDef], needs: list[VersionNeed]
    ) -> tuple[list[Symbol], list[str], list[ImportedSymbol]]:
        nsyms = t.nsyms
        versyms: tuple[int, ...] | None = None
        if t.versym is not None:
            if t.versym.size // 2 < nsyms:
                bad_elf(
                    f"corrupt {t.versym.name}: {t.versym.size // 2} entries for {nsyms} "
                    "dynamic symbols"
                )
            versyms = struct.unpack_from(f"{self.e}{nsyms}H", self.data, t.versym.offset)
        # Version index -> (name, file) for defined symbols (a verdef wins) and for
        # undefined ones (a verneed wins); indexes 0 and 1 mean "no version".
        for_undefined: dict[int, tuple[str, str | None]] = {
            v.index: (v.name, None) for v in versions
        }
        for_undefined.update((n.index, (n.name, n.file)) for n in needs)
        for_defined = dict(for_undefined)
        for_defined.update((v.index, (v.name, None)) for v in versions)
        nodes = frozenset(v.name for v in versions if not v.base)
        strings = _Strings(self.data, t.dynstr)
        text = strings.latin1()
        find = text.find
        user = t.dynsym.name
        types, bindings, visibilities = _TYPES, _BINDINGS, _VISIBILITIES
        make_symbol, make_import = new_symbol, ImportedSymbol

        symbols: list[Symbol] = []
        markers: list[str] = []
        imports: list[ImportedSymbol] = []
        add_symbol = symbols.append
        raw = self._raw_symbols(t)
        for (st_name, info, other, shndx, value, size), vs in zip(
            raw, versyms if versyms is not None else itertools.repeat(1, nsyms), strict=True
        ):
            if info < 0x10:  # STB_LOCAL (also the null symbol 0)
                continue
            end = find("\0", st_name)
            if end < 0:  # offset out of range or unterminated: get() says which
                name = strings.get(st_name, user)
            else:
                name = text[st_name:end]
                if not name.isascii():
                    name = _utf8(name)
            version: str | None = None
            file: str | None = None
            default = True
            index = vs & 0x7FFF
            if index > 1:
                default = not vs & _VERSYM_HIDDEN
                found = (for_defined if shndx else for_undefined).get(index)
                if found is None:
                    bad_elf(
                        f"corrupt {t.versym.name if t.versym else 'versym'}: symbol {name} "
                        f"uses version index {index}, which no version definition or need "
                        "declares"
                    )
                version, file = found
            if shndx == _SHN_UNDEF:
                imports.append(make_import(name, version, file, info >> 4 == _STB_WEAK))
            elif (
                shndx == _SHN_ABS
                and info & 0xF == _STT_OBJECT
                and value == 0
                and name in nodes
                and version in (None, name)
            ):
                markers.append(name)
            else:
                add_symbol(
                    make_symbol(
                        name,
                        version,
                        default,
                        types[info & 0xF],
                        bindings[info >> 4],
                        visibilities[other & 3],
                        size,
                    )
                )
        return symbols, markers, imports


def _sha256(data: bytes) -> str:
    import hashlib  # loads OpenSSL: only when a digest is wanted

    return hashlib.sha256(data).hexdigest()


class _Digest:
    """A file's sha256, computed on a worker thread while its tables are decoded.

    hashlib releases the GIL while it hashes, so the ~4 ms a 5 MB library takes overlap
    the decoding instead of adding to it. A small file is hashed in place.
    """

    _THREADED_FROM = 1 << 20

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data
        self._value: str | None = None
        self._thread: threading.Thread | None = None
        if len(data) >= self._THREADED_FROM:
            self._thread = threading.Thread(target=self._run, name="elfaudit-sha256", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        if self._data is not None:
            self._value = _sha256(self._data)

    def value(self) -> str:
        if self._thread is not None:
            self._thread.join()
        if self._value is None and self._data is not None:  # small, or the worker failed
            self._value = _sha256(self._data)
        self._data = None
        assert self._value is not None
        return self._value


def _utf8(latin1: str) -> str:
    return latin1.encode("latin-1").decode("utf-8", "backslashreplace")


def _machine_name(e_machine: object) -> str:
    """``EM_X86_64`` -> ``x86_64``; an unknown number ``n`` -> ``em-n``."""
    if isinstance(e_machine, str):
        return _MACHINE_NAMES.get(e_machine, e_machine.removeprefix("EM_").lower())
    return f"em-{e_machine}"

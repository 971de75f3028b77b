"""An ELF file as the loader maps it: its ``PT_LOAD`` segments, read by virtual address, and
its pointers as dynamic relocation leaves them (the file loaded at base 0).

Tables of pointers in a shared library or PIE (wireshark's ``hf_register_info`` array,
virsh's command tables) hold zeros or addends in the file; their real values come from the
dynamic relocations. :class:`Image` applies them lazily, for the slot asked about:

* ``RELATIVE`` (and ``IRELATIVE``, the resolver's address): base 0 + addend (``RELA``) or
  + the stored word (``REL``); packed ``DT_RELR`` entries likewise;
* absolute (``R_X86_64_64``, ``R_AARCH64_ABS64``...) and ``GLOB_DAT``/``JUMP_SLOT``
  against a defined symbol: its value (+ addend, or + the stored word for ``REL``
  absolute types); against symbol 0 the addend alone; against an undefined symbol 0 +
  addend (:meth:`Image.target` names the symbol);
* no relocation: the stored word (non-PIE executables, constants).

Relocation types are known per ``e_machine`` (:data:`_KINDS`); a slot relocated by a type
not listed there makes :meth:`Image.pointer` raise one line naming it. MIPS: 64-bit MIPS
``r_info`` is a struct (``r_sym``, ``r_ssym``, ``r_type3``, ``r_type2``, ``r_type``),
decoded as such in either byte order; ``R_MIPS_REL32`` is read as the stored word plus the
symbol's value; the implicit relocation of MIPS GOT entries (``DT_MIPS_GOTSYM``) is not
modelled, so a global GOT entry reads as its stored word.

Pure :mod:`struct`. Hostile input: every offset, size and count read from the file is checked
against the bytes present before use; relocations are decoded in bulk with
:func:`struct.iter_unpack`; every loop is bounded by the bytes of its table. Anything wrong
raises :class:`~elfaudit.base.errors.ElfReadError` with one line.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from typing import Literal

from elfaudit.base.errors import ElfReadError
from elfaudit.readers import ELF_MAGIC, BadElf, bad_elf

__all__ = ["Image"]

_PT_LOAD = 1
_PT_DYNAMIC = 2
_PF_X = 1

_DT_NULL = 0
_DT_PLTRELSZ = 2
_DT_HASH = 4
_DT_STRTAB = 5
_DT_SYMTAB = 6
_DT_RELA = 7
_DT_RELASZ = 8
_DT_RELAENT = 9
_DT_STRSZ = 10
_DT_SYMENT = 11
_DT_REL = 17
_DT_RELSZ = 18
_DT_RELENT = 19
_DT_PLTREL = 20
_DT_JMPREL = 23
_DT_RELRSZ = 35
_DT_RELR = 36
_DT_RELRENT = 37
_DT_GNU_HASH = 0x6FFFFEF5

_SHT_SYMTAB = 2
_SHT_STRTAB = 3
_SHT_DYNSYM = 11
_SHN_UNDEF = 0

_MAX_READ = 1 << 26  # one read() of more than 64 MiB is refused (zero-fill of a huge .bss)

# Relocation kinds: R relative, I irelative, A absolute (S + A; REL: S + stored word),
# G GLOB_DAT (S + A; REL: S), J JUMP_SLOT (S). Type 0 (NONE) is skipped everywhere.
_R, _I, _A, _G, _J = "R", "I", "A", "G", "J"
_KINDS: dict[int, dict[int, str]] = {
    62: {8: _R, 37: _I, 1: _A, 6: _G, 7: _J},  # x86_64
    3: {8: _R, 42: _I, 1: _A, 6: _G, 7: _J},  # i386
    183: {1027: _R, 1032: _I, 257: _A, 1025: _G, 1026: _J},  # aarch64
    40: {23: _R, 160: _I, 2: _A, 21: _G, 22: _J},  # arm
    21: {22: _R, 248: _I, 38: _A, 20: _G, 21: _J},  # ppc64, ppc64le
    20: {22: _R, 248: _I, 1: _A, 20: _G, 21: _J},  # ppc
    22: {12: _R, 61: _I, 22: _A, 4: _A, 10: _G, 11: _J},  # s390x (R_390_64), s390 (R_390_32)
    243: {3: _R, 58: _I, 1: _A, 2: _A, 5: _J},  # riscv (R_RISCV_32/64)
    258: {3: _R, 12: _I, 1: _A, 2: _A, 5: _J},  # loongarch (R_LARCH_32/64)
    8: {3: _A, 2: _A, 18: _A, 127: _J},  # mips: REL32, 32, 64, JUMP_SLOT
    2: {22: _R, 249: _I, 3: _A, 23: _A, 32: _A, 54: _A, 20: _G, 21: _J},  # sparc
    18: {22: _R, 249: _I, 3: _A, 23: _A, 32: _A, 54: _A, 20: _G, 21: _J},  # sparc32plus
    43: {22: _R, 249: _I, 3: _A, 23: _A, 32: _A, 54: _A, 20: _G, 21: _J},  # sparcv9
    0x9026: {27: _R, 2: _A, 25: _G, 26: _J},  # alpha (R_ALPHA_REFQUAD)
    15: {1: _A, 80: _A},  # hppa: R_PARISC_DIR32/DIR64 (symbol 0: the addend)
    4: {22: _R, 1: _A, 20: _G, 21: _J},  # m68k
    42: {165: _R, 1: _A, 163: _G, 164: _J},  # sh
}
_EM_MIPS = 8


class Image:
    """An ELF file mapped as the loader would map it at base address 0."""

    path: str
    bits: int
    endian: str
    machine: int
    pointer_size: int
    e_type: int
    _order: Literal["little", "big"]

    def __init__(self, data: bytes, path: str) -> None:
        """Use :meth:`from_bytes`."""
        self.path = path
        self._data = data
        self._loads: list[tuple[int, int, int, int, int]] = []  # vaddr, memsz, off, filesz, flags
        self._starts: list[int] = []
        self._dyn: dict[int, int] = {}
        self._relocs: dict[int, tuple[str, int, int, bool]] | None = None
        self._unknown: dict[int, int] = {}  # slot -> relocation type not in _KINDS
        self._slots: list[int] | None = None
        self._sections: dict[str, tuple[int, int]] | None = None
        self._shdrs: list[tuple[int, int, int, int, int, int, int]] | None = None
        self._symbols: dict[str, int] | None = None
        self._dynsym: tuple[int, int] | None = None  # file offset, byte count present

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_bytes(cls, data: bytes, path: str) -> Image:
        """Parse the ELF header, program headers and dynamic section of ``data``."""
        image = cls(bytes(data), path)
        try:
            image._parse()
        except BadElf as exc:
            raise ElfReadError(path, exc.reason) from None
        except (struct.error, ValueError, IndexError, OverflowError) as exc:
            raise ElfReadError(path, f"internal error while decoding: {exc}") from None
        return image

    def _parse(self) -> None:
        data = self._data
        if not data:
            bad_elf("empty file")
        if data[:4] != ELF_MAGIC:
            bad_elf("not an ELF file")
        if len(data) < 16:
            bad_elf("truncated: ELF identification")
        ei_class, ei_data = data[4], data[5]
        if ei_class not in (1, 2):
            bad_elf(f"unsupported ELF class {ei_class} (expected 1 for 32-bit or 2 for 64-bit)")
        if ei_data not in (1, 2):
            bad_elf(f"unsupported ELF data encoding {ei_data} (expected 1 or 2)")
        self.bits = 32 if ei_class == 1 else 64
        self.endian = e = "<" if ei_data == 1 else ">"
        self.pointer_size = self.bits // 8
        self._order = "little" if e == "<" else "big"
        hdr = e + ("HHIIIIIHHHHHH" if self.bits == 32 else "HHIQQQIHHHHHH")
        if len(data) < 16 + struct.calcsize(hdr):
            bad_elf("truncated: ELF header")
        (
            self.e_type,
            self.machine,
            _version,
            _entry,
            phoff,
            shoff,
            _flags,
            _ehsize,
            phentsize,
            phnum,
            shentsize,
            shnum,
            shstrndx,
        ) = struct.unpack_from(hdr, data, 16)
        self._shoff, self._shentsize, self._shnum, self._shstrndx = (
            shoff,
            shentsize,
            shnum,
            shstrndx,
        )
        phsize = 32 if self.bits == 32 else 56
        dynamic: tuple[int, int] | None = None
        if phnum:
            if phentsize < phsize:
                bad_elf(f"corrupt ELF header: e_phentsize {phentsize} < {phsize}")
            if phoff + phnum * phentsize > len(data):
                bad_elf(
                    f"truncated: program header table ({phnum} entries) extends past end of file"
                )
            for i in range(phnum):  # bounded: phnum entries fit in the file
                at = phoff + i * phentsize
                if self.bits == 64:
                    p_type, flags, off, vaddr, _, filesz, memsz = struct.unpack_from(
                        e + "IIQQQQQ", data, at
                    )
                else:
                    p_type, off, vaddr, _, filesz, memsz, flags = struct.unpack_from(
                        e + "IIIIIII", data, at
                    )
                if p_type == _PT_LOAD:
                    if off + filesz > len(data):
                        bad_elf(f"truncated: PT_LOAD segment {i} extends past end of file")
                    if filesz > memsz:
                        bad_elf(f"corrupt program header {i}: p_filesz > p_memsz")
                    if memsz:
                        self._loads.append((vaddr, memsz, off, filesz, flags))
                elif p_type == _PT_DYNAMIC and dynamic is None:
                    if off + filesz > len(data):
                        bad_elf("truncated: PT_DYNAMIC segment extends past end of file")
                    dynamic = (off, filesz)
        self._loads.sort()
        for a, b in zip(self._loads, self._loads[1:], strict=False):
            if a[0] + a[1] > b[0]:
                bad_elf(
                    f"corrupt program headers: PT_LOAD segments at {a[0]:#x} and {b[0]:#x} overlap"
                )
        self._starts = [seg[0] for seg in self._loads]
        if dynamic is not None:
            off, size = dynamic
            fmt = e + ("iI" if self.bits == 32 else "qQ")
            step = struct.calcsize(fmt)
            view = memoryview(data)[off : off + size - size % step]
            for tag, value in struct.iter_unpack(fmt, view):
                if tag == _DT_NULL:
                    break
                self._dyn.setdefault(tag, value)

    # ------------------------------------------------------------------ memory

    def _segment(self, vaddr: int) -> tuple[int, int, int, int, int] | None:
        i = bisect.bisect_right(self._starts, vaddr) - 1
        if i >= 0:
            seg = self._loads[i]
            if vaddr < seg[0] + seg[1]:
                return seg
        return None

    def _read(self, vaddr: int, size: int) -> bytes:
        seg = self._segment(vaddr)
        if seg is None or size < 0 or vaddr + size > seg[0] + seg[1]:
            bad_elf(f"address {vaddr:#x} (+{size}) is not mapped by any PT_LOAD segment")
        if size > _MAX_READ:
            bad_elf(f"read of {size} bytes at {vaddr:#x} is too large")
        start, _, off, filesz, _ = seg
        rel = vaddr - start
        if rel + size <= filesz:
            return self._data[off + rel : off + rel + size]
        have = self._data[off + rel : off + filesz] if rel < filesz else b""
        return have + bytes(size - len(have))

    def read(self, vaddr: int, size: int) -> bytes:
        """``size`` bytes at ``vaddr`` from the PT_LOAD segments (zeros past ``p_filesz``)."""
        try:
            return self._read(vaddr, size)
        except BadElf as exc:
            raise ElfReadError(self.path, exc.reason) from None

    def offset(self, vaddr: int) -> int | None:
        """The file offset holding the byte at ``vaddr``, None if unmapped or zero-filled."""
        seg = self._segment(vaddr)
        if seg is None or vaddr - seg[0] >= seg[3]:
            return None
        return seg[2] + vaddr - seg[0]

    def word(self, vaddr: int, size: int, signed: bool = False) -> int:
        """The ``size``-byte integer at ``vaddr`` in the file's byte order."""
        return int.from_bytes(self.read(vaddr, size), self._order, signed=signed)

    def dynamic(self, tag: int) -> int | None:
        """The value of the first ``PT_DYNAMIC`` entry with ``tag`` (``DT_PLTGOT`` is 3)."""
        return self._dyn.get(tag)

    def code(self) -> list[tuple[int, bytes]]:
        """(address, bytes) of the file-backed part of each executable PT_LOAD segment."""
        return [
            (vaddr, self._data[off : off + filesz])
            for vaddr, _, off, filesz, flags in self._loads
            if flags & _PF_X and filesz
        ]

    def executable(self, vaddr: int) -> bool:
        """True if ``vaddr`` lies in an executable PT_LOAD segment."""
        seg = self._segment(vaddr)
        return seg is not None and bool(seg[4] & _PF_X)

    def cstring(self, vaddr: int, limit: int = 4096) -> str | None:
        """The NUL-terminated string at ``vaddr`` (UTF-8, backslashreplace), or None if
        ``vaddr`` is unmapped or no NUL comes within ``limit`` bytes."""
        seg = self._segment(vaddr)
        if seg is None:
            return None
        start, memsz, off, filesz, _ = seg
        rel = vaddr - start
        if rel >= filesz:
            return ""  # zero-filled memory
        stop = min(off + filesz, off + rel + limit)
        end = self._data.find(b"\0", off + rel, stop)
        if end < 0:
            if stop == off + filesz and memsz > filesz and stop - (off + rel) < limit:
                end = stop  # the zero fill past p_filesz ends it
            else:
                return None
        return self._data[off + rel : end].decode("utf-8", "backslashreplace")

    def _file_range(self, vaddr: int, size: int, what: str) -> int:
        """The file offset of ``size`` bytes at ``vaddr``, all within a segment's file part."""
        seg = self._segment(vaddr)
        if seg is None:
            bad_elf(f"corrupt dynamic section: {what} address {vaddr:#x} is in no loaded segment")
        start, _, off, filesz, _ = seg
        if size < 0 or vaddr - start + size > filesz:
            bad_elf(
                f"truncated: {what} ({size} bytes at {vaddr:#x}) extends past its segment's data"
            )
        return off + vaddr - start

    # ------------------------------------------------------------------ sections, symbols

    def _section_headers(self) -> list[tuple[int, int, int, int, int, int, int]]:
        """(name, type, addr, offset, size, link, entsize) of each section header."""
        if self._shdrs is not None:
            return self._shdrs
        out: list[tuple[int, int, int, int, int, int, int]] = []
        shsize = 40 if self.bits == 32 else 64
        if self._shoff and self._shnum:
            if self._shentsize < shsize:
                bad_elf(f"corrupt ELF header: e_shentsize {self._shentsize} < {shsize}")
            if self._shoff + self._shnum * self._shentsize > len(self._data):
                bad_elf("truncated: section header table extends past end of file")
            fmt = self.endian + ("IIIIIIIIII" if self.bits == 32 else "IIQQQQIIQQ")
            for i in range(self._shnum):  # bounded: the table fits in the file
                f = struct.unpack_from(fmt, self._data, self._shoff + i * self._shentsize)
                out.append((f[0], f[1], f[3], f[4], f[5], f[6], f[9]))
        self._shdrs = out
        return out

    def sections(self) -> dict[str, tuple[int, int]]:
        """Section name -> (address, size); ``{}`` when the section headers are stripped."""
        if self._sections is None:
            try:
                self._sections = self._read_sections()
            except BadElf as exc:
                raise ElfReadError(self.path, exc.reason) from None
        return dict(self._sections)

    def _read_sections(self) -> dict[str, tuple[int, int]]:
        shdrs = self._section_headers()
        if not shdrs:
            return {}
        if self._shstrndx >= len(shdrs):
            bad_elf(f"corrupt ELF header: e_shstrndx {self._shstrndx} is not a section")
        _, _, _, stroff, strsize, _, _ = shdrs[self._shstrndx]
        if stroff + strsize > len(self._data):
            bad_elf("truncated: section name table extends past end of file")
        out: dict[str, tuple[int, int]] = {}
        for name_off, _, addr, _, size, _, _ in shdrs:
            if name_off >= strsize:
                bad_elf(f"corrupt section header: name offset {name_off} is past the name table")
            end = self._data.find(b"\0", stroff + name_off, stroff + strsize)
            if end < 0:
                bad_elf("corrupt section name table: a name is not NUL-terminated")
            name = self._data[stroff + name_off : end].decode("utf-8", "backslashreplace")
            out.setdefault(name, (addr, size))
        return out

    def _symbol_format(self) -> tuple[str, int]:
        if self.bits == 64:
            return self.endian + "IBBHQQ", 24
        return self.endian + "IIIBBH", 16

    def _dynsym_table(self) -> tuple[int, int]:
        """File offset of DT_SYMTAB and how many of its bytes the file holds (for bounds)."""
        if self._dynsym is None:
            addr = self._dyn.get(_DT_SYMTAB)
            if addr is None:
                self._dynsym = (0, 0)
            else:
                size = self._symbol_format()[1]
                got = self._dyn.get(_DT_SYMENT, size)
                if got != size:
                    bad_elf(f"corrupt dynamic section: DT_SYMENT is {got}, expected {size}")
                seg = self._segment(addr)
                if seg is None:
                    bad_elf(f"corrupt dynamic section: DT_SYMTAB {addr:#x} is in no loaded segment")
                start, _, off, filesz, _ = seg
                if addr - start >= filesz:
                    bad_elf("truncated: DT_SYMTAB points past its segment's data")
                room = filesz - (addr - start)
                strtab = self._dyn.get(_DT_STRTAB, 0)
                if addr < strtab < addr + room:  # the string table follows the symbols
                    room = strtab - addr
                self._dynsym = (off + addr - start, room)
        return self._dynsym

    def _dynamic_symbol(self, index: int) -> tuple[int, int]:
        """(st_value, st_shndx) of dynamic symbol ``index``."""
        fmt, size = self._symbol_format()
        off, room = self._dynsym_table()
        if (index + 1) * size > room:
            bad_elf(f"corrupt relocation: symbol index {index} is past the dynamic symbol table")
        f = struct.unpack_from(fmt, self._data, off + index * size)
        if self.bits == 64:
            return f[4], f[3]
        return f[1], f[5]

    def symbol(self, name: str) -> int | None:
        """The value of the defined dynamic (or ``.symtab``) symbol ``name``, else None."""
        if self._symbols is None:
            try:
                self._symbols = self._read_symbols()
            except BadElf as exc:
                raise ElfReadError(self.path, exc.reason) from None
        return self._symbols.get(name)

    def _read_symbols(self) -> dict[str, int]:
        out: dict[str, int] = {}
        fmt, size = self._symbol_format()
        tables: list[tuple[int, int, int, int]] = []  # sym offset, bytes, str offset, str bytes
        shdrs = self._section_headers()
        for _, sh_type, _, off, sz, link, _ in shdrs:
            if sh_type in (_SHT_SYMTAB, _SHT_DYNSYM):
                if link >= len(shdrs) or shdrs[link][1] != _SHT_STRTAB:
                    bad_elf("corrupt symbol table: sh_link is not a string table")
                stroff, strsz = shdrs[link][3], shdrs[link][4]
                if off + sz > len(self._data) or stroff + strsz > len(self._data):
                    bad_elf("truncated: a symbol table extends past end of file")
                tables.append((off, sz, stroff, strsz))
        if not tables and _DT_SYMTAB in self._dyn and _DT_STRTAB in self._dyn:
            strsz = self._dyn.get(_DT_STRSZ, 0)
            stroff = self._file_range(self._dyn[_DT_STRTAB], strsz, "DT_STRTAB")
            off, room = self._dynsym_table()
            count = self._count_dynamic_symbols()
            if count is not None:
                room = min(room, count * size)
            tables.append((off, room, stroff, strsz))
        for off, sz, stroff, strsz in tables:
            view = memoryview(self._data)[off : off + sz - sz % size]
            for f in struct.iter_unpack(fmt, view):
                if self.bits == 64:
                    name_off, shndx, value = f[0], f[3], f[4]
                else:
                    name_off, value, shndx = f[0], f[1], f[5]
                if shndx == _SHN_UNDEF or name_off == 0 or name_off >= strsz:
                    continue
                end = self._data.find(b"\0", stroff + name_off, stroff + strsz)
                if end < 0:
                    continue
                sym = self._data[stroff + name_off : end].decode("utf-8", "backslashreplace")
                out.setdefault(sym, value)
        return out

    def _count_dynamic_symbols(self) -> int | None:
        """The number of dynamic symbols from DT_HASH or DT_GNU_HASH (None if neither)."""
        e = self.endian
        if _DT_HASH in self._dyn:
            at = self._file_range(self._dyn[_DT_HASH], 8, "DT_HASH")
            return int(struct.unpack_from(e + "II", self._data, at)[1])
        if _DT_GNU_HASH not in self._dyn:
            return None
        addr = self._dyn[_DT_GNU_HASH]
        at = self._file_range(addr, 16, "DT_GNU_HASH")
        nbuckets, symoffset, maskwords, _ = struct.unpack_from(e + "IIII", self._data, at)
        buckets_at = addr + 16 + maskwords * self.pointer_size
        self._file_range(buckets_at, 4 * nbuckets, "DT_GNU_HASH buckets")
        buckets = struct.unpack_from(f"{e}{nbuckets}I", self.read(buckets_at, 4 * nbuckets))
        last = max(buckets, default=0)
        if last < symoffset:
            return int(symoffset)
        chains = buckets_at + 4 * nbuckets
        seg = self._segment(chains)
        if seg is None:
            bad_elf("truncated: DT_GNU_HASH chains")
        limit = (seg[0] + seg[3] - chains) // 4 + symoffset  # bounded by the segment's data
        index = last
        while index < limit:
            (value,) = struct.unpack(e + "I", self._read(chains + 4 * (index - symoffset), 4))
            if value & 1:
                return index + 1
            index += 1
        bad_elf("corrupt DT_GNU_HASH table: hash chain runs past end of its segment")

    # ------------------------------------------------------------------ relocations

    def _relocations(self) -> dict[int, tuple[str, int, int, bool]]:
        """slot -> (kind, symbol index, addend, is_rela), decoded once, in bulk."""
        if self._relocs is not None:
            return self._relocs
        relocs: dict[int, tuple[str, int, int, bool]] = {}
        kinds = _KINDS.get(self.machine)
        d = self._dyn
        tables: list[tuple[int, int, bool, str]] = []
        if _DT_RELA in d:
            tables.append((d[_DT_RELA], d.get(_DT_RELASZ, 0), True, "DT_RELA"))
            want = 24 if self.bits == 64 else 12
            if d.get(_DT_RELAENT, want) != want:
                bad_elf(f"corrupt dynamic section: DT_RELAENT is {d[_DT_RELAENT]}, expected {want}")
        if _DT_REL in d:
            tables.append((d[_DT_REL], d.get(_DT_RELSZ, 0), False, "DT_REL"))
            want = 16 if self.bits == 64 else 8
            if d.get(_DT_RELENT, want) != want:
                bad_elf(f"corrupt dynamic section: DT_RELENT is {d[_DT_RELENT]}, expected {want}")
        if _DT_JMPREL in d:
            pltrel = d.get(_DT_PLTREL, _DT_RELA if self.bits == 64 else _DT_REL)
            if pltrel not in (_DT_RELA, _DT_REL):
                bad_elf(f"corrupt dynamic section: DT_PLTREL is {pltrel}")
            tables.append((d[_DT_JMPREL], d.get(_DT_PLTRELSZ, 0), pltrel == _DT_RELA, "DT_JMPREL"))
        if (tables or _DT_RELR in d) and kinds is None:
            bad_elf(f"relocations of machine {self.machine} (e_machine) are not supported")
        assert kinds is not None or not tables
        psize = self.pointer_size
        for addr, size, rela, what in tables:
            if size == 0:
                continue
            start = self._file_range(addr, size, what)
            rows = self._decode(start, size, rela)
            for off, sym, rtype, addend in rows:
                if rtype == 0:
                    continue
                seg = self._segment(off)
                if seg is None or off + psize > seg[0] + seg[1]:
                    bad_elf(f"corrupt {what}: relocation offset {off:#x} is in no loaded segment")
                kind = kinds.get(rtype) if kinds else None
                if kind is None:
                    self._unknown[off] = rtype
                    relocs.pop(off, None)
                else:
                    relocs[off] = (kind, sym, addend, rela)
        if _DT_RELR in d:
            for off in self._relr(d[_DT_RELR], d.get(_DT_RELRSZ, 0)):
                relocs[off] = (_R, 0, 0, False)
        self._relocs = relocs
        return relocs

    def _decode(self, start: int, size: int, rela: bool) -> list[tuple[int, int, int, int]]:
        """(offset, symbol, type, addend) of each entry of a REL/RELA table (REL: addend 0)."""
        e = self.endian
        view = memoryview(self._data)[start : start + size]
        if self.bits == 64 and self.machine == _EM_MIPS:
            fmt = e + ("QIBBBBq" if rela else "QIBBBB")
            step = struct.calcsize(fmt)
            view = view[: size - size % step]
            out = []
            for f in struct.iter_unpack(fmt, view):
                # (r_type, r_type2, r_type3): REL32 composed with R_MIPS_64 is the usual one;
                # another composition keeps all three (type | type2 << 8 | type3 << 16),
                # which no kind table lists: "unsupported relocation type N"
                simple = f[4] in (0, 18) and f[3] == 0
                rtype = f[5] if simple else f[5] | f[4] << 8 | f[3] << 16
                out.append((f[0], f[1], rtype, f[6] if rela else 0))
            return out
        if self.bits == 64:
            fmt, shift, mask = e + ("QQq" if rela else "QQ"), 32, 0xFFFFFFFF
        else:
            fmt, shift, mask = e + ("IIi" if rela else "II"), 8, 0xFF
        step = struct.calcsize(fmt)
        view = view[: size - size % step]
        if rela:
            return [(o, i >> shift, i & mask, a) for o, i, a in struct.iter_unpack(fmt, view)]
        return [(o, i >> shift, i & mask, 0) for o, i in struct.iter_unpack(fmt, view)]

    def _relr(self, addr: int, size: int) -> list[int]:
        """The slots of a packed DT_RELR table."""
        psize = self.pointer_size
        if self._dyn.get(_DT_RELRENT, psize) != psize:
            bad_elf(
                f"corrupt dynamic section: DT_RELRENT is {self._dyn[_DT_RELRENT]}, expected {psize}"
            )
        start = self._file_range(addr, size, "DT_RELR")
        fmt = self.endian + ("Q" if psize == 8 else "I")
        view = memoryview(self._data)[start : start + size - size % psize]
        out: list[int] = []
        where = 0
        bits = psize * 8 - 1
        for (entry,) in struct.iter_unpack(fmt, view):
            if entry & 1 == 0:
                out.append(entry)
                where = entry + psize
            else:
                entry >>= 1
                i = 0
                while entry:  # bounded: at most bits - 1 steps
                    if entry & 1:
                        out.append(where + i * psize)
                    entry >>= 1
                    i += 1
                where += bits * psize
        for off in out:
            seg = self._segment(off)
            if seg is None or off + psize > seg[0] + seg[1]:
                bad_elf(f"corrupt DT_RELR: relocation offset {off:#x} is in no loaded segment")
        return out

    def _checked(self) -> dict[int, tuple[str, int, int, bool]]:
        try:
            return self._relocations()
        except BadElf as exc:
            raise ElfReadError(self.path, exc.reason) from None
        except (struct.error, ValueError, OverflowError) as exc:
            raise ElfReadError(
                self.path, f"internal error while decoding relocations: {exc}"
            ) from None

    def relocated(self, vaddr: int) -> bool:
        """True if a dynamic relocation targets the slot at ``vaddr``."""
        return vaddr in self._checked() or vaddr in self._unknown

    def reloc_slots(self) -> Sequence[int]:
        """Sorted addresses of the pointer-size slots relocated by a known relocation type."""
        if self._slots is None:
            self._slots = sorted(self._checked())
        return self._slots

    def pointer(self, vaddr: int) -> int:
        """The pointer-size word at ``vaddr`` after dynamic relocation at base 0."""
        relocs = self._checked()
        try:
            return self._pointer(relocs, vaddr)
        except BadElf as exc:
            raise ElfReadError(self.path, exc.reason) from None

    def _pointer(self, relocs: dict[int, tuple[str, int, int, bool]], vaddr: int) -> int:
        size = self.pointer_size
        order = self._order
        reloc = relocs.get(vaddr)
        if reloc is None:
            if vaddr in self._unknown:
                bad_elf(f"unsupported relocation type {self._unknown[vaddr]} at {vaddr:#x}")
            return int.from_bytes(self._read(vaddr, size), order)
        kind, sym, addend, rela = reloc
        if not rela and kind != _J and (kind != _G):
            addend = int.from_bytes(self._read(vaddr, size), order)
        if kind in (_R, _I):
            return addend & ((1 << self.bits) - 1)
        value = 0
        if sym:
            st_value, shndx = self._dynamic_symbol(sym)
            if shndx != _SHN_UNDEF:
                value = st_value
        if kind == _J or (kind == _G and not rela):
            return value
        return (value + addend) & ((1 << self.bits) - 1)

    def target(self, vaddr: int) -> str | None:
        """The name of the symbol the relocation at ``vaddr`` refers to (None: none, or 0)."""
        reloc = self._checked().get(vaddr)
        if reloc is None or reloc[1] == 0:
            return None
        sym = reloc[1]
        try:
            fmt, size = self._symbol_format()
            off, room = self._dynsym_table()
            if (sym + 1) * size > room:
                return None
            name_off = struct.unpack_from(fmt, self._data, off + sym * size)[0]
            strsz = self._dyn.get(_DT_STRSZ, 0)
            stroff = self._file_range(self._dyn.get(_DT_STRTAB, 0), strsz, "DT_STRTAB")
        except BadElf as exc:
            raise ElfReadError(self.path, exc.reason) from None
        if name_off >= strsz:
            return None
        end = self._data.find(b"\0", stroff + name_off, stroff + strsz)
        return (
            None
            if end < 0
            else self._data[stroff + name_off : end].decode("utf-8", "backslashreplace")
        )

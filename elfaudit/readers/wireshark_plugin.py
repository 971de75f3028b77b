"""libvirt's wireshark dissector plugin (``.../wireshark/plugins/<X.Y>/epan/libvirt.so``): the
RPC programs, procedures and every message's fields, read from its data tables.

libvirt generates the plugin's tables from its XDR protocol files
(``tools/wireshark/util/genxdrstub.pl``); the plugin holds, in relocated data:

* one ``hf_register_info`` array: entries ``{int *p_id; {name, abbrev, ftenum type,
  display, strings, bitmask, blurb, HFILL}}``. After packet-libvirt.c's own header fields
  (``libvirt.length``, ``libvirt.program``...) come, per program, a ``libvirt.procedure``
  field whose ``strings`` is that program's ``<prog>_procedure_strings``, then one field per
  structure or union member, ``libvirt.<type>.<member>`` (``<type>.<member>.<sub>`` for the
  members of an anonymous member type; an array member ``t.m`` is preceded by its element's
  field ``t.m.m``), each type's own field ``libvirt.<type>`` after its members;
* ``program_strings`` (the ``strings`` of ``libvirt.program``): value_string
  ``{guint32 value; const char *str}`` of the program numbers and upper-case names,
  ending ``{0, NULL}``, in the same program order as the ``libvirt.procedure`` fields;
* ``<prog>_procedure_strings``: value_string of the procedure numbers and names
  (``DOMAIN_GET_INFO``; read lower-cased, as the tapset names them).

The entry stride and the offsets of ``name``/``abbrev``/``type``/``strings`` are found
from the data (consecutive relocated ``abbrev`` pointers; the relocated ``strings`` slot of
``libvirt.program``), not assumed per version, so any ELF class and byte order reads the
same way (:class:`~elfaudit.readers.elf_image.Image` applies the relocations).

Field types are wireshark's ``enum ftenum`` of the plugin's ABI (:data:`FTENUMS`, checked
against ``epan/ftypes/ftypes.h`` of Debian's libwireshark-dev 3.4.10, 4.0.17, 4.4.19 and
4.6.9: 4.0 dropped ``FT_PCRE``, so every code from 36 on moved down by one). The ABI is the
plugin's own ``plugin_want_major``/``plugin_want_minor``, else the ``abi`` argument, else
the ``plugins/<X.Y>/`` folder of ``path``; an ABI not in the table is refused in one line,
not guessed. The codes are cross-checked on fields whose type packet-libvirt.c fixes
(``libvirt.serial`` and ``libvirt.program`` are ``FT_UINT32``, ``libvirt.procedure``
``FT_INT32``).

What the tables do not tell: what a structure- or union-typed member refers to (its field
is ``FT_NONE``) and an array's element type name; the code does. :func:`_refers` reads it
there on x86-64 (rip-relative loads of the fields' ``hf_`` variables, the ``lea`` of the
element type name passed to ``dissect_xdr_array``, direct calls), AArch64 (``adrp`` +
``add`` section-anchor addresses followed through the registers, ``ldr w``, ``bl``) and
s390x (``lgfrl``/``larl``/``brasl``: relative-long addresses), i386 (``%ebx``-relative
``mov``/``push``/``lea`` from ``_GLOBAL_OFFSET_TABLE_``, ``DT_PLTGOT``) and 64-bit
PowerPC (TOC-relative ``addis``/``addi``/``lwa``), with the function starts of the
``.eh_frame_hdr`` table. On Debian's amd64 plugins 3.4 to 4.6 it finds all but two
or three of ~480 such members (``remote_typed_param.value``, whose union dissector the
compiler inlined in place of its field variable, and a ``char`` array whose name string it
merged), the same answers in all five builds; on ppc64el, s390x and i386 ~98 % and on
arm64 ~95 % of them, never an answer that differs from amd64's. Elsewhere (armhf's
Thumb-2 literal pools, other machines, no ``.eh_frame_hdr``) ``RpcField.refers`` stays
empty. ``RpcField.element`` is the
element's field type, from the ``t.m.m`` entry, on every machine. Every structure and
union with members is a message (protocol types such as ``remote_nonnull_domain``
included); packet-libvirt.c's fixed fields (a type's entry before its members,
``libvirt.stream_hole``) are not.

Bad input (not ELF, truncated, relocations out of range, tables that do not add up):
:class:`~elfaudit.base.errors.ElfReadError` or
:class:`~elfaudit.base.errors.InputError` with one line; every loop is bounded by the
relocations or the bytes present.
"""

from __future__ import annotations

import array
import bisect
import itertools
import re
import struct
import sys
from collections import Counter

from elfaudit.base.errors import ElfReadError, InputError
from elfaudit.model.rpc import RpcField, RpcMessage, RpcProcedure, RpcProtocol
from elfaudit.readers.elf_image import Image

__all__ = ["FTENUMS", "PLUGIN_NAME", "read_plugin"]

PLUGIN_NAME = "libvirt.so"

_FT_COMMON = (
    "NONE", "PROTOCOL", "BOOLEAN", "CHAR", "UINT8", "UINT16", "UINT24", "UINT32", "UINT40",
    "UINT48", "UINT56", "UINT64", "INT8", "INT16", "INT24", "INT32", "INT40", "INT48", "INT56",
    "INT64", "IEEE_11073_SFLOAT", "IEEE_11073_FLOAT", "FLOAT", "DOUBLE", "ABSOLUTE_TIME",
    "RELATIVE_TIME", "STRING", "STRINGZ", "UINT_STRING", "ETHER", "BYTES", "UINT_BYTES", "IPv4",
    "IPv6", "IPXNET", "FRAMENUM",
)  # fmt: skip
_FT_TAIL = (
    "GUID", "OID", "EUI64", "AX25", "VINES", "REL_OID", "SYSTEM_ID", "STRINGZPAD", "FCWWN",
    "STRINGZTRUNC",
)  # fmt: skip
_FT_3 = (*_FT_COMMON, "PCRE", *_FT_TAIL)
_FT_4 = (*_FT_COMMON, *_FT_TAIL)

FTENUMS: dict[str, tuple[str, ...]] = {"3.4": _FT_3, "4.0": _FT_4, "4.4": _FT_4, "4.6": _FT_4}
"""wireshark ABI (``major.minor``) -> its ``enum ftenum`` names without ``FT_``, by code."""

_FIXED_TYPES = {
    "libvirt.serial": "UINT32",
    "libvirt.program": "UINT32",
    "libvirt.procedure": "INT32",
}
_PROGRAM_VERSION = 1  # every libvirt program is at version 1 (the plugin does not say)
_ABI_DIR = re.compile(r"/plugins/([0-9]+)\.([0-9]+)/")
_MAX_VALUES = 1 << 16  # value_string entries: far more than any program has procedures


def read_plugin(data: bytes, path: str, abi: str | None = None) -> RpcProtocol:
    """The RPC protocol libvirt's wireshark plugin ``data`` describes (``path``: for errors,
    the result's ``source`` and, failing the plugin's own symbols and ``abi``, the ABI)."""
    image = Image.from_bytes(data, path)
    return _Reader(image, path).read(abi)


class _Reader:
    def __init__(self, image: Image, path: str) -> None:
        self.im = image
        self.path = path
        self.id_at: int | None = None  # p_id's offset from the abbrev slot

    def fail(self, problem: str) -> InputError:
        return InputError(self.path, problem)

    # ------------------------------------------------------------------ ABI

    def abi(self, given: str | None) -> str:
        im = self.im
        major, minor = im.symbol("plugin_want_major"), im.symbol("plugin_want_minor")
        own = None
        if major is not None and minor is not None:
            own = f"{im.word(major, 4, signed=True)}.{im.word(minor, 4, signed=True)}"
        found = _ABI_DIR.search(self.path.replace("\\", "/"))
        version = own or given or (f"{found[1]}.{found[2]}" if found else None)
        if version is None:
            raise self.fail(
                "cannot tell the wireshark ABI: no plugin_want_major/minor symbols and no "
                "plugins/<X.Y>/ folder in the path"
            )
        if own is not None and given is not None and given != own:
            raise self.fail(f"built for wireshark {own}, not {given}")
        if version not in FTENUMS:
            known = ", ".join(FTENUMS)
            raise self.fail(f"wireshark ABI {version} is not known (known: {known})")
        return version

    # ------------------------------------------------------------------ hf_register_info

    def header_fields(self) -> tuple[list[int], int]:
        """The addresses of the ``abbrev`` slots of the longest run of ``libvirt.*`` entries
        at one stride, and that stride."""
        im = self.im
        slots = im.reloc_slots()
        abbrevs: list[int] = []
        for slot in slots:  # bounded: one step per relocated slot
            target = im.pointer(slot)
            if _starts(im, target, b"libvirt."):
                abbrevs.append(slot)
        if len(abbrevs) < 2:
            raise self.fail("no hf_register_info table of libvirt.* fields (not libvirt's plugin?)")
        stride, _ = Counter(b - a for a, b in itertools.pairwise(abbrevs)).most_common(1)[0]
        best: list[int] = []
        run = [abbrevs[0]]
        for a, b in itertools.pairwise(abbrevs):
            if b - a == stride:
                run.append(b)
            else:
                best = max(best, run, key=len)
                run = [b]
        best = max(best, run, key=len)
        ps = im.pointer_size
        if stride < 3 * ps + 8 or stride > 64 * ps:
            raise self.fail(f"corrupt hf_register_info table: entry stride {stride}")
        first = best[0]
        if not im.relocated(first - ps):
            raise self.fail("corrupt hf_register_info table: an entry's name is not relocated")
        # p_id: the relocated slot before name (hfinfo may be 8-aligned: armhf pads 4 bytes)
        self.id_at = next(
            (-k for k in range(2 * ps, 2 * ps + 8, ps) if im.relocated(first - k)), None
        )
        return best, stride

    def read(self, given_abi: str | None) -> RpcProtocol:
        im = self.im
        version = self.abi(given_abi)
        names = FTENUMS[version]
        ps = im.pointer_size
        run, stride = self.header_fields()
        type_at = ps  # ftenum right after the abbrev pointer
        entries: list[tuple[str, int, int]] = []  # abbrev, ftenum code, abbrev slot address
        for slot in run:
            abbrev = self.string(im.pointer(slot), "a field abbreviation")
            code = im.word(slot + type_at, 4)
            entries.append((abbrev, code, slot))
        ids: dict[int, str] = {}  # the address of each field's int hf_... variable
        if self.id_at is not None:
            for abbrev, _, slot in entries:
                ids.setdefault(im.pointer(slot + self.id_at), abbrev)
        by_name: dict[str, int] = {}
        for abbrev, code, _ in entries:
            by_name.setdefault(abbrev, code)
        if "libvirt.program" not in by_name:
            raise self.fail("no libvirt.program field (not libvirt's plugin?)")
        for abbrev, want in _FIXED_TYPES.items():
            got = by_name.get(abbrev)
            if got is not None and (got >= len(names) or names[got] != want):
                raise self.fail(
                    f"field types do not match wireshark {version}: {abbrev} has code {got}, "
                    f"FT_{want} is {names.index(want)}"
                )

        # strings pointer: the first relocated pointer-aligned slot after type and display
        program_slot = next(s for a, _, s in entries if a == "libvirt.program")
        strings_at = None
        off = type_at + 8
        off += -off % ps
        while off + ps <= stride - 2 * ps:  # bounded by the entry size
            if im.relocated(program_slot + off):
                strings_at = off
                break
            off += ps
        if strings_at is None:
            raise self.fail("libvirt.program has no value strings (program_strings)")
        programs_list = self.value_strings(im.pointer(program_slot + strings_at), "program_strings")
        proc_tables = [
            im.pointer(s + strings_at)
            for a, _, s in entries
            if a == "libvirt.procedure" and im.relocated(s + strings_at)
        ]
        if len(proc_tables) != len(programs_list):
            raise self.fail(
                f"{len(programs_list)} programs in program_strings but {len(proc_tables)} "
                "procedure tables"
            )
        programs: dict[str, int] = {}
        procedures: list[RpcProcedure] = []
        for (number, upper), table in zip(programs_list, proc_tables, strict=True):
            prog = upper.lower()
            if prog in programs:
                raise self.fail(f"program {prog} is listed twice in program_strings")
            programs[prog] = number
            seen: set[int] = set()
            for proc, name in self.value_strings(table, f"{prog}_procedure_strings"):
                if proc in seen:
                    raise self.fail(f"procedure {proc} of {prog} is listed twice")
                seen.add(proc)
                procedures.append(RpcProcedure(prog, _PROGRAM_VERSION, proc, name.lower()))

        messages = self.messages(
            entries, names, version, _refers(im, ids, {a for a, code, _ in entries if code == 0})
        )
        return RpcProtocol(
            self.path,
            f"wireshark {version}",
            dict(sorted(programs.items())),
            tuple(sorted(procedures)),
            messages,
        )

    def messages(
        self,
        entries: list[tuple[str, int, int]],
        names: tuple[str, ...],
        version: str,
        refers: dict[str, str],
    ) -> dict[str, RpcMessage]:
        """Group the generated fields by their type: a type's own entry ends its members."""
        index = {abbrev: i for i, (abbrev, _, _) in enumerate(entries)}
        out: dict[str, RpcMessage] = {}
        for i, (abbrev, _, _) in enumerate(entries):
            parts = abbrev.split(".")
            if len(parts) != 2 or i == 0:
                continue
            prefix = abbrev + "."
            # members: the entries just before, of this type (nested ones included)
            start = i
            while start > 0 and entries[start - 1][0].startswith(prefix):  # bounded by i
                start -= 1
            if start == i:
                continue  # no member before it: a fixed field, or a member-less type
            fields: list[RpcField] = []
            for abbrev2, code2, _ in entries[start:i]:
                rest = abbrev2[len(prefix) :]
                if "." in rest:
                    continue
                element = ""
                elem = index.get(f"{abbrev2}.{rest}")
                if elem is not None and start <= elem < i:
                    element = self.type_name(entries[elem][1], names, version, entries[elem][0])
                kind = self.type_name(code2, names, version, abbrev2)
                fields.append(RpcField(rest, kind, refers.get(abbrev2, ""), element))
            name = parts[1]
            if name not in out:
                out[name] = RpcMessage(name, tuple(fields))
        return dict(sorted(out.items()))

    def type_name(self, code: int, names: tuple[str, ...], version: str, abbrev: str) -> str:
        if code >= len(names):
            raise self.fail(
                f"field {abbrev} has type code {code}, not one of wireshark {version}'s"
            )
        return names[code]

    # ------------------------------------------------------------------ value_string

    def value_strings(self, vaddr: int, what: str) -> list[tuple[int, str]]:
        """A value_string array ``{guint32 value; const char *strptr}`` up to ``{0, NULL}``."""
        im = self.im
        ps = im.pointer_size
        step = 2 * ps
        out: list[tuple[int, str]] = []
        for i in range(_MAX_VALUES):  # bounded; each step also needs mapped bytes
            at = vaddr + i * step
            try:
                value = im.word(at, 4)
                strptr = im.pointer(at + ps)
            except ElfReadError:
                raise self.fail(f"corrupt {what}: not terminated by {{0, NULL}}") from None
            if strptr == 0:
                if value != 0:
                    raise self.fail(f"corrupt {what}: entry {i} has no string")
                return out
            out.append((value, self.string(strptr, f"a {what} name")))
        raise self.fail(f"corrupt {what}: more than {_MAX_VALUES} entries")

    def string(self, vaddr: int, what: str) -> str:
        text = self.im.cstring(vaddr, 1024)
        if text is None:
            raise self.fail(f"corrupt tables: {what} at {vaddr:#x} is not a string")
        return text


def _starts(im: Image, vaddr: int, prefix: bytes) -> bool:
    try:
        return im.read(vaddr, len(prefix)) == prefix
    except ElfReadError:
        return False


# --------------------------------------------------------------------------- code (x86-64)

_EM_X86_64 = 62
_EM_AARCH64 = 183
# mov r32, [rip + disp32] (8b) and lea r, [rip + disp32] (8d): ModRM mod 00, r/m 101
_RIP_REF = re.compile(rb"[\x8b\x8d][\x05\x0d\x15\x1d\x25\x2d\x35\x3d]")
_BRANCH = re.compile(rb"[\xe8\xe9]")  # call / jmp rel32
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ID, _STR, _FN = 0, 1, 2
# _WINDOWS: bytes between an element's hf load and the element type name's address
_STEPS = 64  # events looked at after a member's hf load, or from a function's start


def _function_starts(im: Image) -> list[int]:
    """Function start addresses from the ``.eh_frame_hdr`` search table (empty if absent or
    in an encoding other than the usual ``DW_EH_PE_datarel | sdata4``)."""
    hdr = im.sections().get(".eh_frame_hdr")
    if hdr is None or hdr[1] < 12:
        return []
    addr, size = hdr
    head = im.read(addr, 4)
    if head[0] != 1 or head[2] != 0x03 or head[3] != 0x3B or head[1] not in (0x1B, 0x03):
        return []
    count = im.word(addr + 8, 4)
    if 12 + 8 * count > size:
        return []
    table = im.read(addr + 12, 8 * count)
    fmt = f"{im.endian}{2 * count}i"
    values = struct.unpack(fmt, table)
    return sorted({addr + v for v in values[::2]})


Event = tuple[int, int, int]  # code address, kind (_ID, _STR, _FN), target address


def _events_x86_64(
    im: Image, ids: dict[int, str], start_set: set[int], starts: list[int]
) -> list[Event]:
    """rip-relative ``mov``/``lea`` and direct ``call``/``jmp`` of the x86-64 code."""
    events: list[Event] = []
    for base, blob in im.code():
        limit = len(blob) - 4
        for m in _RIP_REF.finditer(blob):
            at = m.end()
            if at > limit:
                break
            target = base + at + 4 + int.from_bytes(blob[at : at + 4], "little", signed=True)
            if target in ids:
                events.append((base + m.start(), _ID, target))
            elif blob[m.start()] == 0x8D:
                events.append((base + m.start(), _FN if target in start_set else _STR, target))
        for m in _BRANCH.finditer(blob):
            at = m.end()
            if at > limit:
                break
            target = base + at + 4 + int.from_bytes(blob[at : at + 4], "little", signed=True)
            if target in start_set:
                events.append((base + m.start(), _FN, target))
    return events


def _a64_class(top: int) -> int:
    """What the AArch64 scanner does with an instruction, by its top byte."""
    if top & 0x9F == 0x90:
        return 1  # adrp
    if top == 0x91:
        return 2  # add xd, xn, #imm
    if top == 0xB9:
        return 3  # ldr/str wt, [xn, #imm]
    if top == 0xAA:
        return 4  # orr (mov xd, xm)
    if top & 0x7C == 0x14:
        return 5  # b, bl
    if top == 0xD6:
        return 6  # br, blr, ret
    if top == 0x54 or top & 0x7E in (0x34, 0x36):
        return 9  # b.cond, cbz/cbnz, tbz/tbnz
    if top & 0x0A == 0x08:
        return 7  # other loads and stores
    if top & 0x1C == 0x10 or top & 0x0E == 0x0A:
        return 8  # other data processing: writes Rd
    return 0


_PENDING = 4096  # forward branch targets remembered at once (bounded memory)
_A64_CLASS = bytes(_a64_class(t) for t in range(256))


def _events_aarch64(
    im: Image, ids: dict[int, str], start_set: set[int], starts: list[int]
) -> list[Event]:
    """AArch64: addresses built by ``adrp`` + ``add`` (GCC's section anchors: one base, many
    offsets), ``ldr w`` from them, ``bl``/``b``. Register values are followed in address
    order within each function (from the ``.eh_frame_hdr`` starts), forgotten when an
    instruction writes the register otherwise, and x0-x18 at each call; code after a
    ``ret``/``b``/``br`` starts from the values of the forward branch that reaches it
    (GCC places cold blocks after the epilogue, whose ``ldp`` restored the registers)."""
    events: list[Event] = []
    caller_saved = range(19)
    for base, blob in im.code():
        words = array.array("I", blob[: len(blob) - len(blob) % 4])
        if (im.endian == "<") != (sys.byteorder == "little"):
            words.byteswap()
        regs: dict[int, int] = {}
        pending: dict[int, dict[int, int]] = {}  # forward branch target -> values there
        dead = False  # the previous instruction does not fall through
        k = bisect.bisect_left(starts, base)
        next_start = starts[k] if k < len(starts) else -1
        classes = _A64_CLASS
        pc = base - 4
        for insn in words:  # bounded: one step per instruction word
            pc += 4
            if pc == next_start:
                regs.clear()
                pending.clear()
                k += 1
                next_start = starts[k] if k < len(starts) else -1
            elif pending:
                state = pending.pop(pc, None)
                if state is not None and dead:
                    regs = state
            dead = False
            c = classes[insn >> 24]
            if not c or (not regs and c > 4 and c != 5 and c != 6):
                continue
            rd = insn & 31
            if c == 1:  # adrp
                imm = ((insn >> 5) & 0x7FFFF) << 2 | (insn >> 29) & 3
                imm -= (imm & 0x100000) << 1
                regs[rd] = (pc & ~0xFFF) + (imm << 12)
            elif c == 2:  # add
                rn = (insn >> 5) & 31
                if rn in regs:
                    value = regs[rn] + (((insn >> 10) & 0xFFF) << (12 if insn & 0x400000 else 0))
                    regs[rd] = value
                    if value in start_set:
                        events.append((pc, _FN, value))
                    elif value not in ids:
                        events.append((pc, _STR, value))
                elif rd in regs:
                    del regs[rd]
            elif c == 3:
                if insn & 0x00C00000 == 0x00400000:  # ldr wt, [xn, #imm]
                    rn = (insn >> 5) & 31
                    if rn in regs:
                        target = regs[rn] + ((insn >> 10) & 0xFFF) * 4
                        if target in ids:
                            events.append((pc, _ID, target))
                    regs.pop(rd, None)
            elif c == 4:
                if insn & 0xFFE0FFE0 == 0xAA0003E0:  # mov xd, xm
                    rm = (insn >> 16) & 31
                    if rm in regs:
                        regs[rd] = regs[rm]
                    elif rd in regs:
                        del regs[rd]
                elif rd in regs:
                    del regs[rd]
            elif c == 5:  # b, bl
                imm = insn & 0x3FFFFFF
                target = pc + ((imm - ((imm & 0x2000000) << 1)) << 2)
                if target in start_set:
                    events.append((pc, _FN, target))
                if insn & 0x80000000:
                    for r in caller_saved:
                        regs.pop(r, None)
                else:
                    if target > pc and regs and len(pending) < _PENDING:
                        pending.setdefault(target, dict(regs))
                    dead = True
            elif c == 6:
                if insn & 0xFFFFFC1F == 0xD63F0000:  # blr
                    for r in caller_saved:
                        regs.pop(r, None)
                else:  # br, ret
                    dead = True
            elif c == 9:  # conditional branches: remember the values at a forward target
                if insn >> 24 == 0x54 or insn & 0x7E000000 == 0x34000000:
                    imm, bits = (insn >> 5) & 0x7FFFF, 19
                else:
                    imm, bits = (insn >> 5) & 0x3FFF, 14
                imm -= (imm & (1 << (bits - 1))) << 1
                if imm > 0 and len(pending) < _PENDING:
                    pending.setdefault(pc + 4 * imm, dict(regs))
            elif c == 7:
                if insn & 0x00400000:  # L: a load writes Rt (and Rt2 of a pair)
                    regs.pop(rd, None)
                    regs.pop((insn >> 10) & 31, None)
            elif rd in regs:  # c == 8
                del regs[rd]
    return events


# i386 PIC: mov/lea/push disp32(%ebx), %ebx holding _GLOBAL_OFFSET_TABLE_ (DT_PLTGOT)
_GOT_REF = re.compile(rb"[\x8b\x8d\xff][\x83\x8b\x93\x9b\xa3\xab\xb3\xbb]")
_DT_PLTGOT = 3


def _events_i386(
    im: Image, ids: dict[int, str], start_set: set[int], starts: list[int]
) -> list[Event]:
    """i386: ``%ebx``-relative (GOT-relative) loads, pushes and ``lea`` of the PIC code,
    and direct ``call``/``jmp``."""
    got = im.dynamic(_DT_PLTGOT)
    if got is None:
        return []
    events: list[Event] = []
    for base, blob in im.code():
        limit = len(blob) - 4
        for m in _GOT_REF.finditer(blob):
            at = m.end()
            if at > limit:
                break
            op = blob[m.start()]
            if op == 0xFF and blob[m.start() + 1] != 0xB3:
                continue  # ff /6 is push; the other ff forms call and jump
            target = (got + int.from_bytes(blob[at : at + 4], "little", signed=True)) & 0xFFFFFFFF
            if target in ids:
                if op != 0x8D:
                    events.append((base + m.start(), _ID, target))
            elif op == 0x8D:
                events.append((base + m.start(), _FN if target in start_set else _STR, target))
        for m in _BRANCH.finditer(blob):
            at = m.end()
            if at > limit:
                break
            target = base + at + 4 + int.from_bytes(blob[at : at + 4], "little", signed=True)
            if target in start_set:
                events.append((base + m.start(), _FN, target))
    return events


_S390_RIL = re.compile(rb"(?=[\xc0\xc4])")  # relative-long instructions (RIL), 6 bytes


def _events_s390x(
    im: Image, ids: dict[int, str], start_set: set[int], starts: list[int]
) -> list[Event]:
    """s390x: its relative-long instructions name addresses outright (pc + 2 * imm32):
    ``lrl``/``lgfrl``/``llgfrl`` load an hf variable, ``larl`` an address (a string, a
    function), ``brasl``/``brcl`` call or jump."""
    events: list[Event] = []
    for base, blob in im.code():
        limit = len(blob) - 6
        for m in _S390_RIL.finditer(blob):
            at = m.start()
            if at > limit:
                break
            if at & 1:
                continue  # instructions are halfword-aligned
            op, low = blob[at], blob[at + 1] & 0xF
            target = base + at + 2 * int.from_bytes(blob[at + 2 : at + 6], "big", signed=True)
            if op == 0xC4:
                if low in (0xC, 0xD, 0xE) and target in ids:  # lgfrl, lrl, llgfrl
                    events.append((base + at, _ID, target))
            elif low == 0:  # larl
                if target in ids:
                    continue
                events.append((base + at, _FN if target in start_set else _STR, target))
            elif low in (4, 5) and target in start_set:  # brcl, brasl
                events.append((base + at, _FN, target))
    return events


def _ppc_class(op: int) -> int:
    """What the PowerPC scanner does with an instruction, by its primary opcode."""
    table = {14: 1, 15: 1, 32: 2, 58: 3, 18: 4, 16: 5, 19: 6, 31: 7}
    if op in table:
        return table[op]
    if op in (20, 21, 23, 24, 25, 26, 27, 28, 29, 30):
        return 8
    if op in (7, 8, 12, 13, 33, 34, 35, 40, 41, 42, 43, 46):
        return 9
    return 0


_PPC_CLASS = bytes(_ppc_class(op) for op in range(64))


def _events_ppc64(
    im: Image, ids: dict[int, str], start_set: set[int], starts: list[int]
) -> list[Event]:
    """64-bit PowerPC (ELFv2, either byte order): TOC-relative addresses (``r2`` is the TOC,
    ``.got`` + 0x8000) built by ``addis``/``addi`` and followed through the registers,
    ``lwz``/``lwa`` from them, ``bl``/``b`` to a function's global or local (+8) entry.
    As for AArch64, values are followed in address order within each function, forgotten
    when an instruction may write the register, and code after a ``blr``/``b``/``bctr``
    starts from the values of the forward branch that reaches it."""
    got = im.sections().get(".got")
    if got is None:
        return []
    toc = got[0] + 0x8000
    events: list[Event] = []
    volatile = (0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    classes = _PPC_CLASS
    for base, blob in im.code():
        words = array.array("I", blob[: len(blob) - len(blob) % 4])
        if (im.endian == "<") != (sys.byteorder == "little"):
            words.byteswap()
        regs: dict[int, int] = {2: toc}
        pending: dict[int, dict[int, int]] = {}
        dead = False
        k = bisect.bisect_left(starts, base)
        next_start = starts[k] if k < len(starts) else -1
        pc = base - 4
        for insn in words:  # bounded: one step per instruction word
            pc += 4
            if pc == next_start:
                regs = {2: toc, 12: pc}
                pending.clear()
                k += 1
                next_start = starts[k] if k < len(starts) else -1
            elif pending:
                state = pending.pop(pc, None)
                if state is not None and dead:
                    regs = state
            dead = False
            op = insn >> 26
            c = classes[op]
            if not c:
                continue
            rd, ra = (insn >> 21) & 31, (insn >> 16) & 31
            if c == 1:  # addi, addis
                if ra and ra in regs:
                    imm = (insn & 0xFFFF) - ((insn & 0x8000) << 1)
                    value = regs[ra] + (imm << 16 if op == 15 else imm)
                    regs[rd] = value
                    if op == 14:
                        if value in start_set:
                            events.append((pc, _FN, value))
                        elif value not in ids:
                            events.append((pc, _STR, value))
                elif rd != 2:
                    regs.pop(rd, None)
            elif c == 2 or (c == 3 and insn & 3 == 2):  # lwz, lwa
                if ra in regs:
                    imm = insn & (0xFFFF if op == 32 else 0xFFFC)
                    target = regs[ra] + imm - ((imm & 0x8000) << 1)
                    if target in ids:
                        events.append((pc, _ID, target))
                if rd != 2:
                    regs.pop(rd, None)
            elif c == 4:  # b, bl
                imm = insn & 0x03FFFFFC
                target = pc + imm - ((imm & 0x02000000) << 1)
                entry = target if target in start_set else target - 8
                if entry in start_set:
                    events.append((pc, _FN, entry))
                if insn & 1:
                    for r in volatile:
                        regs.pop(r, None)
                else:
                    if target > pc and len(pending) < _PENDING:
                        pending.setdefault(target, dict(regs))
                    dead = True
            elif c == 5:  # bc: remember the values at a forward target
                imm = insn & 0xFFFC
                imm -= (imm & 0x8000) << 1
                if imm > 0 and len(pending) < _PENDING:
                    pending.setdefault(pc + imm, dict(regs))
            elif c == 6:  # bclr, bcctr
                xo = (insn >> 1) & 0x3FF
                if insn & 1:
                    for r in volatile:
                        regs.pop(r, None)
                elif xo in (16, 528) and rd == 20:  # blr, bctr
                    dead = True
            elif c == 7:  # X-form
                if (insn >> 1) & 0x3FF == 444 and rd == (insn >> 11) & 31:  # mr ra, rs
                    if rd in regs:
                        regs[ra] = regs[rd]
                    elif ra != 2:
                        regs.pop(ra, None)
                else:
                    for r in (rd, ra):
                        if r != 2:
                            regs.pop(r, None)
            elif c == 8:  # rotates, logical immediates: write rA
                if ra != 2:
                    regs.pop(ra, None)
            elif rd != 2:  # c == 3 (ld), 9: arithmetic immediates and loads write rD
                regs.pop(rd, None)
    return events


_EM_S390 = 22
_EM_386 = 3
_EM_PPC64 = 21
_SCANNERS = {
    _EM_386: _events_i386,
    _EM_X86_64: _events_x86_64,
    _EM_AARCH64: _events_aarch64,
    _EM_S390: _events_s390x,
    _EM_PPC64: _events_ppc64,
}
_WINDOWS = {_EM_386: 48, _EM_X86_64: 48, _EM_AARCH64: 64, _EM_S390: 64, _EM_PPC64: 64}


def _refers(im: Image, ids: dict[int, str], compound: set[str]) -> dict[str, str]:
    """What structure-, union- or array-typed members refer to, from the code that dissects
    them; x86-64, AArch64, s390x, i386 and 64-bit PowerPC (empty elsewhere). abbrev ->
    type name, for the ``FT_NONE`` fields in ``compound``.

    * an array member ``t.m``: the element type name passed to ``dissect_xdr_array`` (a
      address of an identifier string computed within :data:`_WINDOWS` bytes of the load
      of the element's hf variable ``t.m.m``);
    * a structure or union member ``t.m``: after the load of its hf variable, the first
      type the code goes on to dissect: a function called or passed (``dissect_xdr_pointer``
      for an optional member), whose first hf variable names its type, or a structure
      dissector inlined there, which loads its type's own hf variable first. A member whose
      hf variable the compiler never loads (an inlined union dissector replaces it by its
      cases') is left without.
    """
    scanner = _SCANNERS.get(im.machine)
    if scanner is None or not ids:
        return {}
    starts = _function_starts(im)
    if not starts:
        return {}
    start_set = set(starts)
    events = scanner(im, ids, start_set, starts)
    window = _WINDOWS[im.machine]
    events.sort()
    where = [e[0] for e in events]

    def top(abbrev: str) -> str:
        return abbrev.split(".")[1]

    # the types the plugin dissects member by member (packet-libvirt.c's own fields such as
    # libvirt.stream are none: a function loading one first dissects no protocol type)
    types = {parts[1] for parts in (a.split(".") for a in ids.values()) if len(parts) > 2}

    def function_end(address: int) -> int:
        i = bisect.bisect_right(starts, address)
        return starts[i] if i < len(starts) else address + 4096

    cache: dict[int, str] = {}

    def classify(function: int, depth: int) -> str:
        """The type a dissector function dissects: its first hf variable's, or that of the
        first function it calls or passes on (a wrapper: ``dissect_xdr_pointer``)."""
        if function in cache:
            return cache[function]
        cache[function] = ""  # recursion guard
        found = ""
        end = function_end(function)
        i = bisect.bisect_left(where, function)
        stop = min(len(events), i + _STEPS)
        while i < stop and events[i][0] < end:  # bounded by _STEPS
            _, kind, target = events[i]
            if kind == _ID:
                found = top(ids[target])
                if found not in types:
                    found = ""
                break
            if kind == _FN and depth < 3 and target != function:
                found = classify(target, depth + 1)
                if found:
                    break
            i += 1
        cache[function] = found
        return found

    loads: dict[str, int] = {}
    for address, kind, target in events:
        if kind == _ID:
            loads.setdefault(ids[target], address)
    out: dict[str, str] = {}
    for abbrev, address in loads.items():
        parts = abbrev.split(".")
        if len(parts) == 4 and parts[2] == parts[3]:  # an element t.m.m: its type name
            member = ".".join(parts[:3])
            i = bisect.bisect_left(where, address - window)
            best: tuple[int, str] | None = None
            while i < len(events) and events[i][0] <= address + window:  # bounded
                if events[i][1] == _STR:
                    name = im.cstring(events[i][2], 256)
                    if name and _IDENT.fullmatch(name):
                        distance = abs(events[i][0] - address)
                        if best is None or distance < best[0]:
                            best = (distance, name)
                i += 1
            if best is not None:
                out[member] = best[1]
    for abbrev, address in loads.items():
        parts = abbrev.split(".")
        if len(parts) != 3 or abbrev in out or abbrev not in compound:
            continue
        owner = parts[1]
        i = bisect.bisect_right(where, address)
        end = function_end(address)
        stop = min(len(events), i + _STEPS)
        while i < stop and events[i][0] < end:  # bounded by _STEPS
            _, kind, target = events[i]
            if kind == _ID:
                other = ids[target].split(".")
                if len(other) == 2 and other[1] != owner and other[1] in types:
                    out[abbrev] = other[1]  # the member type's own field: its dissector inlined
                break  # another field's variable: nothing dissected for this one
            if kind == _FN:
                found = classify(target, 0)
                if found and found != owner:
                    out[abbrev] = found
                    break
            i += 1
    return out

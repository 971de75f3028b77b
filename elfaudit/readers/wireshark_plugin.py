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
is ``FT_NONE``; the link to the member type's dissector lives in code only), and an
array's element type name (a string argument of ``dissect_xdr_array`` in code). So
``RpcField.refers`` is left empty; ``RpcField.element`` is the element's field type, from
the ``t.m.m`` entry. Every structure and union with members is a message (protocol types
such as ``remote_nonnull_domain`` included); packet-libvirt.c's fixed fields (a type's
entry before its members, ``libvirt.stream_hole``) are not.

Bad input (not ELF, truncated, relocations out of range, tables that do not add up):
:class:`~elfaudit.base.errors.ElfReadError` or
:class:`~elfaudit.base.errors.InputError` with one line; every loop is bounded by the
relocations or the bytes present.
"""

from __future__ import annotations

import itertools
import re
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

_FIXED_TYPES = {"libvirt.serial": "UINT32", "libvirt.program": "UINT32"}
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
        entries: list[tuple[str, int, int]] = []  # abbrev, ftenum code, strings slot address
        for slot in run:
            abbrev = self.string(im.pointer(slot), "a field abbreviation")
            code = im.word(slot + type_at, 4)
            entries.append((abbrev, code, slot))
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

        messages = self.messages(entries, names, version)
        return RpcProtocol(
            self.path,
            f"wireshark {version}",
            dict(sorted(programs.items())),
            tuple(sorted(procedures)),
            messages,
        )

    def messages(
        self, entries: list[tuple[str, int, int]], names: tuple[str, ...], version: str
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
                fields.append(
                    RpcField(rest, self.type_name(code2, names, version, abbrev2), "", element)
                )
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

"""virsh's command and option tables, read from the ``/usr/bin/virsh`` binary.

virsh (libvirt's ``tools/``) keeps every command in static tables: ``cmdGroups[]`` of
``vshCmdGrp {name, keyword, commands}``, each ``commands`` an array of ``vshCmdDef`` (name,
handler, options, info, flags, alias...) ended by an entry whose name is NULL, each
``opts`` an array of ``vshCmdOptDef`` (name, type, flags, help, completer...) ended the same
way. In a PIE every pointer of those tables is a dynamic relocation
(:class:`elfaudit.readers.elf_image.Image` applies them). Their layouts changed between
releases (libvirt 10.x replaced the option flags word by ``required`` / ``positional`` /
``unwanted_positional`` / ``allowEmpty`` booleans, dropped ``VSH_OT_DATA`` and added
``VSH_OT_NONE``; 12.x added a field to ``vshCmdDef``), so nothing is read by version
number; the layout is detected from the data and checked on every entry:

* the group table: the longest run of entries (stride a multiple of the pointer size, at
  least three pointers) of a relocated pointer to a group name, one to a lowercase keyword
  and one to a table whose first slot points to a command name, ended by an all-zero entry
  (an entry just before the run that holds two of those three is a corrupt one: an error);
* a stride (command tables, option tables): the smallest multiple of the pointer size for
  which *every* table walks as entries whose first slot is a relocated pointer to a valid
  name, ended by an all-zero entry holding no relocation, and in which each pointer-size
  offset is either a pointer (relocated or NULL) in every entry or a plain value in every
  entry;
* the command fields: the pointer offset whose targets are all names of commands
  (``alias``), the one whose targets are all option tables (a pointer to an option name
  followed by a plain value: ``opts``), the one whose targets are all code (the handler;
  code is the code sections the section headers name, ``.text``, ``.plt``..., else the
  executable segments: arm64, armhf, ppc64el and s390x map ``.rodata`` in the executable
  segment too), and the first plain offset that holds non-zero values (``flags``);
* the option fields: ``name`` first, the option type a 32-bit value right after it, its
  flags in the bytes up to ``help`` (the first pointer offset after the name whose targets
  are all strings): one word of ``VSH_OFLAG_*`` bits (``REQ`` 1, ``EMPTY_OK`` 2,
  ``REQ_OPT`` 4: every value below 8), or four booleans in declaration order (required,
  positional, unwanted_positional, allowEmpty: every byte 0 or 1, positional and
  unwanted_positional never both; taken when the word reading does not fit);
* the option-type enumeration: its members keep the order ``[NONE] BOOL STRING INT [DATA]
  ARGV ALIAS`` in every release; ``ALIAS`` is the largest value used and every option of
  that type names another option of its table (``"mode"`` or ``"mode=shareable"``); value 0
  in use means there is no ``NONE`` (0 is then ``BOOL``), and the count of members below
  ``ALIAS`` tells whether ``DATA`` is there.

Which options may be given without ``--name`` (``VirshOption.positional``, their order):
virsh fills bare words into them in table order. Before 10.x (``vshCmddefOptParse`` /
``vshCmddefGetData``) that was every option that is not ``BOOL`` or ``ALIAS`` and lacks
``VSH_OFLAG_REQ_OPT`` (``DATA``, and ``STRING``/``INT``/``ARGV`` too); since 10.x
(``vshCmdGetNextPositionalOpt``) every option with ``positional`` or
``unwanted_positional`` set. A command is hidden when it is its own alias (how 7.0 hid
``self-test`` and ``complete``) or its flags hold a bit other than
``VSH_CMD_FLAG_NOCONNECT`` (bit 0) and the bit every alias entry carries (alias entries are
those whose ``alias`` is set).

Bad input: anything that does not decode raises :class:`InputError` with one line naming
the file; every walk is bounded by the table limits below and by the bytes mapped.
"""

from __future__ import annotations

import bisect
import re
import struct
from collections.abc import Callable, Sequence
from typing import Literal

from elfaudit.base.errors import InputError
from elfaudit.model.virsh import VirshCommand, VirshOption, VirshTables
from elfaudit.readers.elf_image import Image

__all__ = ["read_virsh"]

MAX_GROUPS = 256
MAX_COMMANDS = 4096  # per group table
MAX_OPTIONS = 1024  # per option table
MAX_STRIDE_WORDS = 16

_COMMAND = re.compile(r"[a-z][a-z0-9_-]*\Z")
_OPTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_PAGE = 4096
_CODE_SECTIONS = frozenset({".init", ".fini", ".plt", ".plt.got", ".plt.sec", ".iplt"})

_R, _Z, _N = "R", "Z", "N"  # a slot: relocated pointer, zero, plain non-zero value


def _bad(path: str, problem: str) -> InputError:
    return InputError(path, f"virsh tables: {problem}")


class _Memory:
    """The image's words, read a page at a time, pointers and strings cached."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.psize = image.pointer_size
        self.slots: Sequence[int] = image.reloc_slots()
        self.relocated = frozenset(self.slots)
        self.order: Literal["little", "big"] = "little" if image.endian == "<" else "big"
        self._pages: dict[int, bytes | None] = {}
        self._pointers: dict[int, int] = {}
        self._strings: dict[int, str | None] = {}
        # Code: the code sections when the section headers name them (arm64, s390x,
        # ppc64el and armhf map .rodata in the executable segment beside .text), else the
        # executable segments.
        self._code = sorted(
            (addr, addr + size)
            for name, (addr, size) in image.sections().items()
            if (name.startswith(".text") or name in _CODE_SECTIONS)
            and size
            and image.executable(addr)
        )
        self._code_starts = [lo for lo, _ in self._code]

    def is_code(self, addr: int) -> bool:
        if not self._code:
            return self.image.executable(addr)
        i = bisect.bisect_right(self._code_starts, addr) - 1
        return i >= 0 and addr < self._code[i][1]

    def read(self, addr: int, size: int) -> bytes | None:
        """``size`` bytes at ``addr``, None when not all mapped."""
        page = addr // _PAGE
        off = addr - page * _PAGE
        if off + size <= _PAGE:
            data = self._pages.get(page, b"")
            if data == b"":
                try:
                    data = self.image.read(page * _PAGE, _PAGE)
                except InputError:
                    data = None
                self._pages[page] = data
            if data is not None:
                return data[off : off + size]
        try:
            return self.image.read(addr, size)
        except InputError:
            return None

    def uint(self, addr: int, size: int) -> int | None:
        raw = self.read(addr, size)
        return None if raw is None else int.from_bytes(raw, self.order)

    def kind(self, addr: int) -> str | None:
        """R, Z or N for the pointer-size slot at ``addr``; None when unmapped."""
        if addr in self.relocated:
            return _R
        value = self.uint(addr, self.psize)
        if value is None:
            return None
        return _Z if value == 0 else _N

    def pointer(self, addr: int) -> int:
        got = self._pointers.get(addr)
        if got is None:
            got = self._pointers[addr] = self.image.pointer(addr)
        return got

    def string(self, addr: int) -> str | None:
        if addr in self._strings:
            return self._strings[addr]
        got = None if self.is_code(addr) else self.image.cstring(addr, 1024)
        if got is not None and "\\x" in got:
            got = None  # not UTF-8 text (cstring shows such bytes as \xNN)
        self._strings[addr] = got
        return got

    def target_string(self, slot: int) -> str | None:
        """The string a relocated slot points to (None: not relocated, or no string)."""
        if slot not in self.relocated:
            return None
        return self.string(self.pointer(slot))

    def zero_entry(self, addr: int, stride: int) -> bool:
        return all(self.kind(addr + k) == _Z for k in range(0, stride, self.psize))


# --------------------------------------------------------------------------- the walks


def _walk(
    mem: _Memory, start: int, stride: int, name_ok: Callable[[str], bool], limit: int
) -> list[int] | None:
    """The entries of a NULL-name-terminated table at ``start``, or None when it does not
    walk as such with this stride."""
    entries: list[int] = []
    addr = start
    for _ in range(limit):
        k = mem.kind(addr)
        if k == _Z:
            return entries if mem.zero_entry(addr, stride) else None
        if k != _R:
            return None
        name = mem.target_string(addr)
        if name is None or not name_ok(name):
            return None
        entries.append(addr)
        addr += stride
    return None


def _consistent(mem: _Memory, entries: Sequence[int], stride: int) -> bool:
    """Each pointer-size offset is a pointer in every entry or a plain value in every one."""
    for k in range(mem.psize, stride, mem.psize):
        seen = {mem.kind(e + k) for e in entries}
        if _R in seen and _N in seen:
            return False
    return True


def _stride(
    mem: _Memory,
    starts: Sequence[int],
    name_ok: Callable[[str], bool],
    limit: int,
    minimum: int,
) -> tuple[int, dict[int, list[int]]] | None:
    """The smallest stride for which every table at ``starts`` walks, and its entries."""
    psize = mem.psize
    for words in range(minimum, MAX_STRIDE_WORDS + 1):
        stride = words * psize
        tables: dict[int, list[int]] = {}
        for start in starts:
            entries = _walk(mem, start, stride, name_ok, limit)
            if entries is None:
                break
            tables[start] = entries
        else:
            every = [e for entries in tables.values() for e in entries]
            if every and _consistent(mem, every, stride):
                return stride, tables
    return None


def _is_command(name: str) -> bool:
    return _COMMAND.match(name) is not None


def _is_option(name: str) -> bool:
    return _OPTION.match(name) is not None


def _is_group_name(name: str) -> bool:
    return 0 < len(name) <= 100 and name.isprintable()


def _groups(mem: _Memory, path: str) -> tuple[int, list[tuple[str, str, int]]]:
    """The group table: (stride, [(name, keyword, command table address)])."""
    psize = mem.psize
    rel = mem.relocated
    found: dict[int, tuple[str, str, int]] = {}
    for a in mem.slots:
        if a % psize or a + psize not in rel or a + 2 * psize not in rel:
            continue
        name, keyword = mem.target_string(a), mem.target_string(a + psize)
        if name is None or keyword is None:
            continue
        if not _is_group_name(name) or not _is_command(keyword):
            continue
        table = mem.pointer(a + 2 * psize)
        if mem.is_code(table) or table not in rel:
            continue
        first = mem.target_string(table)
        if first is None or not _is_command(first):
            continue
        found[a] = (name, keyword, table)
    best: tuple[int, int, list[int]] | None = None  # (length, stride, run)
    tied = False
    for words in range(3, MAX_STRIDE_WORDS + 1):
        stride = words * psize
        for a in sorted(found):
            if a - stride in found:
                continue
            run = [a]
            while run[-1] + stride in found and len(run) < MAX_GROUPS:
                run.append(run[-1] + stride)
            if len(run) < 2 or not mem.zero_entry(run[-1] + stride, stride):
                continue
            if best is None or len(run) > best[0]:
                best, tied = (len(run), stride, run), False
            elif len(run) == best[0] and stride == best[1]:
                tied = True
    if best is None:
        raise _bad(path, "no command group table (cmdGroups) found")
    if tied:
        raise _bad(path, f"two command group tables of {best[0]} groups: ambiguous")
    before = best[2][0] - best[1]
    if _group_like(mem, before) >= 2:
        raise _bad(path, f"command group table: the entry at {before:#x} is corrupt")
    return best[1], [found[a] for a in best[2]]


def _group_like(mem: _Memory, a: int) -> int:
    """How many of a group entry's three fields the slots at ``a`` hold (a corrupt entry
    splits the table: the run found starts after it)."""
    psize = mem.psize
    name, keyword = mem.target_string(a), mem.target_string(a + psize)
    table = mem.pointer(a + 2 * psize) if a + 2 * psize in mem.relocated else None
    return (
        (name is not None and _is_group_name(name))
        + (keyword is not None and _is_command(keyword))
        + (table is not None and not mem.is_code(table) and table in mem.relocated)
    )


# --------------------------------------------------------------------------- commands


def _command_fields(
    mem: _Memory, path: str, stride: int, entries: Sequence[int]
) -> dict[str, int | None]:
    """The offsets of handler, opts, alias and flags in a command entry."""
    psize = mem.psize
    names = {mem.target_string(e) for e in entries}
    fields: dict[str, int | None] = {"handler": None, "opts": None, "alias": None, "flags": None}
    for k in range(psize, stride, psize):
        kinds = [mem.kind(e + k) for e in entries]
        if _R not in kinds:
            if _N in kinds and fields["flags"] is None:
                fields["flags"] = k
            continue
        targets = [mem.pointer(e + k) for e, kd in zip(entries, kinds, strict=True) if kd == _R]
        role: str | None = None
        if all(mem.string(t) in names for t in targets):
            role = "alias"
        elif all(_looks_like_options(mem, t) for t in targets):
            role = "opts"
        elif all(mem.is_code(t) for t in targets):
            role = "handler"
        if role is not None and fields[role] is None:
            fields[role] = k
    if fields["handler"] is None or fields["opts"] is None:
        raise _bad(path, f"command entries (stride {stride}) have no handler or option table")
    return fields


def _looks_like_options(mem: _Memory, table: int) -> bool:
    k = mem.kind(table)
    if k == _Z:
        return True
    if k != _R:
        return False
    name = mem.target_string(table)
    return name is not None and _is_option(name) and mem.kind(table + mem.psize) != _R


# --------------------------------------------------------------------------- options


_TYPE_ORDERS = {
    # (NONE present, DATA present) -> the members below ALIAS, by value
    (False, False): ("bool", "string", "int", "argv"),
    (False, True): ("bool", "string", "int", "data", "argv"),
    (True, False): ("none", "bool", "string", "int", "argv"),
    (True, True): ("none", "bool", "string", "int", "data", "argv"),
}


class _OptionLayout:
    def __init__(
        self, stride: int, help_at: int, flags_at: int, flags_size: int, completer_at: int | None
    ) -> None:
        self.stride = stride
        self.help_at = help_at
        self.flags_at = flags_at
        self.flags_size = flags_size
        self.completer_at = completer_at
        self.flags = "bits"
        self.types: dict[int, str] = {}
        self.types_from = "aliases"


def _option_layout(
    mem: _Memory, path: str, stride: int, tables: dict[int, list[int]]
) -> _OptionLayout:
    psize = mem.psize
    every = [e for entries in tables.values() for e in entries]
    help_at: int | None = None
    completer_at: int | None = None
    for k in range(psize, stride, psize):
        kinds = [mem.kind(e + k) for e in every]
        if _R not in kinds:
            continue
        targets = [mem.pointer(e + k) for e, kd in zip(every, kinds, strict=True) if kd == _R]
        if all(mem.is_code(t) for t in targets):
            completer_at = completer_at if completer_at is not None else k
        elif help_at is None and all(mem.string(t) is not None for t in targets):
            help_at = k
    if help_at is None or help_at < psize + 8:
        raise _bad(path, f"option entries (stride {stride}) have no help string after the type")
    lay = _OptionLayout(stride, help_at, psize + 4, help_at - psize - 4, completer_at)
    _option_flags(mem, path, lay, every)
    _option_types(mem, path, lay, tables)
    return lay


def _option_flags(mem: _Memory, path: str, lay: _OptionLayout, every: Sequence[int]) -> None:
    raw = [mem.read(e + lay.flags_at, lay.flags_size) or b"" for e in every]
    as_bits = all(int.from_bytes(r, mem.order) < 8 for r in raw)
    as_bools = lay.flags_size >= 4 and all(set(r) <= {0, 1} and not (r[1] and r[2]) for r in raw)
    if as_bits:
        lay.flags = "bits"
    elif as_bools:
        lay.flags = "bools"
    else:
        raise _bad(path, "option flags are neither VSH_OFLAG_* bits nor four booleans")


def _option_types(
    mem: _Memory, path: str, lay: _OptionLayout, tables: dict[int, list[int]]
) -> None:
    used: dict[int, int] = {}
    alias_ok: dict[int, bool] = {}
    for entries in tables.values():
        names = {mem.target_string(e) for e in entries}
        for e in entries:
            t = mem.uint(e + mem.psize, 4)
            if t is None:
                raise _bad(path, f"option entry at {e:#x} is cut short")
            used[t] = used.get(t, 0) + 1
            target = mem.target_string(e + lay.help_at) or ""
            base = target.split("=", 1)[0]
            named = base in names and base != mem.target_string(e)
            if lay.completer_at is not None and mem.kind(e + lay.completer_at) == _R:
                named = False
            alias_ok[t] = alias_ok.get(t, True) and named
    alias = max(used)
    if not alias_ok.get(alias):
        if any(alias_ok.values()):
            raise _bad(path, f"option type {alias} (the largest in use) is not an alias type")
        # No option is an alias: the enumeration that came with the flags layout in every
        # release (bits: BOOL=0 .. ALIAS=5; booleans: NONE=0 .. ALIAS=5).
        lay.types_from = "flags layout"
        era = _TYPE_ORDERS[(False, True) if lay.flags == "bits" else (True, False)]
        lay.types = dict(enumerate(era))
        lay.types[len(era)] = "alias"
        return
    has_none = 0 not in used
    below = alias - (1 if has_none else 0)
    order = _TYPE_ORDERS.get((has_none, below == 5)) if below in (4, 5) else None
    if order is None:
        raise _bad(path, f"option types 0..{alias} match no known vshCmdOptType enumeration")
    lay.types = dict(enumerate(order))
    lay.types[alias] = "alias"


def _options(
    mem: _Memory, path: str, lay: _OptionLayout, command: str, entries: Sequence[int]
) -> tuple[VirshOption, ...]:
    out: list[VirshOption] = []
    position = 0
    seen: set[str] = set()
    for e in entries:
        name = mem.target_string(e) or ""
        t = mem.uint(e + mem.psize, 4)
        kind = lay.types.get(t) if t is not None else None
        if kind is None or kind == "none":
            raise _bad(path, f"option --{name} of command {command} has unknown type {t}")
        raw = mem.read(e + lay.flags_at, lay.flags_size) or b""
        if lay.flags == "bits":
            bits = int.from_bytes(raw, mem.order)
            required, empty_ok = bool(bits & 1), bool(bits & 2)
            takes_word = kind not in ("bool", "alias") and not bits & 4
        else:
            required, empty_ok = bool(raw[0]), bool(raw[3])
            takes_word = bool(raw[1] or raw[2]) and kind not in ("bool", "alias")
        alias_of = mem.target_string(e + lay.help_at) if kind == "alias" else None
        if name in seen:
            continue  # virsh finds the first entry of a name
        seen.add(name)
        out.append(
            VirshOption(
                name,
                "string" if kind == "data" else kind,
                required,
                position if takes_word else None,
                empty_ok,
                alias_of,
            )
        )
        if takes_word:
            position += 1
    return tuple(out)


# --------------------------------------------------------------------------- the reader


def read_virsh(data: bytes, path: str) -> VirshTables:
    """The command and option tables of a virsh binary (``path`` names it in errors)."""
    try:
        return _read(data, path)
    except InputError:
        raise
    except (struct.error, ValueError, IndexError, OverflowError, KeyError) as exc:
        raise _bad(path, f"cannot decode: {exc}") from None


def _read(data: bytes, path: str) -> VirshTables:
    image = Image.from_bytes(data, path)
    mem = _Memory(image)
    psize = mem.psize
    group_stride, groups = _groups(mem, path)
    starts = sorted({table for _, _, table in groups})
    found = _stride(mem, starts, _is_command, MAX_COMMANDS, 2)
    if found is None:
        raise _bad(path, "the command tables do not walk with any stride")
    cmd_stride, cmd_tables = found
    every_cmd = [e for entries in cmd_tables.values() for e in entries]
    fields = _command_fields(mem, path, cmd_stride, every_cmd)
    opts_at = fields["opts"]
    assert opts_at is not None
    opt_starts = sorted(
        {mem.pointer(e + opts_at) for e in every_cmd if mem.kind(e + opts_at) == _R}
    )
    found = _stride(mem, opt_starts, _is_option, MAX_OPTIONS, 2)
    if found is None:
        raise _bad(path, "the option tables do not walk with any stride")
    opt_stride, opt_tables = found
    lay = _option_layout(mem, path, opt_stride, opt_tables)

    alias_at, flags_at = fields["alias"], fields["flags"]
    aliased = [e for e in every_cmd if alias_at is not None and mem.kind(e + alias_at) == _R]
    flag_of = {
        e: (mem.uint(e + flags_at, 4) or 0) if flags_at is not None else 0 for e in every_cmd
    }
    alias_bits = 0
    if aliased:
        alias_bits = ~0
        for e in aliased:
            alias_bits &= flag_of[e]
        alias_set = set(aliased)
        for e in every_cmd:
            if e not in alias_set:
                alias_bits &= ~flag_of[e]
    decoded: dict[int, tuple[VirshOption, ...]] = {}
    commands: list[VirshCommand] = []
    names: set[str] = set()
    for _, keyword, table in groups:
        for e in cmd_tables[table]:
            name = mem.target_string(e) or ""
            if name in names:
                continue
            names.add(name)
            opts: tuple[VirshOption, ...] = ()
            if mem.kind(e + opts_at) == _R:
                start = mem.pointer(e + opts_at)
                if start not in decoded:
                    decoded[start] = _options(mem, path, lay, name, opt_tables[start])
                opts = decoded[start]
            alias_of = mem.target_string(e + alias_at) if alias_at is not None else None
            hidden = bool(flag_of[e] & ~1 & ~alias_bits)
            if alias_of == name:  # before 7.x's HIDDEN flag: a command aliased to itself
                alias_of, hidden = None, True
            commands.append(VirshCommand(name, keyword, opts, alias_of, hidden))
    layout: dict[str, object] = {
        "pointer_size": psize,
        "groups": {"stride": group_stride, "count": len(groups)},
        "command": {"stride": cmd_stride, **fields},
        "option": {
            "stride": lay.stride,
            "type": psize,
            "flags": {"at": lay.flags_at, "size": lay.flags_size, "as": lay.flags},
            "help": lay.help_at,
            "completer": lay.completer_at,
            "types": {str(v): k for v, k in sorted(lay.types.items())},
            "types_from": lay.types_from,
        },
    }
    return VirshTables(path, tuple(commands), tuple(k for _, k, _ in groups), layout)

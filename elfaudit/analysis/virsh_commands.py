"""The ``virsh`` section of libvirt's support page: "existing commands and arguments will not
be removed or renamed".

The facts of a release are virsh's command and option tables, decoded from
``/usr/bin/virsh`` (:func:`elfaudit.readers.virsh_tables.read_virsh`), one item per command
(``"command start"``). Comparing OLD with NEW, a name is what a command line types, so an
alias counts as a name: a command (or option) renamed with its old name kept as an alias is
no removal. Findings, each with the command line that behaves differently:

* ``virsh-command-removed``: a command name (or alias) of OLD that NEW does not know
  (``virsh nodedev-dettach`` is refused by NEW);
* ``virsh-option-removed``: an option name (or alias) of a command that NEW's command does
  not accept (``virsh start --foo x``);
* ``virsh-option-changed``: a change that breaks an existing command line: the option's
  kind no longer takes what it took (a ``bool`` flag now wants a value, a ``string`` now
  wants a number, an ``argv`` may no longer repeat; an ``int`` becoming a ``string`` or a
  ``string`` an ``argv`` accepts everything it did), an option became required (or a new
  option is required) or no longer accepts an empty value (``VSH_OFLAG_EMPTY_OK``,
  ``allowEmpty``), or the bare words a command took are no longer taken, or go to another
  option (the first such word per command: the rest shift with it);
* ``virsh-command-added``, ``virsh-option-added``: info.

Aliases are resolved before comparing: an option alias ``"mode=shareable"`` is a flag, an
alias ``"mode"`` has its target's kind and requiredness; a command alias is compared through
the command it runs.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping

from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles, SectionFacts, SectionResult, SectionStatus
from elfaudit.model.report import Finding
from elfaudit.model.virsh import KINDS, VirshCommand, VirshOption, VirshTables
from elfaudit.policy.rules import Rule
from elfaudit.readers.virsh_tables import read_virsh

__all__ = [
    "MAN_PAGE",
    "VIRSH",
    "check_virsh",
    "compare_facts",
    "facts",
    "man_page_commands",
    "tables_facts",
]

SECTION = "virsh"
VIRSH = "usr/bin/virsh"
MAN_PAGE = "usr/share/man/man1/virsh.1.gz"
#: The library name findings carry.
LIBRARY = "virsh"
MAX_MAN_PAGE = 16 << 20  # bytes of troff, decompressed

#: old kind -> the new kinds that accept every value the old one did.
ACCEPTS: dict[str, frozenset[str]] = {
    "bool": frozenset({"bool"}),
    "int": frozenset({"int", "string", "argv"}),
    "string": frozenset({"string", "argv"}),
    "argv": frozenset({"argv"}),
}
_SAMPLE = {"bool": "", "int": " 1", "string": " x", "argv": " x"}


# --------------------------------------------------------------------------- facts


def _option_fact(o: VirshOption) -> list[object]:
    return [o.name, o.kind, o.required, o.positional, o.empty_ok, o.alias_of]


def tables_facts(tables: VirshTables) -> dict[str, object]:
    """The facts of decoded tables: ``"command NAME"`` items and the ``"layout"``."""
    out: dict[str, object] = {"layout": dict(tables.layout)}
    for c in tables.commands:
        item: dict[str, object] = {"group": c.group}
        if c.alias_of is not None:
            item["alias_of"] = c.alias_of
        if c.hidden:
            item["hidden"] = True
        item["options"] = [_option_fact(o) for o in c.options]
        out[f"command {c.name}"] = item
    return out


def _virsh_origin(rf: ReleaseFiles) -> str:
    return f"{rf.origin.get(VIRSH, rf.label)}:/{VIRSH}"


def facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """The section's facts about one release; None when it ships no ``/usr/bin/virsh``."""
    data = rf.files.get(VIRSH)
    if data is None:
        return None
    return tables_facts(read_virsh(data, _virsh_origin(rf)))


def _bad_facts(key: str, problem: str) -> InputError:
    return InputError("virsh facts", f"item {key!r}: {problem}")


def _option_of(key: str, row: object) -> VirshOption:
    if not isinstance(row, list | tuple) or len(row) != 6:
        raise _bad_facts(
            key,
            f"an option is not [name, kind, required, positional, empty_ok, alias_of]: {row!r:.80}",
        )
    name, kind, required, positional, empty_ok, alias_of = row
    if not isinstance(name, str) or kind not in KINDS:
        raise _bad_facts(key, f"an option has no name or an unknown kind: {row!r:.80}")
    if not isinstance(required, bool) or not isinstance(empty_ok, bool):
        raise _bad_facts(key, f"option {name}: required and empty_ok must be true or false")
    if positional is not None and (not isinstance(positional, int) or isinstance(positional, bool)):
        raise _bad_facts(key, f"option {name}: positional must be a number or null")
    if alias_of is not None and not isinstance(alias_of, str):
        raise _bad_facts(key, f"option {name}: alias_of must be a string or null")
    return VirshOption(name, kind, required, positional, empty_ok, alias_of)


def _commands(f: SectionFacts) -> dict[str, VirshCommand]:
    """Facts back to commands (by name); facts that are not what :func:`tables_facts`
    writes raise :class:`InputError` (a corrupt release graph)."""
    out: dict[str, VirshCommand] = {}
    for key, value in f.items():
        if not key.startswith("command "):
            continue
        if not isinstance(value, Mapping):
            raise _bad_facts(key, "not an object")
        rows = value.get("options", [])
        if not isinstance(rows, list | tuple):
            raise _bad_facts(key, "options is not a list")
        alias, group = value.get("alias_of"), value.get("group", "")
        if (alias is not None and not isinstance(alias, str)) or not isinstance(group, str):
            raise _bad_facts(key, "group and alias_of must be strings")
        name = key[len("command ") :]
        out[name] = VirshCommand(
            name,
            group,
            tuple(_option_of(key, row) for row in rows),
            alias,
            value.get("hidden", False) is True,
        )
    return out


def _counts(cmds: Mapping[str, VirshCommand]) -> dict[str, object]:
    return {
        "commands": sum(1 for c in cmds.values() if c.alias_of is None),
        "command_aliases": sum(1 for c in cmds.values() if c.alias_of is not None),
        "options": sum(len(c.options) for c in cmds.values() if c.alias_of is None),
    }


# --------------------------------------------------------------------------- comparing


def _resolve(cmds: Mapping[str, VirshCommand], name: str) -> VirshCommand | None:
    """The command virsh runs for ``name`` (an alias's target; bounded by the table)."""
    cmd = cmds.get(name)
    for _ in range(len(cmds)):
        if cmd is None or cmd.alias_of is None:
            return cmd
        cmd = cmds.get(cmd.alias_of)
    return None


def _effective(cmd: VirshCommand, name: str) -> tuple[str, bool] | None:
    """(kind, required) of what ``--name`` sets, aliases followed; None: no such option."""
    opt = cmd.option(name)
    for _ in range(len(cmd.options) + 1):
        if opt is None:
            return None
        if opt.kind != "alias":
            return opt.kind, opt.required
        target = opt.alias_of or ""
        if "=" in target:
            return "bool", False  # --shareable stands for --mode=shareable
        opt = cmd.option(target)
    return None


def _line(command: str, opt: str, kind: str) -> str:
    return f"virsh {command} --{opt}{_SAMPLE.get(kind, ' x')}"


def _positionals(cmd: VirshCommand) -> list[VirshOption]:
    return sorted(
        (o for o in cmd.options if o.positional is not None), key=lambda o: o.positional or 0
    )


def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(1, n + 1))


def _same_option(new: VirshCommand, old_name: str, new_name: str) -> bool:
    """Whether ``--old_name`` in NEW is ``--new_name`` (the same name, or an alias of it)."""
    if old_name == new_name:
        return True
    opt = new.option(old_name)
    return opt is not None and opt.kind == "alias" and opt.alias_of == new_name


def _compare_command(label: str, o: VirshCommand, n: VirshCommand) -> list[Finding]:
    out: list[Finding] = []
    for opt in o.options:
        before = _effective(o, opt.name)
        after = _effective(n, opt.name)
        kind = before[0] if before else "string"
        if after is None:
            out.append(
                Rule.VIRSH_OPTION_REMOVED.finding(
                    LIBRARY,
                    None,
                    f"`{_line(label, opt.name, kind)}` is refused by NEW: command {label} has "
                    f"no option --{opt.name} (OLD: {_what(opt)})",
                    f"{label} --{opt.name}",
                )
            )
            continue
        if before is None:
            continue
        if after[0] not in ACCEPTS.get(before[0], frozenset({before[0]})):
            out.append(
                Rule.VIRSH_OPTION_CHANGED.finding(
                    LIBRARY,
                    None,
                    f"`{_line(label, opt.name, before[0])}` behaves differently in NEW: option "
                    f"--{opt.name} of {label} was {before[0]}, is {after[0]}",
                    f"{label} --{opt.name}",
                )
            )
        now = n.option(opt.name)
        if opt.empty_ok and now is not None and now.kind != "alias" and not now.empty_ok:
            out.append(
                Rule.VIRSH_OPTION_CHANGED.finding(
                    LIBRARY,
                    None,
                    f"`virsh {label} --{opt.name} ''` is refused by NEW: option --{opt.name} "
                    f"of {label} no longer accepts an empty value",
                    f"{label} --{opt.name}",
                )
            )
        if opt.kind != "alias" and not before[1] and after[1]:
            out.append(
                Rule.VIRSH_OPTION_CHANGED.finding(
                    LIBRARY,
                    None,
                    f"`virsh {label}` without --{opt.name} is refused by NEW: option "
                    f"--{opt.name} of {label} became required",
                    f"{label} --{opt.name}",
                )
            )
    old_names = {x.name for x in o.options}
    for opt in n.options:
        if opt.name in old_names:
            continue
        if opt.required and opt.kind != "alias":
            out.append(
                Rule.VIRSH_OPTION_CHANGED.finding(
                    LIBRARY,
                    None,
                    f"`virsh {label}` without --{opt.name} is refused by NEW: its new option "
                    f"--{opt.name} is required",
                    f"{label} --{opt.name}",
                )
            )
        else:
            out.append(
                Rule.VIRSH_OPTION_ADDED.finding(
                    LIBRARY,
                    None,
                    f"command {label} has a new option --{opt.name} ({_what(opt)})",
                    f"{label} --{opt.name}",
                )
            )
    out.extend(_compare_positionals(label, o, n))
    return out


def _what(opt: VirshOption) -> str:
    if opt.kind == "alias":
        return f"an alias of --{opt.alias_of}"
    bits = [opt.kind]
    if opt.required:
        bits.append("required")
    if opt.positional is not None:
        bits.append(f"bare word {opt.positional + 1}")
    return ", ".join(bits)


def _compare_positionals(label: str, o: VirshCommand, n: VirshCommand) -> list[Finding]:
    """The first bare word OLD took that NEW refuses or gives to another option."""
    po, pn = _positionals(o), _positionals(n)
    for i, old in enumerate(po):
        line = f"virsh {label} {_words(i + 1)}"
        if i < len(pn):
            new = pn[i]
        elif pn and pn[-1].kind == "argv":
            new = pn[-1]
        else:
            why = f"NEW takes {len(pn)} bare word{'s' if len(pn) != 1 else ''}"
            return [
                Rule.VIRSH_OPTION_CHANGED.finding(
                    LIBRARY,
                    None,
                    f"`{line}` is refused by NEW: word {i + 1} was --{old.name} in OLD; {why}",
                    f"{label} --{old.name}",
                )
            ]
        if not _same_option(n, old.name, new.name):
            return [
                Rule.VIRSH_OPTION_CHANGED.finding(
                    LIBRARY,
                    None,
                    f"`{line}` behaves differently in NEW: word {i + 1} was --{old.name} in OLD, "
                    f"is --{new.name} in NEW",
                    f"{label} --{old.name}",
                )
            ]
        if old.kind == "argv":
            break  # it took every word from here on, and so does NEW's
    return []


def compare_tables(
    old: Mapping[str, VirshCommand], new: Mapping[str, VirshCommand]
) -> list[Finding]:
    """Raw findings, OLD's commands (by name, aliases included) against NEW's."""
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    order = sorted(old, key=lambda c: (old[c].alias_of is not None, c))
    for name in order:
        cmd = old[name]
        if name not in new:
            what = f", an alias of {cmd.alias_of}" if cmd.alias_of else ""
            out.append(
                Rule.VIRSH_COMMAND_REMOVED.finding(
                    LIBRARY,
                    None,
                    f"`virsh {name}` is refused by NEW: it has no command {name} "
                    f"(OLD had it{what})",
                    name,
                )
            )
            continue
        ro, rn = _resolve(old, name), _resolve(new, name)
        if ro is None or rn is None or (ro.name, rn.name) in seen:
            continue
        seen.add((ro.name, rn.name))
        out.extend(_compare_command(name, ro, rn))
    for name in sorted(new):
        if name not in old:
            cmd = new[name]
            what = f" (an alias of {cmd.alias_of})" if cmd.alias_of else ""
            out.append(
                Rule.VIRSH_COMMAND_ADDED.finding(
                    LIBRARY, None, f"virsh has a new command {name}{what}", name
                )
            )
    return out


def compare_facts(
    old: SectionFacts | None,
    new: SectionFacts | None,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> SectionResult:
    """The section from two releases' facts: raw findings; the counts of each side and the
    table layouts detected (``layout``: ``old``, ``new``) as evidence. A side without facts
    (no virsh) is ``not-checked``."""
    if old is None or new is None:
        missing = " or ".join(lb for lb, f in ((old_label, old), (new_label, new)) if f is None)
        return SectionResult(
            SECTION, SectionStatus.NOT_CHECKED, f"no /{VIRSH} in {missing}", {"old": {}, "new": {}}
        )
    o, n = _commands(old), _commands(new)
    evidence: dict[str, object] = {
        "old": {"release": old_label, **_counts(o)},
        "new": {"release": new_label, **_counts(n)},
        "layout": {"old": old.get("layout", {}), "new": new.get("layout", {})},
    }
    return SectionResult(SECTION, SectionStatus.CHECKED, "", evidence, tuple(compare_tables(o, n)))


# --------------------------------------------------------------------------- the files


_HEADING = re.compile(rb"^\.SS (.*)$", re.M)
_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")


def man_page_commands(data: bytes, path: str) -> list[str]:
    """The command names virsh(1) documents: its ``.SS`` headings (``quit, exit``)."""
    if data[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            text = d.decompress(data, MAX_MAN_PAGE)
        except zlib.error as exc:
            raise InputError(path, f"corrupt gzip data: {exc}") from None
        if d.unconsumed_tail:
            raise InputError(path, f"too large (over {MAX_MAN_PAGE} bytes decompressed)")
    else:
        text = data[:MAX_MAN_PAGE]
    names: set[str] = set()
    for m in _HEADING.finditer(text):
        heading = m.group(1).decode("utf-8", "replace").replace("\\-", "-")
        for part in heading.split(","):
            if _NAME.match(part.strip()):
                names.add(part.strip())
    return sorted(names)


def _man_evidence(rf: ReleaseFiles, cmds: Mapping[str, VirshCommand]) -> dict[str, object]:
    data = rf.files.get(MAN_PAGE)
    if data is None:
        return {}
    path = f"{rf.origin.get(MAN_PAGE, rf.label)}:/{MAN_PAGE}"
    documented = man_page_commands(data, path)
    listed = {c.name for c in cmds.values() if c.alias_of is None and not c.hidden}
    return {
        "file": f"/{MAN_PAGE}",
        "package": rf.origin.get(MAN_PAGE, rf.label),
        "documented": len(documented),
        "documented_not_in_virsh": sorted(set(documented) - set(cmds)),
        "in_virsh_help_not_documented": sorted(listed - set(documented)),
    }


def _file_evidence(rf: ReleaseFiles) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in (VIRSH, MAN_PAGE):
        if path in rf.files:
            out[f"/{path}"] = rf.origin.get(path, rf.label)
    return out


def check_virsh(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``virsh`` section: ``checked`` when both sides ship ``/usr/bin/virsh``."""
    fo, fn = facts(old), facts(new)
    if fo is None or fn is None:
        missing = " or ".join(side for side, f in (("OLD", fo), ("NEW", fn)) if f is None)
        return SectionResult(
            SECTION,
            SectionStatus.NOT_CHECKED,
            f"no /{VIRSH} in {missing} (package libvirt-clients)",
            {"old": _file_evidence(old), "new": _file_evidence(new)},
        )
    result = compare_facts(fo, fn, old.label, new.label)
    evidence: dict[str, object] = dict(result.evidence)
    man_pages: dict[str, object] = {}
    for side, rf, f in (("old", old, fo), ("new", new, fn)):
        cmds = _commands(f)
        evidence[side] = {
            "file": f"/{VIRSH}",
            "package": rf.origin.get(VIRSH, rf.label),
            **_counts(cmds),
        }
        man = _man_evidence(rf, cmds)
        if man:
            man_pages[side] = man
    if man_pages:
        evidence["man_page"] = man_pages
    return SectionResult(result.section, result.status, result.reason, evidence, result.findings)

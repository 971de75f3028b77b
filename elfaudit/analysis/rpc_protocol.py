"""The ``rpcproto`` section of libvirt's support page: the RPC protocol.

The page: the RPC protocol of libvirtd "will only ever have new messages added to it,
existing messages will not be removed, nor have their contents changed"; the protocols of
the other daemons "are all considered to be private implementations that are liable to
change at any time".

Two shipped files tell the protocol (:mod:`elfaudit.model.rpc`):

* the systemtap tapset ``libvirt_functions.stp`` (``libvirt-common``; ``libvirt-daemon-system``
  up to 9.0.0): every program's number and every procedure's number and name, per program
  and version (:func:`elfaudit.readers.rpc_tapset.read_tapset`);
* the wireshark dissector plugin ``libvirt.so`` (``libvirt-wireshark``): the procedures of
  the programs it dissects and every message's fields in order, with their types
  (:func:`elfaudit.readers.wireshark_plugin.read_plugin`, imported when it is there; without
  it the messages are not checked and the section says so).

The procedures are the tapset's when a release ships one, else the plugin's. When a release
ships both they must agree on every program the plugin dissects (its procedure numbers,
names and the program numbers): a procedure or program they tell differently is kept in the
facts (``disagree ...`` items) and reported as ``rpc-sources-disagree`` (a warning: one of
two generated files describes the protocol wrongly, so a packager must look; the evidence
says ``agree`` or how many differ). Programs only the tapset names (the plugin does not
dissect ``admin``, ``keepalive``, ``lock_space``, ``lxc_monitor``) are no disagreement.

Findings (raw) carry ``api="rpc:<program>"`` (and ``library`` the same), so libvirt's profile
classes them: ``remote`` is libvirtd's stable protocol (public), ``qemu`` and ``lxc`` are
hypervisor-specific (weak: errors become warnings), ``admin``, ``keepalive``, ``lock_space``
and ``lxc_monitor`` are private (their findings are exempt when weighed; the section's
``churn`` evidence still counts every program's changes, the summary for the private ones).
A message's program is its name's prefix (:func:`program_of_message`): ``remote_``,
``qemu_``, ``lxc_``, ``admin_``, ``keepalive_``, ``virLockSpaceProtocol``, ``virLXCMonitor``;
other names (``stream_hole``) are the RPC layer's own messages, shared by every program
(``virnet``, public).

Rules: ``rpc-program-removed`` (a program gone, or its number changed), ``rpc-procedure-removed``
(a procedure number gone), ``rpc-procedure-renamed`` (the same number, another name: the wire
carries the number, so a warning; a changed meaning shows in its messages),
``rpc-message-removed`` (a message gone, saying whether its procedure stays),
``rpc-message-changed`` (fields removed, added, retyped or reordered: the XDR encoding
changes, an error), ``rpc-message-field-renamed`` (a field renamed at the same position with
the same type: wire-compatible, a warning); additions are info (``rpc-program-added``,
``rpc-procedure-added``, ``rpc-message-added``).

The facts (:func:`facts`) are keyed by item: ``program <name>`` -> number, ``procedure
<program> <version> <number>`` -> name, ``message <name>`` -> its fields
(``[[name, type, refers, element], ...]``), ``disagree ...`` items, and ``sources`` (which
files told them).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence

from elfaudit.model.guarantees import ReleaseFiles, SectionFacts, SectionResult, SectionStatus
from elfaudit.model.report import Finding
from elfaudit.model.rpc import RpcField, RpcProtocol
from elfaudit.policy.rules import Rule
from elfaudit.readers.rpc_tapset import read_tapset

__all__ = [
    "PLUGIN_MODULE",
    "TAPSET_PATH",
    "check_rpc",
    "compare_facts",
    "compare_fields",
    "facts",
    "facts_of_protocols",
    "plugin_paths",
    "program_of_message",
]

SECTION = "rpcproto"
TAPSET_PATH = "usr/share/systemtap/tapset/libvirt_functions.stp"
_PLUGIN = re.compile(r"usr/lib(?:64|32)?/(?:[^/]+/)?wireshark/plugins/(?:[^/]+/)*libvirt\.so")
PLUGIN_MODULE = "elfaudit.readers.wireshark_plugin"

#: Message-name prefixes and the program they belong to (first match wins).
MESSAGE_PREFIXES = (
    ("remote_", "remote"),
    ("qemu_", "qemu"),
    ("lxc_", "lxc"),
    ("admin_", "admin"),
    ("keepalive_", "keepalive"),
    ("virKeepAlive", "keepalive"),
    ("virLockSpaceProtocol", "lock_space"),
    ("virLXCMonitor", "lxc_monitor"),
)
#: The RPC layer's own messages (virnetprotocol.x: ``stream_hole``), shared by every program.
NET_PROGRAM = "virnet"
#: A message named for a procedure: ``<program>_<procedure>_<suffix>``.
MESSAGE_SUFFIXES = ("_args", "_ret", "_msg")


def program_of_message(name: str) -> str:
    """The program a message belongs to, from its name's prefix."""
    for prefix, program in MESSAGE_PREFIXES:
        if name.startswith(prefix):
            return program
    return NET_PROGRAM


def _api(program: str) -> str:
    return f"rpc:{program}"


# --------------------------------------------------------------------------- facts


def _field_fact(f: RpcField) -> list[str]:
    return [f.name, f.type, f.refers, f.element]


def _fields_of(value: object) -> list[tuple[str, str, str, str]]:
    items = value if isinstance(value, list) else []
    return [
        (item[0], item[1], item[2], item[3])
        for item in items
        if isinstance(item, list) and len(item) == 4 and all(isinstance(x, str) for x in item)
    ]


def facts_of_protocols(
    tapset: RpcProtocol | None, plugin: RpcProtocol | None
) -> dict[str, object] | None:
    """The section's facts from what a release's tapset and plugin tell (None: neither)."""
    if tapset is None and plugin is None:
        return None
    out: dict[str, object] = {
        "sources": {
            "tapset": tapset is not None,
            "plugin": plugin.abi if plugin is not None else None,
            "messages": plugin is not None and plugin.messages is not None,
        }
    }
    main = tapset if tapset is not None else plugin
    assert main is not None
    programs = dict(main.programs)
    procedures: dict[tuple[str, int, int], str] = {
        (p.program, p.version, p.number): p.name for p in main.procedures
    }
    if tapset is not None and plugin is not None:
        tap_numbers = dict(tapset.programs)
        for name, number in sorted(plugin.programs.items()):
            if tap_numbers.get(name) != number:
                out[f"disagree program {name}"] = {
                    "tapset": tap_numbers.get(name),
                    "plugin": number,
                }
            if name not in programs:
                programs[name] = number
        covered = set(plugin.programs)
        theirs = {(p.program, p.version, p.number): p.name for p in plugin.procedures}
        for key in sorted(set(theirs) | {k for k in procedures if k[0] in covered}):
            mine, other = procedures.get(key), theirs.get(key)
            if mine != other and (mine is None or other is None or mine.lower() != other.lower()):
                out["disagree procedure {} {} {}".format(*key)] = {"tapset": mine, "plugin": other}
            if mine is None and other is not None:
                procedures[key] = other
    for name, number in sorted(programs.items()):
        out[f"program {name}"] = number
    for (program, version, number), name in sorted(procedures.items()):
        out[f"procedure {program} {version} {number}"] = name
    if plugin is not None and plugin.messages is not None:
        for name, msg in sorted(plugin.messages.items()):
            out[f"message {name}"] = [_field_fact(f) for f in msg.fields]
    return out


def _tapset_of(rf: ReleaseFiles) -> RpcProtocol | None:
    data = rf.files.get(TAPSET_PATH)
    if data is None:
        return None
    return read_tapset(data, f"{rf.origin.get(TAPSET_PATH, rf.label)}:/{TAPSET_PATH}")


def plugin_paths(rf: ReleaseFiles) -> list[str]:
    """The wireshark plugins of a release (paths inside the packages), sorted."""
    return sorted(p for p in rf.files if _PLUGIN.fullmatch(p))


def _plugin_reader() -> Callable[..., RpcProtocol] | None:
    try:
        mod = importlib.import_module(PLUGIN_MODULE)
    except ImportError:
        return None
    reader = getattr(mod, "read_plugin", None)
    return reader if callable(reader) else None


def _plugin_of(rf: ReleaseFiles) -> RpcProtocol | None:
    """The first plugin of the release (by path), read; None when there is none or the
    reader is not there."""
    paths = plugin_paths(rf)
    reader = _plugin_reader() if paths else None
    if reader is None:
        return None
    path = paths[0]
    # the reader finds the wireshark ABI itself (the plugin's symbols, else its folder)
    return reader(rf.files[path], f"{rf.origin.get(path, rf.label)}:/{path}")


def facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """The section's facts about one release; None when it ships neither a tapset nor a
    plugin. Bad files raise InputError."""
    return facts_of_protocols(_tapset_of(rf), _plugin_of(rf))


# --------------------------------------------------------------------------- comparing


def _items(f: SectionFacts, kind: str) -> dict[str, object]:
    prefix = kind + " "
    return {k[len(prefix) :]: v for k, v in f.items() if k.startswith(prefix)}


def _programs(f: SectionFacts) -> dict[str, int]:
    return {k: v for k, v in _items(f, "program").items() if isinstance(v, int)}


def _procedures(f: SectionFacts) -> dict[tuple[str, int, int], str]:
    out: dict[tuple[str, int, int], str] = {}
    for key, name in _items(f, "procedure").items():
        parts = key.split(" ")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and isinstance(name, str):
            out[(parts[0], int(parts[1]), int(parts[2]))] = name
    return out


def _messages(f: SectionFacts) -> dict[str, list[tuple[str, str, str, str]]] | None:
    sources = f.get("sources")
    if not isinstance(sources, Mapping) or not sources.get("messages"):
        return None
    return {name: _fields_of(v) for name, v in _items(f, "message").items()}


def _sources(f: SectionFacts) -> Mapping[str, object]:
    s = f.get("sources")
    return s if isinstance(s, Mapping) else {}


def _type_text(t: tuple[str, str, str, str]) -> str:
    text = t[1]
    if t[2]:
        text += f" {t[2]}"
    if t[3]:
        text += f" of {t[3]}"
    return text


def _same_type(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> bool:
    """The same field type; what a field refers to and its element type count only when
    both sides' binaries tell them (an empty one is unknown, not different)."""
    return a[1] == b[1] and all(x == y or not x or not y for x, y in zip(a[2:], b[2:], strict=True))


def compare_fields(
    old: Sequence[tuple[str, str, str, str]], new: Sequence[tuple[str, str, str, str]]
) -> tuple[list[str], list[str]]:
    """What changed in a message's fields: (breaking changes, renames), each a phrase.

    A field at the same position with the same type (:func:`_same_type`) but another name,
    neither name found on the other side, is renamed; otherwise fields are matched by name:
    removed, added, retyped (type, refers or element), and reordered when the fields both
    sides have are not in the same order."""
    old_names = {f[0] for f in old}
    new_names = {f[0] for f in new}
    renamed: dict[str, str] = {}
    for i in range(min(len(old), len(new))):
        o, n = old[i], new[i]
        if o[0] != n[0] and _same_type(o, n) and o[0] not in new_names and n[0] not in old_names:
            renamed[o[0]] = n[0]
    renames = [
        f"field {o} (#{i + 1}) renamed {renamed[o]}"
        for i, (o, *_r) in enumerate(old)
        if o in renamed
    ]
    gone_new = set(renamed.values())
    breaking: list[str] = []
    new_by = {f[0]: f for f in new}
    for i, o in enumerate(old):
        if o[0] in renamed:
            continue
        match = new_by.get(o[0])
        if match is None:
            breaking.append(f"field {o[0]} ({_type_text(o)}, #{i + 1}) removed")
        elif not _same_type(o, match):
            breaking.append(f"field {o[0]} retyped from {_type_text(o)} to {_type_text(match)}")
    for i, n in enumerate(new):
        if n[0] not in old_names and n[0] not in gone_new:
            breaking.append(f"field {n[0]} ({_type_text(n)}, #{i + 1}) added")
    mapped_old = [renamed.get(f[0], f[0]) for f in old]
    common_old = [name for name in mapped_old if name in new_names]
    common_new = [f[0] for f in new if f[0] in set(common_old)]
    if common_old != common_new:
        breaking.append(
            f"fields reordered from ({', '.join(common_old)}) to ({', '.join(common_new)})"
        )
    return breaking, renames


def _procedure_of_message(name: str, program: str) -> str | None:
    """``remote_domain_get_info_args`` -> ``domain_get_info``; None for other names."""
    prefix = f"{program}_"
    if not name.startswith(prefix):
        return None
    for suffix in MESSAGE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(prefix) + len(suffix):
            return name[len(prefix) : -len(suffix)]
    return None


def _summary(f: SectionFacts | None) -> dict[str, object]:
    if f is None:
        return {}
    procs = _procedures(f)
    src = _sources(f)
    told = (["tapset"] if src.get("tapset") else []) + (
        [f"{src['plugin']} plugin"] if src.get("plugin") else []
    )
    out: dict[str, object] = {"sources": " and ".join(told) or "none"}
    out["programs"] = {
        name: {"number": number, "procedures": sum(1 for k in procs if k[0] == name)}
        for name, number in sorted(_programs(f).items())
    }
    messages = _messages(f)
    if messages is not None:
        out["messages"] = len(messages)
    disagree = sorted(k for k in f if k.startswith("disagree "))
    if _sources(f).get("tapset") and _sources(f).get("plugin"):
        out["tapset and plugin"] = f"{len(disagree)} items differ" if disagree else "agree"
    return out


def compare_facts(
    old: SectionFacts | None,
    new: SectionFacts | None,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> SectionResult:
    """Two releases' facts compared: raw findings, the per-program churn as evidence."""
    if old is None or new is None:
        missing = [side for side, f in ((old_label, old), (new_label, new)) if f is None]
        return SectionResult(
            SECTION,
            SectionStatus.NOT_CHECKED,
            f"no systemtap tapset ({TAPSET_PATH.rsplit('/', 1)[-1]}) or wireshark plugin in "
            + " or ".join(missing),
            {"old": _summary(old), "new": _summary(new)},
        )
    findings: list[Finding] = []
    churn: dict[str, dict[str, int]] = {}

    def count(program: str, what: str) -> None:
        churn.setdefault(program, {})
        churn[program][what] = churn[program].get(what, 0) + 1

    def add(rule: Rule, program: str, message: str, symbol: str | None, what: str) -> None:
        findings.append(rule.finding(_api(program), None, message, symbol, api=_api(program)))
        count(program, what)

    o_prog, n_prog = _programs(old), _programs(new)
    o_proc, n_proc = _procedures(old), _procedures(new)
    gone_programs = set()
    for name, number in sorted(o_prog.items()):
        now = n_prog.get(name)
        if now is None:
            gone_programs.add(name)
            count_procs = sum(1 for k in o_proc if k[0] == name)
            add(
                Rule.RPC_PROGRAM_REMOVED,
                name,
                f"program {name} ({number}) is gone from {new_label}, with its {count_procs} "
                "procedures",
                name,
                "program removed",
            )
        elif now != number:
            gone_programs.add(name)
            add(
                Rule.RPC_PROGRAM_REMOVED,
                name,
                f"program {name} was number {number}, is {now} in {new_label}: calls to "
                f"{number} are no longer answered",
                name,
                "program renumbered",
            )
    new_programs = set(n_prog) - set(o_prog)
    for name in sorted(new_programs):
        count_procs = sum(1 for k in n_proc if k[0] == name)
        add(
            Rule.RPC_PROGRAM_ADDED,
            name,
            f"new program {name} ({n_prog[name]}) with {count_procs} procedures",
            name,
            "program added",
        )
    for key, name in sorted(o_proc.items()):
        program, version, number = key
        if program in gone_programs:
            continue
        now_name = n_proc.get(key)
        where = f"procedure {number} of {program} version {version}"
        if now_name is None:
            add(
                Rule.RPC_PROCEDURE_REMOVED,
                program,
                f"{where} ({name}) is gone from {new_label}",
                name,
                "procedures removed",
            )
        elif now_name != name:
            add(
                Rule.RPC_PROCEDURE_RENAMED,
                program,
                f"{where} was {name}, is {now_name} in {new_label}",
                name,
                "procedures renamed",
            )
    for key, name in sorted(n_proc.items()):
        program, version, number = key
        if key not in o_proc and program not in new_programs:
            add(
                Rule.RPC_PROCEDURE_ADDED,
                program,
                f"new procedure {number} of {program} version {version}: {name}",
                name,
                "procedures added",
            )

    o_msg, n_msg = _messages(old), _messages(new)
    if o_msg is not None and n_msg is not None:
        n_names = {(k[0], n) for k, n in n_proc.items()}
        for name, fields in sorted(o_msg.items()):
            program = program_of_message(name)
            if program in gone_programs:
                continue
            now_fields = n_msg.get(name)
            if now_fields is None:
                proc = _procedure_of_message(name, program)
                if proc is None:
                    why = "a type the messages use"
                elif (program, proc) in n_names:
                    why = f"its procedure {proc} stays"
                else:
                    why = f"with its procedure {proc}"
                add(
                    Rule.RPC_MESSAGE_REMOVED,
                    program,
                    f"message {name} is gone from {new_label} ({why})",
                    name,
                    "messages removed",
                )
                continue
            breaking, renames = compare_fields(fields, now_fields)
            if breaking:
                add(
                    Rule.RPC_MESSAGE_CHANGED,
                    program,
                    f"message {name}: " + "; ".join(breaking),
                    name,
                    "messages changed",
                )
            if renames:
                add(
                    Rule.RPC_MESSAGE_FIELD_RENAMED,
                    program,
                    f"message {name}: " + "; ".join(renames),
                    name,
                    "messages with fields renamed",
                )
        for name in sorted(set(n_msg) - set(o_msg)):
            program = program_of_message(name)
            add(
                Rule.RPC_MESSAGE_ADDED,
                program,
                f"new message {name} ({len(n_msg[name])} fields)",
                name,
                "messages added",
            )
        messages = "checked"
    else:
        missing = [side for side, m in ((old_label, o_msg), (new_label, n_msg)) if m is None]
        messages = "not checked: no wireshark plugin read in " + " or ".join(missing)
    for item_key, value in sorted(new.items()):
        if not item_key.startswith("disagree "):
            continue
        item = item_key[len("disagree ") :]
        program = item.split(" ")[1] if " " in item else NET_PROGRAM
        told = value if isinstance(value, Mapping) else {}
        add(
            Rule.RPC_SOURCES_DISAGREE,
            program,
            f"{new_label}'s tapset and wireshark plugin disagree on {item}: tapset "
            f"{told.get('tapset')}, plugin {told.get('plugin')}",
            item,
            "tapset/plugin disagreements",
        )
    reason = "" if messages == "checked" else f"partly: messages {messages}"
    evidence: dict[str, object] = {
        "old": _summary(old),
        "new": _summary(new),
        "messages": messages,
        # per program, what changed (the private programs' only account: their findings
        # are exempt when weighed); a list, so the text report shows it
        "churn": [
            f"{p} (" + ", ".join(f"{n} {what}" for what, n in sorted(c.items())) + ")"
            for p, c in sorted(churn.items())
        ],
    }
    return SectionResult(SECTION, SectionStatus.CHECKED, reason, evidence, tuple(findings))


# --------------------------------------------------------------------------- the section


def _files(rf: ReleaseFiles) -> dict[str, str]:
    paths = ([TAPSET_PATH] if TAPSET_PATH in rf.files else []) + plugin_paths(rf)
    return {f"/{p}": rf.origin.get(p, rf.label) for p in paths}


def check_rpc(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``rpcproto`` section on two releases' files: :func:`compare_facts` of both sides'
    :func:`facts`, with the files read (and their packages) as evidence."""
    of, nf = facts(old), facts(new)
    result = compare_facts(of, nf, "OLD", "NEW")
    evidence = dict(result.evidence)
    reader = _plugin_reader() is not None
    for side, rf in (("old", old), ("new", new)):
        summary = dict(evidence.get(side) or {})  # type: ignore[call-overload]
        summary["files"] = _files(rf)
        if plugin_paths(rf) and not reader:
            summary["plugin"] = f"not read: {PLUGIN_MODULE} is not available"
        elif len(plugin_paths(rf)) > 1:
            summary["plugin"] = f"read /{plugin_paths(rf)[0]} (of {len(plugin_paths(rf))})"
        evidence[side] = summary
    return SectionResult(result.section, result.status, result.reason, evidence, result.findings)

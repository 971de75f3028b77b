"""virsh's command and option tables (``elfaudit/readers/virsh_tables.py``) and the ``virsh``
section (``elfaudit/analysis/virsh_commands.py``).

Fixtures are tiny PIE programs built with gcc at test time, holding tables laid out as
libvirt's ``tools/vsh.h`` of each era lays them out: ``bits`` (up to 9.x: a ``VSH_OFLAG_*``
word, ``VSH_OT_DATA``, ``vshCmdInfo`` pairs), ``bools`` (10.x/11.x: ``required`` /
``positional`` / ``unwanted_positional`` / ``allowEmpty``, ``VSH_OT_NONE``) and ``bools12``
(12.x: one more field in ``vshCmdDef``). Real binaries: every cached suite's
``libvirt-clients``, cross-checked against ``virsh help`` of bookworm's (run with its
libraries) and against the man page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import realdebs

from elfaudit.analysis.virsh_commands import (
    MAN_PAGE,
    VIRSH,
    check_virsh,
    compare_facts,
    facts,
    man_page_commands,
)
from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles, SectionStatus
from elfaudit.model.virsh import VirshOption
from elfaudit.readers.virsh_tables import read_virsh

SUITES = ("bullseye", "bookworm", "bookworm-backports", "trixie", "sid")
ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Opt:
    name: str
    kind: str  # bool string int argv alias
    required: bool = False
    positional: bool = False
    alias_of: str | None = None
    empty_ok: bool = False


@dataclass(frozen=True)
class Cmd:
    name: str
    group: str = "domain"
    opts: tuple[Opt, ...] = ()
    alias_of: str | None = None
    hidden: bool = False
    self_alias: bool = False  # 7.0's way of hiding a command: an alias of itself
    extra: tuple[str, ...] = field(default_factory=tuple)


def _c(s: str | None) -> str:
    return "NULL" if s is None else json.dumps(s)


def c_source(cmds: list[Cmd], layout: str) -> str:
    """C tables laid out as ``tools/vsh.h`` of the era ``layout`` names."""
    bits = layout == "bits"
    out = ["#include <stdbool.h>", "#include <stddef.h>"]
    out.append("typedef char **(*Completer)(void *, const void *, unsigned int);")
    if bits:
        out.append(
            "typedef struct { const char *name; int type; unsigned int flags; const char *help;"
            " Completer completer; unsigned int completer_flags; } OptDef;"
        )
        out.append("typedef struct { const char *name; const char *data; } Info;")
        types = {"bool": 0, "string": 1, "int": 2, "data": 3, "argv": 4, "alias": 5}
        alias_flag, hidden_flag = 2, 4
    else:
        out.append(
            "typedef struct { const char *name; int type; bool required; bool positional;"
            " bool unwanted_positional; bool allowEmpty; const char *help;"
            " Completer completer; unsigned int completer_flags; } OptDef;"
        )
        out.append("typedef struct { const char *help; const char *desc; } Info;")
        types = {"none": 0, "bool": 1, "string": 2, "int": 3, "argv": 4, "alias": 5}
        alias_flag, hidden_flag = 0, 2
    extra = " const void *extra;" if layout == "bools12" else ""
    out.append(
        "typedef struct { const char *name; bool (*handler)(void *, const void *);"
        f"{extra} const OptDef *opts; const void *info; unsigned int flags;"
        " const char *alias; } CmdDef;"
    )
    out.append(
        "typedef struct { const char *name; const char *keyword; const CmdDef *commands; } Grp;"
    )
    out.append("static bool handler(void *c, const void *d) { return c != d; }")
    out.append("static char **completer(void *c, const void *d, unsigned int f)")
    out.append("{ (void)c; (void)d; (void)f; return NULL; }")
    for i, c in enumerate(cmds):
        if c.alias_of is not None:
            continue
        rows = []
        for o in c.opts:
            help_ = o.alias_of if o.kind == "alias" else f"help of {o.name}"
            compl = "completer" if o.kind in ("string", "argv") else "NULL"
            if bits:
                flags = 0
                kind = o.kind
                if o.kind in ("string", "int", "argv"):
                    if o.kind == "string" and o.positional and o.required:
                        kind = "data"
                    if not o.positional:
                        flags |= 4  # VSH_OFLAG_REQ_OPT
                if o.required:
                    flags |= 1
                if o.empty_ok:
                    flags |= 2
                rows.append(f"{{{_c(o.name)}, {types[kind]}, {flags}, {_c(help_)}, {compl}, 0}}")
            else:
                pos = o.positional and o.required
                unwanted = o.positional and not o.required
                rows.append(
                    f"{{{_c(o.name)}, {types[o.kind]}, {int(o.required)}, {int(pos)},"
                    f" {int(unwanted)}, {int(o.empty_ok)}, {_c(help_)}, {compl}, 0}}"
                )
        rows.append("{NULL}")
        out.append(f"static const OptDef opts_{i}[] = {{ {', '.join(rows)} }};")
        if bits:
            out.append(
                f'static const Info info_{i}[] = {{{{"help", "h {c.name}"}}, {{"desc", ""}},'
                " {NULL, NULL}};"
            )
        else:
            out.append(f'static const Info info_{i} = {{"h {c.name}", ""}};')
    groups: dict[str, list[str]] = {}
    for i, c in enumerate(cmds):
        xtra = "NULL, " if layout == "bools12" else ""
        if c.alias_of is not None:
            flags = alias_flag
            row = f"{{{_c(c.name)}, NULL, {xtra}NULL, NULL, {flags}, {_c(c.alias_of)}}}"
        else:
            flags = hidden_flag if c.hidden else 0
            alias = "NULL"
            if c.self_alias:
                flags, alias = 1 | alias_flag, _c(c.name)
            info = f"info_{i}" if bits else f"&info_{i}"
            row = f"{{{_c(c.name)}, handler, {xtra}opts_{i}, {info}, {flags}, {alias}}}"
        groups.setdefault(c.group, []).append(row)
    for g, rows in groups.items():
        rows.append("{NULL}")
        out.append(f"static const CmdDef cmds_{g}[] = {{ {', '.join(rows)} }};")
    grows = [f'{{"{g.title()} Things", "{g}", cmds_{g}}}' for g in groups]
    grows.append("{NULL, NULL, NULL}")
    out.append(f"const Grp cmdGroups[] = {{ {', '.join(grows)} }};")
    out.append("int main(void) { return cmdGroups[0].name == NULL; }")
    return "\n".join(out) + "\n"


def build_virsh(tmp: Path, cmds: list[Cmd], layout: str, name: str = "virsh") -> bytes:
    """A PIE holding the tables (gcc; skips when gcc is missing)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    d = tmp / f"{name}-{layout}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "t.c").write_text(c_source(cmds, layout))
    subprocess.run(
        ["gcc", "-O0", "-fPIE", "-pie", "-o", str(d / "virsh"), str(d / "t.c")],
        check=True,
        capture_output=True,
    )
    return (d / "virsh").read_bytes()


def expected(cmd: Cmd) -> tuple[VirshOption, ...]:
    out, position = [], 0
    for o in cmd.opts:
        takes = o.positional and o.kind not in ("bool", "alias")
        out.append(
            VirshOption(
                o.name, o.kind, o.required, position if takes else None, o.empty_ok, o.alias_of
            )
        )
        position += takes
    return tuple(out)


DOMAIN = Opt("domain", "string", required=True, positional=True)
BASE = [
    Cmd("start", "domain", (DOMAIN, Opt("console", "bool"), Opt("pass-fds", "string"))),
    Cmd(
        "attach-disk",
        "domain",
        (
            DOMAIN,
            Opt("source", "string", required=True, positional=True),
            Opt("targetbus", "string", positional=True),
            Opt("shareable", "alias", alias_of="mode=shareable"),
            Opt("mode", "string", empty_ok=True),
            Opt("count", "int", positional=True),
        ),
    ),
    Cmd("list", "domain", (Opt("all", "bool"), Opt("name", "bool"))),
    Cmd(
        "echo",
        "virsh",
        (
            Opt("shell", "bool"),
            Opt("str", "alias", alias_of="string"),
            Opt("string", "argv", positional=True),
        ),
    ),
    Cmd("nodedev-detach", "virsh", (Opt("device", "string", required=True, positional=True),)),
    Cmd("nodedev-dettach", "virsh", alias_of="nodedev-detach"),
    Cmd("self-test", "virsh", (), hidden=True),
]


@pytest.mark.parametrize("layout", ["bits", "bools", "bools12"])
def test_decodes_every_layout(tmp_path: Path, layout: str) -> None:
    data = build_virsh(tmp_path, BASE, layout)
    t = read_virsh(data, "x/virsh")
    assert [c.name for c in t.commands] == [c.name for c in BASE]
    assert t.groups == ("domain", "virsh")
    for spec in BASE:
        got = t.command(spec.name)
        assert got is not None
        assert got.group == spec.group
        assert got.alias_of == spec.alias_of
        assert got.hidden == spec.hidden
        if spec.alias_of is None:
            assert got.options == expected(spec), spec.name
    lay = t.layout
    assert lay["pointer_size"] == 8
    assert lay["command"] == {
        "stride": 56 if layout == "bools12" else 48,
        "handler": 8,
        "opts": 24 if layout == "bools12" else 16,
        "alias": 48 if layout == "bools12" else 40,
        "flags": 40 if layout == "bools12" else 32,
    }
    opt = lay["option"]
    assert isinstance(opt, dict)
    assert opt["stride"] == 40 and opt["help"] == 16 and opt["completer"] == 24
    assert opt["flags"] == {"at": 12, "size": 4, "as": "bits" if layout == "bits" else "bools"}
    if layout == "bits":
        assert opt["types"] == {
            "0": "bool", "1": "string", "2": "int", "3": "data", "4": "argv", "5": "alias"
        }  # fmt: skip
    else:
        assert opt["types"] == {
            "0": "none", "1": "bool", "2": "string", "3": "int", "4": "argv", "5": "alias"
        }  # fmt: skip


def test_a_command_aliased_to_itself_is_hidden(tmp_path: Path) -> None:
    """libvirt 7.0 hid self-test and complete as aliases of themselves."""
    cmds = [*BASE[:5], Cmd("complete", "virsh", (Opt("x", "bool"),), self_alias=True)]
    t = read_virsh(build_virsh(tmp_path, cmds, "bits"), "virsh")
    c = t.command("complete")
    assert c is not None and c.hidden and c.alias_of is None
    assert c.options == (VirshOption("x", "bool"),)


# --------------------------------------------------------------------------- comparing


def _rf(label: str, data: bytes, man: bytes | None = None) -> ReleaseFiles:
    files = {VIRSH: data}
    origin = {VIRSH: f"libvirt-clients_{label}_amd64.deb"}
    if man is not None:
        files[MAN_PAGE] = man
        origin[MAN_PAGE] = origin[VIRSH]
    return ReleaseFiles(label, files, origin)


def _replace(cmds: list[Cmd], name: str, new: Cmd | None) -> list[Cmd]:
    out = (
        [c for c in cmds if c.name != name]
        if new is None
        else [new if c.name == name else c for c in cmds]
    )
    return out


def virsh_pair(tmp: Path) -> tuple[ReleaseFiles, ReleaseFiles]:
    """OLD (bits layout) -> NEW (bools layout), one change of each kind:

    * ``nodedev-dettach`` dropped (command removed); ``define`` new (command added);
    * ``start --pass-fds`` dropped (option removed), ``start --paused`` new (option added);
    * ``list --name`` becomes a string (changed: ``virsh list --name`` now wants a value);
    * ``attach-disk``: ``--targetbus`` no longer a bare word (changed: word 3 refused...
      no: word 3 goes to --count), ``--mode`` required (changed);
    * ``echo --str`` kept as an alias: no finding.
    """
    new = _replace(BASE, "nodedev-dettach", None)
    new = _replace(
        new,
        "start",
        Cmd("start", "domain", (DOMAIN, Opt("console", "bool"), Opt("paused", "bool"))),
    )
    new = _replace(new, "list", Cmd("list", "domain", (Opt("all", "bool"), Opt("name", "string"))))
    new = _replace(
        new,
        "attach-disk",
        Cmd(
            "attach-disk",
            "domain",
            (
                DOMAIN,
                Opt("source", "string", required=True, positional=True),
                Opt("targetbus", "string"),
                Opt("shareable", "alias", alias_of="mode=shareable"),
                Opt("mode", "string", required=True),
                Opt("count", "int", positional=True),
            ),
        ),
    )
    new.append(Cmd("define", "domain", (Opt("file", "string", required=True, positional=True),)))
    return (
        _rf("9.0.0", build_virsh(tmp, BASE, "bits", "old")),
        _rf("11.3.0", build_virsh(tmp, new, "bools", "new")),
    )


def test_findings_of_each_kind(tmp_path: Path) -> None:
    old, new = virsh_pair(tmp_path)
    res = check_virsh(old, new)
    assert res.status is SectionStatus.CHECKED and not res.reason
    got = {(f.rule, f.symbol) for f in res.findings}
    assert got == {
        ("virsh-command-removed", "nodedev-dettach"),
        ("virsh-command-added", "define"),
        ("virsh-option-removed", "start --pass-fds"),
        ("virsh-option-added", "start --paused"),
        ("virsh-option-changed", "list --name"),
        ("virsh-option-changed", "attach-disk --mode"),
        ("virsh-option-changed", "attach-disk --targetbus"),
    }
    by = {(f.rule, f.symbol): f.message for f in res.findings}
    assert by[("virsh-option-removed", "start --pass-fds")].startswith(
        "`virsh start --pass-fds x` is refused by NEW"
    )
    assert "was bool, is string" in by[("virsh-option-changed", "list --name")]
    assert by[("virsh-option-changed", "attach-disk --targetbus")] == (
        "`virsh attach-disk w1 w2 w3` behaves differently in NEW: word 3 was --targetbus in "
        "OLD, is --count in NEW"
    )
    assert "became required" in by[("virsh-option-changed", "attach-disk --mode")]
    assert by[("virsh-command-removed", "nodedev-dettach")] == (
        "`virsh nodedev-dettach` is refused by NEW: it has no command nodedev-dettach "
        "(OLD had it, an alias of nodedev-detach)"
    )
    assert {f.severity.value for f in res.findings if f.rule.endswith("added")} == {"info"}
    assert {f.severity.value for f in res.findings if not f.rule.endswith("added")} == {"error"}
    ev = res.evidence["old"]
    assert isinstance(ev, dict)
    assert ev == {
        "file": "/usr/bin/virsh",
        "package": "libvirt-clients_9.0.0_amd64.deb",
        "commands": 6,
        "command_aliases": 1,
        "options": 15,
    }
    layout = res.evidence["layout"]
    assert isinstance(layout, dict) and set(layout) == {"old", "new"}


def test_check_equals_compare_of_facts_and_facts_round_trip(tmp_path: Path) -> None:
    old, new = virsh_pair(tmp_path)
    fo, fn = facts(old), facts(new)
    assert fo is not None and fn is not None
    assert json.loads(json.dumps(fo)) == fo
    assert facts(old) == fo  # deterministic
    assert check_virsh(old, new).findings == compare_facts(fo, fn, "old", "new").findings
    assert compare_facts(fo, fo).findings == ()


def test_a_renamed_command_or_option_kept_as_alias_is_no_removal(tmp_path: Path) -> None:
    old = [
        Cmd("detach", "domain", (DOMAIN, Opt("target_bus", "string"), Opt("live", "bool"))),
        Cmd("list", "virsh", (Opt("all", "bool"),)),
    ]
    new = [
        Cmd(
            "detach-device",
            "domain",
            (
                DOMAIN,
                Opt("target_bus", "alias", alias_of="target-bus"),
                Opt("target-bus", "string"),
                Opt("live", "bool"),
            ),
        ),
        Cmd("detach", "domain", alias_of="detach-device"),
        Cmd("list", "virsh", (Opt("all", "bool"),)),
    ]
    res = check_virsh(
        _rf("a", build_virsh(tmp_path, old, "bits", "a")),
        _rf("b", build_virsh(tmp_path, new, "bools", "b")),
    )
    assert {(f.rule, f.symbol) for f in res.findings} == {
        ("virsh-command-added", "detach-device"),
        ("virsh-option-added", "detach --target-bus"),
    }


def test_compatible_kind_changes_and_new_required_options(tmp_path: Path) -> None:
    old = [
        Cmd("a", "domain", (Opt("n", "int"), Opt("s", "string"), Opt("v", "argv"))),
        Cmd("b", "virsh", (Opt("flag", "bool"), Opt("x", "alias", alias_of="flag"))),
    ]
    new = [
        Cmd("a", "domain", (Opt("n", "string"), Opt("s", "argv"), Opt("v", "string"))),
        Cmd(
            "b",
            "virsh",
            (
                Opt("flag", "bool"),
                Opt("x", "alias", alias_of="flag"),
                Opt("need", "int", required=True),
            ),
        ),
    ]
    res = check_virsh(
        _rf("a", build_virsh(tmp_path, old, "bits", "a")),
        _rf("b", build_virsh(tmp_path, new, "bits", "b")),
    )
    by = {(f.rule, f.symbol): f.message for f in res.findings}
    assert set(by) == {("virsh-option-changed", "a --v"), ("virsh-option-changed", "b --need")}
    assert "was argv, is string" in by[("virsh-option-changed", "a --v")]
    assert by[("virsh-option-changed", "b --need")] == (
        "`virsh b` without --need is refused by NEW: its new option --need is required"
    )


def test_fewer_bare_words_are_refused(tmp_path: Path) -> None:
    old = [
        Cmd("a", "domain", (DOMAIN, Opt("bus", "string", positional=True))),
        Cmd("b", "virsh", (Opt("k", "bool"), Opt("y", "alias", alias_of="k"))),
    ]
    new = [
        Cmd("a", "domain", (DOMAIN, Opt("bus", "string"))),
        Cmd("b", "virsh", (Opt("k", "bool"), Opt("y", "alias", alias_of="k"))),
    ]
    res = check_virsh(
        _rf("a", build_virsh(tmp_path, old, "bits", "a")),
        _rf("b", build_virsh(tmp_path, new, "bools", "b")),
    )
    assert [f.message for f in res.findings] == [
        "`virsh a w1 w2` is refused by NEW: word 2 was --bus in OLD; NEW takes 1 bare word"
    ]


def test_not_checked_when_a_side_has_no_virsh(tmp_path: Path) -> None:
    old = _rf("a", build_virsh(tmp_path, BASE, "bits"))
    res = check_virsh(old, ReleaseFiles("b", {}, {}))
    assert res.status is SectionStatus.NOT_CHECKED
    assert res.reason == "no /usr/bin/virsh in NEW (package libvirt-clients)"
    assert res.evidence == {"old": {"/usr/bin/virsh": "libvirt-clients_a_amd64.deb"}, "new": {}}
    assert facts(ReleaseFiles("b", {}, {})) is None


def test_man_page_commands_and_evidence(tmp_path: Path) -> None:
    import gzip

    man = gzip.compress(b".TH VIRSH 1\n.SS start\nx\n.SS quit, exit\n.SS list\n.SS gone\n")
    assert man_page_commands(man, "m") == ["exit", "gone", "list", "quit", "start"]
    old = _rf("a", build_virsh(tmp_path, BASE, "bits"), man)
    res = check_virsh(old, old)
    ev = res.evidence["man_page"]
    assert isinstance(ev, dict) and set(ev) == {"old", "new"}
    assert ev["old"] == {
        "file": "/usr/share/man/man1/virsh.1.gz",
        "package": "libvirt-clients_a_amd64.deb",
        "documented": 5,
        "documented_not_in_virsh": ["exit", "gone", "quit"],
        "in_virsh_help_not_documented": ["attach-disk", "echo", "nodedev-detach"],
    }
    with pytest.raises(InputError, match=r"^m: corrupt gzip data"):
        man_page_commands(man[:10] + b"\xff" * 20, "m")


# --------------------------------------------------------------------------- bad input


def _one_line(exc: InputError, path: str) -> str:
    msg = exc.message
    assert "\n" not in msg and msg.startswith(f"{path}: ")
    return msg


def _patch(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    good = build_virsh(tmp_path, BASE, "bits")
    cases = {
        "empty": b"",
        "not ELF": b"#!/bin/sh\necho virsh\n",
        "truncated": good[: len(good) // 3],
        # no group table: the keywords are no longer lowercase names
        "no groups": _patch(_patch(good, b"\0domain\0", b"\0DOMAIN\0"), b"\0virsh\0", b"\0VIRSH\0"),
        # an option name that is no name: the option tables walk with no stride
        "bad option name": _patch(good, b"\0pass-fds\0", b"\0pass fds\0"),
    }
    for what, data in cases.items():
        with pytest.raises(InputError) as info:
            read_virsh(data, "p/virsh")
        _one_line(info.value, "p/virsh")
        assert what and info.value.reason


def test_unknown_option_type_is_named(tmp_path: Path) -> None:
    cmds = [
        Cmd("start", "domain", (DOMAIN, Opt("z", "alias", alias_of="domain"))),
        Cmd("list", "virsh", (Opt("all", "bool"),)),
    ]
    src = c_source(cmds, "bits").replace('{"domain", 3, 1,', '{"domain", 77, 1,')
    d = tmp_path / "t"
    d.mkdir()
    (d / "t.c").write_text(src)
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    subprocess.run(["gcc", "-fPIE", "-pie", "-o", str(d / "v"), str(d / "t.c")], check=True)
    with pytest.raises(InputError) as info:
        read_virsh((d / "v").read_bytes(), "v")
    assert "is not an alias type" in _one_line(info.value, "v")


def test_every_truncation_and_byte_flip_is_bounded(tmp_path: Path) -> None:
    """Cut at many lengths, and flip bytes across the tables: a result or one InputError."""
    good = build_virsh(tmp_path, BASE, "bools")
    for cut in range(0, len(good), max(1, len(good) // 97)):
        try:
            read_virsh(good[:cut], "v")
        except InputError as exc:
            _one_line(exc, "v")
    start = good.find(b"help of domain")
    for at in range(max(0, start - 4000), min(len(good), start + 4000), 37):
        data = bytearray(good)
        data[at] ^= 0xFF
        try:
            read_virsh(bytes(data), "v")
        except InputError as exc:
            _one_line(exc, "v")


def test_cli_guarantees_corrupt_virsh_exits_1(tmp_path: Path) -> None:
    good = build_virsh(tmp_path, BASE, "bits")
    for side, data in (("old", good), ("new", good[:5000])):
        (tmp_path / side / "usr" / "bin").mkdir(parents=True)
        (tmp_path / side / "usr" / "bin" / "virsh").write_bytes(data)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "elfaudit",
            "guarantees",
            str(tmp_path / "old"),
            str(tmp_path / "new"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "usr/bin/virsh" in lines[0], done.stderr
    assert done.stdout == ""


# --------------------------------------------------------------------------- real binaries


def _release(suite: str) -> ReleaseFiles:
    from elfaudit.readers.release_files import read_release

    deb = realdebs.require(suite, package="libvirt-clients")
    return read_release(str(deb)).files


@pytest.mark.real
@pytest.mark.parametrize("suite", SUITES)
def test_real_virsh_invariants(suite: str) -> None:
    rf = _release(suite)
    data = rf.files[VIRSH]
    t = read_virsh(data, suite)
    for name in ("list", "start", "define", "help", "quit"):
        assert t.command(name) is not None, name
    start, lst = t.command("start"), t.command("list")
    assert start is not None and lst is not None
    domain = start.option("domain")
    assert domain is not None and domain.required and domain.positional == 0
    assert domain.kind == "string"
    assert lst.option("all") == VirshOption("all", "bool")
    assert len(t.commands) > 200 and t.option_count > 1000
    assert any(c.alias_of for c in t.commands)
    assert any(o.kind == "alias" for c in t.commands for o in c.options)
    f = facts(rf)
    assert f is not None and json.loads(json.dumps(f)) == f
    # the man page shipped beside documents almost every command virsh help lists
    documented = set(man_page_commands(rf.files[MAN_PAGE], suite))
    listed = {c.name for c in t.commands if c.alias_of is None and not c.hidden}
    assert {"start", "list", "define"} <= documented
    assert len(listed - documented) <= 5 and len(documented - {c.name for c in t.commands}) <= 5


@pytest.mark.real
def test_real_history_every_pair() -> None:
    """Every pair of cached releases, both directions: check == compare_facts, upgrades
    between the stable releases 7.0.0 -> 9.0.0 remove nothing."""
    rfs = {s: _release(s) for s in SUITES}
    fs = {s: facts(rf) for s, rf in rfs.items()}
    for a in SUITES:
        for b in SUITES:
            if a == b:
                continue
            fa, fb = fs[a], fs[b]
            assert fa is not None and fb is not None
            res = check_virsh(rfs[a], rfs[b])
            assert res.status is SectionStatus.CHECKED
            assert res.findings == compare_facts(fa, fb, a, b).findings
    up = check_virsh(rfs["bullseye"], rfs["bookworm"]).findings
    assert up and {f.rule for f in up} <= {"virsh-command-added", "virsh-option-added"}
    same = check_virsh(rfs["bookworm-backports"], rfs["trixie"]).findings
    assert same == ()  # both 11.3.0


@pytest.mark.real
def test_real_bookworm_to_trixie_breaks() -> None:
    """libvirt 10.x's option rework (9.0.0 -> 11.3.0): optional options that the old parser
    filled from bare words and the new one does not, and --checkpointname made required."""
    res = check_virsh(_release("bookworm"), _release("trixie"))
    errors = {f.symbol: f.message for f in res.findings if f.rule == "virsh-option-changed"}
    assert errors["attach-disk --targetbus"] == (
        "`virsh attach-disk w1 w2 w3 w4` is refused by NEW: word 4 was --targetbus in OLD; "
        "NEW takes 3 bare words"
    )
    assert errors["blkdeviotune --total-bytes-sec"].startswith("`virsh blkdeviotune w1 w2 w3`")
    assert errors["migrate --disks-uri"].startswith("`virsh migrate w1 w2 w3 w4 w5 w6")
    for cmd in ("delete", "dumpxml", "edit", "info", "parent"):
        assert errors[f"checkpoint-{cmd} --checkpointname"].endswith("became required")
    assert not [f for f in res.findings if f.rule.endswith("removed")]


# ----------------------------------------------------------------- running bookworm's virsh


RUNTIME = ("libnl-3-200", "libyajl2", "libssh-4")


def _skip(message: str) -> None:
    realdebs.SKIPPED.append(message)
    print(f"REALDEBS SKIP: {message}", file=sys.__stderr__, flush=True)
    pytest.skip(message)


def _virsh_tree(suite: str, runtime: Sequence[str]) -> tuple[Path, str]:
    """``suite``'s virsh and libvirt0 extracted into a session folder with the ``runtime``
    packages (fetched into a cache of their own: never a release's package set); the
    folder, and what the fetch script said on stderr (the end of it)."""
    if shutil.which("dpkg-deb") is None:
        _skip(f"dpkg-deb is not installed: cannot run {suite}'s virsh")
    dest = realdebs.session_dir() / f"{suite}-virsh"
    for pkg in ("libvirt-clients", "libvirt0"):
        realdebs.extract_tree(realdebs.require(suite, package=pkg), dest)
    cache = realdebs.cache_dir().parent / "virsh-runtime"
    cmd = [sys.executable, str(realdebs.SCRIPT), "--cache", str(cache), "--suite", suite]
    for pkg in runtime:
        cmd += ["--package", pkg]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and Path(fields[3]).is_file():
            realdebs.extract_tree(Path(fields[3]), dest)
    return dest, done.stderr.strip()[-200:]


@pytest.fixture(scope="module")
def bookworm_virsh() -> tuple[Path, dict[str, str]]:
    """bookworm's virsh extracted with libvirt0 and the libraries it needs that this
    machine may lack (fetched into a cache of their own), and the environment to run it."""
    dest, _ = _virsh_tree("bookworm", RUNTIME)
    libs = [str(dest / "usr/lib/x86_64-linux-gnu"), str(dest / "lib/x86_64-linux-gnu")]
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(libs), LC_ALL="C", LANG="C")
    env.pop("VIRSH_DEFAULT_CONNECT_URI", None)
    virsh = dest / VIRSH
    try:
        probe = subprocess.run(
            [str(virsh), "help", "start"], env=env, capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        _skip(f"bookworm's virsh does not run here: {exc}")
    if probe.returncode != 0:
        _skip(f"bookworm's virsh does not run here: {probe.stderr.strip()[:200]}")
    return virsh, env


_OPTION_LINE = re.compile(
    r"^    (?:\[--(?P<b>[^\]\s]+)\]|--(?P<n>\S+)|<(?P<a>[^>]+)>)(?: <(?P<t>\w+)>)?"
)


@pytest.mark.real
def test_real_decoded_tables_match_virsh_help(bookworm_virsh: tuple[Path, dict[str, str]]) -> None:
    """``virsh help`` lists exactly the decoded commands that are neither aliases nor
    hidden; ``virsh help CMD`` lists exactly the decoded options that are not aliases,
    with their kind (``<number>``, ``<string>``, none for bool); an option shown as
    ``[--name]`` (given without its name) is a decoded bare-word option, and one the
    SYNOPSIS shows as a bare ``<name>`` is a decoded required option."""
    virsh, env = bookworm_virsh
    t = read_virsh(virsh.read_bytes(), str(virsh))
    out = subprocess.run([str(virsh), "help"], env=env, capture_output=True, text=True, timeout=60)
    listed = set(re.findall(r"^    (\S+)\s", out.stdout, re.M))
    assert listed == {c.name for c in t.commands if c.alias_of is None and not c.hidden}
    family = {"bool": "bool", "int": "number", "string": "string", "argv": "string"}
    checked_required: set[str] = set()
    for c in t.commands:
        if c.alias_of is not None:
            continue
        text = subprocess.run(
            [str(virsh), "help", c.name], env=env, capture_output=True, text=True, timeout=60
        ).stdout
        shown: dict[str, str] = {}
        bare: set[str] = set()
        if "  OPTIONS" in text:
            for line in text.split("  OPTIONS", 1)[1].splitlines():
                m = _OPTION_LINE.match(line)
                if m:
                    name = m["b"] or m["n"] or m["a"]
                    shown[name] = m["t"] or ("string" if m["a"] else "bool")
                    if m["b"] or m["a"]:
                        bare.add(name)
        decoded = {o.name: family[o.kind] for o in c.options if o.kind != "alias"}
        assert decoded == shown, c.name
        assert bare <= {o.name for o in c.options if o.positional is not None}, c.name
        # SYNOPSIS: a bare <name> (no brackets around it) is a required option
        synopsis = text.split("SYNOPSIS", 1)[1].split("\n\n", 1)[0] if "SYNOPSIS" in text else ""
        must = set(re.findall(r"(?<=\s)<([^>\s]+)>(?=[\s.]|$)", synopsis)) & set(decoded)
        assert must <= {o.name for o in c.options if o.required}, c.name
        checked_required.update(f"{c.name} {m}" for m in must)
    assert len(checked_required) > 100, len(checked_required)


@pytest.mark.real
def test_real_old_virsh_takes_the_bare_words_new_refuses(
    bookworm_virsh: tuple[Path, dict[str, str]],
) -> None:
    """The finding ``virsh attach-disk w1 w2 w3 w4``: 9.0.0's virsh takes the fourth word as
    --targetbus (against the built-in test driver, printing the XML it would attach)."""
    virsh, env = bookworm_virsh
    done = subprocess.run(
        [str(virsh), "-c", "test:///default", "attach-disk", "test", "/tmp/x", "vdb", "virtio",
         "--print-xml"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0 and "test" in done.stderr and "driver" in done.stderr:
        _skip(f"bookworm's virsh has no test driver here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    assert "<target dev='vdb' bus='virtio'/>" in done.stdout


@pytest.mark.real
def test_real_old_virsh_already_demanded_checkpointname(
    bookworm_virsh: tuple[Path, dict[str, str]],
) -> None:
    """Why libvirt's shipped waiver covers ``checkpoint-* --checkpointname`` became
    required: 9.0.0's handler refused the command without it (the table said optional)."""
    virsh, env = bookworm_virsh
    for cmd in ("delete", "dumpxml", "edit", "info", "parent"):
        done = subprocess.run(
            [str(virsh), "-c", "test:///default", f"checkpoint-{cmd}", "test"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1
        assert "error: --checkpointname is required" in done.stderr, (cmd, done.stderr)


@pytest.mark.real
def test_real_checkpointname_findings_are_waived_by_libvirts_profile() -> None:
    from elfaudit.commands.waiving import WaiverOptions, weigh_findings
    from elfaudit.policy.profiles import builtin

    res = check_virsh(_release("bookworm"), _release("trixie"))
    prof = builtin("libvirt")
    applied, stale = weigh_findings(res.findings, prof, [prof], WaiverOptions())
    waived = sorted(f.symbol or "" for f in applied if f.waived is not None)
    assert waived == [
        f"checkpoint-{c} --checkpointname" for c in ("delete", "dumpxml", "edit", "info", "parent")
    ]
    active = {f.symbol for f in applied if f.waived is None and f.severity.value == "error"}
    assert active == {
        "attach-disk --targetbus",
        "blkdeviotune --total-bytes-sec",
        "migrate --disks-uri",
    }
    assert stale == ()


ARCHES = ("i386", "armhf", "arm64", "ppc64el", "s390x")


@pytest.mark.real
@pytest.mark.parametrize("suite", ["bookworm", "sid"])
def test_real_every_architecture_reads_as_amd64(suite: str) -> None:
    """32- and 64-bit, little- and big-endian, .rodata in or out of the code segment: the
    same release's virsh has the same facts on every architecture (only the layout, the
    strides and offsets of 4-byte pointers, differs)."""
    from elfaudit.readers.release_files import read_release

    ref = facts(_release(suite))
    assert ref is not None
    ref_layout = ref.pop("layout")
    got = realdebs.fetch_arches(suite, ARCHES, package="libvirt-clients")
    for arch in ARCHES:
        deb = got[arch]
        if deb is None:
            realdebs.skip_unavailable(suite, arch, package="libvirt-clients")
        f = facts(read_release(str(deb)).files)
        assert f is not None
        layout = f.pop("layout")
        assert f == ref, arch
        assert isinstance(layout, dict) and isinstance(ref_layout, dict)
        assert layout["pointer_size"] == (4 if arch in ("i386", "armhf") else 8)
        assert layout["option"]["types"] == ref_layout["option"]["types"]


def test_a_corrupt_group_entry_is_not_silently_skipped(tmp_path: Path) -> None:
    """A group entry whose keyword is no longer a name splits the group table: the run after
    it must not be taken for the table (its commands would look removed)."""
    cmds = [
        Cmd("start", "dom", (DOMAIN, Opt("d", "alias", alias_of="domain"))),
        Cmd("net-list", "net", (Opt("all", "bool"),)),
        Cmd("help", "virsh", (Opt("command", "string", positional=True),)),
    ]
    good = build_virsh(tmp_path, cmds, "bools")
    assert [c.name for c in read_virsh(good, "v").commands] == ["start", "net-list", "help"]
    with pytest.raises(InputError) as info:
        read_virsh(_patch(good, b"\0dom\0", b"\0DOM\0"), "v")
    assert re.search(
        r"command group table: the entry at 0x[0-9a-f]+ is corrupt$", info.value.reason
    )
    _one_line(info.value, "v")


def test_facts_the_checker_cannot_read_are_one_line(tmp_path: Path) -> None:
    """What a corrupt release graph may hold: an InputError (the judge makes it a
    GraphError naming the graph file), never a traceback."""
    f = facts(_rf("a", build_virsh(tmp_path, BASE, "bits")))
    assert f is not None
    for key, bad in (
        ("command start", "x"),
        ("command start", {"group": "domain", "options": [["domain", "string"]]}),
        ("command start", {"group": "domain", "options": [["d", "weird", 0, None, 0, None]]}),
        ("command start", {"group": "domain", "options": [["d", "bool", 1, "1", False, None]]}),
        ("command start", {"group": 3, "options": []}),
    ):
        with pytest.raises(InputError) as info:
            compare_facts(f, {**f, key: bad})
        assert info.value.message.startswith("virsh facts: item 'command start': ")
        assert "\n" not in info.value.message
    res = compare_facts(f, None, "9.0.0", "10.0.0")
    assert res.status is SectionStatus.NOT_CHECKED and res.reason == "no /usr/bin/virsh in 10.0.0"


def test_an_option_that_no_longer_takes_an_empty_value(tmp_path: Path) -> None:
    old = [
        Cmd("desc", "domain", (DOMAIN, Opt("title", "string", empty_ok=True))),
        Cmd("list", "virsh", (Opt("all", "bool"), Opt("a", "alias", alias_of="all"))),
    ]
    new = [old[0], old[1]]
    new[0] = Cmd("desc", "domain", (DOMAIN, Opt("title", "string")))
    for lo, ln in (("bits", "bools"), ("bools", "bits")):
        res = check_virsh(
            _rf("a", build_virsh(tmp_path, old, lo, "a")),
            _rf("b", build_virsh(tmp_path, new, ln, "b")),
        )
        assert [f.message for f in res.findings] == [
            "`virsh desc --title ''` is refused by NEW: option --title of desc no longer "
            "accepts an empty value"
        ]
        back = check_virsh(
            _rf("b", build_virsh(tmp_path, new, ln, "b")),
            _rf("a", build_virsh(tmp_path, old, lo, "a")),
        )
        assert back.findings == ()


@pytest.mark.real
def test_real_downgrades() -> None:
    """A downgrade loses what the newer release added; what 11.3.0 made optional is
    required again in 9.0.0, and 9.0.0 -> 7.0.0 takes fewer bare words."""
    trixie, bookworm, bullseye = _release("trixie"), _release("bookworm"), _release("bullseye")
    down = check_virsh(trixie, bookworm).findings
    assert {f.symbol for f in down if f.rule == "virsh-command-removed"} == {
        "domdisplay-reload", "domthrottlegroupdel", "domthrottlegroupinfo",
        "domthrottlegrouplist", "domthrottlegroupset", "hypervisor-cpu-models", "net-desc",
        "net-metadata", "nodedev-update",
    }  # fmt: skip
    assert [f.message for f in down if f.rule == "virsh-option-changed"] == [
        "`virsh blockresize` without --size is refused by NEW: option --size of blockresize "
        "became required"
    ]
    older = check_virsh(bookworm, bullseye).findings
    changed = {f.symbol for f in older if f.rule == "virsh-option-changed"}
    assert changed == {
        "attach-interface --source-mode",
        "hypervisor-cpu-baseline --file",
        "hypervisor-cpu-baseline --model",
        "iothreadset --thread-pool-min",
    }


# ----------------------------------------------------------------- running sid's virsh

# What sid's virsh (12.8.0) needs beyond a bookworm system, found by leaving each package
# out in turn (glibc 2.43 first: sid's libvirt.so.0 wants GLIBC_2.38). It runs through
# sid's own dynamic loader, so the system's loader and libraries stay as they are.
SID_RUNTIME = (
    "libc6",
    "libcurl4-gnutls",
    "libldap2",
    "libnghttp3-9",
    "libngtcp2-16",
    "libngtcp2-crypto-gnutls8",
    "libnl-3-200",
    "libssh-4",
    "libssh2-1t64",
    "libxml2-16",
)


@pytest.fixture(scope="module")
def sid_virsh() -> list[str]:
    """The command line that runs sid's virsh here: sid's ld.so, sid's libraries first,
    then the system's."""
    dest, fetch_errors = _virsh_tree("sid", SID_RUNTIME)
    libdir = dest / "usr/lib/x86_64-linux-gnu"
    loader = libdir / "ld-linux-x86-64.so.2"
    if not loader.exists():
        _skip(f"sid's libc6 could not be fetched: {fetch_errors}")
    path = [str(libdir), str(dest / "lib/x86_64-linux-gnu")]
    path += ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"]
    run = [str(loader), "--library-path", ":".join(path), str(dest / VIRSH)]
    try:
        probe = subprocess.run(
            [*run, "--version"], capture_output=True, text=True, timeout=60, env=_c_env()
        )
    except OSError as exc:
        _skip(f"sid's virsh does not run here: {exc}")
    if probe.returncode != 0 or not probe.stdout.startswith("12."):
        _skip(f"sid's virsh does not run here: {probe.stderr.strip()[:200]}")
    return run


def _c_env() -> dict[str, str]:
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env.pop("VIRSH_DEFAULT_CONNECT_URI", None)
    return env


@pytest.mark.real
def test_real_new_virsh_refuses_the_bare_words_old_took(sid_virsh: list[str]) -> None:
    """The two findings' command lines, run: 12.8.0's virsh refuses the bare word that
    9.0.0 gave to --targetbus / --total-bytes-sec (``test_real_old_virsh_takes_the_bare_
    words_new_refuses`` runs 9.0.0's), and takes it with the option's name."""
    test = [*sid_virsh, "-c", "test:///default"]

    def virsh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*test, *args], capture_output=True, text=True, timeout=60, env=_c_env()
        )

    bare = virsh("attach-disk", "test", "/tmp/x", "vdb", "virtio", "--print-xml")
    assert bare.returncode == 1 and "unexpected data 'virtio'" in bare.stderr, bare.stderr
    named = virsh("attach-disk", "test", "/tmp/x", "vdb", "--targetbus", "virtio", "--print-xml")
    assert named.returncode == 0 and "bus='virtio'" in named.stdout, named.stderr
    tune = virsh("blkdeviotune", "test", "vda", "1000")
    assert tune.returncode == 1 and "unexpected data '1000'" in tune.stderr, tune.stderr


@pytest.mark.real
def test_real_sid_tables_match_virsh_help(sid_virsh: list[str]) -> None:
    """``virsh help`` of 12.8.0 lists exactly the decoded commands that are neither
    aliases nor hidden, and ``virsh help CMD`` each decoded option that is not an alias."""
    t = read_virsh(Path(sid_virsh[-1]).read_bytes(), sid_virsh[-1])
    out = subprocess.run(
        [*sid_virsh, "help"], capture_output=True, text=True, timeout=60, env=_c_env()
    )
    listed = set(re.findall(r"^    (\S+)\s", out.stdout, re.M))
    assert listed == {c.name for c in t.commands if c.alias_of is None and not c.hidden}
    for c in t.commands:
        if c.alias_of is not None or c.hidden:
            continue
        text = subprocess.run(
            [*sid_virsh, "help", c.name], capture_output=True, text=True, timeout=60, env=_c_env()
        ).stdout
        shown = set()
        if "  OPTIONS" in text:
            for line in text.split("  OPTIONS", 1)[1].splitlines():
                m = _OPTION_LINE.match(line)
                if m:
                    shown.add(m["b"] or m["n"] or m["a"])
        assert shown == {o.name for o in c.options if o.kind != "alias"}, c.name

"""The ``rpcproto`` section: the tapset reader, the comparison of two releases' RPC protocol,
how libvirt's profile weighs it, and the real Debian releases' history.

Tapsets are written here in the shape libvirt's generator gives (:func:`tapset_text`, checked
against the real files of every cached suite); the wireshark plugin's protocol is built as
:class:`RpcProtocol` objects (its reader is another module's).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from elfaudit.analysis import rpc_protocol as rp
from elfaudit.analysis.rpc_protocol import (
    TAPSET_PATH,
    check_rpc,
    compare_facts,
    compare_fields,
    facts,
    facts_of_protocols,
    program_of_message,
)
from elfaudit.base.errors import InputError
from elfaudit.commands.guarantees import run_guarantees
from elfaudit.model.guarantees import ReleaseFiles, SectionStatus
from elfaudit.model.report import Finding, Severity
from elfaudit.model.rpc import RpcField, RpcMessage, RpcProcedure, RpcProtocol
from elfaudit.policy.profiles import builtin
from elfaudit.policy.weigh import weigh
from elfaudit.readers.release_files import read_release
from elfaudit.readers.rpc_tapset import MAX_TAPSET_BYTES, read_tapset

SUITES = ("bullseye", "bookworm", "bookworm-backports", "trixie", "sid")
UPSTREAM = {
    "bullseye": "7.0.0",
    "bookworm": "9.0.0",
    "bookworm-backports": "11.3.0",
    "trixie": "11.3.0",
    "sid": "12.8.0",
}
PROGRAMS = {
    "admin": 110102160,
    "keepalive": 1801807216,
    "lock_space": 245874415,
    "lxc": 425984,
    "lxc_monitor": 305402420,
    "qemu": 536903815,
    "remote": 536903814,
}

_HEAD = """function libvirt_rpc_auth_name(type, verbose)
{
  if (type == 0) {
      typestr = "none"
  } else {
      typestr = "unknown";
      verbose = 1;
  }
  if (verbose) {
      typestr = typestr . sprintf(":%d", type)
  }
  return typestr;
}
"""


def tapset_text(
    programs: Mapping[str, int], procedures: Iterable[tuple[str, int, int, str]]
) -> str:
    """A ``libvirt_functions.stp`` as libvirt's generator writes it."""
    out = [_HEAD, "function libvirt_rpc_program_name(program, verbose)\n{\n"]
    for i, (name, number) in enumerate(sorted(programs.items())):
        out.append(f"  {'} else ' if i else ''}if (program == {number}) {{\n")
        out.append(f'      programstr = "{name}"\n')
    out.append(
        '  } else {\n      programstr = "unknown";\n      verbose = 1;\n  }\n'
        '  if (verbose) {\n      programstr = programstr . sprintf(":%d", program)\n  }\n'
        "  return programstr;\n}\n"
    )
    out.append("function libvirt_rpc_procedure_name(program, version, proc, verbose)\n{\n")
    blocks: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for program, version, number, name in procedures:
        blocks.setdefault((program, version), []).append((number, name))
    for i, ((program, version), procs) in enumerate(sorted(blocks.items())):
        no = programs[program]
        out.append(f"  {'} else ' if i else ''}if (program == {no} && version == {version}) {{\n")
        for j, (number, name) in enumerate(sorted(procs)):
            out.append(f"      {'} else ' if j else ''}if (proc == {number}) {{\n")
            out.append(f'          procstr = "{name}";\n')
        out.append(
            '      } else {\n          procstr = "unknown";\n          verbose = 1;\n      }\n'
        )
    out.append(
        '  } else {\n      procstr = "unknown";\n      verbose = 1;\n  }\n'
        '  if (verbose) {\n      procstr = procstr . sprintf(":%d", proc)\n  }\n'
        "  return procstr;\n}\n"
    )
    return "".join(out)


SMALL_PROCS = [
    ("remote", 1, 1, "connect_open"),
    ("remote", 1, 2, "connect_close"),
    ("remote", 1, 3, "domain_get_info"),
    ("qemu", 1, 1, "domain_monitor_command"),
    ("admin", 1, 1, "connect_open"),
]
SMALL = tapset_text(PROGRAMS, SMALL_PROCS).encode()


# --------------------------------------------------------------------------- the reader


def test_reads_the_generated_shape() -> None:
    p = read_tapset(SMALL, "t.stp")
    assert p.programs == PROGRAMS
    assert p.abi == "tapset" and p.source == "t.stp" and p.messages is None
    assert p.procedures == tuple(sorted(RpcProcedure(*x) for x in SMALL_PROCS))


def _bad(text: str | bytes, path: str = "x.stp") -> InputError:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(InputError) as exc:
        read_tapset(data, path)
    assert "\n" not in exc.value.message and exc.value.message.startswith(path + ":")
    return exc.value


def _edit(old: str, new: str, count: int = 1) -> str:
    text = SMALL.decode()
    assert old in text
    return text.replace(old, new, count)


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


DUP_PROGRAM = _edit("if (program == 425984) {", "if (program == 110102160) {")
DUP_NAME = _edit('programstr = "lxc"', 'programstr = "admin"')
DUP_PROC = _edit("if (proc == 2) {", "if (proc == 1) {")
DUP_PROC_NAME = _edit('procstr = "connect_close"', 'procstr = "connect_open"')
BIG_PROGRAM = _edit("if (program == 425984) {", "if (program == 4294967296) {")
BIG_VERSION = _edit("&& version == 1) {", "&& version == 99999999999) {")
UNKNOWN = _edit("(program == 536903815 && version", "(program == 7 && version")
BAD_NAME = _edit('procstr = "domain_get_info";', "procstr = domain_get_info;")
BAD_ARGS = _edit(
    "function libvirt_rpc_program_name(program, verbose)", "function libvirt_rpc_program_name(p)"
)
TWICE = SMALL.decode() + "function libvirt_rpc_program_name(program, verbose)\n{\n}\n"
CUT = SMALL.decode().replace("  return procstr;\n}\n", "")


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        (DUP_PROGRAM, "duplicate program number", _line_of(DUP_PROGRAM, "110102160", 2)),
        (DUP_NAME, "duplicate program name", _line_of(DUP_NAME, '"admin"', 2)),
        (DUP_PROC, "duplicate procedure number 1", _line_of(DUP_PROC, "proc == 1", 4)),
        (DUP_PROC_NAME, "duplicate procedure name", _line_of(DUP_PROC_NAME, '"connect_open"', 3)),
        (
            BIG_PROGRAM,
            "program number 4294967296 is out of range",
            _line_of(BIG_PROGRAM, "4294967296"),
        ),
        (BIG_VERSION, "version number 99999999999", _line_of(BIG_VERSION, "99999999999")),
        (UNKNOWN, "program 7, which", _line_of(UNKNOWN, "program == 7")),
        ("x = 1\n" + SMALL.decode(), "expected a 'function NAME(...)' line", 1),
        (BAD_NAME, "procstr", _line_of(BAD_NAME, "procstr = domain_get_info")),
        (BAD_ARGS, "takes (program, verbose)", _line_of(BAD_ARGS, "(p)")),
        (TWICE, "defined twice", _line_of(TWICE, "libvirt_rpc_program_name", 2)),
        (_HEAD, "no function libvirt_rpc_program_name", None),
        (CUT, "truncated: the file ends inside function libvirt_rpc_procedure_name", 72),
    ],
)
def test_malformed_is_one_line_naming_file_and_line(
    text: str, words: str, line: int | None
) -> None:
    err = _bad(text)
    assert words in err.message
    assert err.line == line


def test_not_utf8_names_the_line() -> None:
    data = SMALL.replace(b'"connect_close"', b'"connect\xffclose"')
    err = _bad(data)
    assert "not UTF-8" in err.message and "0xff" in err.message
    assert err.line == data[: data.index(b"\xff")].count(b"\n") + 1


def test_too_large() -> None:
    assert "too large" in _bad(b" " * (MAX_TAPSET_BYTES + 1)).message


def test_every_truncation_is_an_error_or_a_smaller_tapset() -> None:
    """Cut anywhere (every line, and every byte of the first 2 KB past the head): one line,
    never another exception; only a cut after the last function is still whole."""
    cuts = sorted(
        {i + 1 for i, b in enumerate(SMALL) if b == 0x0A}
        | set(range(len(_HEAD), min(len(SMALL), len(_HEAD) + 2048)))
    )
    whole = read_tapset(SMALL, "t.stp")
    for cut in cuts:
        try:
            got = read_tapset(SMALL[:cut], "t.stp")
        except InputError as exc:
            assert "\n" not in exc.message
        else:
            assert got == whole, cut


def test_garbage_is_bounded() -> None:
    """Random bytes and lines: InputError only."""
    import random

    rnd = random.Random(13)
    lines = SMALL.split(b"\n")
    for _ in range(300):
        mutated = list(lines)
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(mutated))
            mutated[i] = rnd.choice(
                [
                    b"",
                    b"}",
                    b"{",
                    mutated[rnd.randrange(len(mutated))],
                    bytes(rnd.randrange(256) for _ in range(8)),
                ]
            )
        try:
            read_tapset(b"\n".join(mutated), "t.stp")
        except InputError as exc:
            assert "\n" not in exc.message


# --------------------------------------------------------------------------- comparing


def _fields(*spec: str) -> tuple[RpcField, ...]:
    """``"dom:NONE:remote_nonnull_domain"``, ``"flags:UINT32"``."""
    out = []
    for s in spec:
        name, typ, *rest = s.split(":")
        out.append(RpcField(name, typ, *rest))
    return tuple(out)


def _t(*spec: str) -> list[tuple[str, str, str, str]]:
    return [(f.name, f.type, f.refers, f.element) for f in _fields(*spec)]


def test_compare_fields() -> None:
    same = _t("dom:NONE:remote_nonnull_domain", "flags:UINT32")
    assert compare_fields(same, same) == ([], [])
    breaking, renames = compare_fields(same, _t("dom:NONE:remote_nonnull_domain", "mask:UINT32"))
    assert breaking == [] and renames == ["field flags (#2) renamed mask"]
    breaking, _ = compare_fields(same, _t("dom:NONE:remote_nonnull_domain"))
    assert breaking == ["field flags (UINT32, #2) removed"]
    breaking, _ = compare_fields(same, [*same, ("extra", "INT32", "", "")])
    assert breaking == ["field extra (INT32, #3) added"]
    breaking, _ = compare_fields(same, _t("dom:NONE:remote_nonnull_domain", "flags:UINT64"))
    assert breaking == ["field flags retyped from UINT32 to UINT64"]
    breaking, renames = compare_fields(same, _t("flags:UINT32", "dom:NONE:remote_nonnull_domain"))
    assert breaking == ["fields reordered from (dom, flags) to (flags, dom)"] and renames == []
    breaking, _ = compare_fields(_t("a:NONE::INT32"), _t("a:NONE::UINT32"))
    assert breaking == ["field a retyped from NONE of INT32 to NONE of UINT32"]
    # what a field refers to counts only when both binaries tell it
    assert compare_fields(_t("v:STRING"), _t("v:STRING:remote_typed_param_value")) == ([], [])
    assert compare_fields(_t("m:NONE::INT8"), _t("m:NONE:char:INT8")) == ([], [])
    breaking, _ = compare_fields(_t("v:NONE:remote_a"), _t("v:NONE:remote_b"))
    assert breaking == ["field v retyped from NONE remote_a to NONE remote_b"]
    assert compare_fields(_t("a:NONE:t"), _t("b:NONE")) == ([], ["field a (#1) renamed b"])


def test_program_of_message() -> None:
    assert program_of_message("remote_domain_get_info_args") == "remote"
    assert program_of_message("qemu_domain_monitor_command_ret") == "qemu"
    assert program_of_message("lxc_domain_open_namespace_args") == "lxc"
    assert program_of_message("admin_connect_open_args") == "admin"
    assert program_of_message("virLockSpaceProtocolRegisterArgs") == "lock_space"
    assert program_of_message("virLXCMonitorExitEventMsg") == "lxc_monitor"
    assert program_of_message("stream_hole") == "virnet"


def _msgs(**m: tuple[RpcField, ...]) -> dict[str, RpcMessage]:
    return {k: RpcMessage(k, v) for k, v in m.items()}


INFO = _fields("dom:NONE:remote_nonnull_domain", "flags:UINT32")


def _plugin(
    procs: Iterable[tuple[str, int, int, str]],
    messages: dict[str, RpcMessage],
    dissected: tuple[str, ...] = ("remote", "qemu", "lxc"),
) -> RpcProtocol:
    programs = {p: PROGRAMS[p] for p in dissected}
    procedures = tuple(sorted(RpcProcedure(*x) for x in procs if x[0] in programs))
    return RpcProtocol("libvirt.so", "wireshark 4.6", programs, procedures, messages)


OLD_MSGS = _msgs(
    remote_connect_open_args=_fields("name:STRING", "flags:UINT32"),
    remote_domain_get_info_args=INFO,
    remote_domain_get_info_ret=_fields("state:UINT8", "memory:UINT64"),
    remote_connect_close_args=_fields("flags:UINT32"),
    remote_typed_param=_fields("field:STRING", "value:NONE"),
    qemu_domain_monitor_command_args=_fields("dom:NONE", "cmd:STRING"),
    admin_connect_open_args=_fields("flags:UINT32"),
)


def rule_pair() -> tuple[dict[str, object], dict[str, object]]:
    """OLD and NEW facts between which every rpc rule fires (on public programs, except
    qemu's), weighed by libvirt's profile."""
    old_procs = [
        *SMALL_PROCS,
        ("remote", 1, 4, "domain_suspend"),
        ("lxc", 1, 1, "domain_open_namespace"),
    ]
    programs = dict(PROGRAMS)
    new_programs = {k: v for k, v in programs.items() if k != "lxc"} | {"brand_new": 99}
    new_procs = [
        ("remote", 1, 1, "connect_open"),
        ("remote", 1, 2, "connect_shut"),  # renamed
        ("remote", 1, 3, "domain_get_info"),
        # 4 removed
        ("remote", 1, 5, "domain_resume"),  # added
        ("qemu", 1, 1, "domain_monitor_command"),
        ("admin", 1, 1, "connect_open"),
        ("brand_new", 1, 1, "hello"),
    ]
    new_msgs = _msgs(
        remote_connect_open_args=_fields("uri:STRING", "flags:UINT32"),  # renamed field
        remote_domain_get_info_args=_fields("dom:NONE:remote_nonnull_domain", "flags:UINT64"),
        remote_domain_get_info_ret=_fields("state:UINT8", "memory:UINT64"),
        # remote_connect_close_args removed (its procedure renamed)
        remote_typed_param=_fields("field:STRING", "value:NONE"),
        qemu_domain_monitor_command_args=_fields("dom:NONE", "cmd:STRING", "extra:INT32"),
        admin_connect_open_args=_fields("flags:UINT64"),
        remote_domain_resume_args=_fields("dom:NONE:remote_nonnull_domain"),
    )
    old = facts_of_protocols(
        read_tapset(tapset_text(programs, old_procs).encode(), "old.stp"),
        _plugin(old_procs, OLD_MSGS),
    )
    tap_new = read_tapset(tapset_text(new_programs, new_procs).encode(), "new.stp")
    plugin_procs = [
        p if p[2] != 3 or p[0] != "remote" else ("remote", 1, 3, "domain_info") for p in new_procs
    ]
    new = facts_of_protocols(tap_new, _plugin(plugin_procs, new_msgs, ("remote", "qemu")))
    assert old is not None and new is not None
    return old, new


def _weighed(findings: Iterable[Finding]) -> list[Finding]:
    return weigh(findings, builtin("libvirt"))


def test_every_change_is_found_and_classed() -> None:
    old, new = rule_pair()
    result = compare_facts(old, new, "OLD", "NEW")
    assert result.status is SectionStatus.CHECKED and result.reason == ""
    raw = {(f.rule, f.library, f.symbol): f.message for f in result.findings}
    assert raw == {
        (
            "rpc-program-removed",
            "rpc:lxc",
            "lxc",
        ): "program lxc (425984) is gone from NEW, with its 1 procedures",
        (
            "rpc-program-added",
            "rpc:brand_new",
            "brand_new",
        ): "new program brand_new (99) with 1 procedures",
        (
            "rpc-procedure-removed",
            "rpc:remote",
            "domain_suspend",
        ): "procedure 4 of remote version 1 (domain_suspend) is gone from NEW",
        (
            "rpc-procedure-renamed",
            "rpc:remote",
            "connect_close",
        ): "procedure 2 of remote version 1 was connect_close, is connect_shut in NEW",
        (
            "rpc-procedure-added",
            "rpc:remote",
            "domain_resume",
        ): "new procedure 5 of remote version 1: domain_resume",
        (
            "rpc-message-removed",
            "rpc:remote",
            "remote_connect_close_args",
        ): "message remote_connect_close_args is gone from NEW (with its procedure connect_close)",
        (
            "rpc-message-field-renamed",
            "rpc:remote",
            "remote_connect_open_args",
        ): "message remote_connect_open_args: field name (#1) renamed uri",
        (
            "rpc-message-changed",
            "rpc:remote",
            "remote_domain_get_info_args",
        ): "message remote_domain_get_info_args: field flags retyped from UINT32 to UINT64",
        (
            "rpc-message-changed",
            "rpc:qemu",
            "qemu_domain_monitor_command_args",
        ): "message qemu_domain_monitor_command_args: field extra (INT32, #3) added",
        (
            "rpc-message-changed",
            "rpc:admin",
            "admin_connect_open_args",
        ): "message admin_connect_open_args: field flags retyped from UINT32 to UINT64",
        (
            "rpc-message-added",
            "rpc:remote",
            "remote_domain_resume_args",
        ): "new message remote_domain_resume_args (1 fields)",
        (
            "rpc-sources-disagree",
            "rpc:remote",
            "procedure remote 1 3",
        ): "NEW's tapset and wireshark plugin disagree on procedure remote 1 3: tapset "
        "domain_get_info, plugin domain_info",
    }
    assert all(f.api == f.library for f in result.findings)
    sev = {(f.rule, f.library): f.severity for f in _weighed(result.findings)}
    E, W, INF = Severity.ERROR, Severity.WARNING, Severity.INFO
    assert sev == {
        # lxc is weak: its program removal is a warning
        ("rpc-program-removed", "rpc:lxc"): W,
        ("rpc-program-added", "rpc:brand_new"): INF,
        ("rpc-procedure-removed", "rpc:remote"): E,
        ("rpc-procedure-renamed", "rpc:remote"): W,
        ("rpc-procedure-added", "rpc:remote"): INF,
        ("rpc-message-removed", "rpc:remote"): E,
        ("rpc-message-field-renamed", "rpc:remote"): W,
        ("rpc-message-changed", "rpc:remote"): E,
        ("rpc-message-changed", "rpc:qemu"): W,
        # admin is private: exempt ...
        ("rpc-message-added", "rpc:remote"): INF,
        ("rpc-sources-disagree", "rpc:remote"): W,
    }
    # ... and summarised in the churn evidence
    churn = result.evidence["churn"]
    assert "admin (1 messages changed)" in churn  # type: ignore[operator]
    assert any(c.startswith("remote (") and "1 procedures removed" in c for c in churn)  # type: ignore[attr-defined]
    assert result.evidence["new"]["tapset and plugin"] == "1 items differ"  # type: ignore[index]
    assert result.evidence["old"]["tapset and plugin"] == "agree"  # type: ignore[index]


def test_facts_are_json_and_deterministic() -> None:
    old, new = rule_pair()
    for f in (old, new):
        assert json.loads(json.dumps(f)) == f
        assert list(f) == list(rule_pair()[0 if f is old else 1])
    assert old["procedure remote 1 3"] == "domain_get_info"
    assert old["program remote"] == 536903814
    assert old["message remote_domain_get_info_args"] == [
        ["dom", "NONE", "remote_nonnull_domain", ""],
        ["flags", "UINT32", "", ""],
    ]
    assert old["sources"] == {"tapset": True, "plugin": "wireshark 4.6", "messages": True}
    assert new["disagree procedure remote 1 3"] == {
        "tapset": "domain_get_info",
        "plugin": "domain_info",
    }


def test_program_renumbered_is_removed() -> None:
    a = facts_of_protocols(read_tapset(SMALL, "a.stp"), None)
    moved = dict(PROGRAMS, qemu=1)
    b = facts_of_protocols(read_tapset(tapset_text(moved, SMALL_PROCS).encode(), "b.stp"), None)
    assert a is not None and b is not None
    (f,) = compare_facts(a, b, "OLD", "NEW").findings
    assert f.rule == "rpc-program-removed"
    assert (
        f.message
        == "program qemu was number 536903815, is 1 in NEW: calls to 536903815 are no longer "
        "answered"
    )


def test_tapset_only_messages_not_checked() -> None:
    a = facts_of_protocols(read_tapset(SMALL, "a.stp"), None)
    assert a is not None
    r = compare_facts(a, a, "OLD", "NEW")
    assert r.status is SectionStatus.CHECKED and r.findings == ()
    assert r.reason == "partly: messages not checked: no wireshark plugin read in OLD or NEW"
    r = compare_facts(None, a, "OLD", "NEW")
    assert r.status is SectionStatus.NOT_CHECKED and "in OLD" in r.reason


def _rf(label: str, tapset: bytes | None) -> ReleaseFiles:
    files = {} if tapset is None else {TAPSET_PATH: tapset}
    return ReleaseFiles(label, files, dict.fromkeys(files, "libvirt-common_1_amd64.deb"))


def test_check_rpc_files_and_bad_tapset() -> None:
    old, new = (
        _rf("o", SMALL),
        _rf("n", tapset_text(PROGRAMS, [*SMALL_PROCS, ("remote", 1, 9, "x")]).encode()),
    )
    r = check_rpc(old, new)
    assert r.status is SectionStatus.CHECKED
    assert [f.rule for f in r.findings] == ["rpc-procedure-added"]
    assert r.evidence["new"]["files"] == {f"/{TAPSET_PATH}": "libvirt-common_1_amd64.deb"}  # type: ignore[index]
    r = check_rpc(_rf("o", None), new)
    assert r.status is SectionStatus.NOT_CHECKED and r.reason.endswith("in OLD")
    with pytest.raises(InputError) as exc:
        check_rpc(old, _rf("n", SMALL[:-30]))
    assert exc.value.message.startswith(f"libvirt-common_1_amd64.deb:/{TAPSET_PATH}:")


def test_plugin_reader_absent_or_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without elfaudit.readers.wireshark_plugin the messages are not checked, and the
    evidence says why; with it, its protocol's messages are compared."""
    plugin_path = "usr/lib/x86_64-linux-gnu/wireshark/plugins/4.6/epan/libvirt.so"

    def rf(label: str, blob: bytes) -> ReleaseFiles:
        files = {TAPSET_PATH: SMALL, plugin_path: blob}
        return ReleaseFiles(label, files, dict.fromkeys(files, "pkg.deb"))

    monkeypatch.setitem(sys.modules, rp.PLUGIN_MODULE, None)  # import fails
    r = check_rpc(rf("o", b"old"), rf("n", b"new"))
    assert r.evidence["new"]["plugin"] == f"not read: {rp.PLUGIN_MODULE} is not available"  # type: ignore[index]
    assert "messages not checked" in r.reason
    import types

    seen: list[tuple[str, str | None]] = []

    def read_plugin(data: bytes, path: str, abi: str | None = None) -> RpcProtocol:
        seen.append((path, abi))
        fields = INFO if data == b"old" else _fields("dom:NONE:remote_nonnull_domain")
        return _plugin(SMALL_PROCS, _msgs(remote_domain_get_info_args=fields))

    mod = types.ModuleType(rp.PLUGIN_MODULE)
    mod.read_plugin = read_plugin  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, rp.PLUGIN_MODULE, mod)
    r = check_rpc(rf("o", b"old"), rf("n", b"new"))
    assert r.reason == "" and r.evidence["messages"] == "checked"
    assert [(f.rule, f.symbol) for f in r.findings] == [
        ("rpc-message-changed", "remote_domain_get_info_args")
    ]
    assert seen[0] == (f"pkg.deb:/{plugin_path}", None)
    assert r.evidence["new"]["tapset and plugin"] == "agree"  # type: ignore[index]


def test_guarantees_weighs_rpc_in_its_section(tmp_path: Path) -> None:
    old_procs = [*SMALL_PROCS, ("remote", 1, 4, "domain_suspend"), ("admin", 1, 2, "connect_close")]
    for side, procs in (("old", old_procs), ("new", SMALL_PROCS)):
        d = tmp_path / side / "usr/share/systemtap/tapset"
        d.mkdir(parents=True)
        (d / "libvirt_functions.stp").write_text(tapset_text(PROGRAMS, procs))
    report = run_guarantees(str(tmp_path / "old"), str(tmp_path / "new"))
    (sec,) = [s for s in report.guarantees if s.section == "rpcproto"]
    assert sec.status is SectionStatus.CHECKED
    # remote's removal is an error; admin's (private) is exempt, counted in the churn
    assert [(f.rule, f.severity, f.symbol) for f in sec.findings] == [
        ("rpc-procedure-removed", Severity.ERROR, "domain_suspend")
    ]
    assert sec.findings[0] in report.findings
    assert sec.evidence["churn"] == [
        "admin (1 procedures removed)",
        "remote (1 procedures removed)",
    ]


# --------------------------------------------------------------------------- real releases


def _release(suite: str) -> ReleaseFiles:
    import realdebs

    return _cached(str(realdebs.full_set(suite, needs=("libvirt-wireshark", "libvirt0"))))


_CACHE: dict[str, ReleaseFiles] = {}


def _cached(path: str) -> ReleaseFiles:
    if path not in _CACHE:
        _CACHE[path] = read_release(path).files
    return _CACHE[path]


@pytest.mark.real
@pytest.mark.parametrize("suite", SUITES)
def test_real_tapset_shape(suite: str) -> None:
    rf = _release(suite)
    data = rf.files[TAPSET_PATH]
    p = read_tapset(data, "real.stp")
    assert p.programs == PROGRAMS  # the same seven programs since 7.0.0
    assert {x.version for x in p.procedures} == {1}
    # regenerating it from what was read gives the same file, byte for byte
    procs = [(x.program, x.version, x.number, x.name) for x in p.procedures]
    text = data.decode()
    ours = tapset_text(p.programs, procs)
    start = "function libvirt_rpc_program_name"
    assert text[text.index(start) :] == ours[ours.index(start) :]
    want = "libvirt-daemon-system_" if UPSTREAM[suite] in ("7.0.0", "9.0.0") else "libvirt-common_"
    assert rf.origin[TAPSET_PATH].startswith(want)
    f = facts(rf)
    assert f is not None and json.loads(json.dumps(f)) == f


@pytest.mark.real
@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(SUITES, 2)))
def test_real_pairs(a: str, b: str) -> None:
    old, new = _release(a), _release(b)
    r = check_rpc(old, new)
    fo, fn = facts(old), facts(new)
    assert fo is not None and fn is not None
    assert r.findings == compare_facts(fo, fn, "OLD", "NEW").findings
    assert r.status is SectionStatus.CHECKED
    o_proc, n_proc = rp._procedures(fo), rp._procedures(fn)
    # the real history: procedures only ever added (never renamed or renumbered) ...
    for key in set(o_proc) & set(n_proc):
        assert o_proc[key] == n_proc[key], key
    rules = {f.rule for f in r.findings}
    assert "rpc-procedure-renamed" not in rules and "rpc-program-removed" not in rules
    assert "rpc-program-added" not in rules
    older = [int(x) for x in UPSTREAM[a].split(".")] <= [int(x) for x in UPSTREAM[b].split(".")]
    added = {f.symbol for f in r.findings if f.rule == "rpc-procedure-added"}
    removed = {f.symbol for f in r.findings if f.rule == "rpc-procedure-removed"}
    assert added == {n_proc[k] for k in set(n_proc) - set(o_proc)}
    assert removed == {o_proc[k] for k in set(o_proc) - set(n_proc)}
    weighed = _weighed(r.findings)
    remote_errors = [
        f for f in weighed if f.library == "rpc:remote" and f.severity is Severity.ERROR
    ]
    if older:
        assert not removed and not remote_errors, remote_errors  # forward: only additions
    else:
        # a downgrade loses the newer procedures: errors on remote
        assert removed and remote_errors
        assert {f.symbol for f in remote_errors} >= {
            o_proc[k] for k in set(o_proc) - set(n_proc) if k[0] == "remote"
        }
    # private programs' changes are never reported, only counted
    assert not [
        f
        for f in weighed
        if f.library in ("rpc:admin", "rpc:keepalive", "rpc:lock_space", "rpc:lxc_monitor")
    ]


@pytest.mark.real
def test_real_history_bullseye_to_sid() -> None:
    """7.0.0 -> 12.8.0: remote 425 -> 456 procedures (31 added), qemu gained
    domain_monitor_command_with_files, admin gained two (private: counted only). sid moves,
    so its side is held to at least that."""
    r = check_rpc(_release("bullseye"), _release("sid"))
    ev = r.evidence
    assert ev["old"]["programs"]["remote"]["procedures"] == 425  # type: ignore[index]
    new_remote = ev["new"]["programs"]["remote"]["procedures"]  # type: ignore[index]
    assert new_remote >= 456
    (admin,) = [c for c in ev["churn"] if c.startswith("admin (")]  # type: ignore[attr-defined]
    assert int(admin.split()[1][1:]) >= 2 and admin.endswith(" procedures added)")
    added = {(f.library, f.symbol) for f in r.findings if f.rule == "rpc-procedure-added"}
    assert ("rpc:qemu", "domain_monitor_command_with_files") in added
    assert ("rpc:remote", "domain_fd_associate") in added
    assert ("rpc:remote", "domain_announce_interface") in added
    assert len([x for x in added if x[0] == "rpc:remote"]) == new_remote - 425
    if ev["messages"] == "checked":  # the plugin reader is there
        msgs = {f.symbol for f in r.findings if f.rule == "rpc-message-added"}
        assert {
            "remote_domain_fd_associate_args",
            "qemu_domain_monitor_command_with_files_ret",
        } <= msgs
        # no message removed or changed its encoding in 7.0.0 -> 12.8.0
        assert not [
            f for f in r.findings if f.rule in ("rpc-message-removed", "rpc-message-changed")
        ]
        assert ev["new"]["messages"] > ev["old"]["messages"] > 600  # type: ignore[index]


@pytest.mark.real
def test_real_sid_to_bullseye_removes_procedures() -> None:
    r = check_rpc(_release("sid"), _release("bullseye"))
    weighed = _weighed(r.findings)
    remote = {
        f.symbol for f in weighed if f.rule == "rpc-procedure-removed" and f.library == "rpc:remote"
    }
    assert len(remote) >= 31 and "domain_fd_associate" in remote
    (qemu,) = [f for f in weighed if f.library == "rpc:qemu" and f.rule == "rpc-procedure-removed"]
    assert qemu.symbol == "domain_monitor_command_with_files"
    assert qemu.severity is Severity.WARNING  # qemu is weak


def _plugin_bytes(rf: ReleaseFiles) -> bytes:
    (path,) = rp.plugin_paths(rf)
    return rf.files[path]


@pytest.mark.real
@pytest.mark.parametrize("old_suite", ["bookworm-backports", "trixie", "bookworm", "bullseye"])
def test_real_migrate_resource_renamed_bandwidth(old_suite: str) -> None:
    """12.8.0 renamed the migration messages' ``resource`` field ``bandwidth`` (same
    position, still UINT64): wire-compatible, eight warnings on remote and nothing else of
    the kind. The plugins' own strings are the oracle."""
    pytest.importorskip(rp.PLUGIN_MODULE)
    old, new = _release(old_suite), _release("sid")
    r = check_rpc(old, new)
    renamed = {
        f.symbol or "": f for f in _weighed(r.findings) if f.rule == "rpc-message-field-renamed"
    }
    assert sorted(renamed) == [
        "remote_domain_migrate_begin3_args",
        "remote_domain_migrate_perform3_args",
        "remote_domain_migrate_perform_args",
        "remote_domain_migrate_prepare2_args",
        "remote_domain_migrate_prepare3_args",
        "remote_domain_migrate_prepare_args",
        "remote_domain_migrate_prepare_tunnel3_args",
        "remote_domain_migrate_prepare_tunnel_args",
    ]
    assert all(f.severity is Severity.WARNING for f in renamed.values())
    assert "field resource (#6) renamed bandwidth" in (
        renamed["remote_domain_migrate_perform_args"].message
    )
    assert not [f for f in r.findings if f.rule == "rpc-message-changed"]
    fo, fn = facts(old), facts(new)
    assert fo is not None and fn is not None
    key = "message remote_domain_migrate_perform_args"
    assert fo[key][5] == ["resource", "UINT64", "", ""]  # type: ignore[index]
    assert fn[key][5] == ["bandwidth", "UINT64", "", ""]  # type: ignore[index]
    for rf, name in ((old, b"resource"), (new, b"bandwidth")):
        blob = _plugin_bytes(rf)
        for msg in renamed:
            assert b"libvirt.%s.%s\0" % (msg.encode(), name) in blob
    # the tapset and the plugin of each release name the same procedures
    assert r.evidence["old"]["tapset and plugin"] == "agree"  # type: ignore[index]
    assert r.evidence["new"]["tapset and plugin"] == "agree"  # type: ignore[index]


FOREIGN_ARCHES = ("arm64", "armhf", "i386", "ppc64el", "s390x")


@pytest.mark.real
@pytest.mark.parametrize("suite", ("bookworm", "trixie", "sid"))
def test_real_protocol_is_the_same_on_every_architecture(suite: str) -> None:
    """The protocol does not depend on the architecture: each architecture's plugin
    (32-bit, big-endian) tells amd64's procedures and messages, field for field (what a
    field refers to may be known on one side only), and with its tapset the same facts."""
    pytest.importorskip(rp.PLUGIN_MODULE)
    import realdebs

    got = realdebs.fetch_arches(suite, FOREIGN_ARCHES, "libvirt-wireshark")
    missing = [a for a in FOREIGN_ARCHES if got.get(a) is None]
    for arch in missing:
        realdebs.SKIPPED.append(f"libvirt-wireshark {suite}/{arch} unavailable")
    if len(missing) == len(FOREIGN_ARCHES):
        pytest.skip(f"no libvirt-wireshark of {suite} for {', '.join(FOREIGN_ARCHES)}")
    for arch, deb in got.items():
        if deb is not None:
            _same_protocol_as_amd64(suite, arch, deb.parent)


def _same_protocol_as_amd64(suite: str, arch: str, d: Path) -> None:
    ours = _cached(str(d))
    amd = _release(suite)
    mine, theirs = rp._plugin_of(ours), rp._plugin_of(amd)
    assert mine is not None and theirs is not None
    assert mine.programs == theirs.programs and mine.procedures == theirs.procedures
    assert mine.messages is not None and theirs.messages is not None
    assert sorted(mine.messages) == sorted(theirs.messages)
    for name, msg in theirs.messages.items():
        a = [(f.name, f.type, f.refers, f.element) for f in msg.fields]
        b = [(f.name, f.type, f.refers, f.element) for f in mine.messages[name].fields]
        assert compare_fields(a, b) == ([], []), name
    fa, fo = facts(amd), facts(ours)
    assert fa is not None and fo is not None
    if fo["sources"]["tapset"]:  # type: ignore[index]
        assert compare_facts(fa, fo, "amd64", arch).findings == ()

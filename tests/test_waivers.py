"""Waivers: validation, matching, unused (stale) waivers, and libvirt's shipped exceptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from elfaudit.base.errors import ProfileError
from elfaudit.model.report import Finding, Severity
from elfaudit.policy.waivers import Waiver, apply_waivers, describe, load_waivers, parse_waivers

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "elfaudit" / "data" / "waivers" / "libvirt.json"
RULE = "symbol-added-to-released-node"


def finding(
    symbol: str | None = "virDomainSetBlockThreshold",
    node: str | None = "LIBVIRT_3.1.0",
    library: str = "libvirt.so.0",
    rule: str = RULE,
) -> Finding:
    return Finding(rule, Severity.ERROR, library, symbol, node, f"{symbol} added to {node}")


def doc(*waivers: dict[str, Any]) -> dict[str, Any]:
    return {"format": "elfaudit-waivers", "format_version": 1, "waivers": list(waivers)}


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "waivers.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_matching_fields_and_globs() -> None:
    w = Waiver(RULE, "known", symbol="virDomainSetBlockThreshold", node="LIBVIRT_3.1.0",
               library="libvirt.so.0")  # fmt: skip
    assert w.matches(finding())
    assert not w.matches(finding(rule="symbol-removed"))
    assert not w.matches(finding(symbol="virDomainSetVcpu"))
    assert not w.matches(finding(node="LIBVIRT_3.2.0"))
    assert not w.matches(finding(library="libvirt-qemu.so.0"))
    assert not w.matches(finding(symbol=None))  # a named symbol needs a finding with one
    by_node = Waiver(RULE, "whole node", node="LIBVIRT_ADMIN_1.3.0")
    assert by_node.matches(finding("virAdmConnectOpen", "LIBVIRT_ADMIN_1.3.0", "x"))
    assert by_node.matches(finding(None, "LIBVIRT_ADMIN_1.3.0"))
    glob = Waiver(RULE, "glob", symbol="virAdm*", node="LIBVIRT_ADMIN_1.[0-9].0")
    assert glob.matches(finding("virAdmServerFree", "LIBVIRT_ADMIN_1.3.0"))
    assert not glob.matches(finding("virAdmServerFree", "LIBVIRT_ADMIN_2.0.0"))
    assert not glob.matches(finding("xvirAdmServerFree", "LIBVIRT_ADMIN_1.3.0"))
    assert not Waiver(RULE, "case", symbol="viradm*").matches(finding("virAdmX"))


def test_apply_marks_findings_and_reports_unused() -> None:
    used = Waiver(RULE, "upstream bug, never fixed", symbol="virDomainSetBlockThreshold")
    also = Waiver(RULE, "second reason", node="LIBVIRT_3.1.0")
    stale = Waiver(RULE, "fixed long ago", symbol="virGone")
    other = finding("virDomainSetVcpu", "LIBVIRT_3.2.0")
    findings = [finding(), other]
    out, unused = apply_waivers(findings, [used, also, stale])
    assert [f.symbol for f in out] == ["virDomainSetBlockThreshold", "virDomainSetVcpu"]
    assert out[0].waived == "upstream bug, never fixed"  # the first matching waiver's reason
    assert out[1].waived is None and out[1] == other
    assert out[0].message == findings[0].message and out[0].severity is Severity.ERROR
    assert unused == (stale,)
    assert findings[0].waived is None  # inputs are not modified


def test_already_waived_finding_keeps_its_reason() -> None:
    pre = Finding(RULE, Severity.ERROR, "libvirt.so.0", "a", "N", "m", waived="earlier")
    out, unused = apply_waivers([pre], [Waiver(RULE, "later", symbol="a")])
    assert out[0].waived == "earlier"
    assert unused == ()


def test_release_scoped_waivers() -> None:
    scoped = Waiver(RULE, "only while judging 3.2.0", symbol="virDomainSetBlockThreshold",
                    release="3.2.0")  # fmt: skip
    out, unused = apply_waivers([finding()], [scoped], release="3.2.0")
    assert out[0].waived == "only while judging 3.2.0" and unused == ()
    out, unused = apply_waivers([finding()], [scoped], release="4.0.0")
    assert out[0].waived is None
    assert unused == ()  # not in force for 4.0.0, so not stale either
    out, unused = apply_waivers([finding()], [scoped])
    assert out[0].waived is None and unused == ()
    out, unused = apply_waivers([], [scoped], release="3.2.0")
    assert unused == (scoped,)
    distro = Waiver(RULE, "any Debian 3.2.0 build", symbol="*", release="debian/3.2.0-*")
    out, _ = apply_waivers([finding()], [distro], release="debian/3.2.0-1")
    assert out[0].waived == "any Debian 3.2.0 build"


def test_load_valid_file_and_describe(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        doc(
            {"rule": RULE, "symbol": "a", "node": "N_1", "library": "libx.so.1", "reason": "r"},
            {"rule": "node-removed", "node": "N_0", "release": "2.0", "reason": "dropped"},
        ),
    )
    ws = load_waivers(path, known_rules={RULE, "node-removed"})
    assert ws == (
        Waiver(RULE, "r", symbol="a", node="N_1", library="libx.so.1"),
        Waiver("node-removed", "dropped", node="N_0", release="2.0"),
    )
    assert describe(ws[0]) == f"{path}#0: {RULE} a@N_1 in libx.so.1"
    assert describe(ws[1]) == f"{path}#1: node-removed *@N_0 for release 2.0"


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        pytest.param("[]", "expected a JSON object", id="list"),
        pytest.param({**doc(), "format": "elfaudit-profile"}, "'format' must be", id="format"),
        pytest.param({**doc(), "format_version": 2}, "unsupported format_version", id="version"),
        pytest.param({**doc(), "format_version": True}, "unsupported format_version", id="bool"),
        pytest.param({**doc(), "extra": 1}, "unknown key 'extra'", id="top key"),
        pytest.param({**doc(), "waivers": {}}, "'waivers' must be a list", id="not list"),
        pytest.param(doc("x"), r"waivers[0]: expected an object", id="item"),  # type: ignore[arg-type]
        pytest.param(doc({"rule": RULE, "symbol": "a"}), "waivers[0].reason", id="no reason"),
        pytest.param(doc({"rule": RULE, "symbol": "a", "reason": " "}), "reason", id="blank"),
        pytest.param(doc({"symbol": "a", "reason": "r"}), "waivers[0].rule", id="no rule"),
        pytest.param(
            doc({"rule": RULE, "symbol": 3, "reason": "r"}), "waivers[0].symbol", id="type"
        ),
        pytest.param(
            doc({"rule": RULE, "symbol": None, "node": "N", "reason": "r"}),
            "omit the key instead of null",
            id="null",
        ),
        pytest.param(
            doc({"rule": RULE, "symbol": "a ", "reason": "r"}), "trailing blanks", id="blanks"
        ),
        pytest.param(
            doc({"rule": RULE, "symbol": "a", "reason": "r", "why": "x"}),
            "unknown key 'why'",
            id="item key",
        ),
        pytest.param(
            doc({"rule": RULE, "release": "1.0", "reason": "r"}),
            "name a symbol, a node or a library",
            id="blanket",
        ),
        pytest.param(
            doc(
                {"rule": RULE, "symbol": "a", "reason": "r"},
                {"rule": RULE, "symbol": "a", "reason": "other words"},
            ),
            "waivers[1]: matches the same findings as waivers[0]",
            id="duplicate",
        ),
    ],
)
def test_invalid_files_are_refused(tmp_path: Path, content: object, expect: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ProfileError) as err:
        load_waivers(path)
    message = str(err.value)
    assert message.startswith(f"{path}: invalid waivers file: ")
    assert expect in message
    assert "\n" not in message


def test_unknown_rule_and_unreadable_files(tmp_path: Path) -> None:
    path = write(tmp_path, doc({"rule": "symbol-added-to-old-node", "symbol": "a", "reason": "r"}))
    assert len(load_waivers(path)) == 1  # without a rule list any id is accepted
    with pytest.raises(ProfileError, match="unknown rule 'symbol-added-to-old-node'"):
        load_waivers(path, known_rules={RULE})
    # file-level problems: fileio's one wording (tests/test_fileio.py has every loader)
    with pytest.raises(ProfileError, match=r"missing\.json: no such file$"):
        load_waivers(tmp_path / "missing.json")
    with pytest.raises(ProfileError, match=r": is a directory$"):
        load_waivers(tmp_path)
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ProfileError, match=r"bin\.json:1: not UTF-8 text \(byte 0xff\)$"):
        load_waivers(bad)
    bad.write_text("{")
    with pytest.raises(ProfileError, match=r"bin\.json:1: invalid JSON: Expecting property"):
        load_waivers(bad)
    with pytest.raises(ProfileError, match="expected a JSON object"):
        parse_waivers([], "inline")


# --------------------------------------------------------------------------- libvirt's file


def test_shipped_libvirt_waivers() -> None:
    from elfaudit.policy.rules import BY_ID

    everything = load_waivers(SHIPPED)
    assert all(w.rule in BY_ID for w in everything)
    ws = tuple(w for w in everything if w.rule == RULE)
    # The other kinds: the API description's virConnectAuthPtrDefault version slip, and
    # virsh's --checkpointname, required in 10.x's table as 9.x's handler already demanded.
    assert {(w.rule, w.symbol) for w in everything if w.rule != RULE} == {
        ("api-node-mismatch", "virConnectAuthPtrDefault"),
        ("virsh-option-changed", "checkpoint-* --checkpointname"),
    }
    keyed = {(w.library, w.node, w.symbol) for w in ws}
    assert ("libvirt.so.0", "LIBVIRT_3.1.0", "virDomainSetBlockThreshold") in keyed
    assert ("libvirt-admin.so.0", "LIBVIRT_ADMIN_2.0.0", "virAdmServerUpdateTlsFiles") in keyed
    for w in ws:
        assert w.library is not None and w.node is not None and w.symbol is not None
        assert w.release is None  # distro release names vary: scoped by node instead
        assert len(w.reason) > 80  # each states its evidence
    out, unused = apply_waivers(
        [finding(), finding("virAdmServerUpdateTlsFiles", "LIBVIRT_ADMIN_2.0.0", "x")], ws
    )
    assert out[0].waived is not None
    assert out[1].waived is None  # right symbol and node, wrong library
    assert len(unused) == len(ws) - 1


def _nodes(path: Path) -> dict[str, set[str]]:
    symfile = pytest.importorskip("elfaudit.readers.version_script")
    script = symfile.parse_script(str(path))
    return {n.name: {e.pattern for e in n.globals} for n in script.nodes if n.name}


@pytest.mark.parametrize(
    ("before", "after", "node", "symbol"),
    [
        (
            "libvirt__libvirt/fe356769b7/libvirt_public.syms",  # v3.1.0 as released
            "libvirt__libvirt/a2436b799f/libvirt_public.syms",  # v3.2.0
            "LIBVIRT_3.1.0",
            "virDomainSetBlockThreshold",
        ),
        (
            "libvirt__libvirt/7a2d92f693/libvirt_admin_public.syms",  # v2.0.0
            "zwbclearlove__libvirt-colo-extension/ca653ffebc/libvirt_admin_public.syms",  # 9.6.0
            "LIBVIRT_ADMIN_2.0.0",
            "virAdmServerUpdateTlsFiles",
        ),
        (
            "libvirt__libvirt/b091fef5cf/libvirt_admin_public.syms",  # v1.2.21
            "libvirt__libvirt/11288f56ee/libvirt_admin_public.syms",  # v1.3.0
            "LIBVIRT_ADMIN_1.3.0",
            "virAdmDaemonOpen",
        ),
    ],
)
def test_shipped_waivers_match_the_history(
    shared_dir: Path, before: str, after: str, node: str, symbol: str
) -> None:
    history = shared_dir / "data" / "libvirt-syms-history"
    old, new = _nodes(history / before), _nodes(history / after)
    assert node in old and symbol not in old[node]  # the node had shipped without it
    assert symbol in new[node]  # a later release added it there
    ws = load_waivers(SHIPPED)
    lib = "libvirt.so.0" if "ADMIN" not in node else "libvirt-admin.so.0"
    out, _ = apply_waivers([finding(symbol, node, lib)], ws)
    assert out[0].waived is not None

"""The weighing pass (elfaudit.policy.weigh): policy in one place.

Raw findings (what analysers report) are weighed by node class, the rule catalogue's
per-class severities, a profile's overrides, the hidden-symbol cap and waivers; profiles'
``"severities"`` and ``"apis"`` are validated on load; and no analysis module weighs.
"""

from __future__ import annotations

import ast
import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest
import test_compare
import test_scan
from conftest import BuildLib

from elfaudit.analysis.compare import compare_abi
from elfaudit.analysis.conformance import check_library
from elfaudit.base.datafiles import read_data
from elfaudit.base.errors import ProfileError
from elfaudit.model.report import Finding, NodeClass, Severity
from elfaudit.policy.profiles import Profile, builtin, load_profile, parse_profile
from elfaudit.policy.rules import BY_ID, Rule
from elfaudit.policy.waivers import Waiver
from elfaudit.policy.weigh import Profiles, severity_for, waive, weigh, weigh_and_waive
from elfaudit.readers.elf import read_library
from elfaudit.readers.version_script import parse_script_text

ROOT = Path(__file__).resolve().parent.parent
E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

LIBVIRT = builtin("libvirt")
GENERIC = builtin("generic")


def raw(rule: Rule, node: str | None, **kw: object) -> Finding:
    return rule.finding("libvirt.so.0", node, f"{rule.id} in {node}", "virX", **kw)  # type: ignore[arg-type]


def weighed_one(f: Finding, profile: Profile = LIBVIRT) -> Finding | None:
    out = weigh([f], profile)
    return out[0] if out else None


# --------------------------------------------------------------------------- node classes


@pytest.mark.parametrize(
    ("rule", "node", "expected"),
    [
        (Rule.SYMBOL_REMOVED, "LIBVIRT_1.0.0", E),  # public
        (Rule.SYMBOL_REMOVED, None, E),  # unversioned: public
        (Rule.SYMBOL_REMOVED, "LIBVIRT_QEMU_1.0.0", W),  # weak: errors warn
        (Rule.SYMBOL_BINDING_CHANGED, "LIBVIRT_QEMU_1.0.0", W),  # warnings stay warnings
        (Rule.SYMBOL_ADDED, "LIBVIRT_QEMU_1.0.0", I),  # info stays info
        (Rule.SYMBOL_REMOVED, "LIBVIRT_PRIVATE_1.0.0", None),  # private: exempt
        (Rule.SYMBOL_ADDED, "LIBVIRT_PRIVATE_1.0.0", None),
        # the catalogue's own exceptions for private nodes (what hygiene=True and the
        # judge's bypass did by hand)
        (Rule.SCRIPT_DUPLICATE_SYMBOL, "LIBVIRT_PRIVATE_1.0.0", W),
        (Rule.SCRIPT_DUPLICATE_SYMBOL, "LIBVIRT_1.0.0", E),
        (Rule.PRIVATE_NODE_MISNAMED, "LIBVIRT_PRIVATE_1.0.0", W),
    ],
)
def test_classes(rule: Rule, node: str | None, expected: Severity | None) -> None:
    f = weighed_one(raw(rule, node))
    assert (f.severity if f is not None else None) == expected
    if f is not None:
        assert f.weighed and f.rule == rule.id and f.version == node


def test_hidden_symbol_caps_released_node_additions() -> None:
    """glibc's pattern: a hidden compat symbol in an old node cannot be linked by new
    programs, so it is never an addition to the node, whichever path (compare, graph
    check) reports it: the catalogue exempts it."""
    rule = Rule.SYMBOL_ADDED_TO_RELEASED_NODE
    assert weighed_one(raw(rule, "LIBVIRT_1.0.0")).severity is E  # type: ignore[union-attr]
    assert weighed_one(raw(rule, "LIBVIRT_1.0.0", hidden=True)) is None
    # hidden does not matter to a rule without a cap
    assert weighed_one(raw(Rule.SYMBOL_REMOVED, "LIBVIRT_1.0.0", hidden=True)).severity is E  # type: ignore[union-attr]
    assert weighed_one(raw(rule, "LIBVIRT_PRIVATE_1.0.0", hidden=True)) is None


def test_api_module_class_is_profile_data() -> None:
    f = Rule.API_FUNCTION_REMOVED.finding("libvirt-qemu.so.0", "1.0.0", "gone", api="libvirt-qemu")
    assert weighed_one(f, LIBVIRT).severity is W  # type: ignore[union-attr]
    assert weighed_one(f, GENERIC).severity is E  # type: ignore[union-attr]
    assert weighed_one(replace(f, api="libvirt"), LIBVIRT).severity is E  # type: ignore[union-attr]
    # a symbol in a private node is private whatever the description's class
    undoc = Rule.API_UNDOCUMENTED.finding("libvirt.so.0", "LIBVIRT_PRIVATE_1.0", "x", api="libvirt")
    assert weigh([undoc], LIBVIRT) == []


def test_order_is_kept_and_exempt_ones_dropped() -> None:
    found = [
        raw(Rule.NODE_REMOVED, "LIBVIRT_2.0.0"),
        raw(Rule.NODE_REMOVED, "LIBVIRT_PRIVATE_1.0.0"),
        raw(Rule.NODE_ADDED, "LIBVIRT_3.0.0"),
    ]
    assert [f.version for f in weigh(found, LIBVIRT)] == ["LIBVIRT_2.0.0", "LIBVIRT_3.0.0"]


def test_weighing_twice_is_a_bug() -> None:
    once = weigh([raw(Rule.SYMBOL_REMOVED, "LIBVIRT_1.0.0")], LIBVIRT)
    with pytest.raises(ValueError, match="already weighed"):
        weigh(once, LIBVIRT)


def test_profile_per_library() -> None:
    """Profiles() chooses by SONAME, as commands do: libvirt-qemu.so.0 is libvirt's."""
    qemu = Rule.SYMBOL_REMOVED.finding("libvirt-qemu.so.0", "LIBVIRT_QEMU_1.0.0", "m")
    other = Rule.SYMBOL_REMOVED.finding("libfoo.so.1", "LIBVIRT_QEMU_1.0.0", "m")
    chooser = Profiles()
    assert [f.severity for f in weigh([qemu, other], chooser)] == [W, E]
    assert [p.name for p in chooser.chosen] == ["libvirt", "generic"]
    forced = Profiles("generic")
    assert [f.severity for f in weigh([qemu, other], forced)] == [E, E]


# --------------------------------------------------------------------------- overrides


def _profile(severities: object, name: str = "strict") -> dict[str, object]:
    doc = json.loads(read_data("profiles", "generic.json"))
    doc["name"] = name
    doc["severities"] = severities
    return doc


def test_override_changes_a_rule_per_class() -> None:
    prof = parse_profile(
        _profile(
            {
                "symbol-binding-changed": {"public": "error"},
                "symbol-removed": {"private": "warning"},
                "symbol-added-to-released-node": {"hidden": "exempt"},
            }
        ),
        "strict.json",
    )
    assert severity_for("symbol-binding-changed", NodeClass.PUBLIC, prof) is E
    assert severity_for("symbol-binding-changed", NodeClass.PUBLIC, GENERIC) is W
    assert severity_for("symbol-binding-changed", NodeClass.WEAK, prof) is W  # untouched
    assert severity_for("symbol-removed", NodeClass.PRIVATE, prof) is W
    assert (
        severity_for("symbol-added-to-released-node", NodeClass.PUBLIC, prof, hidden=True) is None
    )
    f = Rule.SYMBOL_REMOVED.finding("libx.so.1", "X_PRIVATE_1", "m")
    assert weigh([f], GENERIC) == []
    assert [g.severity for g in weigh([f], prof)] == [W]


def test_override_applies_to_a_gcc_built_comparison(build_lib: BuildLib, tmp_path: Path) -> None:
    """Same libraries, same raw findings: generic warns, a profile file says error."""
    src, vmap, soname, _ = test_compare.CASES["symbol-binding-changed"]
    old = read_library(build_lib(test_compare.OLD_C, test_compare.OLD_MAP))
    new = read_library(build_lib(src, vmap, soname=soname))
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(_profile({"symbol-binding-changed": {"public": "error"}})))
    strict = load_profile(str(path))
    found = compare_abi(old, new, GENERIC).findings
    assert [(f.rule, f.severity) for f in weigh(found, GENERIC)] == [("symbol-binding-changed", W)]
    assert [(f.rule, f.severity) for f in weigh(found, strict)] == [("symbol-binding-changed", E)]


def test_compare_judges_private_symbols_when_a_profile_asks() -> None:
    """Private symbols are skipped only while every symbol rule is exempt there."""
    from elfaudit.model.abi import LibraryABI, Symbol, VersionDef

    def lib(syms: tuple[Symbol, ...]) -> LibraryABI:
        defs = (VersionDef("libx.so.1", 1, base=True), VersionDef("X_PRIVATE_1", 2))
        return LibraryABI("/l/libx.so.1", "libx.so.1", (), "x86_64", 64, "little", defs, syms)

    old = lib((Symbol("p", "X_PRIVATE_1", True, "FUNC", "GLOBAL", "DEFAULT", 8),))
    new = lib(())
    assert weigh(compare_abi(old, new, GENERIC).findings, GENERIC) == []
    prof = parse_profile(_profile({"symbol-removed": {"private": "warning"}}), "p.json")
    got = weigh(compare_abi(old, new, prof).findings, prof)
    assert [(f.rule, f.symbol, f.severity) for f in got] == [("symbol-removed", "p", W)]


@pytest.mark.parametrize(
    ("severities", "why"),
    [
        ({"no-such-rule": {"public": "error"}}, "unknown rule id 'no-such-rule'"),
        ({"symbol-removed": {"public": "fatal"}}, "must be one of error, warning, info, exempt"),
        ({"symbol-removed": {"protected": "error"}}, "unknown key 'protected'"),
        ({"symbol-removed": {}}, "must be a non-empty object"),
        ({"symbol-removed": "error"}, "must be a non-empty object"),
        (["symbol-removed"], "'severities' maps rule ids"),
    ],
)
def test_bad_overrides_are_rejected_naming_the_file(
    severities: object, why: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_profile(severities)))
    with pytest.raises(ProfileError) as exc:
        load_profile(str(path))
    msg = exc.value.message
    assert "\n" not in msg and msg.startswith(str(path)) and why in msg


@pytest.mark.parametrize("apis", [{"libvirt-qemu": "weaker"}, ["libvirt-qemu"], {"": "weak"}])
def test_bad_api_classes_are_rejected(apis: object) -> None:
    doc = _profile({})
    doc["apis"] = apis
    with pytest.raises(ProfileError, match=r"^x\.json: .*'apis'"):
        parse_profile(doc, "x.json")


def test_shipped_profiles_state_api_classes_as_data() -> None:
    hypervisor_schemas = {
        f"schema-ns:{ns}": NodeClass.WEAK for ns in ("qemu", "lxc", "bhyve", "xen", "vmware")
    }
    assert dict(LIBVIRT.apis) == {
        "libvirt-qemu": NodeClass.WEAK,
        "libvirt-lxc": NodeClass.WEAK,
        **hypervisor_schemas,  # XML schema extensions in hypervisor namespaces (xmlschema)
        # RPC programs (rpcproto): remote is public (unnamed), the hypervisors' weak, the
        # other daemons' private
        "rpc:qemu": NodeClass.WEAK,
        "rpc:lxc": NodeClass.WEAK,
        **{
            f"rpc:{p}": NodeClass.PRIVATE
            for p in ("admin", "keepalive", "lock_space", "lxc_monitor")
        },
    }
    assert GENERIC.apis == () and GENERIC.severities == ()
    # every catalogue rule has a full table
    for rule_id in BY_ID:
        table = LIBVIRT.severity_table(rule_id)
        assert {"public", "weak", "private"} <= set(table)


# --------------------------------------------------------------------------- waivers


def test_waivers_after_weighing() -> None:
    found = [
        raw(Rule.SYMBOL_REMOVED, "LIBVIRT_QEMU_1.0.0"),
        raw(Rule.SYMBOL_REMOVED, "LIBVIRT_PRIVATE_1.0.0"),
    ]
    hit = Waiver("symbol-removed", "accepted", symbol="virX", node="LIBVIRT_QEMU_1.0.0")
    # a waiver for a finding the profile exempts matches nothing: it is reported unused
    moot = Waiver("symbol-removed", "moot", node="LIBVIRT_PRIVATE_1.0.0")
    out, unused = weigh_and_waive(found, LIBVIRT, [hit, moot])
    assert [(f.severity, f.waived) for f in out] == [(W, "accepted")]
    assert unused == [moot]
    again, none = waive(out, [])
    assert again == out and none == []


# --------------------------------------------------------------------------- structure


ANALYSIS = sorted((ROOT / "elfaudit" / "analysis").glob("*.py"))
_FORBIDDEN_NAMES = {"weigh", "weigh_and_waive", "waive", "Profiles", "adjust", "FindingSink"}


@pytest.mark.parametrize("path", ANALYSIS, ids=lambda p: p.name)
def test_analysis_never_weighs(path: Path) -> None:
    """Analysers report raw findings; only commands and the judge call the weighing pass."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module != "elfaudit.policy.weigh", f"{path.name} imports weigh"
            assert node.module != "elfaudit.policy.waivers", f"{path.name} imports waivers"
            if node.module == "elfaudit.policy":
                assert {a.name for a in node.names}.isdisjoint({"weigh", "waivers"})
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("elfaudit.policy.weigh") for a in node.names)
        if isinstance(node, ast.Attribute):
            assert node.attr not in _FORBIDDEN_NAMES, f"{path.name} uses .{node.attr}"
        if isinstance(node, ast.Name):
            assert node.id not in _FORBIDDEN_NAMES, f"{path.name} uses {node.id}"


def test_analysers_report_private_nodes_raw(build_lib: BuildLib) -> None:
    """A private node's findings leave the analyser unweighed (the pass drops them)."""
    c = "int virPub(void){return 1;}\nint virA(void){return 2;}\n"
    vmap = (
        "LIBVIRT_1.0.0 { global: virPub; };\nLIBVIRT_PRIVATE_1.0.0 { global: virA; local: *; };\n"
    )
    old = read_library(build_lib(c, vmap, soname="libvirt.so.0"))
    new = read_library(
        build_lib(c, vmap.replace("PRIVATE_1.0.0", "PRIVATE_2.0.0"), soname="libvirt.so.0")
    )
    found = compare_abi(old, new, LIBVIRT).findings
    assert ("node-removed", "LIBVIRT_PRIVATE_1.0.0") in {(f.rule, f.version) for f in found}
    assert not any(f.weighed for f in found)
    assert all(f.severity is BY_ID[f.rule].severity for f in found)  # the catalogue's
    assert not any(LIBVIRT.is_private(f.version) for f in weigh(found, LIBVIRT))
    script = parse_script_text(vmap.replace("virA;", "virA; virA;"), "x.syms")
    dup = [f for f in check_library(old, script, LIBVIRT) if f.rule == "script-duplicate-symbol"]
    assert [(f.severity, f.weighed) for f in dup] == [(E, False)]
    assert [f.severity for f in weigh(dup, LIBVIRT)] == [W]


def test_commands_report_only_weighed_findings(build_lib: BuildLib, tmp_path: Path) -> None:
    """Every command's findings went through the pass (and exactly once: twice raises)."""
    from elfaudit.commands.check import run_check
    from elfaudit.commands.compare import run_compare
    from elfaudit.commands.scan import run_scan

    src, vmap, soname, _ = test_compare.CASES["node-removed"]
    old = build_lib(test_compare.OLD_C, test_compare.OLD_MAP)
    new = build_lib(src, vmap, soname=soname)
    script = tmp_path / "t.map"
    script.write_text(test_compare.OLD_MAP)
    reports = [
        run_compare(str(old), str(new)),
        run_check([str(new)], [str(script)]),
        run_scan([str(build_lib(test_scan.LEAKY_C, test_scan.LEAKY_MAP, "libleak.so.1"))], jobs=1),
    ]
    for report in reports:
        assert report.findings, report.command
        assert all(f.weighed for f in report.findings), report.command


def test_libvirt_profile_file_round_trips() -> None:
    doc = json.loads(read_data("profiles", "libvirt.json"))
    again = parse_profile(copy.deepcopy(doc), "<copy>")
    assert replace(again, source=LIBVIRT.source) == LIBVIRT


# --------------------------------------------------------------------------- compat symbols

COMPAT_OLD_C = "int a(void){return 1;}\nint b(void){return 2;}\nint foo(void){return 3;}\n"
COMPAT_OLD_MAP = (
    "LIBVIRT_1.0.0 { global: a; local: *; };\nLIBVIRT_2.0.0 { global: b; foo; } LIBVIRT_1.0.0;\n"
)
# glibc's pattern: the old node gains a hidden compat version beside the default one
COMPAT_NEW_C = (
    "int a(void){return 1;}\nint b(void){return 2;}\n"
    "int foo_new(void){return 3;}\nint foo_compat(void){return 4;}\n"
    '__asm__(".symver foo_new, foo@@LIBVIRT_2.0.0");\n'
    '__asm__(".symver foo_compat, foo@LIBVIRT_1.0.0");\n'
)
COMPAT_NEW_MAP = (
    "LIBVIRT_1.0.0 { global: a; foo; local: *; };\nLIBVIRT_2.0.0 { global: b; } LIBVIRT_1.0.0;\n"
)


def test_hidden_compat_symbol_weighs_the_same_in_compare_and_graph_check(
    build_lib: BuildLib,
) -> None:
    """Before the weighing pass, compare said symbol-added (info) and graph check said
    symbol-added-to-released-node (error) for the same hidden foo@LIBVIRT_1.0.0. A hidden
    symbol is never an addition to a released node (nothing can link it): compare lists
    it as added, and so does graph check (its node check drops it)."""
    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.judge import graph_check

    old = read_library(build_lib(COMPAT_OLD_C, COMPAT_OLD_MAP, soname="libvirt.so.0"))
    new = read_library(build_lib(COMPAT_NEW_C, COMPAT_NEW_MAP, soname="libvirt.so.0"))
    assert {s.label for s in new.symbols if s.name == "foo"} == {
        "foo@@LIBVIRT_2.0.0",
        "foo@LIBVIRT_1.0.0",
    }
    via_compare = weigh(compare_abi(old, new, LIBVIRT).findings, LIBVIRT)
    graph = ReleaseGraph()
    graph.add_release("2.0.0", [old], [], is_private=LIBVIRT.is_private)
    via_graph = graph_check(graph, [new], "2.1.0").findings
    expected = [("symbol-added", "foo", "LIBVIRT_1.0.0", I)]
    for found in (via_compare, via_graph):
        assert [(f.rule, f.symbol, f.version, f.severity) for f in found] == expected

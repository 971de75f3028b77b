"""``graph check`` / ``gate`` logic: a new build judged against every release before it.

The libraries are built with gcc, shaped like libvirt: a chain of release nodes
``LIBVIRT_1.0.0 -> LIBVIRT_1.1.0 -> ...`` plus a private node ``LIBVIRT_PRIVATE_<release>``
renamed every release, SONAME ``libvirt.so.0`` so the libvirt profile applies. Earlier
releases are recorded as built, without judging (as ``graph record`` does), so a graph can
hold a release that already broke a promise.
"""

from __future__ import annotations

import json
from pathlib import Path

import binutils
import pytest
from libvirtlike import N100, N110, N120, SONAME, Nodes, c_source, version_script
from weighing import compared

from elfaudit.base.errors import GraphError
from elfaudit.commands import graph as gate
from elfaudit.commands.gate import run_gate
from elfaudit.commands.graph import resolve_graph, run_graph_check
from elfaudit.commands.waiving import WaiverOptions
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.graph.judge import (
    default_parents,
    graph_check,
    graph_summary,
    release_numbers,
    upstream_version,
)
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, Severity, exit_code
from elfaudit.policy.profiles import profile_for
from elfaudit.readers.inputs import load_libraries

PROFILE = profile_for(SONAME)


def build(build_lib, nodes: Nodes, private: str | None) -> Path:
    return build_lib(c_source(nodes, private), version_script(nodes, private), soname=SONAME)


def abi_of(build_lib, nodes: Nodes, private: str | None) -> LibraryABI:
    (abi,) = load_libraries(str(build(build_lib, nodes, private)))
    return abi


def make_graph(build_lib, *releases: tuple[str, Nodes, list[str]]) -> ReleaseGraph:
    """Record each (name, nodes, parents) as built, without judging it."""
    graph = ReleaseGraph()
    for name, nodes, parents in releases:
        lib = abi_of(build_lib, nodes, upstream_version(name))
        graph.add_release(name, [lib], parents, is_private=PROFILE.is_private)
    return graph


def chain(build_lib) -> ReleaseGraph:
    return make_graph(build_lib, ("1.0.0", N100, []), ("1.1.0", N110, ["1.0.0"]))


def problems(findings: tuple[Finding, ...] | list[Finding]) -> list[Finding]:
    """Findings that fail a gate or warn (info findings are news, not problems)."""
    return [f for f in findings if f.severity is not Severity.INFO and f.waived is None]


def rules(findings: tuple[Finding, ...] | list[Finding]) -> set[tuple[str, str | None, str | None]]:
    return {(f.rule, f.symbol, f.version) for f in findings}


# ---------------------------------------------------------------------------- the oracle


def test_built_library_is_libvirt_shaped(build_lib) -> None:
    """The test libraries really are what the scenarios assume (readelf as the oracle)."""
    lib = build(build_lib, N110, "1.1.0")
    out = binutils.dynamic_text(lib)
    assert "virDomainCreate@@LIBVIRT_1.1.0" in out
    assert "virPrivateHelper@@LIBVIRT_PRIVATE_1.1.0" in out
    assert "notExported" not in out
    abi = abi_of(build_lib, N110, "1.1.0")
    assert abi.soname == SONAME
    assert abi.node_names == ("LIBVIRT_1.0.0", "LIBVIRT_1.1.0", "LIBVIRT_PRIVATE_1.1.0")
    assert abi.node("LIBVIRT_1.1.0") is not None
    assert abi.node("LIBVIRT_1.1.0").parents == ("LIBVIRT_1.0.0",)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- verdicts


def test_clean_release_passes(build_lib) -> None:
    graph = chain(build_lib)
    new = abi_of(build_lib, N120, "1.2.0")
    verdict = graph_check(graph, [new], "1.2.0")
    assert verdict.parents == ("1.1.0",)
    assert verdict.ancestors == ("1.0.0", "1.1.0")
    assert problems(verdict.findings) == []
    # the news is reported as info, against the parent only (not once per ancestor)
    assert rules(verdict.findings) == {
        ("node-added", None, "LIBVIRT_1.2.0"),
        ("symbol-added", "virDomainDestroy", "LIBVIRT_1.2.0"),
    }


def test_identical_rebuild_has_no_finding(build_lib) -> None:
    graph = chain(build_lib)
    verdict = graph_check(graph, [abi_of(build_lib, N110, "1.1.1")], "1.1.1")
    assert verdict.findings == ()


def test_symbol_added_to_shipped_node_is_seen_through_the_grandparent(build_lib) -> None:
    # 1.0.0 shipped LIBVIRT_1.0.0 without virSneaky; 1.1.0 was recorded with it anyway.
    sneaky: Nodes = {
        "LIBVIRT_1.0.0": [*N100["LIBVIRT_1.0.0"], "virSneaky"],
        "LIBVIRT_1.1.0": N110["LIBVIRT_1.1.0"],
    }
    graph = make_graph(build_lib, ("1.0.0", N100, []), ("1.1.0", sneaky, ["1.0.0"]))
    new = abi_of(build_lib, {**sneaky, "LIBVIRT_1.2.0": ["virDomainDestroy"]}, "1.2.0")

    parent = graph.library("1.1.0", SONAME)
    assert parent is not None
    assert problems(compared(parent, new, PROFILE).findings) == []  # the parent sees nothing

    verdict = graph_check(graph, [new], "1.2.0")
    bad = problems(verdict.findings)
    assert rules(bad) == {("symbol-added-to-released-node", "virSneaky", "LIBVIRT_1.0.0")}
    assert bad[0].severity is Severity.ERROR
    assert "1.0.0" in bad[0].message
    # naming the parent explicitly still brings in every ancestor
    assert rules(problems(graph_check(graph, [new], "1.2.0", ["1.1.0"]).findings)) == rules(bad)

    # without the grandparent in the graph, nothing reveals it
    alone = make_graph(build_lib, ("1.1.0", sneaky, []))
    assert problems(graph_check(alone, [new], "1.2.0").findings) == []


@pytest.mark.parametrize(
    ("node", "flagged"),
    [
        ("LIBVIRT_1.1.5", True),  # 1.2.0 shipped without it: a program needing it accepts 1.2.0
        ("LIBVIRT_1.2.0", False),  # shipped already: not a new node at all
        ("LIBVIRT_1.2.5", False),  # after every shipped release
        ("LIBVIRT_1.3.0", False),  # the release being built
    ],
)
def test_node_named_for_shipped_release(build_lib, node: str, flagged: bool) -> None:
    graph = make_graph(
        build_lib, ("1.0.0", N100, []), ("1.1.0", N110, ["1.0.0"]), ("1.2.0", N120, ["1.1.0"])
    )
    nodes = {k: [*v] for k, v in N120.items()}
    nodes.setdefault(node, []).append("virLateComer")
    verdict = graph_check(graph, [abi_of(build_lib, nodes, "1.3.0")], "1.3.0")
    hits = [f for f in verdict.findings if f.rule == "node-named-for-shipped-release"]
    if flagged:
        assert [(f.version, f.severity) for f in hits] == [(node, Severity.ERROR)]
        assert "1.2.0" in hits[0].message
    else:
        assert hits == []
    if node == "LIBVIRT_1.2.0":
        # ... but a symbol added to it is
        assert ("symbol-added-to-released-node", "virLateComer", node) in rules(verdict.findings)
    else:
        assert "symbol-added-to-released-node" not in {f.rule for f in verdict.findings}


def test_node_named_for_a_release_that_shipped_without_any_new_node(build_lib) -> None:
    # 1.2.0 added no API, so it shipped without LIBVIRT_1.2.0: that name is taken
    graph = make_graph(
        build_lib, ("1.0.0", N100, []), ("1.1.0", N110, ["1.0.0"]), ("1.2.0", N110, ["1.1.0"])
    )
    verdict = graph_check(graph, [abi_of(build_lib, N120, "1.3.0")], "1.3.0")
    assert rules(problems(verdict.findings)) == {
        ("node-named-for-shipped-release", None, "LIBVIRT_1.2.0")
    }


@pytest.mark.parametrize(
    ("release", "flagged"),
    [("1.2.0", True), ("1.2.9", True), ("1.3.0", False), ("debian/1.3.0-1", False)],
)
def test_node_above_release(build_lib, release: str, flagged: bool) -> None:
    graph = chain(build_lib)
    nodes = {**N110, "LIBVIRT_1.3.0": ["virFromTheFuture"]}
    verdict = graph_check(graph, [abi_of(build_lib, nodes, upstream_version(release))], release)
    hits = [f for f in verdict.findings if f.rule == "node-above-release"]
    if flagged:
        assert [(f.version, f.severity) for f in hits] == [("LIBVIRT_1.3.0", Severity.ERROR)]
        assert release in hits[0].message
    else:
        assert hits == []
    assert problems(verdict.findings) == hits


def test_removal_and_move_are_reported_against_the_grandparent(build_lib) -> None:
    old: Nodes = {"LIBVIRT_1.0.0": ["virConnectOpen", "virGone", "virMoved"]}
    # 1.1.0 dropped virGone and moved virMoved, and was recorded anyway
    broken: Nodes = {
        "LIBVIRT_1.0.0": ["virConnectOpen"],
        "LIBVIRT_1.1.0": ["virDomainCreate", "virMoved"],
    }
    graph = make_graph(build_lib, ("1.0.0", old, []), ("1.1.0", broken, ["1.0.0"]))
    new = abi_of(build_lib, {**broken, "LIBVIRT_1.2.0": ["virDomainDestroy"]}, "1.2.0")

    parent = graph.library("1.1.0", SONAME)
    assert parent is not None
    assert problems(compared(parent, new, PROFILE).findings) == []

    bad = problems(graph_check(graph, [new], "1.2.0").findings)
    assert rules(bad) == {
        ("symbol-removed", "virGone", "LIBVIRT_1.0.0"),
        ("symbol-version-changed", "virMoved", "LIBVIRT_1.0.0"),
    }
    assert all(f.severity is Severity.ERROR for f in bad)
    assert all("[against 1.0.0]" in f.message for f in bad)


def test_removal_against_several_ancestors_is_reported_once(build_lib) -> None:
    graph = chain(build_lib)
    lost: Nodes = {"LIBVIRT_1.0.0": ["virConnectOpen"], "LIBVIRT_1.1.0": ["virDomainCreate"]}
    bad = problems(graph_check(graph, [abi_of(build_lib, lost, "1.2.0")], "1.2.0").findings)
    assert rules(bad) == {("symbol-removed", "virConnectClose", "LIBVIRT_1.0.0")}
    assert "[against 1.0.0 (and 1 more)]" in bad[0].message


def branchy(build_lib) -> ReleaseGraph:
    """1.0.0 -> 1.1.0 -> 1.2.0 on the main line, 1.1.0 -> 1.1.1 on a branch."""
    return make_graph(
        build_lib,
        ("1.0.0", N100, []),
        ("1.1.0", N110, ["1.0.0"]),
        ("1.2.0", N120, ["1.1.0"]),
        ("1.1.1", N110, ["1.1.0"]),
    )


def test_branch_release_is_judged_against_its_own_ancestors(build_lib) -> None:
    graph = branchy(build_lib)
    assert graph.heads() == ["1.1.1", "1.2.0"]
    new = abi_of(build_lib, N110, "1.1.2")  # lacks virDomainDestroy, which 1.2.0 added
    verdict = graph_check(graph, [new], "1.1.2")
    assert verdict.parents == ("1.1.1",)
    assert verdict.ancestors == ("1.0.0", "1.1.0", "1.1.1")
    assert problems(verdict.findings) == []
    # the same build on the main line after 1.2.0 does break 1.2.0's promises
    main = graph_check(graph, [abi_of(build_lib, N110, "1.3.0")], "1.3.0")
    assert main.parents == ("1.2.0",)
    assert rules(problems(main.findings)) == {
        ("node-removed", None, "LIBVIRT_1.2.0"),
        ("symbol-removed", "virDomainDestroy", "LIBVIRT_1.2.0"),
    }


def test_private_node_misnamed(build_lib) -> None:
    graph = chain(build_lib)
    stale = graph_check(graph, [abi_of(build_lib, N120, "1.1.0")], "1.2.0")
    hits = [f for f in stale.findings if f.rule == "private-node-misnamed"]
    assert [(f.severity, f.version) for f in hits] == [(Severity.WARNING, "LIBVIRT_PRIVATE_1.1.0")]
    assert "LIBVIRT_PRIVATE_1.2.0" in hits[0].message
    assert problems(stale.findings) == hits
    # the private node's own churn is exempt: renamed correctly, nothing to say
    for release in ("1.2.0", "debian/1.2.0-1~bpo1"):
        ok = graph_check(graph, [abi_of(build_lib, N120, "1.2.0")], release)
        assert problems(ok.findings) == []


def test_rejudging_a_recorded_release_uses_its_recorded_parents(build_lib) -> None:
    graph = branchy(build_lib)
    verdict = graph_check(graph, [abi_of(build_lib, N110, "1.1.1")], "1.1.1")
    assert verdict.parents == ("1.1.0",)
    assert "1.1.1" not in verdict.ancestors
    assert problems(verdict.findings) == []


def test_unknown_parent_is_a_graph_error(build_lib) -> None:
    graph = chain(build_lib)
    with pytest.raises(GraphError, match=r"no release '0\.9\.0'"):
        graph_check(graph, [abi_of(build_lib, N120, "1.2.0")], "1.2.0", ["0.9.0"])


def test_first_release_in_an_empty_graph(build_lib) -> None:
    verdict = graph_check(ReleaseGraph(), [abi_of(build_lib, N100, "1.0.0")], "1.0.0")
    assert (verdict.parents, verdict.ancestors, verdict.findings) == ((), (), ())


# ---------------------------------------------------------------------------- helpers


def shipped() -> ReleaseGraph:
    return ReleaseGraph.load(gate.shipped_graph_path())


def test_default_parents_on_the_shipped_graph() -> None:
    graph = shipped()
    rels = graph.releases()
    assert default_parents(graph, "12.9.0") == [rels[-1]] == ["12.8.0"]
    # an upstream release is preferred over a distro build of the same version
    assert "debian/11.3.0-2~bpo12+1" in rels
    assert default_parents(graph, "11.4.0") == ["11.3.0"]
    assert default_parents(graph, "8.0.0") == ["7.0.0"]
    assert default_parents(graph, "1.0.0") == []
    # never itself, and a distro build follows the upstream release it packages
    assert default_parents(graph, "9.0.0") == ["7.0.0"]
    assert default_parents(graph, "debian/12.8.0-1") == ["12.8.0"]


def test_release_numbers() -> None:
    assert release_numbers("debian/11.3.0-2~bpo12+1") == (11, 3, 0)
    assert release_numbers("12.8.0") == (12, 8, 0)
    assert upstream_version("debian/11.3.0-2~bpo12+1") == "11.3.0"


def test_graph_summary(build_lib) -> None:
    old: Nodes = {"LIBVIRT_1.0.0": ["virConnectOpen", "virGone"]}
    graph = make_graph(build_lib, ("1.0.0", old, []), ("1.1.0", N110, ["1.0.0"]))
    rows = {r.release: r for r in graph_summary(graph)}
    assert list(rows) == ["1.0.0", "1.1.0"]
    first, second = rows["1.0.0"], rows["1.1.0"]
    assert (first.parents, first.symbols, first.added, first.removed, first.breaks) == (
        (),
        2,
        2,
        0,
        (),
    )
    assert first.nodes == 1 and first.newest_node == "LIBVIRT_1.0.0"  # private not counted
    assert (second.symbols, second.nodes, second.newest_node) == (3, 2, "LIBVIRT_1.1.0")
    assert (second.added, second.removed) == (2, 1)  # +virConnectClose +virDomainCreate
    assert rules(second.breaks) == {
        ("symbol-removed", "virGone", "LIBVIRT_1.0.0"),
        ("symbol-added-to-released-node", "virConnectClose", "LIBVIRT_1.0.0"),
    }

    from dataclasses import replace

    def waive_all(found: list[Finding], release: str) -> list[Finding]:
        assert release == "1.1.0"
        return [replace(f, waived="accepted") for f in found]

    assert all(r.breaks == () for r in graph_summary(graph, apply=waive_all))


# ---------------------------------------------------------------------------- files, waivers


def saved(graph: ReleaseGraph, tmp_path: Path) -> str:
    path = tmp_path / "graph.json"
    graph.save(path)
    return str(path)


def waivers_file(tmp_path: Path, *waivers: dict[str, str]) -> str:
    path = tmp_path / "waivers.json"
    doc = {"format": "elfaudit-waivers", "format_version": 1, "waivers": list(waivers)}
    path.write_text(json.dumps(doc))
    return str(path)


SNEAKY: Nodes = {
    "LIBVIRT_1.0.0": [*N100["LIBVIRT_1.0.0"], "virSneaky"],
    "LIBVIRT_1.1.0": N110["LIBVIRT_1.1.0"],
}


def sneaky_setup(build_lib, tmp_path: Path) -> tuple[str, str]:
    graph = make_graph(build_lib, ("1.0.0", N100, []), ("1.1.0", SNEAKY, ["1.0.0"]))
    lib = build(build_lib, {**SNEAKY, "LIBVIRT_1.2.0": ["virDomainDestroy"]}, "1.2.0")
    return saved(graph, tmp_path), str(lib)


def test_waiver_turns_the_error_into_a_waived_finding(build_lib, tmp_path: Path) -> None:
    graph_path, lib = sneaky_setup(build_lib, tmp_path)
    plain = run_graph_check([lib], release="1.2.0", parents=None, graph_path=graph_path)
    assert exit_code(plain) & 8
    assert plain.extra["graph"] == graph_path
    assert plain.extra["ancestors"] == ["1.0.0", "1.1.0"]

    waived_by = waivers_file(
        tmp_path,
        {
            "rule": "symbol-added-to-released-node",
            "symbol": "virSneaky",
            "node": "LIBVIRT_1.0.0",
            "library": SONAME,
            "reason": "shipped that way in 1.1.0",
        },
        {"rule": "symbol-removed", "symbol": "virNeverThere", "reason": "stale"},
    )
    report = run_graph_check(
        [lib],
        release="1.2.0",
        parents=None,
        graph_path=graph_path,
        waivers=WaiverOptions((waived_by,)),
    )
    (hit,) = [f for f in report.findings if f.rule == "symbol-added-to-released-node"]
    assert hit.waived == "shipped that way in 1.1.0"
    assert report.counts()["waived"] == 1 and report.counts()["error"] == 0
    assert exit_code(report) & 8 == 0 and exit_code(report) == 4  # info findings remain
    assert len(report.unused_waivers) == 1
    assert "virNeverThere" in report.unused_waivers[0]


def test_release_scoped_waiver(build_lib, tmp_path: Path) -> None:
    graph_path, lib = sneaky_setup(build_lib, tmp_path)
    base = {"rule": "symbol-added-to-released-node", "symbol": "virSneaky", "reason": "ok"}
    for scope, applies in (("1.2.0", True), ("1.3.0", False)):
        waived_by = waivers_file(tmp_path, {**base, "release": scope})
        report = run_graph_check(
            [lib],
            release="1.2.0",
            parents=None,
            graph_path=graph_path,
            waivers=WaiverOptions((waived_by,)),
        )
        assert bool(report.counts()["waived"]) is applies
        assert report.unused_waivers == ()  # a waiver for another release is not stale


def test_run_gate_joins_check_and_history(build_lib, tmp_path: Path) -> None:
    graph_path, lib = sneaky_setup(build_lib, tmp_path)
    script = tmp_path / "libvirt_public.syms"
    script.write_text(version_script({**SNEAKY, "LIBVIRT_1.2.0": ["virDomainDestroy"]}, "1.2.0"))
    report = run_gate([lib], [str(script)], release="1.2.0", parents=None, graph_path=graph_path)
    assert report.command == "gate"
    assert rules(problems(report.findings)) == {
        ("symbol-added-to-released-node", "virSneaky", "LIBVIRT_1.0.0")
    }
    # a script that disagrees with the binary shows up in the same report
    script.write_text(version_script({**SNEAKY}, "1.2.0"))
    report = run_gate([lib], [str(script)], release="1.2.0", parents=None, graph_path=graph_path)
    found = {f.rule for f in problems(report.findings)}
    assert "symbol-added-to-released-node" in found
    assert found & {"node-unexpected", "symbol-not-in-script"}


# ---------------------------------------------------------------------------- which graph


def test_resolve_graph_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(gate.GRAPH_ENV, raising=False)
    shipped_path = gate.shipped_graph_path()
    assert Path(shipped_path).is_file()
    assert resolve_graph(None) == shipped_path
    assert resolve_graph(None, for_write=True) == gate.LOCAL_GRAPH  # never the package
    Path(gate.LOCAL_GRAPH).write_text("{}")
    assert resolve_graph(None) == gate.LOCAL_GRAPH
    monkeypatch.setenv(gate.GRAPH_ENV, str(tmp_path / "env.json"))
    assert resolve_graph(None) == str(tmp_path / "env.json")
    assert resolve_graph(None, for_write=True) == str(tmp_path / "env.json")
    assert resolve_graph("given.json") == "given.json"
    assert resolve_graph("given.json", for_write=True) == "given.json"

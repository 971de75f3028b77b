"""The release graph: recording, queries, storage (round trip, corruption, locking), export."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from synthetic_graph import synthetic_graph

from elfaudit.base import fileio
from elfaudit.base.errors import GraphError
from elfaudit.graph import node_chain as chains
from elfaudit.graph import records
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.model.abi import LibraryABI, Symbol, VersionDef
from elfaudit.model.script import Location, ScriptEntry, ScriptNode, VersionScript

T0 = datetime(2025, 1, 31, 12, 0, 0, tzinfo=timezone.utc)


def make_abi(
    soname: str | None,
    nodes: dict[str, list[str]],
    *,
    private: dict[str, int] | None = None,
    unversioned: tuple[str, ...] = (),
    extra: tuple[Symbol, ...] = (),
    path: str | None = None,
    machine: str = "x86_64",
    sha: str | None = "ab" * 32,
    chain: bool = True,
) -> LibraryABI:
    """A LibraryABI built by hand: ``nodes`` in order (each the parent of the next when
    ``chain``), then private nodes holding ``count`` symbols each."""
    name = soname or "libnoso.so"
    versions = [VersionDef(name, 1, (), base=True)] if nodes or private else []
    syms: list[Symbol] = []
    prev: str | None = None
    for node, names in nodes.items():
        parents = (prev,) if prev and chain else ()
        versions.append(VersionDef(node, len(versions) + 1, parents))
        syms.extend(Symbol(s, node, True, "FUNC", "GLOBAL", "DEFAULT", 0) for s in names)
        prev = node
    for node, count in (private or {}).items():
        versions.append(VersionDef(node, len(versions) + 1, ()))
        syms.extend(
            Symbol(f"{node.lower()}_{i}", node, True, "FUNC", "GLOBAL", "DEFAULT", 0)
            for i in range(count)
        )
    syms.extend(Symbol(s, None, True, "FUNC", "GLOBAL", "DEFAULT", 0) for s in unversioned)
    syms.extend(extra)
    return LibraryABI(
        path=path or f"/usr/lib/{name}",
        soname=soname,
        needed=("libc.so.6",),
        machine=machine,
        elf_class=64,
        byte_order="little",
        versions=tuple(versions),
        symbols=tuple(syms),
        sha256=sha,
    )


def libvirt(release: str, nodes: dict[str, list[str]]) -> LibraryABI:
    return make_abi("libvirt.so.0", nodes, private={f"LIBVIRT_PRIVATE_{release}": 5})


BASE_NODES = {"LIBVIRT_1.0.0": ["virOpen", "virClose"]}


def branchy_graph() -> ReleaseGraph:
    """1.0.0 -> 1.1.0 -> 2.0.0 (main line) and 1.1.0 -> 1.1.1 -> 1.1.2 (branch)."""
    g = ReleaseGraph()
    n1 = dict(BASE_NODES)
    n2 = {**n1, "LIBVIRT_1.1.0": ["virNew"]}
    n3 = {**n2, "LIBVIRT_2.0.0": ["virTwo"]}
    g.add_release("1.0.0", [libvirt("1.0.0", n1)], [], recorded_at=T0)
    g.add_release("1.1.0", [libvirt("1.1.0", n2)], ["1.0.0"], recorded_at=T0)
    g.add_release("2.0.0", [libvirt("2.0.0", n3)], ["1.1.0"], recorded_at=T0)
    g.add_release("1.1.1", [libvirt("1.1.1", n2)], ["1.1.0"], recorded_at=T0)
    g.add_release("1.1.2", [libvirt("1.1.2", n2)], ["1.1.1"], recorded_at=T0)
    return g


def rich_graph() -> ReleaseGraph:
    """Two libraries, a data object, a hidden (non-default) symbol, an unversioned symbol,
    a weak node, a library without SONAME, a library that appears later, a node whose
    parent changes, removed symbols and a merge."""
    g = ReleaseGraph()
    obj = Symbol(
        "virConnectAuthPtrDefault", "LIBVIRT_1.0.0", True, "OBJECT", "GLOBAL", "DEFAULT", 8
    )
    hidden = Symbol("virOld", "LIBVIRT_1.0.0", False, "FUNC", "WEAK", "PROTECTED", 0)
    a1 = make_abi("libvirt.so.0", BASE_NODES, private={"LIBVIRT_PRIVATE_1.0.0": 7},
                  extra=(obj, hidden), unversioned=("_init_hook",))  # fmt: skip
    g.add_release("1.0.0", [a1, make_abi(None, {}, unversioned=("f",))], [],
                  source="pkg_1.0.0.deb", note="first", recorded_at=T0)  # fmt: skip
    n2 = {**BASE_NODES, "LIBVIRT_1.1.0": ["virNew"]}
    a2 = make_abi("libvirt.so.0", n2, private={"LIBVIRT_PRIVATE_1.1.0": 9}, extra=(obj,))
    weak = LibraryABI(
        "/usr/lib/libvirt-qemu.so.0", "libvirt-qemu.so.0", ("libvirt.so.0",), "x86_64", 64,
        "little",
        (VersionDef("libvirt-qemu.so.0", 1, (), base=True),
         VersionDef("LIBVIRT_QEMU_1.1.0", 2, (), weak=True)),
        (Symbol("virDomainQemuMonitorCommand", "LIBVIRT_QEMU_1.1.0", True, "FUNC", "GLOBAL",
                "DEFAULT", 0),),
    )  # fmt: skip
    g.add_release("1.1.0", [a2, weak], ["1.0.0"], source="pkg_1.1.0.deb", recorded_at=T0)
    # a side release whose node list is reordered (cannot be a delta) and parent changed
    side = make_abi("libvirt.so.0", {"LIBVIRT_1.1.0": ["virNew"], **BASE_NODES}, chain=False)
    g.add_release("1.1.0-side", [side], ["1.1.0"], recorded_at=T0)
    n3 = {**n2, "LIBVIRT_1.2.0": ["virThree"]}
    g.add_release("1.2.0", [make_abi("libvirt.so.0", n3), weak], ["1.1.0", "1.1.0-side"],
                  recorded_at=T0)  # fmt: skip
    return g


def key_orders(text: str) -> list[list[str]]:
    orders: list[list[str]] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        orders.append([k for k, _ in pairs])
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return orders


# --------------------------------------------------------------------------- recording


def test_record_keeps_public_abi_and_summarises_private() -> None:
    g = rich_graph()
    rec = g.record("1.0.0", "libvirt.so.0")
    assert rec is not None
    names = {s.name for s in rec.symbols}
    assert names == {"virOpen", "virClose", "virConnectAuthPtrDefault", "virOld", "_init_hook"}
    assert rec.private == (records.PrivateNode("LIBVIRT_PRIVATE_1.0.0", 7),)
    assert rec.node_names() == ("LIBVIRT_1.0.0",)
    abi = g.library("1.0.0", "libvirt.so.0")
    assert abi is not None
    assert [v.name for v in abi.versions] == [
        "libvirt.so.0",
        "LIBVIRT_1.0.0",
        "LIBVIRT_PRIVATE_1.0.0",
    ]
    assert abi.versions[0].base and not abi.versions[1].base
    assert not any(s.version and "PRIVATE" in s.version for s in abi.symbols)
    hidden = next(s for s in abi.symbols if s.name == "virOld")
    assert (hidden.default, hidden.binding, hidden.visibility) == (False, "WEAK", "PROTECTED")
    data = next(s for s in abi.symbols if s.name == "virConnectAuthPtrDefault")
    assert (data.type, data.size) == ("OBJECT", 8)
    assert next(s for s in abi.symbols if s.name == "_init_hook").version is None
    # the stored ABI equals the input minus private symbols (order aside)
    source = make_abi("libvirt.so.0", BASE_NODES, private={"LIBVIRT_PRIVATE_1.0.0": 7},
                      extra=(data, hidden), unversioned=("_init_hook",))  # fmt: skip
    public = {s for s in source.symbols if not (s.version or "").startswith("LIBVIRT_PRIVATE")}
    assert set(abi.symbols) == public
    assert (abi.soname, abi.needed, abi.machine, abi.sha256) == (
        source.soname,
        source.needed,
        source.machine,
        source.sha256,
    )
    assert g.library("1.0.0", "libvirt-qemu.so.0") is None
    assert g.record("1.0.0", "libnoso.so") is not None  # no SONAME: keyed by file name


def test_is_private_predicate_comes_from_the_caller() -> None:
    abi = make_abi("libx.so.1", {"X_1": ["a"], "X_EXPERIMENTAL": ["b", "c"], "X_INTERNAL": ["d"]})
    g = ReleaseGraph()
    g.add_release("1", [abi], is_private=lambda n: n.endswith("EXPERIMENTAL"), recorded_at=T0)
    g.add_release("2", [abi], ["1"], recorded_at=T0)
    custom, default = g.record("1", "libx.so.1"), g.record("2", "libx.so.1")
    assert custom is not None and default is not None
    assert {s.name for s in custom.symbols} == {"a", "d"}
    assert custom.private == (records.PrivateNode("X_EXPERIMENTAL", 2),)
    assert {s.name for s in default.symbols} == {"a", "b", "c"}
    assert default.private == (records.PrivateNode("X_INTERNAL", 1),)


def test_recorded_at_is_utc_and_injectable() -> None:
    g = ReleaseGraph()
    g.add_release("a", [], recorded_at=datetime(2024, 5, 6, 7, 8, 9))  # naive = UTC
    plus2 = timezone(timedelta(hours=2))
    g.add_release("b", [], recorded_at=datetime(2024, 5, 6, 9, 8, 9, tzinfo=plus2))
    g.add_release("c", [])
    assert g.release("a").recorded_at == "2024-05-06T07:08:09Z"
    assert g.release("b").recorded_at == "2024-05-06T07:08:09Z"
    now = datetime.strptime(g.release("c").recorded_at, "%Y-%m-%dT%H:%M:%SZ")
    assert abs(now.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(minutes=5)


# --------------------------------------------------------------------------- structure


def test_branch_ancestry_and_order() -> None:
    g = branchy_graph()
    assert g.releases() == ["1.0.0", "1.1.0", "1.1.1", "1.1.2", "2.0.0"]
    assert g.ancestors("1.1.2") == ["1.0.0", "1.1.0", "1.1.1"]
    assert g.ancestors("2.0.0") == ["1.0.0", "1.1.0"]  # not its sibling branch
    assert g.ancestors("1.0.0") == []
    assert g.parents("1.1.1") == ["1.1.0"]
    assert g.children("1.1.0") == ["1.1.1", "2.0.0"]
    assert g.heads() == ["1.1.2", "2.0.0"]
    assert g.descendants("1.1.0") == ["1.1.1", "1.1.2", "2.0.0"]


def test_merge_release_has_both_sides_as_ancestors() -> None:
    g = branchy_graph()
    g.add_release("3.0.0", [], ["2.0.0", "1.1.2"], recorded_at=T0)
    assert g.parents("3.0.0") == ["2.0.0", "1.1.2"]
    assert g.ancestors("3.0.0") == ["1.0.0", "1.1.0", "1.1.1", "1.1.2", "2.0.0"]


def test_topological_order_breaks_ties_numerically() -> None:
    g = ReleaseGraph()
    for name in ["10.0.0", "9.0.0", "debian/9.0.0-1", "0.10.0", "0.9.14"]:
        g.add_release(name, [], recorded_at=T0)
    assert g.releases() == ["0.9.14", "0.10.0", "9.0.0", "debian/9.0.0-1", "10.0.0"]


def test_refuses_duplicates_unknown_parents_and_cycles() -> None:
    g = branchy_graph()
    before = g.dumps()
    with pytest.raises(GraphError, match="already recorded"):
        g.add_release("1.1.0", [], ["1.0.0"])
    with pytest.raises(GraphError, match=r"unknown parent '0\.9'"):
        g.add_release("3.0.0", [], ["0.9"])
    with pytest.raises(GraphError, match="cannot follow itself"):
        g.add_release("3.0.0", [], ["3.0.0"])
    with pytest.raises(GraphError, match="listed twice"):
        g.add_release("3.0.0", [], ["2.0.0", "2.0.0"])
    with pytest.raises(GraphError, match="cycle"):
        g.add_release("1.1.0", [], ["1.1.2"], replace=True)
    with pytest.raises(GraphError, match=r"two libraries named 'libvirt\.so\.0'"):
        g.add_release("3.0.0", [libvirt("3", BASE_NODES), libvirt("3b", BASE_NODES)], ["2.0.0"])
    for bad in ["", " 1.0", "a\nb"]:
        with pytest.raises(GraphError, match="invalid release name"):
            g.add_release(bad, [])
    with pytest.raises(GraphError, match="no release 'nope'"):
        g.ancestors("nope")
    assert g.dumps() == before  # refused operations changed nothing


def test_replace_keeps_children_and_remove_refuses_with_children() -> None:
    g = branchy_graph()
    g.add_release("1.1.1", [libvirt("x", {"LIBVIRT_9": ["z"]})], ["1.0.0"], replace=True)
    assert g.parents("1.1.1") == ["1.0.0"]
    assert g.children("1.1.1") == ["1.1.2"]
    assert g.ancestors("1.1.2") == ["1.0.0", "1.1.1"]
    rec = g.record("1.1.1", "libvirt.so.0")
    assert rec is not None and rec.symbol_names() == {"z"}
    with pytest.raises(GraphError, match="cannot be removed"):
        g.remove_release("1.1.1")
    g.remove_release("1.1.2")
    g.remove_release("1.1.1")
    assert g.releases() == ["1.0.0", "1.1.0", "2.0.0"]


# --------------------------------------------------------------------------- queries


def test_introduced_finds_earliest_release_on_each_path() -> None:
    g = ReleaseGraph()
    g.add_release("1.0.0", [libvirt("1.0.0", BASE_NODES)], recorded_at=T0)
    # backported independently on a maintenance branch, and added on the main line
    g.add_release("1.0.1", [libvirt("1.0.1", {**BASE_NODES, "LIBVIRT_1.0.1": ["virFix"]})],
                  ["1.0.0"], recorded_at=T0)  # fmt: skip
    n11 = {**BASE_NODES, "LIBVIRT_1.1.0": ["virFix"]}
    g.add_release("1.1.0", [libvirt("1.1.0", n11)], ["1.0.0"], recorded_at=T0)
    g.add_release("1.2.0", [libvirt("1.2.0", BASE_NODES)], ["1.1.0"], recorded_at=T0)  # removed
    g.add_release("1.3.0", [libvirt("1.3.0", n11)], ["1.2.0"], recorded_at=T0)  # back again
    got = g.introduced("virFix")
    assert [(i.release, i.library, i.node) for i in got] == [
        ("1.0.1", "libvirt.so.0", "LIBVIRT_1.0.1"),
        ("1.1.0", "libvirt.so.0", "LIBVIRT_1.1.0"),
    ]
    assert [i.release for i in g.introduced("virOpen")] == ["1.0.0"]
    assert g.introduced("virOpen", soname="libvirt-qemu.so.0") == []
    assert g.introduced("nope") == []
    # private symbols are not recorded, so they are never "introduced"
    assert g.introduced("libvirt_private_1.0.0_0") == []


def test_node_history_and_released_nodes() -> None:
    g = branchy_graph()
    hist = g.node_history("libvirt.so.0")
    assert [(h.node, h.release, h.parents) for h in hist] == [
        ("LIBVIRT_1.0.0", "1.0.0", ()),
        ("LIBVIRT_1.1.0", "1.1.0", ("LIBVIRT_1.0.0",)),
        ("LIBVIRT_2.0.0", "2.0.0", ("LIBVIRT_1.1.0",)),
    ]
    shipped = g.released_nodes("libvirt.so.0", g.ancestors("2.0.0"))
    assert shipped == {
        "LIBVIRT_1.0.0": frozenset({"virOpen", "virClose"}),
        "LIBVIRT_1.1.0": frozenset({"virNew"}),
    }
    assert g.released_nodes("libvirt.so.0", []) == {}


def test_node_chain_and_introduced_by_nodes_on_a_binary() -> None:
    abi = make_abi(
        "libvirt.so.0",
        {"LIBVIRT_0.0.3": ["virOpen"], "LIBVIRT_3.1.0": ["virDomainSetVcpu",
         "virDomainSetBlockThreshold"], "LIBVIRT_3.4.0": ["virStreamRecvFlags"]},
        private={"LIBVIRT_PRIVATE_3.4.0": 3},
        unversioned=("_fini",),
    )  # fmt: skip
    assert chains.node_chain(abi) == ["LIBVIRT_0.0.3", "LIBVIRT_3.1.0", "LIBVIRT_3.4.0"]
    origins = chains.introduced_by_nodes(abi)
    by_symbol = {o.symbol: (o.node, o.release, o.on_chain) for o in origins}
    assert by_symbol == {
        "virOpen": ("LIBVIRT_0.0.3", "0.0.3", True),
        "virDomainSetVcpu": ("LIBVIRT_3.1.0", "3.1.0", True),
        "virDomainSetBlockThreshold": ("LIBVIRT_3.1.0", "3.1.0", True),
        "virStreamRecvFlags": ("LIBVIRT_3.4.0", "3.4.0", True),
    }
    assert [o.node for o in origins] == sorted((o.node for o in origins), key=lambda n: (
        ["LIBVIRT_0.0.3", "LIBVIRT_3.1.0", "LIBVIRT_3.4.0"].index(n)))  # fmt: skip


def test_node_chain_on_a_script_picks_the_longest_chain() -> None:
    loc = Location("t.map", 1)

    def node(name: str, parents: tuple[str, ...], names: list[str]) -> ScriptNode:
        entries = tuple(ScriptEntry(n, loc) for n in names)
        return ScriptNode(name, parents, entries, (), loc)

    script = VersionScript(
        ("t.map",),
        (
            node("LIBX_1.0", (), ["a", "vir*"]),
            node("LIBX_1.1", ("LIBX_1.0",), ["b"]),
            node("LIBX_2.0", ("LIBX_1.1",), ["c"]),
            node("ZZZ_STRAY", (), ["d"]),  # a second, shorter chain
            node("LIBX_PRIVATE_2.0", (), ["e"]),
        ),
    )
    assert chains.node_chain(script) == ["LIBX_1.0", "LIBX_1.1", "LIBX_2.0"]
    got = [(o.symbol, o.node, o.release, o.on_chain) for o in chains.introduced_by_nodes(script)]
    assert got == [
        ("a", "LIBX_1.0", "1.0", True),  # the wildcard entry is not a symbol
        ("b", "LIBX_1.1", "1.1", True),
        ("c", "LIBX_2.0", "2.0", True),
        ("d", "ZZZ_STRAY", None, False),
    ]
    # a parent loop ends the walk instead of hanging
    looped = VersionScript(("t.map",), (node("A_1", ("B_1",), []), node("B_1", ("A_1",), [])))
    assert chains.node_chain(looped) == []


# --------------------------------------------------------------------------- storage


def test_round_trip_is_identical_and_byte_stable(tmp_path: Path) -> None:
    g = rich_graph()
    path = tmp_path / "graph.json"
    g.save(path)
    text = path.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    for keys in key_orders(text):
        assert keys == sorted(keys)
    doc = json.loads(text)
    assert (doc["format"], doc["format_version"]) == ("elfaudit-release-graph", 1)

    back = ReleaseGraph.load(path)
    assert back.releases() == g.releases()
    for name in g.releases():
        assert back.release(name) == g.release(name)
        for lib in g.release(name).library_names:
            assert back.library(name, lib) == g.library(name, lib)
    back.save(path)
    assert path.read_text() == text  # byte-identical re-save
    assert back.to_json() == doc


def test_file_stores_each_unchanged_symbol_once(tmp_path: Path) -> None:
    g = ReleaseGraph()
    nodes: dict[str, list[str]] = dict(BASE_NODES)
    prev: list[str] = []
    for i in range(30):
        if i and i % 3 == 0:
            nodes[f"LIBVIRT_1.{i}.0"] = [f"virApi{i}"]
        g.add_release(f"1.{i}.0", [libvirt(f"1.{i}.0", dict(nodes))], prev, recorded_at=T0)
        prev = [f"1.{i}.0"]
    path = tmp_path / "g.json"
    g.save(path)
    text = path.read_text()
    assert text.count('"virOpen"') == 1
    assert text.count('"virApi27"') == 1
    assert text.count('"libvirt_private_1.5.0_0"') == 0  # private symbols are not listed
    latest = g.record("1.29.0", "libvirt.so.0")
    assert latest is not None and len(latest.symbols) == 2 + 9
    assert ReleaseGraph.load(path).record("1.29.0", "libvirt.so.0") == latest


def test_removed_symbols_and_changed_nodes_round_trip(tmp_path: Path) -> None:
    g = ReleaseGraph()
    g.add_release("1", [libvirt("1", {"L_1": ["a", "b"], "L_2": ["c"]})], recorded_at=T0)
    g.add_release("2", [libvirt("2", {"L_1": ["a"], "L_3": ["c"]})], ["1"], recorded_at=T0)
    doc = g.to_json()
    block = doc["libraries"]["libvirt.so.0"]["2"]
    assert [r[0] for r in block["symbols_removed"]] == ["b", "c"]
    assert [r[:2] for r in block["symbols_added"]] == [["c", "L_3"]]
    assert block["nodes_removed"] == ["L_2"]
    assert block["nodes_added"] == [{"name": "L_3", "parents": ["L_1"]}]
    assert "machine" not in block  # unchanged metadata is inherited from the parent
    back = ReleaseGraph.from_json(json.loads(g.dumps()))
    assert back.release("2") == g.release("2")


def good_doc() -> dict[str, Any]:
    return json.loads(branchy_graph().dumps())


def _corrupt_cases() -> list[tuple[str, Any, str]]:
    cases: list[tuple[str, Any, str]] = []

    def mutate(label: str, fn: Any, expect: str) -> None:
        doc = good_doc()
        fn(doc)
        cases.append((label, json.dumps(doc, indent=1), expect))

    text = branchy_graph().dumps()
    # problems of the file as JSON text: fileio's one wording, "<file>[:<line>]: <problem>"
    cases.append(("truncated", text[: len(text) // 2], "invalid JSON: Unterminated string"))
    cases.append(("empty", "", "invalid JSON: Expecting value"))
    cases.append(("not utf-8", b"{}\n\xff\xfe{}", "not UTF-8 text (byte 0xff)"))
    cases.append(("duplicate key", '{"format": 1, "format": 2}', "invalid JSON: key 'format'"))
    cases.append(("a list", "[]", "expected an object"))
    mutate("format tag", lambda d: d.update(format="elfaudit-snapshot"), "format: expected")
    mutate("version", lambda d: d.update(format_version=3), "unsupported version")
    mutate("bool version", lambda d: d.update(format_version=True), "unsupported version")
    mutate("unknown key", lambda d: d.update(extra=1), "unknown key 'extra'")
    mutate("missing key", lambda d: d.pop("releases"), "missing key 'releases'")
    mutate(
        "dangling parent",
        lambda d: d["releases"]["2.0.0"].update(parents=["1.5.0"]),
        "unknown parent '1.5.0'",
    )
    mutate(
        "cycle",
        lambda d: d["releases"]["1.0.0"].update(parents=["1.1.2"]),
        "cycle",
    )
    mutate(
        "parents type",
        lambda d: d["releases"]["2.0.0"].update(parents="1.1.0"),
        "expected a list",
    )
    mutate(
        "time",
        lambda d: d["releases"]["2.0.0"].update(recorded_at="yesterday"),
        "not an ISO-8601 UTC time",
    )
    mutate(
        "elf_class type",
        lambda d: d["libraries"]["libvirt.so.0"]["1.0.0"].update(elf_class="64"),
        "elf_class: expected an integer",
    )
    mutate(
        "symbol row",
        lambda d: d["libraries"]["libvirt.so.0"]["1.0.0"]["symbols_added"][0].pop(),
        "expected a row of 7 fields",
    )
    mutate(
        "size type",
        lambda d: d["libraries"]["libvirt.so.0"]["1.0.0"]["symbols_added"][0].__setitem__(6, -1),
        "size: expected an integer >= 0",
    )
    mutate(
        "default type",
        lambda d: d["libraries"]["libvirt.so.0"]["1.0.0"]["symbols_added"][0].__setitem__(2, 1),
        "'default' must be a boolean",
    )
    mutate(
        "block for unknown release",
        lambda d: d["libraries"]["libvirt.so.0"].update({"7.0.0": {}}),
        "block for unknown release '7.0.0'",
    )
    mutate(
        "removes absent symbol",
        lambda d: d["libraries"]["libvirt.so.0"]["2.0.0"].update(
            symbols_removed=[["ghost", None, True, "FUNC", "GLOBAL", "DEFAULT", 0]]
        ),
        "removes 'ghost'",
    )
    mutate(
        "root block missing metadata",
        lambda d: d["libraries"]["libvirt.so.0"]["1.0.0"].pop("machine"),
        "missing key 'machine'",
    )
    mutate(
        "library name mismatch",
        lambda d: d["libraries"]["libvirt.so.0"]["1.0.0"].update(soname="libother.so.1"),
        "library is named 'libother.so.1'",
    )
    mutate(
        "symbol fields",
        lambda d: d.update(symbol_fields=["name"]),
        "symbol_fields: expected",
    )
    return cases


@pytest.mark.parametrize(
    ("content", "expect"),
    [pytest.param(c, e, id=label) for label, c, e in _corrupt_cases()],
)
def test_corrupt_files_are_refused_and_left_untouched(
    tmp_path: Path, content: str | bytes, expect: str
) -> None:
    path = tmp_path / "graph.json"
    data = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(data)
    with pytest.raises(GraphError) as err:
        ReleaseGraph.load(path)
    message = str(err.value)
    if expect.startswith(("invalid JSON", "not UTF-8")):
        assert re.match(rf"{re.escape(str(path))}(:\d+)?: {re.escape(expect)}", message)
    else:
        assert message.startswith(f"{path}: corrupt release graph: ")
        assert expect in message
    assert "\n" not in message
    ran = False
    with pytest.raises(GraphError), ReleaseGraph.edit(path):
        ran = True
    assert not ran
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json", "graph.json.lock"]


def test_missing_file_is_empty_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    with pytest.raises(GraphError, match=r"none\.json: no such file$"):
        ReleaseGraph.load(path)
    g = ReleaseGraph.load(path, missing_ok=True)
    assert len(g) == 0 and g.releases() == []
    assert not path.exists()
    with pytest.raises(GraphError, match=r": is a directory$"):
        ReleaseGraph.load(tmp_path)


def test_failed_edit_and_failed_write_keep_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "graph.json"
    branchy_graph().save(path)
    os.chmod(path, 0o640)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), ReleaseGraph.edit(path) as g:
        g.add_release("3.0.0", [], ["2.0.0"])
        raise RuntimeError("the recorder failed half-way")
    assert path.read_bytes() == before

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", boom)
    with (
        pytest.raises(GraphError, match="cannot write: No space left on device"),
        ReleaseGraph.edit(path) as g,
    ):
        g.add_release("3.0.0", [], ["2.0.0"])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json", "graph.json.lock"]

    with ReleaseGraph.edit(path) as g:
        g.add_release("3.0.0", [], ["2.0.0"], recorded_at=T0)
    assert "3.0.0" in ReleaseGraph.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # permissions survive the replace
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json", "graph.json.lock"]


def _record_worker(path: str, i: int) -> None:
    with ReleaseGraph.edit(path) as g:
        time.sleep(0.02)  # widen the load-modify-save window
        nodes = {**BASE_NODES, f"LIBVIRT_1.{i}.0": [f"virWorker{i}"]}
        g.add_release(f"1.{i}.0", [libvirt(f"1.{i}.0", nodes)], ["1.0.0"], recorded_at=T0)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    with ReleaseGraph.edit(path) as g:
        g.add_release("1.0.0", [libvirt("1.0.0", BASE_NODES)], recorded_at=T0)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_record_worker, args=(str(path), i)) for i in range(1, 7)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    g = ReleaseGraph.load(path)
    assert g.releases() == ["1.0.0"] + [f"1.{i}.0" for i in range(1, 7)]
    for i in range(1, 7):
        assert [x.release for x in g.introduced(f"virWorker{i}")] == [f"1.{i}.0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json", "graph.json.lock"]


# --------------------------------------------------------------------------- export


def test_dot_graphml_and_json_exports() -> None:
    g = branchy_graph()
    dot = g.to_dot()
    assert dot.startswith("digraph releases {") and dot.endswith("}\n")
    edges = set(re.findall(r'"([^"]+)" -> "([^"]+)"', dot))
    assert edges == {
        ("1.0.0", "1.1.0"),
        ("1.1.0", "1.1.1"),
        ("1.1.1", "1.1.2"),
        ("1.1.0", "2.0.0"),
    }
    assert "libvirt.so.0: 4" in dot  # 2.0.0 label carries its public symbol count
    parsed = nx.parse_graphml(g.to_graphml())
    assert set(parsed.edges()) == edges
    assert parsed.nodes["2.0.0"]["symbols:libvirt.so.0"] == 4
    assert parsed.nodes["1.0.0"]["recorded_at"] == "2025-01-31T12:00:00Z"
    assert g.to_json() == json.loads(g.dumps())


def test_dot_escapes_quotes() -> None:
    g = ReleaseGraph()
    g.add_release('we"ird\\', [], recorded_at=T0)
    assert '"we\\"ird\\\\"' in g.to_dot()


def test_plot_writes_png_and_svg(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from elfaudit.render.plot import plot_release_graph

    g = synthetic_graph(40, branch_every=6, branch_length=2)
    png, svg = tmp_path / "g.png", tmp_path / "g.svg"
    plot_release_graph(g, str(png))
    plot_release_graph(g, str(svg), title="demo")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert "<svg" in text and "demo" in text
    plot_release_graph(g, str(tmp_path / "again.svg"), title="demo")
    assert (tmp_path / "again.svg").read_text() == text  # deterministic output
    with pytest.raises(GraphError, match=r"\.svg or \.png"):
        plot_release_graph(g, str(tmp_path / "g.pdf"))
    with pytest.raises(GraphError, match="empty"):
        plot_release_graph(ReleaseGraph(), str(tmp_path / "e.png"))


# --------------------------------------------------------------------------- scale


def test_synthetic_graph_shape_and_storage(tmp_path: Path) -> None:
    g = synthetic_graph(200)
    assert len(g) == 200
    assert len(g.heads()) > 5  # maintenance branches
    assert g.library_names() == [
        "libvirt-admin.so.0",
        "libvirt-lxc.so.0",
        "libvirt-qemu.so.0",
        "libvirt.so.0",
    ]
    main_tip = max(g.heads(), key=lambda r: len(g.ancestors(r)))
    tip = g.record(main_tip, "libvirt.so.0")
    assert tip is not None and 500 <= len(tip.symbols) <= 540
    path = tmp_path / "g.json"
    g.save(path)
    doc = json.loads(path.read_text())
    rows = sum(
        len(block.get("symbols_added", [])) + len(block.get("symbols_removed", []))
        for per in doc["libraries"].values()
        for block in per.values()
    )
    distinct = {s for r in g.releases() for lib in g.release(r).libraries for s in lib.symbols}
    assert rows == len(distinct)  # no symbol row is repeated across releases
    back = ReleaseGraph.load(path)
    assert back.dumps() == path.read_text()
    anc = back.ancestors(main_tip)
    abis = [back.library(a, "libvirt.so.0") for a in anc]
    assert all(a is not None for a in abis)

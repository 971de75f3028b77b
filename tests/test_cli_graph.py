"""The release-graph commands and ``gate`` through the command line.

Exit codes are checked through :func:`elfaudit.cli.main` (which maps every outcome onto
abidiff's bitmask) or through a real ``python -m elfaudit`` process; the libraries are
gcc-built and shaped like libvirt (see tests/test_history.py for the scenarios' logic).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from libvirtlike import N100, N110, N120, SONAME, Nodes, c_source, version_script

from elfaudit.cli import main
from elfaudit.commands import graph as gate_api
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.model.tags import release_key

ROOT = Path(__file__).resolve().parent.parent


SNEAKY: Nodes = {  # virSneaky slipped into LIBVIRT_1.0.0 after 1.0.0 had shipped it
    "LIBVIRT_1.0.0": [*N100["LIBVIRT_1.0.0"], "virSneaky"],
    "LIBVIRT_1.1.0": N110["LIBVIRT_1.1.0"],
}


class Build:
    """A built library and the version script it was built from."""

    def __init__(self, lib: Path, script: Path) -> None:
        self.lib, self.script = str(lib), str(script)


@pytest.fixture
def libvirt(build_lib, tmp_path: Path):
    """``libvirt(nodes, private_release) -> Build`` (private node LIBVIRT_PRIVATE_<release>)."""
    count = 0

    def make(nodes: Nodes, private: str | None) -> Build:
        nonlocal count
        text = version_script(nodes, private)
        lib = build_lib(c_source(nodes, private), text, soname=SONAME)
        count += 1
        script = tmp_path / f"libvirt_public_{count}.syms"
        script.write_text(text)
        return Build(lib, script)

    return make


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``elfaudit ARGS`` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def env_without_graph() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != gate_api.GRAPH_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def spawn(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "elfaudit", *args],
        cwd=cwd,
        env=env_without_graph(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = spawn(*args, cwd=cwd)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def no_env_graph(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $ELFAUDIT_GRAPH, and a cwd without ./elfaudit-graph.json."""
    monkeypatch.delenv(gate_api.GRAPH_ENV, raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def recorded(capsys, graph: Path, build: Build, release: str, *parents: str) -> None:
    extra = [a for p in parents for a in ("--parent", p)]
    rc, _, err = call(
        capsys, "graph", "record", build.lib, "--release", release, "--graph", str(graph), *extra
    )
    assert rc == 0, err


@pytest.fixture
def two(libvirt, capsys, tmp_path: Path, no_env_graph: Path) -> Path:
    """A graph file holding 1.0.0 -> 1.1.0."""
    graph = tmp_path / "g.json"
    recorded(capsys, graph, libvirt(N100, "1.0.0"), "1.0.0")
    recorded(capsys, graph, libvirt(N110, "1.1.0"), "1.1.0")
    return graph


# ---------------------------------------------------------------------------- record / show


def test_record_and_show_round_trip(libvirt, capsys, tmp_path: Path, no_env_graph) -> None:
    graph = tmp_path / "g.json"
    rc, out, err = call(
        capsys,
        "graph",
        "record",
        libvirt(N100, "1.0.0").lib,
        "--release",
        "1.0.0",
        "--graph",
        str(graph),
    )
    assert (rc, out) == (0, "")
    assert err.strip() == f"recorded 1.0.0 as a root in {graph}"
    rc, _, err = call(
        capsys,
        "graph",
        "record",
        libvirt(N110, "1.1.0").lib,
        "--release",
        "1.1.0",
        "--graph",
        str(graph),
        "--note",
        "second",
    )
    assert rc == 0 and "after 1.0.0" in err  # the parent defaults to the newest earlier one

    rc, out, _ = call(capsys, "graph", "show", "--graph", str(graph), "--format", "json")
    assert rc == 0
    rows = json.loads(out)["rows"]
    assert [r["release"] for r in rows] == ["1.0.0", "1.1.0"]
    assert [r["parents"] for r in rows] == ["-", "1.0.0"]
    assert [r["library"] for r in rows] == [SONAME, SONAME]
    assert [r["symbols"] for r in rows] == [2, 3]  # private symbols are not public API
    assert [r["newest_node"] for r in rows] == ["LIBVIRT_1.0.0", "LIBVIRT_1.1.0"]
    assert ReleaseGraph.load(graph).release("1.1.0").note == "second"

    before = graph.read_bytes()
    rc, out, err = call(
        capsys,
        "graph",
        "record",
        libvirt(N120, "1.2.0").lib,
        "--release",
        "1.1.0",
        "--graph",
        str(graph),
    )
    assert rc == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert str(graph) in err and "'1.1.0' is already recorded" in err
    assert graph.read_bytes() == before

    rc, _, err = call(
        capsys,
        "graph",
        "record",
        libvirt(N120, "1.2.0").lib,
        "--release",
        "1.1.0",
        "--graph",
        str(graph),
        "--replace",
    )
    assert rc == 0, err
    g = ReleaseGraph.load(graph)
    assert g.releases() == ["1.0.0", "1.1.0"]
    assert g.parents("1.1.0") == ["1.0.0"]
    rec = g.record("1.1.0", SONAME)
    assert rec is not None and "virDomainDestroy" in rec.symbol_names()


def test_replace_keeps_the_recorded_parents(libvirt, capsys, two: Path) -> None:
    # a distro build recorded off 1.0.0 (as debian/11.3.0-2~bpo12+1 follows 9.0.0 in the
    # shipped graph); re-recording it must not move it under 1.1.0, the default parent
    recorded(capsys, two, libvirt(N110, "1.1.0"), "debian/1.1.0-1~bpo1", "1.0.0")
    lib = libvirt(N110, "1.1.0").lib
    args = ("graph", "record", lib, "--release", "debian/1.1.0-1~bpo1", "--graph", str(two))
    rc, _, err = call(capsys, *args, "--replace")
    assert rc == 0 and "after 1.0.0" in err
    assert ReleaseGraph.load(two).parents("debian/1.1.0-1~bpo1") == ["1.0.0"]
    rc, _, err = call(capsys, *args, "--replace", "--parent", "1.1.0")  # unless told
    assert rc == 0 and ReleaseGraph.load(two).parents("debian/1.1.0-1~bpo1") == ["1.1.0"]


def test_record_unknown_parent_and_bad_input(libvirt, capsys, two: Path, tmp_path) -> None:
    before = two.read_bytes()
    rc, _, err = call(
        capsys,
        "graph",
        "record",
        libvirt(N120, "1.2.0").lib,
        "--release",
        "1.2.0",
        "--parent",
        "0.9.0",
        "--graph",
        str(two),
    )
    assert rc == 1 and "unknown parent '0.9.0'" in err and len(err.splitlines()) == 1
    missing = tmp_path / "nope.so"
    rc, _, err = call(
        capsys, "graph", "record", str(missing), "--release", "1.2.0", "--graph", str(two)
    )
    assert rc == 1 and str(missing) in err and len(err.splitlines()) == 1
    rc, _, err = call(capsys, "graph", "record", libvirt(N120, "1.2.0").lib, "--graph", str(two))
    assert rc == 1 and "--release" in err  # a plain .so says nothing about its release
    assert two.read_bytes() == before


def test_concurrent_recorders_all_land(libvirt, tmp_path: Path) -> None:
    graph = tmp_path / "g.json"
    lib = libvirt(N110, "1.1.0").lib
    assert (
        run(
            "graph",
            "record",
            libvirt(N100, "1.0.0").lib,
            "--release",
            "1.0.0",
            "--graph",
            str(graph),
        ).returncode
        == 0
    )
    names = [f"1.1.{i}" for i in range(4)]
    procs = [
        spawn("graph", "record", lib, "--release", n, "--parent", "1.0.0", "--graph", str(graph))
        for n in names
    ]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    assert [rc for _, rc in results] == [0] * len(names), results
    g = ReleaseGraph.load(graph)  # still a valid graph
    assert sorted(g.releases()) == sorted(["1.0.0", *names])
    assert all(g.parents(n) == ["1.0.0"] for n in names)
    assert sorted(g.heads()) == sorted(names)
    assert graph.read_text() == g.dumps()


def test_concurrent_first_recordings_into_the_local_graph(libvirt, tmp_path: Path) -> None:
    """Without --graph, the first recorders seed ./elfaudit-graph.json: none may lose."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    lib = libvirt(N120, "1.2.0").lib
    names = [f"99.0.{i}" for i in range(3)]
    procs = [spawn("graph", "record", lib, "--release", n, cwd=cwd) for n in names]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    assert [rc for _, rc in results] == [0] * len(names), results
    local = ReleaseGraph.load(cwd / gate_api.LOCAL_GRAPH)
    shipped = ReleaseGraph.load(gate_api.shipped_graph_path())
    assert set(local.releases()) == set(shipped.releases()) | set(names)


# ---------------------------------------------------------------------------- corrupt graph


GRAPH_COMMANDS = [
    ("graph", "record", "{lib}", "--release", "1.2.0"),
    ("graph", "check", "{lib}", "--release", "1.2.0"),
    ("graph", "show"),
    ("graph", "show", "--format", "json"),
    ("graph", "introduced", "virConnectOpen"),
    ("graph", "export", "--format", "dot"),
    ("graph", "export", "--format", "graphml"),
    ("graph", "export", "--format", "json"),
    ("graph", "plot", "-o", "{tmp}/p.png"),
    ("gate", "{lib}", "--script", "{script}", "--release", "1.2.0", "--record"),
]


def test_truncated_graph_fails_every_command_cleanly(
    libvirt, capsys, two: Path, tmp_path: Path
) -> None:
    whole = two.read_bytes()
    broken = tmp_path / "broken.json"
    broken.write_bytes(whole[: len(whole) // 2])
    before = broken.read_bytes()
    build = libvirt(N120, "1.2.0")
    fill = {"lib": build.lib, "script": build.script, "tmp": str(tmp_path)}

    def check(cmd: tuple[str, ...], rc: int, out: str, err: str) -> None:
        assert rc == 1, (cmd, err)
        lines = err.splitlines()
        assert len(lines) == 1, (cmd, err)
        assert f"{broken}:" in lines[0] and ": invalid JSON: " in lines[0], (cmd, err)
        assert "Traceback" not in err and out == ""

    # two real processes (nothing leaks at interpreter exit), the rest in this process
    procs = [
        (cmd, spawn(*(a.format(**fill) for a in cmd), "--graph", str(broken)))
        for cmd in GRAPH_COMMANDS[:2]
    ]
    for cmd in GRAPH_COMMANDS[2:]:
        check(cmd, *call(capsys, *(a.format(**fill) for a in cmd), "--graph", str(broken)))
    for cmd, proc in procs:
        out, err = proc.communicate(timeout=120)
        check(cmd, proc.returncode, out, err)
    assert broken.read_bytes() == before
    assert not (tmp_path / "p.png").exists()


# ---------------------------------------------------------------------------- gate


def gate(capsys, build: Build, release: str, graph: Path, *extra: str) -> tuple[int, str, str]:
    return call(
        capsys,
        "gate",
        build.lib,
        "--script",
        build.script,
        "--release",
        release,
        "--graph",
        str(graph),
        *extra,
    )


def test_gate_clean_rebuild_exits_0_and_records(libvirt, capsys, two: Path) -> None:
    rc, out, err = gate(capsys, libvirt(N110, "1.1.1"), "1.1.1", two, "--record")
    assert rc == 0, out
    assert "recorded 1.1.1 after 1.1.0" in err
    g = ReleaseGraph.load(two)
    assert g.releases() == ["1.0.0", "1.1.0", "1.1.1"] and g.parents("1.1.1") == ["1.1.0"]


def test_gate_new_api_exits_4_and_records(libvirt, capsys, two: Path) -> None:
    rc, out, err = gate(
        capsys, libvirt(N120, "1.2.0"), "1.2.0", two, "--record", "--format", "json"
    )
    assert rc == 4
    doc = json.loads(out)
    assert doc["exit_code"] == 4 and doc["summary"]["error"] == doc["summary"]["warning"] == 0
    assert {f["rule"] for f in doc["findings"]} == {"node-added", "symbol-added"}
    assert doc["extra"]["ancestors"] == ["1.0.0", "1.1.0"]
    assert "recorded 1.2.0" in err
    assert ReleaseGraph.load(two).parents("1.2.0") == ["1.1.0"]


def test_gate_warning_only_still_records(libvirt, capsys, two: Path) -> None:
    # built with last release's private node name: a warning, not an error
    rc, out, err = gate(
        capsys, libvirt(N120, "1.1.0"), "1.2.0", two, "--record", "--format", "json"
    )
    assert rc == 4 and "recorded 1.2.0" in err
    doc = json.loads(out)
    assert [f["rule"] for f in doc["findings"] if f["severity"] == "warning"] == [
        "private-node-misnamed"
    ]
    assert "1.2.0" in ReleaseGraph.load(two)


def sneaky_graph(libvirt, capsys, tmp_path: Path) -> tuple[Path, Build]:
    """1.0.0 -> 1.1.0 where 1.1.0 added virSneaky to the shipped LIBVIRT_1.0.0."""
    graph = tmp_path / "sneaky.json"
    recorded(capsys, graph, libvirt(N100, "1.0.0"), "1.0.0")
    recorded(capsys, graph, libvirt(SNEAKY, "1.1.0"), "1.1.0")
    return graph, libvirt({**SNEAKY, "LIBVIRT_1.2.0": ["virDomainDestroy"]}, "1.2.0")


def test_gate_error_exits_12_and_refuses_to_record(libvirt, capsys, tmp_path, no_env_graph):
    graph, build = sneaky_graph(libvirt, capsys, tmp_path)
    before = graph.read_bytes()
    rc, out, err = gate(capsys, build, "1.2.0", graph, "--record", "--format", "json")
    assert rc == 12
    doc = json.loads(out)
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["symbol"], f["version"]) for f in errors] == [
        ("symbol-added-to-released-node", "virSneaky", "LIBVIRT_1.0.0")
    ]
    assert "not recorded" in err
    assert graph.read_bytes() == before
    # `graph check` gives the same verdict, with the same exit code
    rc, out, _ = call(
        capsys,
        "graph",
        "check",
        build.lib,
        "--release",
        "1.2.0",
        "--graph",
        str(graph),
        "--format",
        "json",
    )
    assert rc == 12
    assert [f for f in json.loads(out)["findings"] if f["severity"] == "error"] == errors


def test_gate_waivers(libvirt, capsys, tmp_path: Path, no_env_graph) -> None:
    graph, build = sneaky_graph(libvirt, capsys, tmp_path)
    waivers = tmp_path / "waivers.json"
    waivers.write_text(
        json.dumps(
            {
                "format": "elfaudit-waivers",
                "format_version": 1,
                "waivers": [
                    {
                        "rule": "symbol-added-to-released-node",
                        "symbol": "virSneaky",
                        "library": SONAME,
                        "reason": "shipped in 1.1.0, cannot move",
                    },
                    {"rule": "symbol-removed", "symbol": "virNoSuchThing", "reason": "stale one"},
                ],
            }
        )
    )
    rc, out, err = gate(
        capsys, build, "1.2.0", graph, "--waivers", str(waivers), "--format", "json", "--record"
    )
    assert rc == 4  # the error bits are gone; info findings remain
    doc = json.loads(out)
    (hit,) = [f for f in doc["findings"] if f["rule"] == "symbol-added-to-released-node"]
    assert hit["waived"] == "shipped in 1.1.0, cannot move"
    assert doc["summary"]["waived"] == 1 and doc["summary"]["error"] == 0
    assert len(doc["unused_waivers"]) == 1 and "virNoSuchThing" in doc["unused_waivers"][0]
    assert "recorded 1.2.0" in err
    rc, out, _ = gate(capsys, build, "1.2.0", graph, "--waivers", str(waivers))
    assert rc == 4 and "virNoSuchThing" in out  # the text report names the stale waiver


def test_gate_exit_codes_of_a_real_process(libvirt, two: Path, tmp_path: Path) -> None:
    build = libvirt(N110, "1.1.1")
    assert (
        run(
            "gate", build.lib, "--script", build.script, "--release", "1.1.1", "--graph", str(two)
        ).returncode
        == 0
    )
    bad = run(
        "gate",
        str(tmp_path / "missing.so"),
        "--script",
        build.script,
        "--release",
        "1.1.1",
        "--graph",
        str(two),
    )
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1
    usage = run("gate", build.lib, "--script", build.script, "--bogus-option")
    assert usage.returncode == 3 and "--bogus-option" in usage.stderr
    assert "Traceback" not in bad.stderr + usage.stderr


def test_gate_without_release_is_bad_input(libvirt, capsys, two: Path) -> None:
    build = libvirt(N110, "1.1.1")
    rc, _, err = call(capsys, "gate", build.lib, "--script", build.script, "--graph", str(two))
    assert rc == 1 and "--release" in err
    rc, _, _ = call(capsys, "graph", "show", "--graph", str(two), "--bogus")
    assert rc == 3


# ---------------------------------------------------------------------------- introduced


def test_introduced_on_a_graph_file(capsys, two: Path) -> None:
    rc, out, _ = call(
        capsys, "graph", "introduced", "virDomainCreate", "--graph", str(two), "--format", "json"
    )
    assert rc == 0
    assert json.loads(out)["rows"] == [
        {
            "symbol": "virDomainCreate",
            "library": SONAME,
            "node": "LIBVIRT_1.1.0",
            "release": "1.1.0",
            "evidence": "introduced",
        }
    ]
    rc, out, _ = call(capsys, "graph", "introduced", "virConnectOpen", "--graph", str(two))
    row = r"virConnectOpen\s+libvirt\.so\.0\s+LIBVIRT_1\.0\.0\s+1\.0\.0"
    assert rc == 0 and re.search(row, out)
    # private symbols are not public API: never "introduced"
    rc, out, _ = call(capsys, "graph", "introduced", "virPrivateHelper", "--graph", str(two))
    assert rc == 1 and "not a public symbol" in out
    rc, _, _ = call(
        capsys,
        "graph",
        "introduced",
        "virDomainCreate",
        "--graph",
        str(two),
        "--library",
        "libvirt-qemu.so.0",
    )
    assert rc == 1


def test_introduced_on_the_shipped_graph(capsys, no_env_graph: Path) -> None:
    shipped = ReleaseGraph.load(gate_api.shipped_graph_path())
    rc, out, _ = call(capsys, "graph", "introduced", "virNetworkGetMetadata", "--format", "json")
    assert rc == 0
    rows = json.loads(out)["rows"]
    assert rows, out
    assert {r["node"] for r in rows} == {"LIBVIRT_9.7.0"}
    assert {r["library"] for r in rows} == {SONAME}
    assert "11.3.0" in {r["release"] for r in rows}
    for r in rows:  # each reported release has it, and none of its ancestors does
        rec = shipped.record(r["release"], SONAME)
        assert rec is not None and "virNetworkGetMetadata" in rec.symbol_names()
        for anc in shipped.ancestors(r["release"]):
            before = shipped.record(anc, SONAME)
            assert before is None or "virNetworkGetMetadata" not in before.symbol_names()
    # every release that has the symbol descends from (or is) one of the reported ones
    firsts = {r["release"] for r in rows}
    for rel in shipped.releases():
        rec = shipped.record(rel, SONAME)
        if rec is not None and "virNetworkGetMetadata" in rec.symbol_names():
            assert rel in firsts or firsts & set(shipped.ancestors(rel))
    assert not Path(gate_api.LOCAL_GRAPH).exists()  # reading never creates the local graph


# ---------------------------------------------------------------------------- show


def test_show_text_on_the_shipped_graph(capsys, no_env_graph: Path) -> None:
    shipped = ReleaseGraph.load(gate_api.shipped_graph_path())
    rc, out, _ = call(capsys, "graph", "show")
    assert rc == 0
    lines = out.splitlines()
    assert gate_api.shipped_graph_path() in lines[0] and f"{len(shipped)} releases" in lines[0]
    rows = lines[3 : next(i for i, ln in enumerate(lines) if ln.startswith("heads:"))]
    first_col = [ln.split()[0] for ln in rows if ln]
    for rel in shipped.releases():
        assert rel in first_col
    # rows come in release order
    order = {r: i for i, r in enumerate(shipped.releases())}
    assert [order[r] for r in first_col] == sorted(order[r] for r in first_col)
    tail = lines[len(rows) + 3 :]
    assert tail[0] == f"heads: {', '.join(shipped.heads())}"
    # then the section facts of each release recorded from its package set
    recorded = [r for r in shipped.releases() if shipped.release(r).sections]
    assert [ln.split(" (items)")[0] for ln in tail[1:]] == [
        f"section facts of {r}" for r in recorded
    ]
    # one row per (release, library)
    assert len(first_col) == sum(len(shipped.release(r).libraries) for r in shipped.releases())


# ---------------------------------------------------------------------------- export, plot


def test_export_formats_parse_back(capsys, libvirt, two: Path, tmp_path: Path) -> None:
    recorded(capsys, two, libvirt(N110, "1.1.1"), "1.1.1", "1.1.0")
    recorded(capsys, two, libvirt(N120, "1.2.0"), "1.2.0", "1.1.0")
    g = ReleaseGraph.load(two)
    edges = {(p, r) for r in g.releases() for p in g.parents(r)}
    counts = {r: len(g.record(r, SONAME).symbols) for r in g.releases()}  # type: ignore[union-attr]

    rc, dot, _ = call(capsys, "graph", "export", "--graph", str(two), "--format", "dot")
    assert rc == 0
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert set(re.findall(r'^\s*"([^"]+)"\s*->\s*"([^"]+)"\s*;', dot, re.M)) == edges
    labels = dict(re.findall(r'^\s*"([^"]+)"\s*\[label="([^"]*)"\]', dot, re.M))
    assert set(labels) == set(g.releases())
    for rel, label in labels.items():
        assert f"{SONAME}: {counts[rel]}" in label

    rc, graphml, _ = call(capsys, "graph", "export", "--graph", str(two), "--format", "graphml")
    assert rc == 0
    out = tmp_path / "x.graphml"
    rc, _, _ = call(
        capsys, "graph", "export", "--graph", str(two), "--format", "graphml", "-o", str(out)
    )
    assert rc == 0 and out.read_text() == graphml
    parsed = nx.read_graphml(out)
    assert set(parsed.nodes) == set(g.releases())
    assert set(parsed.edges) == edges
    assert {n: parsed.nodes[n][f"symbols:{SONAME}"] for n in parsed.nodes} == counts

    rc, text, _ = call(capsys, "graph", "export", "--graph", str(two), "--format", "json")
    assert rc == 0
    back = ReleaseGraph.from_json(json.loads(text))
    assert back.releases() == g.releases()
    assert back.dumps() == text == two.read_text()


def test_plot_png_and_svg(capsys, libvirt, two: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    recorded(capsys, two, libvirt(N110, "1.1.1"), "1.1.1", "1.1.0")
    recorded(capsys, two, libvirt(N120, "1.2.0"), "1.2.0", "1.1.0")
    png, svg = tmp_path / "g.png", tmp_path / "g.svg"
    rc, _, err = call(capsys, "graph", "plot", "--graph", str(two), "-o", str(png))
    assert rc == 0 and str(png) in err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc, _, _ = call(
        capsys, "graph", "plot", "--graph", str(two), "-o", str(svg), "--title", "two branches"
    )
    assert rc == 0
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = svg.read_text()
    for rel in ("1.0.0", "1.1.0", "1.1.1", "1.2.0", "two branches", SONAME):
        assert rel in text  # matplotlib keeps the text as comments beside the glyphs

    rc, _, err = call(capsys, "graph", "plot", "--graph", str(two), "-o", str(tmp_path / "g.jpg"))
    assert rc == 1 and "g.jpg" in err and not (tmp_path / "g.jpg").exists()


def test_plot_the_shipped_graph(capsys, no_env_graph: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "shipped.png"
    rc, _, _ = call(capsys, "graph", "plot", "-o", str(png))
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image  # matplotlib depends on pillow

    with Image.open(png) as im:
        width, height = im.size
    assert width >= 600 and height >= 400


# ---------------------------------------------------------------------------- default graph


def test_record_without_graph_seeds_the_local_file(
    libvirt, capsys, no_env_graph: Path, monkeypatch, tmp_path: Path
) -> None:
    shipped = ReleaseGraph.load(gate_api.shipped_graph_path())
    shipped_bytes = Path(gate_api.shipped_graph_path()).read_bytes()
    build = libvirt(N120, "1.2.0")
    local = no_env_graph / gate_api.LOCAL_GRAPH
    # a recording that fails leaves nothing behind (the seeding happens under the lock,
    # with the recording, so concurrent first recorders cannot clobber each other)
    rc, _, err = call(
        capsys, "graph", "record", build.lib, "--release", "99.0.0", "--parent", "0.0.1"
    )
    assert rc == 1 and "unknown parent '0.0.1'" in err
    assert not local.exists()
    rc, _, err = call(capsys, "graph", "record", build.lib, "--release", "99.0.0")
    assert rc == 0, err
    newest = max((r for r in shipped.releases() if "/" not in r), key=release_key)
    assert f"in {gate_api.LOCAL_GRAPH}" in err
    g = ReleaseGraph.load(local)
    assert set(g.releases()) == set(shipped.releases()) | {"99.0.0"}
    assert g.parents("99.0.0") == [newest]
    for rel in shipped.releases():  # the history carried over, unchanged
        assert g.release(rel).libraries == shipped.release(rel).libraries
    assert Path(gate_api.shipped_graph_path()).read_bytes() == shipped_bytes

    # reading commands now use the local file
    rc, out, _ = call(capsys, "graph", "show", "--format", "json")
    assert "99.0.0" in {r["release"] for r in json.loads(out)["rows"]}
    # $ELFAUDIT_GRAPH beats the local file, --graph beats both
    env_graph = tmp_path / "env.json"
    monkeypatch.setenv(gate_api.GRAPH_ENV, str(env_graph))
    rc, _, err = call(capsys, "graph", "record", build.lib, "--release", "1.2.0")
    assert rc == 0 and str(env_graph) in err
    assert ReleaseGraph.load(env_graph).releases() == ["1.2.0"]  # not seeded
    assert "1.2.0" not in ReleaseGraph.load(local)
    rc, out, _ = call(capsys, "graph", "show", "--format", "json")
    assert [r["release"] for r in json.loads(out)["rows"]] == ["1.2.0"]
    rc, out, _ = call(capsys, "graph", "show", "--format", "json", "--graph", str(local))
    assert "99.0.0" in {r["release"] for r in json.loads(out)["rows"]}


@pytest.mark.real
def test_graph_check_of_a_package_missing_a_library(tmp_path: Path) -> None:
    """A whole build (tree or package) lacking a library its parent shipped: library-removed."""
    import shutil

    import realdebs

    libs = realdebs.libraries("sid")
    if not libs:
        pytest.skip("sid's libvirt0 is not available")
    tree = tmp_path / "usr" / "lib"
    tree.mkdir(parents=True)
    for soname, path in libs.items():
        if soname != "libvirt-lxc.so.0":
            shutil.copyfile(path, tree / soname)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "elfaudit",
            "graph",
            "check",
            str(tmp_path),
            "--release",
            "99.0.0",
            "--parent",
            "12.8.0",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "ELFAUDIT_GRAPH"},
    )
    doc = json.loads(proc.stdout)
    gone = [f for f in doc["findings"] if f["rule"] == "library-removed"]
    assert [f["library"] for f in gone] == ["libvirt-lxc.so.0"]
    assert proc.returncode & 8


def test_introduced_from_a_script_and_from_a_package(shared_dir: Path) -> None:
    """Without the graph: the node chain of a script or binary says when, corrected by the
    profile's record of symbols added late to an already-shipped node."""
    script = shared_dir / "reference" / "libvirt-syms" / "v9.6.0" / "libvirt_public.syms"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "elfaudit", "graph", "introduced", *args, "--format", "json"],
            capture_output=True,
            text=True,
        )

    proc = run("virDomainSetVcpu", "--from", str(script), "--library", "libvirt.so.0")
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)["rows"]
    assert (row["node"], row["release"]) == ("LIBVIRT_3.1.0", "3.1.0")
    proc = run("virDomainSetBlockThreshold", "--from", str(script), "--library", "libvirt.so.0")
    [row] = json.loads(proc.stdout)["rows"]
    assert (row["node"], row["release"]) == ("LIBVIRT_3.1.0", "3.2.0")
    assert "late" in row["evidence"]
    proc = run("virNoSuchThing", "--from", str(script))
    assert proc.returncode == 1

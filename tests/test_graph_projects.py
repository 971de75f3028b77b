"""Issues 10 and 11 of the release graph: graphs per project, the main line as default
parent, "first recorded" vs "introduced", and work linear in the number of releases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from realdebs import require
from synthetic_graph import synthetic_graph

from elfaudit.base.errors import InputError
from elfaudit.cli import main
from elfaudit.commands import graph as graph_api
from elfaudit.graph import judge
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.graph.judge import default_parents, graph_summary, is_main_line

SHIPPED = graph_api.shipped_graph_path()
SYSTEMD = Path(__file__).resolve().parents[1] / ".cache" / "corpus" / "bookworm" / "debs"


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


@pytest.fixture
def empty_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv(graph_api.GRAPH_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def systemd_deb() -> Path:
    debs = sorted(SYSTEMD.glob("bookworm/amd64/libsystemd0_*_amd64.deb"))
    if not debs:
        pytest.skip(f"no libsystemd0 .deb under {SYSTEMD} (scripts/corpus.py fetches it)")
    return debs[0]


# ------------------------------------------------------------------ graphs per project


def test_shipped_graph_serves_libvirt_only() -> None:
    assert graph_api.shipped_serves(["libvirt.so.0"])
    assert graph_api.shipped_serves(["libvirt-admin.so.0", "libfoo.so.1"])
    assert not graph_api.shipped_serves(["libsystemd.so.0", None])


def test_another_project_starts_its_own_graph(capsys, empty_cwd: Path) -> None:
    deb = systemd_deb()
    rc, out, err = call(capsys, "graph", "check", str(deb))
    assert rc == 1, out + err
    assert "no release graph for libsystemd.so.0" in err and "graph record" in err
    rc, _, err = call(capsys, "graph", "record", str(deb))
    assert rc == 0, err
    assert "after nothing" in err or "12.8.0" not in err
    doc = json.loads((empty_cwd / graph_api.LOCAL_GRAPH).read_text())
    assert list(doc["releases"]) == ["252.39"]  # not seeded from libvirt's history
    assert list(doc["libraries"]) == ["libsystemd.so.0"]
    # now it has a graph of its own: judged against it, no libvirt library "missing"
    rc, out, err = call(capsys, "graph", "check", str(deb), "--release", "253.0")
    assert rc == 0, out + err
    assert "libvirt" not in out


def test_gate_of_a_first_release_has_an_empty_history(empty_cwd: Path) -> None:
    deb = systemd_deb()
    with pytest.raises(InputError):
        graph_api.run_graph_check([str(deb)], release=None, parents=None, graph_path=None)
    report = graph_api.run_graph_check(
        [str(deb)], release=None, parents=None, graph_path=None, first_release_ok=True
    )
    assert report.findings == () and report.extra["history"] == "none"


def test_libvirt_still_seeds_from_the_shipped_graph(capsys, empty_cwd: Path) -> None:
    deb = require("sid")
    rc, _, err = call(capsys, "graph", "record", str(deb), "--release", "12.9.0")
    assert rc == 0, err
    doc = json.loads((empty_cwd / graph_api.LOCAL_GRAPH).read_text())
    assert "12.8.0" in doc["releases"]
    assert doc["releases"]["12.9.0"]["parents"] == ["12.8.0"]


# ------------------------------------------------------------------ the main line


def test_main_line_names() -> None:
    assert is_main_line("12.8.0") and is_main_line("v1.2")
    for name in ("debian/11.3.0-2~bpo12+1", "11.3.0-2~bpo12+1", "9.0.0-4+deb12u2", "x"):
        assert not is_main_line(name)


def test_default_parent_is_the_main_line_not_a_backport() -> None:
    g = ReleaseGraph.load(SHIPPED)
    bpo = g.release("debian/11.3.0-2~bpo12+1")
    # the same backport recorded under its Debian version, no "debian/" prefix
    g.add_records("11.3.0-2~bpo12+1", bpo.libraries, ["9.0.0"])
    g.add_records("11.3.0-3+deb13u3", g.release("11.3.0").libraries, ["11.3.0"])
    g.remove_release("12.8.0")
    assert default_parents(g, "12.8.0") == ["11.3.0"]
    assert default_parents(g, "11.3.0-9") == ["11.3.0"]  # a distro build: its upstream
    assert default_parents(g, "8.0.0") == ["7.0.0"]


def test_record_of_real_sid_goes_after_trixie(capsys, tmp_path: Path) -> None:
    """The shipped graph without 12.8.0, then sid's real libvirt0 recorded with no --parent."""
    deb = require("sid")
    g = ReleaseGraph.load(SHIPPED)
    bpo = g.release("debian/11.3.0-2~bpo12+1")
    g.add_records("11.3.0-2~bpo12+1", bpo.libraries, ["9.0.0"])
    g.remove_release("12.8.0")
    path = tmp_path / "g.json"
    g.save(path)
    rc, _, err = call(capsys, "graph", "record", str(deb), "--graph", str(path))
    assert rc == 0, err
    assert ReleaseGraph.load(path).parents("12.8.0") == ["11.3.0"]


# ------------------------------------------------------------------ introduced


def test_introduced_in_a_root_release_says_first_recorded(capsys, tmp_path: Path) -> None:
    deb = require("trixie")
    path = tmp_path / "g.json"
    rc, _, err = call(capsys, "graph", "record", str(deb), "--graph", str(path))
    assert rc == 0, err
    args = ("graph", "introduced", "virDomainGraphicsReload", "--graph", str(path))
    rc, out, _ = call(capsys, *args, "--format", "json")
    assert rc == 0
    (row,) = json.loads(out)["rows"]
    assert row["release"] == "11.3.0"
    assert row["evidence"].startswith("first recorded")
    assert "LIBVIRT_10.2.0 names 10.2.0" in row["evidence"]
    rc, out, _ = call(capsys, *args)
    assert "first recorded" in out and "begins the recorded history" in out


def test_introduced_on_the_shipped_graph_names_the_gap(capsys, empty_cwd: Path) -> None:
    rc, out, _ = call(capsys, "graph", "introduced", "virDomainGraphicsReload", "--format", "json")
    rows = {r["release"]: r["evidence"] for r in json.loads(out)["rows"]}
    # 11.3.0 follows 9.0.0 in the graph: the releases between are not recorded
    assert rows["11.3.0"] == "first recorded; LIBVIRT_10.2.0 names 10.2.0"
    assert rc == 0
    rc, out, _ = call(capsys, "graph", "introduced", "virConnectOpen", "--format", "json")
    assert rc == 0
    (row,) = json.loads(out)["rows"]
    assert row["release"] == "7.0.0" and row["evidence"].startswith("first recorded")


# ------------------------------------------------------------------ linear work


class _Counter:
    def __init__(self) -> None:
        self.symbols = 0
        self.calls = 0


def _summary_work(releases: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    g = ReleaseGraph.from_json(synthetic_graph(releases).to_json())  # as loaded from a file
    counter = _Counter()
    real = judge.compare_abi

    def counting(old, new, prof, **kw):
        counter.calls += 1
        counter.symbols += len(old.symbols) + len(new.symbols)
        return real(old, new, prof, **kw)

    monkeypatch.setattr(judge, "compare_abi", counting)
    rows = graph_summary(g)
    assert len(rows) == releases * 4
    return counter.calls, counter.symbols


def test_graph_show_compares_what_changed_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Symbols handed to comparisons grow with the releases, not releases x library size
    (before: every edge compared both whole libraries, ~1,000 symbols per row)."""
    calls_small, syms_small = _summary_work(100, monkeypatch)
    calls_big, syms_big = _summary_work(400, monkeypatch)
    assert calls_big <= 5 * max(calls_small, 1)
    assert syms_big <= 5 * max(syms_small, 1)
    assert syms_big < 400 * 4 * 10  # a few symbols per row, not the library


def test_graph_check_indexes_each_distinct_release_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from elfaudit.graph.records import LibraryRecord

    built = 0
    real = LibraryRecord.node_symbols

    def counting(self):
        nonlocal built
        built += 1
        return real(self)

    monkeypatch.setattr(LibraryRecord, "node_symbols", counting)
    for n in (100, 400):
        full = synthetic_graph(n + 1)
        newest = max(full.heads(), key=lambda r: tuple(map(int, r.split("."))))
        libs = [a for so in full.library_names() if (a := full.library(newest, so)) is not None]
        full.remove_release(newest)
        g = ReleaseGraph.from_json(full.to_json())
        built = 0
        judge.graph_check(g, libs, newest)
        distinct = {
            (id(rec.symbols), id(rec.nodes)) for r in g.releases() for rec in g.release(r).libraries
        }
        assert built <= len(distinct) < n * 4  # unchanged releases share one index

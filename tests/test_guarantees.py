"""``elfaudit guarantees``: two releases judged per section of libvirt's support page.

gcc-built libvirt-named libraries in root trees and .debs, with fake schema and configuration
files for the routing to the section checkers (stand-ins replace the real checkers, so these
tests do not depend on them); the real Debian package sets of bookworm and sid when
``scripts/fetch_debian.py --set full`` cached them (skipped with a reason otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import BuildLib, make_deb

from elfaudit.base.errors import InputError
from elfaudit.commands.guarantees import run_guarantees
from elfaudit.model.guarantees import SECTIONS, ReleaseFiles, SectionResult, SectionStatus
from elfaudit.model.report import Severity, exit_code
from elfaudit.policy.rules import Rule
from elfaudit.readers.release_files import library_soname, read_release, wanted
from elfaudit.render import load_schema, render_report

LIBDIR = "usr/lib/x86_64-linux-gnu"
ROOT = Path(__file__).resolve().parent.parent

OLD_C = "int virConnectOpen(void) { return 1; }\nint virConnectClose(void) { return 0; }\n"
OLD_MAP = "LIBVIRT_0.0.3 { global: virConnectOpen; virConnectClose; local: *; };\n"
NEW_C = OLD_C + "int virConnectNew(void) { return 2; }\n"
NEW_MAP = OLD_MAP + "LIBVIRT_1.0.0 { global: virConnectNew; } LIBVIRT_0.0.3;\n"
BROKEN_C = "int virConnectOpen(void) { return 1; }\n"
BROKEN_MAP = "LIBVIRT_0.0.3 { global: virConnectOpen; local: *; };\n"


def _tree(root: Path, lib: Path, *, schemas: bool = True, config: bool = True) -> Path:
    (root / LIBDIR).mkdir(parents=True)
    shutil.copy(lib, root / LIBDIR / "libvirt.so.0.1.0")
    (root / LIBDIR / "libvirt.so.0").symlink_to("libvirt.so.0.1.0")
    if schemas:
        d = root / "usr/share/libvirt/schemas"
        d.mkdir(parents=True)
        (d / "domain.rng").write_text("<grammar xmlns='http://relaxng.org/ns/structure/1.0'/>\n")
    if config:
        (root / "etc/libvirt").mkdir(parents=True)
        (root / "etc/libvirt/libvirtd.conf").write_text("#listen_tls = 0\n")
        d = root / "usr/share/augeas/lenses"
        (d / "tests").mkdir(parents=True)
        (d / "libvirtd.aug").write_text("module Libvirtd =\n")
        (d / "tests/test_libvirtd.aug").write_text("module Test_libvirtd =\n")
    return root


@pytest.fixture
def trees(tmp_path: Path, build_lib: BuildLib) -> tuple[Path, Path]:
    old = build_lib(OLD_C, OLD_MAP, soname="libvirt.so.0")
    new = build_lib(NEW_C, NEW_MAP, soname="libvirt.so.0")
    return _tree(tmp_path / "old", old), _tree(tmp_path / "new", new)


@pytest.fixture
def checkers(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[ReleaseFiles, ReleaseFiles]]]:
    """Stand-ins for the schema and config checkers: record their inputs, report one raw
    finding each (the schema one an error, to see it weighed and counted)."""
    calls: dict[str, list[tuple[ReleaseFiles, ReleaseFiles]]] = {"schemas": [], "config": []}

    def check_schemas(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
        calls["schemas"].append((old, new))
        f = Rule.API_FUNCTION_REMOVED.finding("domain.rng", None, "stand-in: element removed")
        return SectionResult(
            "xmlschema", SectionStatus.CHECKED, evidence={"schemas": 1}, findings=(f,)
        )

    def check_config_files(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
        calls["config"].append((old, new))
        return SectionResult("configfiles", SectionStatus.CHECKED, evidence={"files": 1})

    schemas = types.ModuleType("elfaudit.analysis.schemas")
    schemas.check_schemas = check_schemas  # type: ignore[attr-defined]
    config = types.ModuleType("elfaudit.analysis.config_files")
    config.check_config_files = check_config_files  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "elfaudit.analysis.schemas", schemas)
    monkeypatch.setitem(sys.modules, "elfaudit.analysis.config_files", config)
    return calls


def _by_section(report: object) -> dict[str, SectionResult]:
    return {s.section: s for s in report.guarantees}  # type: ignore[attr-defined]


def test_wanted_paths() -> None:
    for path in (
        "usr/share/libvirt/schemas/domain.rng",
        "etc/libvirt/qemu.conf",
        "etc/libvirt/nwfilter/x.conf",
        "usr/share/augeas/lenses/libvirtd.aug",
        "usr/share/augeas/lenses/tests/test_libvirtd.aug",
        "usr/share/systemtap/tapset/libvirt_functions.stp",
        f"{LIBDIR}/wireshark/plugins/4.6/epan/libvirt.so",
        "usr/bin/virsh",
        "usr/share/man/man1/virsh.1.gz",
        "usr/share/libvirt/api/libvirt-api.xml",
        f"{LIBDIR}/libvirt-qemu.so.0.12008.0",
        f"{LIBDIR}/libvirt/connection-driver/libvirt_driver_qemu.so",
    ):
        assert wanted(path), path
    for path in (
        "usr/share/doc/libvirt0/changelog.gz",
        "usr/bin/virsh2",
        "etc/libvirt/qemu.conf.bak",
        f"{LIBDIR}/libvirt.so",
        "usr/share/libvirt/schemas/sub/x.txt",
    ):
        assert not wanted(path), path
    assert library_soname(f"{LIBDIR}/libvirt-admin.so.0.9000.0") == "libvirt-admin.so.0"
    assert library_soname("usr/bin/virsh") is None


def test_tree_sections_route_to_their_checkers(
    trees: tuple[Path, Path], checkers: dict[str, list[tuple[ReleaseFiles, ReleaseFiles]]]
) -> None:
    old, new = trees
    report = run_guarantees(str(old), str(new))
    sec = _by_section(report)
    assert list(sec) == list(SECTIONS)
    assert sec["publicAPI"].status is SectionStatus.CHECKED
    assert sec["publicAPI"].evidence["new"]["libraries"]["libvirt.so.0"]["nodes"] == 2  # type: ignore[index]
    assert {f.rule for f in sec["publicAPI"].findings} >= {"symbol-added", "node-added"}
    assert sec["hvAPI"].status is SectionStatus.NOT_CHECKED
    assert "libvirt-qemu.so.0" in sec["hvAPI"].reason
    # the checkers got each side's files, by path inside the packages
    ((o, n),) = checkers["schemas"]
    assert set(o.under("usr/share/libvirt/schemas/")) == {"usr/share/libvirt/schemas/domain.rng"}
    assert n.label == str(new)
    ((o, _),) = checkers["config"]
    assert "etc/libvirt/libvirtd.conf" in o.files
    assert "usr/share/augeas/lenses/tests/test_libvirtd.aug" in o.files
    # the schema finding was weighed once (libvirt's profile) and is in its section only
    (f,) = sec["xmlschema"].findings
    assert f.weighed and f.severity is Severity.ERROR
    assert f in report.findings
    assert sec["hvdrivers"].status is SectionStatus.NO_PROMISE
    assert sec["apierrors"].status is SectionStatus.NOT_CHECKED
    assert "libvirt-api.xml in OLD or NEW" in sec["apierrors"].reason
    assert sec["rpcproto"].status is SectionStatus.NOT_CHECKED
    assert "tapset" in sec["rpcproto"].reason and "OLD or NEW" in sec["rpcproto"].reason
    assert sec["virsh"].status is SectionStatus.NOT_CHECKED
    assert "no /usr/bin/virsh in OLD or NEW" in sec["virsh"].reason
    assert exit_code(report) == 12


def test_incompatible_library_is_an_error_in_public_api(
    tmp_path: Path, build_lib: BuildLib
) -> None:
    old = _tree(tmp_path / "old", build_lib(OLD_C, OLD_MAP, soname="libvirt.so.0"))
    new = _tree(tmp_path / "new", build_lib(BROKEN_C, BROKEN_MAP, soname="libvirt.so.0"))
    report = run_guarantees(str(old), str(new))
    sec = _by_section(report)
    errors = [f for f in sec["publicAPI"].findings if f.severity is Severity.ERROR]
    assert [f.rule for f in errors] == ["symbol-removed"]
    assert errors[0].symbol == "virConnectClose"
    assert exit_code(report) == 12


def test_a_side_without_schemas_is_not_checked(
    tmp_path: Path,
    build_lib: BuildLib,
    checkers: dict[str, list[tuple[ReleaseFiles, ReleaseFiles]]],
) -> None:
    lib = build_lib(OLD_C, OLD_MAP, soname="libvirt.so.0")
    old = _tree(tmp_path / "old", lib)
    new = _tree(tmp_path / "new", lib, schemas=False, config=False)
    sec = _by_section(run_guarantees(str(old), str(new)))
    assert sec["xmlschema"].status is SectionStatus.NOT_CHECKED
    assert sec["xmlschema"].reason.startswith("no XML schemas") and "NEW" in sec["xmlschema"].reason
    assert sec["configfiles"].status is SectionStatus.NOT_CHECKED
    assert not checkers["schemas"] and not checkers["config"]
    assert sec["xmlschema"].evidence["old"] == {"/usr/share/libvirt/schemas/domain.rng": str(old)}


def test_checker_not_implemented_or_absent_is_not_checked(
    trees: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def check_schemas(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
        raise NotImplementedError("schema model pending")

    schemas = types.ModuleType("elfaudit.analysis.schemas")
    schemas.check_schemas = check_schemas  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "elfaudit.analysis.schemas", schemas)
    monkeypatch.setitem(sys.modules, "elfaudit.analysis.config_files", types.ModuleType("x"))
    sec = _by_section(run_guarantees(*map(str, trees)))
    assert sec["xmlschema"].status is SectionStatus.NOT_CHECKED
    assert "schema model pending" in sec["xmlschema"].reason
    assert sec["configfiles"].status is SectionStatus.NOT_CHECKED
    assert "not available" in sec["configfiles"].reason
    assert sec["configfiles"].evidence  # the files found, even so


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ELFAUDIT_GRAPH", "ELFAUDIT_DEBUG")}
    env["COLUMNS"] = "160"
    return subprocess.run(
        [sys.executable, "-m", "elfaudit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def test_directory_of_packages_every_format(tmp_path: Path, build_lib: BuildLib) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    sides = {}
    for side, (c, m) in {"old": (OLD_C, OLD_MAP), "new": (NEW_C, NEW_MAP)}.items():
        lib = build_lib(c, m, soname="libvirt.so.0")
        full = _tree(tmp_path / f"{side}-tree", lib)
        d = tmp_path / side
        d.mkdir()
        # the library in one package, the schemas and config in another
        libs_only = tmp_path / f"{side}-libs"
        (libs_only / LIBDIR).mkdir(parents=True)
        for p in (full / LIBDIR).iterdir():
            shutil.copy(p, libs_only / LIBDIR / p.name, follow_symlinks=False)
        shutil.rmtree(full / LIBDIR)
        make_deb(d, libs_only, "libvirt0", "1.0-1" if side == "old" else "2.0-1")
        make_deb(d, full, "libvirt-common", "1.0-1" if side == "old" else "2.0-1")
        sides[side] = d
    release = read_release(str(sides["new"]))
    assert release.kind == "packages"
    assert release.files.origin["usr/share/libvirt/schemas/domain.rng"].startswith(
        "libvirt-common_"
    )
    schema = load_schema("report")
    import jsonschema

    done = _run(["guarantees", str(sides["old"]), str(sides["new"]), "--format", "json"], tmp_path)
    assert done.returncode in (0, 4, 12), done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema)
    assert [g["section"] for g in doc["guarantees"]] == list(SECTIONS)
    public = doc["guarantees"][0]
    assert public["status"] == "checked"
    assert public["evidence"]["new"]["libraries"]["libvirt.so.0"]["file"].startswith("libvirt0_")
    assert doc["exit_code"] == done.returncode
    assert doc["extra"]["packages"]["new"] == [
        "libvirt-common_2.0-1_amd64.deb",
        "libvirt0_2.0-1_amd64.deb",
    ]
    for fmt, marker in (
        ("text", "support page sections:"),
        ("markdown", "| <code>publicAPI</code> | checked"),
        ("sarif", '"guarantees"'),
        ("junit", 'classname="elfaudit.guarantees.sections"'),
    ):
        out = _run(["guarantees", str(sides["old"]), str(sides["new"]), "--format", fmt], tmp_path)
        assert out.returncode == done.returncode, out.stderr
        assert marker in out.stdout, fmt
    # a single package on each side
    one = _run(
        [
            "guarantees",
            str(next(sides["old"].glob("libvirt0_*"))),
            str(next(sides["new"].glob("libvirt0_*"))),
        ],
        tmp_path,
    )
    assert one.returncode == 4, one.stderr
    assert "xmlschema    not-checked" in one.stdout


@pytest.mark.parametrize("case", ["missing", "empty", "unrelated", "two-versions"])
def test_bad_input_is_one_line_exit_1(case: str, tmp_path: Path, trees: tuple[Path, Path]) -> None:
    old, _ = trees
    bad = tmp_path / "bad"
    if case != "missing":
        bad.mkdir()
    if case == "unrelated":
        (bad / "usr/share/doc").mkdir(parents=True)
        (bad / "usr/share/doc/README").write_text("hello\n")
    if case == "two-versions":
        (bad / "libvirt0_1.0-1_amd64.deb").write_bytes(b"!<arch>\n")
        (bad / "libvirt0_2.0-1_amd64.deb").write_bytes(b"!<arch>\n")
    done = _run(["guarantees", str(old), str(bad)], tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not done.stdout
    with pytest.raises(InputError):
        read_release(str(bad))


# --------------------------------------------------------------------------- real packages


def _full_set(suite: str) -> Path:
    """The cached full package set of ``suite`` (amd64), or skip saying how to get it."""
    import realdebs

    return realdebs.full_set(suite)


@pytest.mark.real
def test_real_bookworm_to_sid() -> None:
    old, new = _full_set("bookworm"), _full_set("sid")
    report = run_guarantees(str(old), str(new))
    sec = _by_section(report)
    assert list(sec) == list(SECTIONS)
    for name in ("publicAPI", "hvAPI"):
        s = sec[name]
        assert s.status is SectionStatus.CHECKED, s.reason
        assert not s.reason  # libraries and API XML on both sides
        active_errors = [f for f in s.findings if f.waived is None and f.severity is Severity.ERROR]
        assert not active_errors, active_errors  # compatible bookworm -> sid
    pub = sec["publicAPI"].evidence
    assert set(pub["old"]["libraries"]) == {"libvirt.so.0", "libvirt-admin.so.0"}  # type: ignore[index]
    assert set(pub["new"]["api_descriptions"]) == {"libvirt", "libvirt-admin"}  # type: ignore[index]
    # the schemas moved from libvirt0 (9.0.0) to libvirt-common: found by looking inside
    rel_old, rel_new = read_release(str(old)), read_release(str(new))
    rng = "usr/share/libvirt/schemas/domain.rng"
    assert rel_old.files.origin[rng].startswith("libvirt0_")
    assert rel_new.files.origin[rng].startswith("libvirt-common_")
    assert len(rel_new.files.under("usr/share/libvirt/schemas/")) >= 20
    assert any(p.startswith("etc/libvirt/") for p in rel_new.files.files)
    assert "usr/bin/virsh" in rel_new.files.files
    import importlib.util

    for name, module in (("xmlschema", "schemas"), ("configfiles", "config_files")):
        if importlib.util.find_spec(f"elfaudit.analysis.{module}") is not None:
            assert sec[name].status is SectionStatus.CHECKED, sec[name].reason
    assert sec["hvdrivers"].status is SectionStatus.NO_PROMISE
    assert "libvirt_driver_qemu.so" in sec["hvdrivers"].evidence["new"]  # type: ignore[operator]
    assert not sec["hvdrivers"].findings  # the same ten connection drivers
    api = sec["apierrors"]
    assert api.status is SectionStatus.CHECKED, api.reason
    assert api.evidence["old"]["virErrorDomain"] == api.evidence["new"]["virErrorDomain"] == 74  # type: ignore[index]
    # 9.0.0 -> 12.8.0: four new error numbers, nothing removed or renumbered
    assert sorted(f.symbol or "" for f in api.findings) == [
        "VIR_ERR_AGENT_COMMAND_FAILED",
        "VIR_ERR_AGENT_COMMAND_TIMEOUT",
        "VIR_ERR_INVALID_ENCR_KEY_SECRET",
        "VIR_ERR_NO_NETWORK_METADATA",
    ]
    assert {f.rule for f in api.findings} == {"api-error-code-added"}
    rpc = sec["rpcproto"]
    assert rpc.status is SectionStatus.CHECKED, rpc.reason
    assert not [f for f in rpc.findings if f.severity is Severity.ERROR]  # only additions
    virsh = sec["virsh"]
    assert virsh.status is SectionStatus.CHECKED, virsh.reason
    # 9.0.0 -> 12.8.0: bare words 10.x's parser no longer takes (tests/test_virsh.py)
    active = {f.symbol for f in virsh.findings if f.waived is None and f.severity is Severity.ERROR}
    assert {"attach-disk --targetbus", "migrate --disks-uri"} <= active
    assert not [f for f in virsh.findings if f.rule.endswith("-removed")]
    doc = json.loads(render_report(report, "json"))
    import jsonschema

    jsonschema.validate(doc, load_schema("report"))
    assert exit_code(report) & 1 == 0


def test_evidence_summary_counts_each_kind_beside_scalars() -> None:
    """configfiles' evidence holds counts beside its file and lens maps: the summary counts
    the maps (it said '3 files' for 13 files and 8 lenses)."""
    from elfaudit.render.common import evidence_summary

    files = {f"etc/libvirt/{n}.conf": {"documented": 1} for n in ("a", "b")}
    section = SectionResult(
        "configfiles",
        SectionStatus.CHECKED,
        evidence={"old": {"files": files, "lenses": {"L": {}}, "parameters": 7}, "new": {}},
    )
    assert evidence_summary(section) == "old: 2 files, 1 lenses"  # an empty side says nothing
    scalars = SectionResult(
        "apierrors",
        SectionStatus.CHECKED,
        evidence={"old": {"virErrorNumber": 112, "virErrorDomain": 74}},
    )
    assert evidence_summary(scalars) == "old: virErrorNumber 112, virErrorDomain 74"


# --------------------------------------------------------------------------- apierrors, hvdrivers


def _api_xml(values: dict[str, tuple[str, int]]) -> bytes:
    """A libvirt-api.xml holding ``name -> (enum, number)`` and one unrelated enum value."""
    lines = [
        f"    <enum name='{name}' file='virterror' value='{num}' type='{enum}'/>"
        for name, (enum, num) in values.items()
    ]
    lines.append("    <enum name='VIR_OTHER' file='libvirt-domain' value='7' type='virOther'/>")
    body = "\n".join(lines)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<api name='libvirt'>\n  <symbols>\n"
        f"{body}\n  </symbols>\n</api>\n"
    ).encode()


API_PATH = "usr/share/libvirt/api/libvirt-api.xml"
OLD_ERRORS = {
    "VIR_ERR_OK": ("virErrorNumber", 0),
    "VIR_ERR_INTERNAL_ERROR": ("virErrorNumber", 1),
    "VIR_ERR_NO_MEMORY": ("virErrorNumber", 2),
    "VIR_ERR_NUMBER_LAST": ("virErrorNumber", 3),
    "VIR_FROM_NONE": ("virErrorDomain", 0),
    "VIR_FROM_QEMU": ("virErrorDomain", 1),
    "VIR_FROM_LAST": ("virErrorDomain", 2),
}


def error_code_pair() -> tuple[ReleaseFiles, ReleaseFiles]:
    """OLD -> NEW: VIR_ERR_NO_MEMORY removed, VIR_FROM_QEMU renumbered, VIR_ERR_NEW added,
    both _LAST values grown, the unrelated enum changed (ignored)."""
    new = {
        "VIR_ERR_OK": ("virErrorNumber", 0),
        "VIR_ERR_INTERNAL_ERROR": ("virErrorNumber", 1),
        "VIR_ERR_NEW": ("virErrorNumber", 3),
        "VIR_ERR_NUMBER_LAST": ("virErrorNumber", 4),
        "VIR_FROM_NONE": ("virErrorDomain", 0),
        "VIR_FROM_QEMU": ("virErrorDomain", 5),
        "VIR_FROM_LAST": ("virErrorDomain", 6),
    }
    old_xml = _api_xml(OLD_ERRORS)
    new_xml = _api_xml(new).replace(b"value='7'", b"value='8'")
    return (
        ReleaseFiles("old", {API_PATH: old_xml}, {API_PATH: "libvirt-dev_1_amd64.deb"}),
        ReleaseFiles("new", {API_PATH: new_xml}, {API_PATH: "libvirt-dev_2_amd64.deb"}),
    )


def test_error_codes_removed_renumbered_added() -> None:
    from elfaudit.analysis.api_errors import check_api_errors

    old, new = error_code_pair()
    res = check_api_errors(old, new)
    assert res.status is SectionStatus.CHECKED and not res.reason
    got = {(f.rule, f.symbol) for f in res.findings}
    assert got == {
        ("api-error-code-removed", "VIR_ERR_NO_MEMORY"),
        ("api-error-code-renumbered", "VIR_FROM_QEMU"),
        ("api-error-code-added", "VIR_ERR_NEW"),
    }  # the grown VIR_ERR_NUMBER_LAST / VIR_FROM_LAST and virOther are no findings
    (ren,) = [f for f in res.findings if f.rule == "api-error-code-renumbered"]
    assert "was 1, is 5" in ren.message
    assert res.evidence["old"] == {
        "file": f"/{API_PATH}",
        "package": "libvirt-dev_1_amd64.deb",
        "virErrorNumber": 4,
        "virErrorDomain": 3,
    }
    assert res.evidence["new"]["virErrorNumber"] == 4  # type: ignore[index]
    # the same XML on both sides: checked, nothing found
    same = check_api_errors(old, old)
    assert same.status is SectionStatus.CHECKED and not same.findings
    # one side without the XML: not checked, saying which
    gone = check_api_errors(old, ReleaseFiles("new"))
    assert gone.status is SectionStatus.NOT_CHECKED
    assert gone.reason == f"no /{API_PATH} in NEW"
    assert not gone.findings


def test_error_code_findings_weighed_in_apierrors(tmp_path: Path) -> None:
    """Through the command: removal a warning, renumbering an error, addition info, all in
    the apierrors section."""
    old, new = error_code_pair()
    for side, rf in (("old", old), ("new", new)):
        d = tmp_path / side / "usr/share/libvirt/api"
        d.mkdir(parents=True)
        (d / "libvirt-api.xml").write_bytes(rf.files[API_PATH])
    report = run_guarantees(str(tmp_path / "old"), str(tmp_path / "new"))
    sec = _by_section(report)["apierrors"]
    assert sec.status is SectionStatus.CHECKED
    sev = {f.rule: f.severity for f in sec.findings}
    assert sev == {
        "api-error-code-removed": Severity.WARNING,
        "api-error-code-renumbered": Severity.ERROR,
        "api-error-code-added": Severity.INFO,
    }
    assert all(f.weighed for f in sec.findings)
    assert exit_code(report) == 12  # the renumbering is an error


def driver_pair() -> tuple[ReleaseFiles, ReleaseFiles]:
    d = f"{LIBDIR}/libvirt/connection-driver"
    old = {f"{d}/libvirt_driver_qemu.so": b"", f"{d}/libvirt_driver_vbox.so": b""}
    new = {f"{d}/libvirt_driver_qemu.so": b"", f"{d}/libvirt_driver_ch.so": b""}
    return ReleaseFiles("old", old), ReleaseFiles("new", new)


def test_drivers_added_and_dropped_are_info() -> None:
    from elfaudit.analysis.api_errors import check_drivers

    res = check_drivers(*driver_pair())
    assert res.status is SectionStatus.NO_PROMISE
    assert {(f.rule, f.library) for f in res.findings} == {
        ("driver-added", "libvirt_driver_ch.so"),
        ("driver-dropped", "libvirt_driver_vbox.so"),
    }
    assert all(f.severity is Severity.INFO for f in res.findings)
    assert res.evidence["added"] == ["libvirt_driver_ch.so"]
    assert res.evidence["dropped"] == ["libvirt_driver_vbox.so"]
    assert not check_drivers(driver_pair()[0], driver_pair()[0]).findings


@pytest.mark.real
def test_real_bullseye_to_sid_error_codes() -> None:
    from elfaudit.analysis.api_errors import check_api_errors, check_drivers

    old, new = read_release(str(_full_set("bullseye"))), read_release(str(_full_set("sid")))
    res = check_api_errors(old.files, new.files)
    assert res.status is SectionStatus.CHECKED, res.reason
    # 7.0.0 -> 12.8.0: five new error numbers and VIR_FROM_CH; nothing removed or renumbered
    assert {f.rule for f in res.findings} == {"api-error-code-added"}
    assert "VIR_FROM_CH" in {f.symbol for f in res.findings}
    assert len(res.findings) == 6
    assert not check_drivers(old.files, new.files).findings

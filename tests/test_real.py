"""Real Debian libvirt packages (amd64), every suite of ``data/debian-releases.json``.

* elfaudit's reading of the four libraries equals binutils' (``nm``, ``readelf``) exactly;
* no public symbol is lost from one release to a later one;
* bookworm's binaries conform to libvirt 9.6.0's version scripts (``../shared``), and sid's
  do not, exactly where sid is newer;
* the CLI end to end: ``compare``, ``dump`` + snapshot round trip, ``graph check``.

Packages come from ``realdebs`` (fetched once, cached; skipped loudly when the archive is
unreachable). Suites move: everything is asserted as an invariant or computed from the
binaries, never today's counts or Debian revisions.

The binutils oracle (``binutils_view``, ``assert_matches_binutils``) lives in
``tests/binutils.py``, shared with ``test_elf.py`` and ``test_arch.py``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import realdebs
from binutils import assert_matches_binutils
from weighing import compared

from elfaudit.commands import check as audit
from elfaudit.commands import graph as gate
from elfaudit.model.abi import LibraryABI, Symbol
from elfaudit.model.report import Severity
from elfaudit.model.tags import VersionTag
from elfaudit.policy.profiles import Profile, load_profile
from elfaudit.readers.elf import read_library
from elfaudit.readers.snapshot import read_snapshot
from elfaudit.render import load_schema

SUITES: tuple[str, ...] = tuple(s["suite"] for s in realdebs.releases()["suites"])
UPSTREAM: dict[str, str | None] = {
    s["suite"]: s.get("upstream") for s in realdebs.releases()["suites"]
}
SONAMES = ("libvirt.so.0", "libvirt-qemu.so.0", "libvirt-lxc.so.0", "libvirt-admin.so.0")
SCRIPTS_9_6_0 = Path("reference") / "libvirt-syms" / "v9.6.0"


def numbers(release: str) -> tuple[int, ...]:
    m = re.match(r"\d+(?:\.\d+)*", release)
    assert m is not None, release
    return tuple(int(p) for p in m.group(0).split("."))


def expected_rank(suite: str) -> tuple[float, ...]:
    """Release order from the data file; a floating suite (sid) is the newest."""
    up = UPSTREAM[suite]
    return tuple(numbers(up)) if up else (float("inf"),)


def release_pairs() -> list[tuple[str, str]]:
    """(older, newer) for every two suites; equal releases are compared both ways."""
    ordered = sorted(SUITES, key=expected_rank)
    pairs = list(combinations(ordered, 2))
    pairs += [(b, a) for a, b in pairs if expected_rank(a) == expected_rank(b)]
    return pairs


@functools.cache
def libvirt_profile() -> Profile:
    return load_profile("libvirt")


@functools.cache
def real_abi(suite: str, soname: str, arch: str = "amd64") -> LibraryABI:
    libs = realdebs.libraries(suite, arch)
    assert soname in libs, f"{suite}/{arch}: libvirt0 has no {soname} (has {sorted(libs)})"
    return read_library(libs[soname])


# --------------------------------------------------------------------------- binutils oracle

# --------------------------------------------------------------------------- the reader


@pytest.mark.real
@pytest.mark.parametrize("soname", SONAMES)
@pytest.mark.parametrize("suite", SUITES)
def test_reader_equals_binutils(suite: str, soname: str) -> None:
    path = realdebs.libraries(suite)[soname]
    abi = real_abi(suite, soname)
    assert_matches_binutils(path, abi)
    assert abi.soname == soname
    assert (abi.machine, abi.elf_class, abi.byte_order) == ("x86_64", 64, "little")


# --------------------------------------------------------------------------- release to release


def public_symbols(abi: LibraryABI, profile: Profile) -> set[tuple[str, str | None]]:
    return {(s.name, s.version) for s in abi.symbols if not profile.is_private(s.version)}


@pytest.mark.real
@pytest.mark.parametrize(("old", "new"), release_pairs(), ids="->".join)
def test_no_public_symbol_lost(old: str, new: str) -> None:
    old_up = realdebs.upstream_of(realdebs.require(old))
    new_up = realdebs.upstream_of(realdebs.require(new))
    assert numbers(old_up) <= numbers(new_up), f"{old} carries {old_up}, {new} {new_up}"
    profile = libvirt_profile()
    failures = []
    for soname in SONAMES:
        a, b = real_abi(old, soname), real_abi(new, soname)
        result = compared(a, b, profile)
        errors = [f for f in result.findings if f.severity is Severity.ERROR]
        failures += [
            f"{soname}: {f.rule} {f.symbol or ''} {f.version}: {f.message}" for f in errors
        ]
        lost = public_symbols(a, profile) - {(s.name, s.version) for s in b.symbols}
        failures += [
            f"{soname}: {name}@{ver} ({old_up}) is gone in {new_up}"
            for name, ver in sorted(lost, key=str)
        ]
        nodes_lost = {n for n in a.node_names if not profile.is_private(n)} - set(b.node_names)
        failures += [
            f"{soname}: node {n} ({old_up}) is gone in {new_up}" for n in sorted(nodes_lost)
        ]
        assert public_symbols(a, profile), f"{old} {soname}: no public symbol read"
    assert not failures, f"{old} {old_up} -> {new} {new_up}:\n" + "\n".join(failures)


# --------------------------------------------------------------------------- version scripts

_NODE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\{", re.MULTILINE)


def script_files(shared_dir: Path) -> list[Path]:
    folder = shared_dir / SCRIPTS_9_6_0
    files = sorted(folder.glob("*.syms"))
    if len(files) != 6:
        pytest.skip(f"{folder} holds {len(files)} .syms files, not libvirt's six")
    return files


def script_nodes(files: list[Path]) -> set[str]:
    """Node names declared by the scripts (a regex, independent of the version-script reader)."""
    out: set[str] = set()
    for f in files:
        text = re.sub(r"#.*", "", f.read_text())
        out.update(_NODE_RE.findall(text))
    return out


@pytest.mark.real
def test_bookworm_conforms_to_the_9_6_0_scripts(shared_dir: Path) -> None:
    files = script_files(shared_dir)
    libvirt_nodes = [n for n in script_nodes(files) if VersionTag.parse(n).prefix == "LIBVIRT"]
    newest = max(libvirt_nodes, key=VersionTag.parse)
    deb = realdebs.require("bookworm")
    newest_built = max(
        (
            n
            for n in real_abi("bookworm", "libvirt.so.0").node_names
            if n.startswith("LIBVIRT_") and VersionTag.parse(n).prefix == "LIBVIRT"
        ),
        key=VersionTag.parse,
    )
    assert newest_built == newest, "bookworm's newest public node is not the scripts' newest"
    report = audit.run_check([str(deb)], [str(f) for f in files])
    assert sorted(report.libraries) == sorted(SONAMES)
    assert report.problems == ()
    assert report.findings == (), "\n".join(
        f"{f.library}: {f.rule} {f.symbol} {f.version}: {f.message}" for f in report.findings
    )


@pytest.mark.real
def test_sid_against_the_9_6_0_scripts_reports_its_newer_nodes(shared_dir: Path) -> None:
    files = script_files(shared_dir)
    declared = script_nodes(files)
    newest = max(
        (n for n in declared if VersionTag.parse(n).prefix == "LIBVIRT"), key=VersionTag.parse
    )
    deb = realdebs.require("sid")
    report = audit.run_check([str(deb)], [str(f) for f in files])
    assert report.problems == ()
    profile = libvirt_profile()
    unexpected = {
        f.version
        for f in report.findings
        if f.rule == "node-unexpected" and f.library == "libvirt.so.0"
    }
    sid = real_abi("sid", "libvirt.so.0")
    top = VersionTag.parse(newest)
    newer = {
        n
        for n in sid.node_names
        if VersionTag.parse(n).prefix == top.prefix and VersionTag.parse(n) > top
    }
    assert newer, f"sid's libvirt.so.0 has no node newer than {newest}: not a later release"
    assert unexpected == newer
    # the same, library by library, against a regex reading of the scripts: every public
    # node the scripts do not declare, and exactly the symbols it holds
    for soname in SONAMES:
        abi = real_abi("sid", soname)
        undeclared = {n for n in abi.node_names if n not in declared and not profile.is_private(n)}
        mine = [f for f in report.findings if f.library == soname]
        assert {f.rule for f in mine} <= {"node-unexpected", "symbol-not-in-script"}, mine
        assert {f.version for f in mine if f.rule == "node-unexpected"} == undeclared, soname
        in_undeclared = {(s.name, s.version) for s in abi.symbols if s.version in undeclared}
        reported = {(f.symbol, f.version) for f in mine if f.rule == "symbol-not-in-script"}
        assert reported == in_undeclared, soname
    assert all(f.severity is Severity.ERROR for f in report.findings)


# --------------------------------------------------------------------------- the CLI


def elfaudit_cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != gate.GRAPH_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "elfaudit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def validated(text: str, schema: str) -> dict[str, Any]:
    doc = json.loads(text)
    jsonschema.validate(doc, load_schema(schema))
    assert isinstance(doc, dict)
    return doc


def error_findings(doc: dict[str, Any]) -> list[str]:
    return [
        f"{f['library']}: {f['rule']} {f['symbol']} {f['version']}: {f['message']}"
        for f in doc["findings"]
        if f["severity"] == "error" and f["waived"] is None
    ]


@pytest.mark.real
def test_cli_compare_bookworm_to_sid(tmp_path: Path) -> None:
    old, new = realdebs.require("bookworm"), realdebs.require("sid")
    rc, out, err = elfaudit_cli("compare", str(old), str(new), "--format", "json", cwd=tmp_path)
    assert rc in (0, 4), err
    doc = validated(out, "report")
    assert doc["exit_code"] == rc
    assert error_findings(doc) == []
    assert doc["problems"] == []
    assert sorted(doc["libraries"]) == sorted(SONAMES)
    # additions, computed from the binaries: public nodes and symbols sid has and bookworm lacks
    profile = libvirt_profile()
    for soname in SONAMES:
        a, b = real_abi("bookworm", soname), real_abi("sid", soname)
        mine = [f for f in doc["findings"] if f["library"] == soname]
        added_nodes = {
            n for n in b.node_names if n not in a.node_names and not profile.is_private(n)
        }
        assert {f["version"] for f in mine if f["rule"] == "node-added"} == added_nodes
        added = public_symbols(b, profile) - public_symbols(a, profile)
        assert {(f["symbol"], f["version"]) for f in mine if f["rule"] == "symbol-added"} == added
    assert (rc == 4) == bool(doc["findings"])


def comparable(abi: LibraryABI) -> tuple[Any, ...]:
    """What a snapshot stores (its ``markers`` are checked separately)."""
    return (
        abi.soname,
        abi.machine,
        abi.elf_class,
        abi.byte_order,
        abi.versions,
        sorted(abi.symbols, key=_symbol_key),
        abi.needed,
        abi.version_needs,
    )


def _symbol_key(s: Symbol) -> tuple[str, str]:
    return (s.name, s.version or "")


@pytest.fixture(scope="module")
def sid_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    deb = realdebs.require("sid")
    folder = tmp_path_factory.mktemp("snapshot")
    snap = folder / "sid.json"
    rc, _, err = elfaudit_cli("dump", "--format", "json", str(deb), "-o", str(snap), cwd=folder)
    assert rc == 0, err
    return snap


@pytest.mark.real
def test_cli_dump_is_a_snapshot_compare_accepts(sid_snapshot: Path, tmp_path: Path) -> None:
    deb = realdebs.require("sid")
    validated(sid_snapshot.read_text(), "dump")
    read_back = {a.name: a for a in read_snapshot(sid_snapshot)}
    assert sorted(read_back) == sorted(SONAMES)
    for soname in SONAMES:
        assert comparable(read_back[soname]) == comparable(real_abi("sid", soname)), soname
    rc, out, err = elfaudit_cli(
        "compare", str(sid_snapshot), str(deb), "--format", "json", cwd=tmp_path
    )
    doc = validated(out, "report")
    assert rc == 0, err
    assert doc["findings"] == []
    assert doc["problems"] == []


@pytest.mark.real
def test_snapshot_keeps_the_version_markers(sid_snapshot: Path) -> None:
    read_back = {a.name: a for a in read_snapshot(sid_snapshot)}
    for soname in SONAMES:
        assert read_back[soname].markers == real_abi("sid", soname).markers, soname


@pytest.mark.real
@pytest.mark.parametrize("suite", SUITES)
def test_graph_check_of_each_release(suite: str, tmp_path: Path) -> None:
    deb = realdebs.require(suite)
    graph = tmp_path / "graph.json"
    shutil.copyfile(gate.shipped_graph_path(), graph)
    before = graph.read_bytes()
    rc, out, err = elfaudit_cli(
        "graph", "check", str(deb), "--graph", str(graph), "--format", "json", cwd=tmp_path
    )
    assert out, f"exit {rc}, no report: {err.strip()}"
    doc = validated(out, "report")
    assert rc in (0, 4), f"exit {rc}: {err.strip()}\n" + "\n".join(error_findings(doc))
    assert doc["exit_code"] == rc
    assert error_findings(doc) == []
    assert doc["problems"] == []
    assert doc["extra"]["release"] == realdebs.upstream_of(deb)
    assert graph.read_bytes() == before, "graph check must not change the graph"
    assert not (tmp_path / gate.LOCAL_GRAPH).exists()


# --------------------------------------------------------------------------- hostile copies


@pytest.mark.real
@pytest.mark.parametrize("soname", ["libvirt-lxc.so.0", "libvirt.so.0"])
def test_truncated_and_bit_flipped_real_libraries(soname: str, tmp_path: Path) -> None:
    """Damaged copies of real libraries either read or fail with ElfReadError: nothing else,
    and never a hang (the loop is bounded by what each file holds)."""
    import random

    from elfaudit.base.errors import ElfReadError
    from elfaudit.readers.elf import read_library_bytes

    path = realdebs.libraries("bookworm").get(soname)
    if path is None:
        pytest.skip(f"bookworm libvirt0 is not available ({soname})")
    data = path.read_bytes()
    rng = random.Random(20261125)
    cuts = sorted({rng.randrange(len(data)) for _ in range(40)} | {0, 3, 63, 64, 200})
    failures = 0
    for cut in cuts:
        try:
            read_library_bytes(data[:cut], f"{soname}[:{cut}]")
        except ElfReadError as exc:
            failures += 1
            assert f"{soname}[:{cut}]" in str(exc)
    assert failures == len(cuts)  # a real library cut short is always noticed
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(min(len(damaged), 1 << 20))
            damaged[pos] ^= 1 << rng.randrange(8)
        with contextlib.suppress(ElfReadError):
            read_library_bytes(bytes(damaged), "flipped")
    # The CLI says it in one line.
    bad = tmp_path / soname
    bad.write_bytes(data[: len(data) // 2])
    proc = subprocess.run(
        [sys.executable, "-m", "elfaudit", "dump", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and str(bad) in proc.stderr

"""Consumers: the nodes a program needs, its minimum release, and ld.so's verdict."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import binutils
import pytest
from conftest import BuildLib

from elfaudit.analysis import needs
from elfaudit.analysis.symbols_file import minver_from_node
from elfaudit.model.abi import ImportedSymbol, LibraryABI, VersionDef, VersionNeed
from elfaudit.readers.elf import read_library

LIB_C = """
int foo(void) { return 1; }
int bar(void) { return 2; }
int baz(void) { return 3; }
int counter = 4;
"""
NEW_MAP = """
V_1.0 { global: foo; counter; local: *; };
V_2.0 { global: bar; } V_1.0;
V_3.0 { global: baz; } V_2.0;
"""
OLD_MAP = "V_1.0 { global: foo; counter; local: *; };\n"
# V_2.0 exists but bar moved on to V_3.0: the node is there, the symbol is not.
MOVED_MAP = """
V_1.0 { global: foo; counter; local: *; };
V_2.0 { global: baz; } V_1.0;
V_3.0 { global: bar; } V_2.0;
"""
PROG_C = """
int foo(void); int bar(void);
extern int counter;
int main(void) { return foo() + bar() + counter == 7 ? 0 : 1; }
"""


def _link(tmp: Path, lib: Path, name: str = "prog") -> Path:
    (tmp / f"{name}.c").write_text(PROG_C)
    out = tmp / name
    subprocess.run(
        ["gcc", "-o", str(out), str(tmp / f"{name}.c"), f"-L{lib.parent}", f"-l:{lib.name}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def _run(prog: Path, libdir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir), LD_BIND_NOW="1")
    return subprocess.run(
        [str(prog)], env=env, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture()
def built(build_lib: BuildLib, tmp_path: Path) -> dict[str, Path]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    new = build_lib(LIB_C, NEW_MAP, soname="libt.so.1")
    return {
        "new": new,
        "old": build_lib(LIB_C, OLD_MAP, soname="libt.so.1"),
        "moved": build_lib(LIB_C, MOVED_MAP, soname="libt.so.1"),
        "prog": _link(tmp_path, new),
    }


def test_required_nodes_match_readelf(built: dict[str, Path]) -> None:
    prog = read_library(built["prog"])
    got = needs.required_nodes(prog)
    oracle = binutils.version_needs(built["prog"])
    assert {k: set(v) for k, v in got.items()} == {k: set(v) for k, v in oracle.items()}
    assert got["libt.so.1"] == ["V_1.0", "V_2.0"]  # sorted by version, baz/V_3.0 unused
    assert needs.required_nodes(prog, "libt.so.1") == {"libt.so.1": ["V_1.0", "V_2.0"]}
    assert needs.required_nodes(prog, "libnothing.so.9") == {}


def test_minimum_release(built: dict[str, Path]) -> None:
    prog = read_library(built["prog"])
    seen: list[tuple[str, str]] = []

    def to_release(soname: str, node: str) -> str | None:
        seen.append((soname, node))
        return minver_from_node(node) if soname == "libt.so.1" else None

    res = needs.minimum_release(prog, node_to_release=to_release)
    lib = res.library("libt.so.1")
    assert lib is not None
    assert (lib.newest, lib.release, lib.symbols) == ("V_2.0", "2.0", ("bar",))
    assert lib.nodes == ("V_1.0", "V_2.0")
    libc = res.library("libc.so.6")
    assert libc is not None and libc.release is None and libc.newest.startswith("GLIBC_")
    assert ("libt.so.1", "V_1.0") in seen
    # gcc's start files import a few weak unversioned symbols; those are not "unversioned API".
    assert "__gmon_start__" not in res.unversioned


def test_release_beats_node_numbers() -> None:
    """The node mapping to the latest release decides, whatever the node names say."""
    prog = LibraryABI(
        "/bin/p",
        None,
        ("libx.so.1",),
        "x86_64",
        64,
        "little",
        (),
        (),
        version_needs=(VersionNeed("libx.so.1", "X_1.10", 2), VersionNeed("libx.so.1", "X_1.9", 3)),
        imports=(ImportedSymbol("a", "X_1.9", "libx.so.1"), ImportedSymbol("b", None, None)),
    )
    releases = {"X_1.10": "2.0", "X_1.9": "3.0"}
    res = needs.minimum_release(prog, node_to_release=lambda s, n: releases.get(n))
    lib = res.library("libx.so.1")
    assert lib is not None and (lib.newest, lib.release, lib.symbols) == ("X_1.9", "3.0", ("a",))
    assert res.unversioned == ("b",)
    # Without releases, numbers decide: 1.10 > 1.9.
    res = needs.minimum_release(prog, node_to_release=lambda s, n: None)
    lib = res.library("libx.so.1")
    assert lib is not None and (lib.newest, lib.release) == ("X_1.10", None)


def test_satisfies_agrees_with_ld_so(built: dict[str, Path]) -> None:
    prog = read_library(built["prog"])
    # The library it was linked against runs it.
    assert needs.satisfies(prog, read_library(built["new"])) == []
    assert _run(built["prog"], built["new"].parent).returncode == 0

    # A build without V_2.0: "version `V_2.0' not found".
    msgs = needs.satisfies(prog, read_library(built["old"]))
    assert len(msgs) == 1 and "version `V_2.0' not found" in msgs[0] and "bar" in msgs[0]
    ran = _run(built["prog"], built["old"].parent)
    assert ran.returncode != 0 and "version `V_2.0' not found" in ran.stderr

    # V_2.0 exists but no longer holds bar: the symbol-level error.
    moved = read_library(built["moved"])
    msgs = needs.satisfies(prog, moved)
    assert msgs == [f"{prog.name}: undefined symbol: bar, version V_2.0 (in libt.so.1)"]
    ran = _run(built["prog"], built["moved"].parent)
    assert ran.returncode != 0
    assert "undefined symbol: bar, version V_2.0" in ran.stderr
    m = needs.missing(prog, moved)
    assert m.fatal and m.nodes == () and m.symbols == (("bar", "V_2.0"),)


def test_unrelated_library_is_reported(built: dict[str, Path], build_lib: BuildLib) -> None:
    prog = read_library(built["prog"])
    other = read_library(build_lib(LIB_C, NEW_MAP, soname="libother.so.2"))
    msgs = needs.satisfies(prog, other)
    assert len(msgs) == 1 and "does not link libother.so.2" in msgs[0]


def test_unversioned_imports_noted(build_lib: BuildLib, tmp_path: Path) -> None:
    lib = build_lib(LIB_C, None, soname="libplain.so.1")
    prog = read_library(_link(tmp_path, lib, "plainprog"))
    res = needs.minimum_release(prog, node_to_release=lambda s, n: None)
    # counter is a data object: the program holds a copy of it, so it is not imported.
    assert {"foo", "bar"} <= set(res.unversioned)
    assert res.library("libplain.so.1") is None
    assert needs.required_nodes(prog, "libplain.so.1") == {}
    # Nothing versioned is asked of the library, so it satisfies the program.
    assert needs.satisfies(prog, read_library(lib)) == []


def test_weak_version_need_is_not_fatal() -> None:
    prog = LibraryABI(
        "/bin/p",
        None,
        ("libx.so.1",),
        "x86_64",
        64,
        "little",
        (),
        (),
        version_needs=(VersionNeed("libx.so.1", "X_2", 2, weak=True),),
    )
    lib = LibraryABI(
        "/l/libx.so.1",
        "libx.so.1",
        (),
        "x86_64",
        64,
        "little",
        (VersionDef("libx.so.1", 1, base=True), VersionDef("X_1", 2)),
        (),
    )
    m = needs.missing(prog, lib)
    assert m.nodes == ("X_2",) and m.weak_nodes == ("X_2",) and not m.fatal
    msgs = needs.satisfies(prog, lib)
    assert len(msgs) == 1 and "only warns" in msgs[0]

"""RPM-style Provides/Requires, checked against rpm's own elfdeps where it is installed."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import BuildLib
from weighing import weighed

from elfaudit.analysis.provides import compare_provides, marker, provides, requires
from elfaudit.model.abi import LibraryABI, Symbol, VersionDef, VersionNeed
from elfaudit.model.report import Severity
from elfaudit.readers.elf import read_library

ELFDEPS = "/usr/lib/rpm/elfdeps"
needs_elfdeps = pytest.mark.skipif(
    not os.access(ELFDEPS, os.X_OK), reason="rpm's elfdeps is not installed"
)

LIB_C = """#include <string.h>
int foo(const char *s) { return (int)strlen(s); }
int bar(void) { return 2; }
int priv(void) { return 3; }
"""
MAP = """
T_1.0 { global: foo; local: *; };
T_2.0 { global: bar; } T_1.0;
T_PRIVATE_2.0 { global: priv; };
"""


def _elfdeps(flag: str, path: Path) -> set[str]:
    out = subprocess.run(
        [ELFDEPS, flag, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return {line for line in out.splitlines() if line and not line.startswith("rtld(")}


@needs_elfdeps
def test_provides_match_elfdeps(build_lib: BuildLib) -> None:
    path = build_lib(LIB_C, MAP, soname="libt.so.1")
    abi = read_library(path)
    got = provides(abi)
    assert set(got) == _elfdeps("--provides", path)
    assert "libt.so.1()(64bit)" in got and "libt.so.1(T_2.0)(64bit)" in got
    assert got == sorted(set(got))
    assert set(requires(abi)) == _elfdeps("--requires", path)
    assert "libc.so.6()(64bit)" in requires(abi)


@needs_elfdeps
def test_no_soname_provides_file_name(tmp_path: Path) -> None:
    (tmp_path / "n.c").write_text(LIB_C)
    path = tmp_path / "libnoname.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(path), str(tmp_path / "n.c")],
        check=True,
        capture_output=True,
    )
    abi = read_library(path)
    assert abi.soname is None
    assert provides(abi) == ["libnoname.so()(64bit)"]
    assert set(provides(abi)) == _elfdeps("--provides", path)


def test_32bit_and_alpha_have_no_marker() -> None:
    abi = LibraryABI(
        "/usr/lib/libv.so.0",
        "libv.so.0",
        ("libc.so.6",),
        "i386",
        32,
        "little",
        (VersionDef("libv.so.0", 1, base=True), VersionDef("V_1", 2)),
        (),
        version_needs=(VersionNeed("libc.so.6", "GLIBC_2.0", 3),),
    )
    assert marker(abi) == ""
    assert provides(abi) == ["libv.so.0", "libv.so.0(V_1)"]
    assert requires(abi) == ["libc.so.6", "libc.so.6(GLIBC_2.0)"]
    alpha = replace(abi, machine="alpha", elf_class=64)
    assert provides(alpha) == ["libv.so.0", "libv.so.0(V_1)"]
    wide = replace(abi, machine="aarch64", elf_class=64)
    assert provides(wide) == ["libv.so.0()(64bit)", "libv.so.0(V_1)(64bit)"]


def test_names_that_are_not_libraries_are_filtered() -> None:
    abi = LibraryABI(
        "/usr/lib/plugin.so",
        "plugin.so",
        ("libc.so.6", "weird"),
        "x86_64",
        64,
        "little",
        (VersionDef("plugin.so", 1, base=True), VersionDef("P_1", 2)),
        (),
    )
    assert provides(abi) == []
    assert requires(abi) == ["libc.so.6()(64bit)"]


def test_compare_provides(build_lib: BuildLib) -> None:
    new = read_library(build_lib(LIB_C, MAP.replace("PRIVATE_2.0", "PRIVATE_3.0")))
    old = read_library(build_lib(LIB_C, MAP))
    assert weighed(compare_provides([old], [new])) == []  # only the private node was renamed
    lost = read_library(build_lib(LIB_C, "T_1.0 { global: foo; bar; local: *; };"))
    found = weighed(compare_provides([old], [lost]))
    assert [(f.rule, f.version, f.severity) for f in found] == [
        ("provides-removed", "T_2.0", Severity.ERROR)
    ]
    assert "libt.so.1(T_2.0)(64bit)" in found[0].message
    # A capability that moved to another library of the new build is still provided.
    both = weighed(compare_provides([old], [lost, replace(old, path="/other")]))
    assert both == []
    # A library gone entirely: every provide is reported (the private one is exempt).
    gone = weighed(compare_provides([old], []))
    assert sorted(f.version or "" for f in gone) == ["", "T_1.0", "T_2.0"]


def test_compare_provides_weak_nodes_warn() -> None:
    def qemu(nodes: list[str]) -> LibraryABI:
        defs = [VersionDef("libvirt-qemu.so.0", 1, base=True)]
        defs += [VersionDef(n, i + 2) for i, n in enumerate(nodes)]
        return LibraryABI(
            "/l/libvirt-qemu.so.0",
            "libvirt-qemu.so.0",
            (),
            "x86_64",
            64,
            "little",
            tuple(defs),
            # each node holds a symbol: a node that held none is no capability a package
            # can require (no program has a version need on it)
            tuple(
                Symbol(f"virQemu{i}", n, True, "FUNC", "GLOBAL", "DEFAULT", 0)
                for i, n in enumerate(nodes)
            ),
        )

    old = qemu(["LIBVIRT_QEMU_0.8.3", "LIBVIRT_QEMU_0.9.4"])
    new = qemu(["LIBVIRT_QEMU_0.8.3"])
    found = weighed(compare_provides([old], [new]))
    assert [(f.version, f.severity) for f in found] == [("LIBVIRT_QEMU_0.9.4", Severity.WARNING)]
    strict = weighed(compare_provides([old], [new]), "generic")
    assert [f.severity for f in strict] == [Severity.ERROR]


@pytest.mark.real
@needs_elfdeps
def test_real_libvirt_matches_elfdeps() -> None:
    from realdebs import extract_libs, require

    libs = extract_libs(require("bookworm"))
    for soname, path in libs.items():
        abi = read_library(path)
        assert set(provides(abi)) == _elfdeps("--provides", path), soname
        assert set(requires(abi)) == _elfdeps("--requires", path), soname
    main = read_library(libs["libvirt.so.0"])
    assert "libvirt.so.0(LIBVIRT_0.0.3)(64bit)" in provides(main)
    assert "libvirt.so.0(LIBVIRT_PRIVATE_9.0.0)(64bit)" in provides(main)

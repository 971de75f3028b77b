"""``scan``: many inputs in parallel, ordered results, problems instead of crashes."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import BuildLib
from weighing import self_checked

from elfaudit.analysis.conformance import chain_breaks
from elfaudit.commands import scan as sc
from elfaudit.model.abi import LibraryABI, VersionDef
from elfaudit.model.report import Severity
from elfaudit.policy.profiles import builtin, profile_for
from elfaudit.readers.elf import read_library

CLEAN_C = "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"
CLEAN_MAP = "V_1.0 { global: foo; local: *; };\nV_2.0 { global: bar; } V_1.0;\n"

# No 'local: *': GNU ld leaves 'leak' in the global (unversioned) index.
LEAKY_C = "int foo(void) { return 1; }\nint leak(void) { return 2; }\n"
LEAKY_MAP = "V_1.0 { global: foo; };\n"

# 'old' exists only as a hidden compat version.
HIDDEN_C = """
int foo(void) { return 1; }
int old_impl(void) { return 2; }
__asm__(".symver old_impl,old@V_1.0");
"""
HIDDEN_MAP = "V_1.0 { global: foo; old; local: *; };\n"

CHAIN_C = "int a(void){return 1;}\nint b(void){return 2;}\nint c(void){return 3;}\n"
CHAIN_C += "int p(void){return 4;}\nint q(void){return 5;}\n"
CHAIN_MAP = """
LIBVIRT_1.0.0 { global: a; local: *; };
LIBVIRT_1.1.0 { global: b; } LIBVIRT_1.0.0;
LIBVIRT_1.2.0 { global: c; };
LIBVIRT_QEMU_1.0.0 { global: q; } LIBVIRT_1.1.0;
LIBVIRT_PRIVATE_1.2.0 { global: p; };
"""


def _slow_audit(path: str) -> sc.ScanItem:
    """Test-only audit: long enough that both workers get work; reports the input's name."""
    time.sleep(0.3)
    if path.endswith("boom"):
        raise RuntimeError("exploded\non two lines")
    return sc.ScanItem(path, libraries=(os.path.basename(path),))


# --------------------------------------------------------------------------- self_check


def test_self_check_clean(build_lib: BuildLib) -> None:
    abi = read_library(build_lib(CLEAN_C, CLEAN_MAP))
    assert self_checked(abi, builtin("generic")) == []


def test_self_check_unversioned(build_lib: BuildLib) -> None:
    abi = read_library(build_lib(LEAKY_C, LEAKY_MAP, soname="libleak.so.1"))
    assert any(s.name == "leak" and s.version is None for s in abi.symbols)
    found = self_checked(abi, builtin("generic"))
    assert [(f.rule, f.symbol) for f in found] == [("symbol-unversioned", "leak")]
    assert found[0].severity is Severity.ERROR


def test_self_check_hidden_only(build_lib: BuildLib) -> None:
    abi = read_library(build_lib(HIDDEN_C, HIDDEN_MAP, soname="libhid.so.1"))
    assert any(s.name == "old" and not s.default for s in abi.symbols)
    found = self_checked(abi, builtin("generic"))
    assert [(f.rule, f.symbol, f.version) for f in found] == [
        ("symbol-not-default", "old", "V_1.0")
    ]


def test_self_check_chain(build_lib: BuildLib) -> None:
    abi = read_library(build_lib(CHAIN_C, CHAIN_MAP, soname="libvirt.so.0"))
    prof = profile_for(abi.soname)
    assert prof.name == "libvirt" and prof.chain
    found = self_checked(abi, prof)
    got = [(f.rule, f.version, f.severity) for f in found]
    assert got == [
        ("script-chain-broken", "LIBVIRT_1.2.0", Severity.ERROR),
        ("script-chain-broken", "LIBVIRT_QEMU_1.0.0", Severity.WARNING),
    ]
    assert "previous node LIBVIRT_1.1.0" in found[0].message
    assert "first LIBVIRT_QEMU node" in found[1].message
    # The generic profile has no chain rule.
    assert self_checked(abi, builtin("generic")) == []


def test_chain_breaks_name_order() -> None:
    prof = builtin("libvirt")
    nodes = [
        ("LIBVIRT_0.9.14", ()),
        ("LIBVIRT_0.10.0", ("LIBVIRT_0.9.14",)),  # numerically later: fine
        ("LIBVIRT_0.9.15", ("LIBVIRT_0.10.0",)),  # goes back: broken
        ("LIBVIRT_PRIVATE_1.0.0", ("LIBVIRT_0.9.15",)),  # private: exempt
    ]
    assert chain_breaks(nodes, prof) == [
        ("LIBVIRT_0.9.15", "LIBVIRT_0.9.15 does not sort after the previous node LIBVIRT_0.10.0")
    ]


def test_self_check_handmade_abi() -> None:
    abi = LibraryABI(
        "/l/libx.so.1",
        "libx.so.1",
        (),
        "x86_64",
        64,
        "little",
        (VersionDef("libx.so.1", 1, base=True), VersionDef("X_PRIVATE_1", 2)),
        (),
    )
    assert self_checked(abi, builtin("generic")) == []


# --------------------------------------------------------------------------- inputs


def _tree(tmp: Path, build_lib: BuildLib) -> Path:
    root = tmp / "tree"
    (root / "sub").mkdir(parents=True)
    shutil.copy(build_lib(CLEAN_C, CLEAN_MAP, soname="liba.so.1"), root / "liba.so.1.0")
    os.symlink("liba.so.1.0", root / "liba.so.1")
    shutil.copy(build_lib(LEAKY_C, LEAKY_MAP, soname="libleak.so.1"), root / "sub/libleak.so.1")
    shutil.copy(build_lib(HIDDEN_C, HIDDEN_MAP, soname="libhid.so.1"), root / "libhid.so.1")
    (root / "libbroken.so.1").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    (root / "README").write_text("not a library\n")
    (root / "libtext.so").write_text("INPUT(-lfoo)\n")  # a linker script, not ELF
    return root


def test_expand_directory(tmp_path: Path, build_lib: BuildLib) -> None:
    root = _tree(tmp_path, build_lib)
    got = [os.path.relpath(p, root) for p in sc.expand_inputs([str(root)])]
    assert got == ["liba.so.1", "libbroken.so.1", "libhid.so.1", "sub/libleak.so.1"]
    # A directory with packages stands for the packages only.
    (root / "sub" / "x_1.0_amd64.deb").write_bytes(b"!<arch>\n")
    (root / "y.rpm").write_bytes(b"\xed\xab\xee\xdb")
    got = [os.path.relpath(p, root) for p in sc.expand_inputs([str(root), "/nonexistent"])]
    assert got[:2] == ["y.rpm", "sub/x_1.0_amd64.deb"]
    assert got[2] == os.path.relpath("/nonexistent", root)


def test_scan_tree_in_parallel(tmp_path: Path, build_lib: BuildLib) -> None:
    root = _tree(tmp_path, build_lib)
    ticks: list[tuple[int, int, str]] = []
    res = sc.scan(
        [str(root), str(tmp_path / "missing.so.1")],
        jobs=2,
        progress=lambda d, t, p: ticks.append((d, t, p)),
    )
    assert [i.path for i in res.items] == list(res.inputs)
    names = [os.path.basename(i.path) for i in res.items]
    assert names == ["liba.so.1", "libbroken.so.1", "libhid.so.1", "libleak.so.1", "missing.so.1"]
    by = {os.path.basename(i.path): i for i in res.items}
    assert [p.path for p in res.problems] == [
        str(root / "libbroken.so.1"),
        str(tmp_path / "missing.so.1"),
    ]
    assert all("\n" not in p.message for p in res.problems)
    assert [(f.rule, f.symbol) for f in by["libleak.so.1"].findings] == [
        ("symbol-unversioned", "leak")
    ]
    assert [(f.rule, f.symbol) for f in by["libhid.so.1"].findings] == [
        ("symbol-not-default", "old")
    ]
    assert by["liba.so.1"].findings == () and by["liba.so.1"].libraries == ("liba.so.1",)
    assert sorted(d for d, _, _ in ticks) == list(range(1, 6))
    assert {t for _, t, _ in ticks} == {5}
    assert sorted(p for _, _, p in ticks) == sorted(res.inputs)
    report = res.report()
    assert len(report.problems) == 2 and len(report.findings) == 2


def test_scan_uses_several_processes(tmp_path: Path) -> None:
    paths = [str(tmp_path / f"in{i}") for i in range(6)] + [str(tmp_path / "boom")]
    res = sc.scan(paths, jobs=2, audit_one=_slow_audit)
    assert res.jobs == 2
    assert len(res.workers) > 1  # the work really ran in more than one process
    assert os.getpid() not in res.workers
    assert [i.path for i in res.items] == paths
    assert [i.libraries for i in res.items[:6]] == [(f"in{i}",) for i in range(6)]
    (problem,) = res.problems
    assert problem.path.endswith("boom")
    assert problem.message == "internal error: RuntimeError: exploded on two lines"


def test_scan_inline_with_one_job(tmp_path: Path) -> None:
    paths = [str(tmp_path / "a"), str(tmp_path / "boom")]
    res = sc.scan(paths, jobs=1, audit_one=_slow_audit)
    assert res.jobs == 1 and res.workers == {os.getpid()}
    assert [i.path for i in res.items] == paths and len(res.problems) == 1
    with pytest.raises(ValueError):
        sc.scan(paths, jobs=0, audit_one=_slow_audit)


def test_scan_nothing() -> None:
    res = sc.scan([], jobs=2)
    assert res.items == () and res.inputs == ()


@pytest.mark.real
def test_scan_real_packages(tmp_path: Path) -> None:
    from realdebs import require

    debs = [require("bookworm"), require("sid")]
    for d in debs:
        os.symlink(d, tmp_path / d.name)
    res = sc.scan([str(tmp_path)], jobs=2)
    assert len(res.items) == 2 and res.problems == ()
    for item in res.items:
        # Each library is named with the package it came from: a scan sees each SONAME
        # once per package.
        name = os.path.basename(item.path)
        assert all(lib.endswith(f" ({name})") for lib in item.libraries)
        assert sorted(lib.split(" (")[0] for lib in item.libraries) == [
            "libvirt-admin.so.0",
            "libvirt-lxc.so.0",
            "libvirt-qemu.so.0",
            "libvirt.so.0",
        ]
        # libvirt's shipped binaries are clean by these checks.
        assert item.findings == (), item.findings

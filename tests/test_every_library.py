"""Issue 10, "Right on every library": severity follows what breaks.

One gcc-built case per cause measured on real Debian upgrades, judged by the generic and
the libvirt profile; an oracle (a program linked against OLD, run on NEW with
``LD_BIND_NOW=1``) proving that what the generic profile calls info or a warning really
runs; and, where the real-world corpus is cached (``scripts/corpus.py``), the same
invariants on Debian's packages.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, BuildLib
from weighing import compared, self_checked, weighed

from elfaudit.analysis import symbols_file as ds
from elfaudit.analysis.compare import compare_abi
from elfaudit.base.errors import ProfileError
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, Severity
from elfaudit.policy.profiles import builtin, parse_profile
from elfaudit.readers import debian_symbols as dsr
from elfaudit.readers.elf import read_library

CORPUS = ROOT / ".cache" / "corpus"
SUITES = ("bullseye", "bookworm", "trixie", "sid")

OLD_C = "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"
OLD_MAP = "V1 { global: foo; bar; local: *; };\n"

# name -> (old C, old map, new C, new map): changes every program built against OLD
# survives (the oracle runs each), with the generic profile's verdict.
COMPATIBLE: dict[str, tuple[str, str | None, str, str | None, set[tuple[str, str]]]] = {
    # libgcrypt, libgpg-error, curl, krb5, alsa, dbus, libgcc: new API in an old node
    "added-to-released-node": (
        OLD_C,
        OLD_MAP,
        OLD_C + "int late(void) { return 9; }\n",
        OLD_MAP.replace("bar;", "bar; late;"),
        {("symbol-added-to-released-node", "info")},
    ),
    # glibc's libm and libc: a function becomes an IFUNC
    "ifunc": (
        OLD_C,
        OLD_MAP,
        "static int foo_impl(void) { return 1; }\n"
        "static int (*resolve_foo(void))(void) { return foo_impl; }\n"
        'int foo(void) __attribute__((ifunc("resolve_foo")));\n'
        "int bar(void) { return 2; }\n",
        OLD_MAP,
        set(),
    ),
    # curl's HIDDEN, ncurses' NCURSES6_TINFO_6.2.current: a node that held nothing
    "empty-node": (
        OLD_C,
        "HIDDEN { local: nothing_here; };\n" + OLD_MAP,
        OLD_C,
        OLD_MAP,
        {("empty-node-removed", "info")},
    ),
    # pcre2 10.49: symbol versioning added
    "versioning-added": (
        OLD_C,
        None,
        OLD_C,
        "PCRE2_10.47 { global: foo; bar; local: *; };\n",
        {("versioning-added", "info")},
    ),
    # glibc's deprecations: the default version goes, the compat version stays
    "default-lost": (
        OLD_C,
        OLD_MAP,
        OLD_C.replace("int foo(void)", "int foo_compat(void)")
        + '__asm__(".symver foo_compat, foo@V1");\n',
        OLD_MAP,
        {("symbol-default-lost", "warning")},
    ),
}

PROGRAM = """
#include <stdio.h>
int foo(void);
int bar(void);
int main(void) { printf("%d\\n", foo() + bar()); return 0; }
"""


def _pair(
    build_lib: BuildLib, case: str, soname: str = "libt.so.1"
) -> tuple[Path, Path, LibraryABI, LibraryABI]:
    old_c, old_map, new_c, new_map, _ = COMPATIBLE[case]
    old = build_lib(old_c, old_map, soname=soname)
    new = build_lib(new_c, new_map, soname=soname)
    return old, new, read_library(old), read_library(new)


def _got(findings: tuple[Finding, ...] | list[Finding]) -> set[tuple[str, str]]:
    return {(f.rule, f.severity.value) for f in findings}


def _no_none(findings: tuple[Finding, ...] | list[Finding]) -> None:
    for f in findings:
        assert "None" not in f.message, f.message


def run_old_program_on_new(old: Path, new: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Link a program against OLD, run it with NEW first on the library path."""
    src = tmp / "prog.c"
    src.write_text(PROGRAM)
    exe = tmp / "prog"
    subprocess.run(["gcc", "-o", str(exe), str(src), str(old)], check=True, capture_output=True)
    env = dict(os.environ, LD_LIBRARY_PATH=str(new.parent), LD_BIND_NOW="1")
    return subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------- the causes


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_compatible_change_is_no_error_for_generic(case: str, build_lib: BuildLib) -> None:
    _, _, old, new = _pair(build_lib, case)
    result = compared(old, new, builtin("generic"))
    assert _got(result.findings) == COMPATIBLE[case][4], [f.message for f in result.findings]
    _no_none(result.findings)


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_program_built_against_old_runs_on_new(
    case: str, build_lib: BuildLib, tmp_path: Path
) -> None:
    """The oracle for the lowered severities: what generic calls info or a warning runs."""
    old, new, _, _ = _pair(build_lib, case)
    proc = run_old_program_on_new(old, new, tmp_path)
    assert proc.returncode == 0 and proc.stdout == "3\n", proc.stderr


def test_oracle_sees_a_real_break(build_lib: BuildLib, tmp_path: Path) -> None:
    """The oracle is not blind: a symbol moved to another node fails to load, and that
    stays an error."""
    old = build_lib(OLD_C, OLD_MAP)
    new = build_lib(OLD_C, "V1 { global: bar; local: *; };\nV2 { global: foo; } V1;\n")
    proc = run_old_program_on_new(old, new, tmp_path)
    assert proc.returncode != 0 and "version" in proc.stderr
    found = compared(read_library(old), read_library(new), builtin("generic")).findings
    assert ("symbol-version-changed", "error") in _got(found)


def test_libgcrypt_addition_to_released_node_is_info_but_an_error_for_libvirt(
    build_lib: BuildLib,
) -> None:
    c = OLD_C.replace("foo", "virFoo").replace("bar", "virBar")
    vmap = "LIBVIRT_1.0.0 { global: virFoo; virBar; local: *; };\n"
    old = read_library(build_lib(c, vmap, soname="libvirt.so.0"))
    new = read_library(
        build_lib(
            c + "int virLate(void) { return 9; }\n",
            vmap.replace("virBar;", "virBar; virLate;"),
            soname="libvirt.so.0",
        )
    )
    got = _got(compared(old, new, builtin("libvirt")).findings)
    assert got == {("symbol-added-to-released-node", "error")}
    assert _got(compared(old, new, builtin("generic")).findings) == {
        ("symbol-added-to-released-node", "info")
    }


def test_hidden_compat_symbol_is_never_an_addition_to_a_released_node(
    build_lib: BuildLib,
) -> None:
    """A new hidden name@V1 cannot be linked by new programs: no dependency on V1 can lie."""
    new_c = OLD_C + 'int hid_impl(void) { return 7; }\n__asm__(".symver hid_impl, hid@V1");\n'
    old = read_library(build_lib(OLD_C, OLD_MAP))
    new = read_library(build_lib(new_c, OLD_MAP.replace("bar;", "bar; hid;")))
    assert any(s.label == "hid@V1" for s in new.symbols)
    for name in ("generic", "libvirt"):
        found = compared(old, new, builtin(name)).findings
        assert _got(found) == {("symbol-added", "info")}, name


def test_glibc_ifunc_switch_is_not_a_type_change(build_lib: BuildLib) -> None:
    _, _, old, new = _pair(build_lib, "ifunc")
    assert {s.name: s.type for s in new.symbols}["foo"] == "IFUNC"
    assert {s.name: s.type for s in old.symbols}["foo"] == "FUNC"
    for name in ("generic", "libvirt"):
        assert compared(old, new, builtin(name)).findings == ()
    # code to data is still a change of kind
    data = read_library(
        build_lib(OLD_C.replace("int foo(void) { return 1; }", "int foo = 1;"), OLD_MAP)
    )
    assert ("symbol-type-changed", "error") in _got(
        compared(old, data, builtin("generic")).findings
    )


def test_curl_hidden_empty_node_removed_is_info(build_lib: BuildLib) -> None:
    _, _, old, new = _pair(build_lib, "empty-node")
    assert "HIDDEN" in old.node_names and "HIDDEN" not in new.node_names
    for name in ("generic", "libvirt"):
        assert _got(compared(old, new, builtin(name)).findings) == {("empty-node-removed", "info")}
    # a node that held symbols is still node-removed
    gone = read_library(build_lib("int bar(void) { return 2; }\n", "V0 { global: bar; };\n"))
    assert ("node-removed", "error") in _got(compared(old, gone, builtin("generic")).findings)


def test_empty_node_removed_takes_no_rpm_provides_with_it(build_lib: BuildLib) -> None:
    from elfaudit.analysis.provides import compare_provides

    _, _, old, new = _pair(build_lib, "empty-node")
    assert weighed(compare_provides([old], [new]), "generic") == []


def test_pcre2_versioning_added_is_one_compatible_finding(build_lib: BuildLib) -> None:
    _, _, old, new = _pair(build_lib, "versioning-added")
    assert not old.versioned and new.versioned
    found = compared(old, new, builtin("generic")).findings
    (f,) = found
    assert (f.rule, f.severity, f.symbol) == ("versioning-added", Severity.INFO, None)
    assert "PCRE2_10.47" in f.message
    _no_none(found)


def test_glibc_lost_default_is_a_warning_but_an_error_for_libvirt(build_lib: BuildLib) -> None:
    c = "int virFoo(void) { return 1; }\nint virBar(void) { return 2; }\n"
    vmap = "LIBVIRT_1.0.0 { global: virFoo; virBar; local: *; };\n"
    old = read_library(build_lib(c, vmap, soname="libvirt.so.0"))
    lost = c.replace("int virFoo(void)", "int virFoo_c(void)")
    lost += '__asm__(".symver virFoo_c, virFoo@LIBVIRT_1.0.0");\n'
    new = read_library(build_lib(lost, vmap, soname="libvirt.so.0"))
    assert _got(compared(old, new, builtin("libvirt")).findings) == {
        ("symbol-default-lost", "error")
    }
    assert _got(compared(old, new, builtin("generic")).findings) == {
        ("symbol-default-lost", "warning")
    }


def test_glibc_compat_only_symbols_are_info_in_scan(build_lib: BuildLib) -> None:
    _, _, _, new = _pair(build_lib, "default-lost")
    assert _got(self_checked(new, builtin("generic"))) == {("symbol-not-default", "info")}
    assert _got(self_checked(new, builtin("libvirt"))) == {("symbol-not-default", "error")}


def test_scan_of_this_systems_libc_has_no_error() -> None:
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    if not libc.exists():
        pytest.skip(f"{libc} is absent")
    found = self_checked(read_library(str(libc)), builtin("generic"))
    assert [f for f in found if f.severity is Severity.ERROR] == []
    assert any(f.rule == "symbol-not-default" for f in found)  # glibc keeps compat symbols


def test_libsystemd_minimal_version_zero_is_deliberate(build_lib: BuildLib) -> None:
    """deb-symbols(5): dpkg-shlibdeps expands #MINVER# to nothing for the minimal version
    ``0`` (an unversioned dependency on purpose), so it is never too low; ``0.1`` is."""
    abi = read_library(build_lib(OLD_C, "V_1.0 { global: foo; bar; local: *; };\n"))
    text = "libt.so.1 libt1 #MINVER#\n V_1.0@V_1.0 0\n foo@V_1.0 0\n bar@V_1.0 0.1\n"
    sf = dsr.parse_symbols_file(text, "t.symbols")
    found = weighed(ds.check_symbols_file(sf, [abi], minver=ds.node_minver()), "generic")
    assert {(f.rule, f.symbol) for f in found} == {("symbols-file-minver-too-low", "bar")}


# --------------------------------------------------------------------------- libvirt: node names


FORK_OLD = {
    "LIBVIRT_1.0.0": (["virA"], None),
    "LIBVIRT_1.2.0": (["virB"], "LIBVIRT_1.0.0"),
}
FORK_NEW = {
    "LIBVIRT_1.0.0": (["virA"], None),
    "LIBVIRT_1.1.0": (["virForked"], "LIBVIRT_1.0.0"),
    "LIBVIRT_1.2.0": (["virB"], "LIBVIRT_1.1.0"),
}


def _libvirt(build_lib: BuildLib, nodes: dict[str, tuple[list[str], str | None]]) -> LibraryABI:
    c = "".join(f"int {s}(void) {{ return 0; }}\n" for syms, _ in nodes.values() for s in syms)
    vmap = "".join(
        f"{n} {{ global: {' '.join(s + ';' for s in syms)} }}{' ' + p if p else ''};\n"
        for n, (syms, p) in nodes.items()
    )
    return read_library(build_lib(c, vmap, soname="libvirt.so.0"))


def test_libvirt_fork_node_for_shipped_release_is_an_error_without_a_graph(
    build_lib: BuildLib,
) -> None:
    old, new = _libvirt(build_lib, FORK_OLD), _libvirt(build_lib, FORK_NEW)
    found = compared(old, new, builtin("libvirt")).findings
    errors = {(f.rule, f.version) for f in found if f.severity is Severity.ERROR}
    assert errors == {("node-named-for-shipped-release", "LIBVIRT_1.1.0")}
    # the generic profile says nothing of node names
    generic = compared(old, new, builtin("generic")).findings
    assert "node-named-for-shipped-release" not in {f.rule for f in generic}
    # a node named for a later release is ordinary growth
    later = {**FORK_OLD, "LIBVIRT_1.3.0": (["virC"], "LIBVIRT_1.2.0")}
    grown = compared(old, _libvirt(build_lib, later), builtin("libvirt")).findings
    assert _got(grown) == {("node-added", "info"), ("symbol-added", "info")}


def test_libvirt_9_7_fork_inserting_6_2_0_is_caught_by_compare(
    shared_dir: Path, build_lib: BuildLib
) -> None:
    from test_incidents import build_from_script

    fork = build_from_script(
        build_lib,
        shared_dir / "data/libvirt-syms-history/Maxppddcsz__libvirt/2d62cffddc/libvirt_public.syms",
        "libvirt.so.0",
    )
    ref = shared_dir / "reference/libvirt-syms/v9.6.0/libvirt_public.syms"
    upstream = build_from_script(build_lib, ref, "libvirt.so.0")
    found = compared(upstream, fork, builtin("libvirt")).findings
    errors = {(f.rule, f.version) for f in found if f.severity is Severity.ERROR}
    assert ("node-named-for-shipped-release", "LIBVIRT_6.2.0") in errors


def test_release_named_nodes_is_validated_profile_data() -> None:
    doc = json.loads((ROOT / "elfaudit/data/profiles/generic.json").read_text())
    assert parse_profile(doc, "g.json").release_named_nodes is False
    assert builtin("libvirt").release_named_nodes is True
    with pytest.raises(ProfileError, match="release_named_nodes"):
        parse_profile({**doc, "release_named_nodes": "yes"}, "bad.json")


# --------------------------------------------------------------------------- the real corpus


def _debs(family: str) -> list[Path]:
    """The cached .deb of ``family`` per suite, in suite order (absent suites left out)."""
    out = []
    for suite in SUITES:
        hits = sorted((CORPUS / suite / "debs" / suite / "amd64").glob(f"{family}_*.deb"))
        if hits:
            out.append(hits[0])
    if len(out) < 2:
        pytest.skip(f"the corpus has fewer than two {family} packages under {CORPUS}")
    return out


def _compare_debs(old: Path, new: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "elfaudit", "compare", str(old), str(new), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 4, 12), proc.stderr
    findings: list[dict[str, object]] = json.loads(proc.stdout)["findings"]
    return findings


@pytest.mark.real
@pytest.mark.parametrize(
    "family",
    ["libgcrypt20", "libgpg-error0", "libpcre2-8-0", "libsystemd0", "libgcc-s1", "libc6"],
)
def test_real_upgrades_of_compatible_families(family: str) -> None:
    """Invariants on Debian's upgrades: no symbol-added-to-released-node or FUNC/IFUNC
    type change is an error, no empty node is node-removed, no message prints None."""
    debs = _debs(family)
    for old, new in itertools.pairwise(debs):
        for f in _compare_debs(old, new):
            where = f"{old.name} -> {new.name}: {f['message']}"
            assert "None" not in str(f["message"]), where
            if f["rule"] in ("symbol-added-to-released-node", "empty-node-removed"):
                assert f["severity"] == "info", where
            if f["rule"] == "symbol-type-changed":
                assert "IFUNC" not in str(f["message"]) or "OBJECT" in str(f["message"]), where
            assert f["rule"] != "symbol-version-changed" or "None" not in str(f["message"])


@pytest.mark.real
def test_real_pcre2_10_49_versioning_added() -> None:
    debs = _debs("libpcre2-8-0")
    old, new = debs[-2], debs[-1]
    found = _compare_debs(old, new)
    assert not [f for f in found if f["severity"] == "error"], found[:3]
    assert not [f for f in found if f["rule"] == "symbol-version-changed"]


@pytest.mark.real
def test_real_libsystemd0_symbols_file_zero_minver() -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    deb = _debs("libsystemd0")[-1]
    proc = subprocess.run(
        [sys.executable, "-m", "elfaudit", "symbols-file", "--check", str(deb), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 4, 12), proc.stderr
    found = json.loads(proc.stdout)["findings"]
    assert not [f for f in found if "minimal version 0 " in f["message"]], found[:3]


def test_compare_never_prints_none_for_unversioned_libraries(build_lib: BuildLib) -> None:
    """Unversioned both sides, a symbol removed and a SONAME gained: no message names None."""
    from dataclasses import replace

    old = replace(read_library(build_lib(OLD_C, None)), soname=None)
    new = read_library(build_lib(OLD_C.replace("int bar(void) { return 2; }\n", ""), None))
    found = compare_abi(old, new, builtin("generic")).findings
    assert {f.rule for f in found} == {"soname-changed", "symbol-removed"}
    _no_none(list(found))

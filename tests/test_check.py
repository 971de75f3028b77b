"""check: a gcc-built library against a version script, one scenario per rule."""

from __future__ import annotations

import pytest
from conftest import BuildLib
from weighing import checked

from elfaudit.policy.profiles import builtin
from elfaudit.readers.elf import read_library
from elfaudit.readers.version_script import parse_script_text

C = """
int foo(void) { return 1; }
int bar(void) { return 2; }
int qux(void) { return 3; }
"""
MAP = """V1 { global: foo; bar; local: *; };
V2 { global: qux; } V1;
"""

# name -> (C source, map used to build, map given to check, expected (rule, severity) set)
CASES: dict[str, tuple[str, str, str, set[tuple[str, str]]]] = {
    "clean": (C, MAP, MAP, set()),
    "script-symbol-missing": (
        C,
        MAP,
        MAP.replace("qux;", "qux; ghost;"),
        {("script-symbol-missing", "error")},
    ),
    "symbol-wrong-node": (
        C,
        MAP,
        "V1 { global: foo; local: *; };\nV2 { global: qux; bar; } V1;\n",
        {("symbol-wrong-node", "error")},
    ),
    "symbol-not-in-script": (
        C + "int helper(void) { return 4; }\n",
        MAP.replace("qux;", "qux; helper;"),
        MAP,
        {("symbol-not-in-script", "error")},
    ),
    # No `local: *`: a symbol no node names stays global with the base version.
    "symbol-unversioned": (
        C + "int stray(void) { return 5; }\n",
        "V1 { global: foo; bar; };\nV2 { global: qux; } V1;\n",
        MAP,
        {("symbol-unversioned", "error")},
    ),
    "symbol-not-default": (
        C + 'int zed_impl(void) { return 6; }\n__asm__(".symver zed_impl, zed@V2");\n',
        MAP.replace("qux;", "qux; zed;"),
        MAP.replace("qux;", "qux; zed;"),
        {("symbol-not-default", "info")},
    ),
    "node-missing": (
        C,
        MAP,
        MAP + "V3 { global: qux3; } V2;\n",
        {("node-missing", "error"), ("script-symbol-missing", "error")},
    ),
    "node-unexpected": (
        C,
        MAP,
        "V1 { global: foo; bar; local: *; };\n",
        {("node-unexpected", "error"), ("symbol-not-in-script", "error")},
    ),
    "node-parent-mismatch": (
        C,
        MAP,
        MAP.replace("} V1;", "};"),
        {("node-parent-mismatch", "warning")},
    ),
    "script-duplicate-symbol": (
        C,
        MAP,
        MAP.replace("qux;", "qux; foo;"),
        # GNU ld: the first node naming a symbol decides, so foo stays in V1.
        {("script-duplicate-symbol", "error")},
    ),
}


def _run(case: str, build_lib: BuildLib, profile: str = "generic") -> set[tuple[str, str]]:
    src, build_map, check_map, _ = CASES[case]
    abi = read_library(build_lib(src, build_map))
    script = parse_script_text(check_map, "t.map")
    return {(f.rule, f.severity.value) for f in checked(abi, script, builtin(profile))}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_rule(case: str, build_lib: BuildLib) -> None:
    assert _run(case, build_lib) == CASES[case][3]


def test_findings_point_at_the_script_line(build_lib: BuildLib) -> None:
    abi = read_library(build_lib(C, MAP))
    script = parse_script_text(MAP.replace("qux;", "qux;\n  ghost;"), "t.map")
    (f,) = checked(abi, script, builtin("generic"))
    assert f.rule == "script-symbol-missing" and f.symbol == "ghost"
    assert f.location is not None and (f.location.path, f.location.line) == ("t.map", 3)


CHAIN_C = "int a(void){return 1;}\nint b(void){return 2;}\nint c(void){return 3;}\n"


@pytest.mark.parametrize(
    ("vmap", "broken"),
    [
        (
            "LIBVIRT_1.0.0 { global: a; local: *; };\nLIBVIRT_1.1.0 { global: b; } LIBVIRT_1.0.0;\n"
            "LIBVIRT_1.2.0 { global: c; } LIBVIRT_1.1.0;\n",
            set(),
        ),
        # parent skips a node
        (
            "LIBVIRT_1.0.0 { global: a; local: *; };\nLIBVIRT_1.1.0 { global: b; } LIBVIRT_1.0.0;\n"
            "LIBVIRT_1.2.0 { global: c; } LIBVIRT_1.0.0;\n",
            {"LIBVIRT_1.2.0"},
        ),
        # names do not increase (0.10.0 > 0.9.0 numerically: this one is fine) ...
        (
            "LIBVIRT_0.9.0 { global: a; local: *; };\n"
            "LIBVIRT_0.10.0 { global: b; } LIBVIRT_0.9.0;\n"
            "LIBVIRT_0.10.1 { global: c; } LIBVIRT_0.10.0;\n",
            set(),
        ),
        # ... but 1.1.0 after 1.2.0 is not
        (
            "LIBVIRT_1.0.0 { global: a; local: *; };\nLIBVIRT_1.2.0 { global: b; } LIBVIRT_1.0.0;\n"
            "LIBVIRT_1.1.0 { global: c; } LIBVIRT_1.2.0;\n",
            {"LIBVIRT_1.1.0"},
        ),
    ],
)
def test_script_chain(vmap: str, broken: set[str], build_lib: BuildLib) -> None:
    abi = read_library(build_lib(CHAIN_C, vmap, soname="libvirt.so.0"))
    findings = checked(abi, parse_script_text(vmap, "x.syms"), builtin("libvirt"))
    assert {f.version for f in findings if f.rule == "script-chain-broken"} == broken
    assert {f.rule for f in findings} <= {"script-chain-broken"}


def test_wildcard_leak_is_not_listed_under_libvirt_profile(build_lib: BuildLib) -> None:
    vmap = "LIBVIRT_1.0.0 { global: a; b*; local: *; };\n"
    abi = read_library(build_lib(CHAIN_C, vmap, soname="libvirt.so.0"))
    script = parse_script_text(vmap, "x.syms")
    libvirt = {(f.rule, f.symbol) for f in checked(abi, script, builtin("libvirt"))}
    assert libvirt == {("symbol-not-in-script", "b")}
    assert checked(abi, script, builtin("generic")) == []


def test_scripts_are_given_to_the_library_they_describe(build_lib: BuildLib, tmp_path) -> None:
    """A package's libraries each get their own scripts; a script for none is a problem."""
    from elfaudit.commands.check import run_check
    from elfaudit.model.report import exit_code

    tree = tmp_path / "usr" / "lib"
    tree.mkdir(parents=True)
    (tree / "libt.so.1").write_bytes(build_lib(C, MAP).read_bytes())
    other = "int zz(void){return 1;}\n"
    (tree / "libz.so.1").write_bytes(
        build_lib(other, "Z_1 { global: zz; local: *; };\n", soname="libz.so.1").read_bytes()
    )
    (tmp_path / "t.map").write_text(MAP)
    (tmp_path / "z.map").write_text("Z_1 { global: zz; local: *; };\n")
    (tmp_path / "none.map").write_text("N_1 { global: nothing_exports_this; };\n")
    scripts = [str(tmp_path / n) for n in ("t.map", "z.map", "none.map")]
    report = run_check([str(tmp_path)], scripts)
    assert report.findings == ()
    assert [p.path for p in report.problems] == [str(tmp_path / "none.map")]
    assert exit_code(report) == 1

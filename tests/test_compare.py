"""compare: one gcc-built old/new pair per rule, plus the compat pattern and a rebuild."""

from __future__ import annotations

import pytest
from conftest import BuildLib
from weighing import compared

from elfaudit.model.report import Severity
from elfaudit.policy.profiles import builtin
from elfaudit.readers.elf import read_library

OLD_C = """
int foo(void) { return 1; }
int bar(void) { return 2; }
int baz_data[4];
int qux(void) { return 3; }
"""
OLD_MAP = """
V1 { global: foo; bar; baz_data; local: *; };
V2 { global: qux; } V1;
"""

# name -> (new C source, new map, new soname, expected rule ids and severities)
CASES: dict[str, tuple[str, str, str, set[tuple[str, str]]]] = {
    "identical-rebuild": (OLD_C, OLD_MAP, "libt.so.1", set()),
    "symbol-removed": (
        OLD_C.replace("int bar(void) { return 2; }", ""),
        OLD_MAP.replace(" bar;", ""),
        "libt.so.1",
        {("symbol-removed", "error")},
    ),
    "symbol-version-changed": (
        OLD_C,
        "V1 { global: foo; baz_data; local: *; };\nV2 { global: qux; bar; } V1;\n",
        "libt.so.1",
        {("symbol-version-changed", "error")},
    ),
    "symbol-default-lost": (
        OLD_C.replace("int bar(void)", "int bar_impl(void)")
        + '__asm__(".symver bar_impl, bar@V1");\n',
        OLD_MAP,
        "libt.so.1",
        {("symbol-default-lost", "warning")},
    ),
    "symbol-type-changed": (
        OLD_C.replace("int bar(void) { return 2; }", "int bar = 2;"),
        OLD_MAP,
        "libt.so.1",
        {("symbol-type-changed", "error")},
    ),
    "symbol-binding-changed": (
        OLD_C.replace("int bar(void)", "__attribute__((weak)) int bar(void)"),
        OLD_MAP,
        "libt.so.1",
        {("symbol-binding-changed", "warning")},
    ),
    "symbol-visibility-changed": (
        OLD_C.replace("int bar(void)", '__attribute__((visibility("protected"))) int bar(void)'),
        OLD_MAP,
        "libt.so.1",
        {("symbol-visibility-changed", "warning")},
    ),
    "symbol-size-changed": (
        OLD_C.replace("baz_data[4]", "baz_data[8]"),
        OLD_MAP,
        "libt.so.1",
        {("symbol-size-changed", "error")},
    ),
    "node-removed": (
        OLD_C.replace("int qux(void) { return 3; }", ""),
        "V1 { global: foo; bar; baz_data; local: *; };\n",
        "libt.so.1",
        {("node-removed", "error"), ("symbol-removed", "error")},
    ),
    "node-parent-changed": (
        OLD_C,
        OLD_MAP.replace("} V1;", "};"),
        "libt.so.1",
        {("node-parent-changed", "warning")},
    ),
    "symbol-added-to-released-node": (
        OLD_C + "int late(void) { return 9; }\n",
        OLD_MAP.replace("global: foo;", "global: foo; late;"),
        "libt.so.1",
        {("symbol-added-to-released-node", "info")},
    ),
    "soname-changed": (OLD_C, OLD_MAP, "libt.so.2", {("soname-changed", "error")}),
    "symbol-added-in-new-node": (
        OLD_C + "int fresh(void) { return 9; }\n",
        OLD_MAP + "V3 { global: fresh; } V2;\n",
        "libt.so.1",
        {("symbol-added", "info"), ("node-added", "info")},
    ),
    # The sanctioned way to change a function: keep foo@V1 as a hidden compat symbol and
    # add foo@@V3. Not a removal.
    "compat-symbol": (
        OLD_C.replace("int foo(void) { return 1; }", "int foo_v1(void) { return 1; }")
        + 'int foo_v3(void) { return 3; }\n__asm__(".symver foo_v1, foo@V1");\n'
        + '__asm__(".symver foo_v3, foo@@V3");\n',
        OLD_MAP + "V3 { global: fresh; } V2;\n",
        "libt.so.1",
        {("symbol-added", "info"), ("node-added", "info")},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_compare_rule(case: str, build_lib: BuildLib) -> None:
    src, vmap, soname, expected = CASES[case]
    if case == "compat-symbol":
        src += "int fresh(void) { return 4; }\n"
    old = read_library(build_lib(OLD_C, OLD_MAP))
    new = read_library(build_lib(src, vmap, soname=soname))
    result = compared(old, new, builtin("generic"))
    got = {(f.rule, f.severity.value) for f in result.findings}
    assert got == expected, [f.message for f in result.findings]


def test_compat_pattern_really_has_both_versions(build_lib: BuildLib) -> None:
    src, vmap, soname, _ = CASES["compat-symbol"]
    new = read_library(build_lib(src + "int fresh(void) { return 4; }\n", vmap, soname=soname))
    labels = {s.label for s in new.symbols if s.name == "foo"}
    assert labels == {"foo@V1", "foo@@V3"}


def test_removed_symbol_in_weak_node_is_a_warning(build_lib: BuildLib) -> None:
    """libvirt's hypervisor-specific nodes may lose API: a warning, not an error."""
    c = "int a(void){return 1;}\nint q(void){return 2;}\n"
    vmap = "LIBVIRT_1.0.0 { global: a; local: *; };\nLIBVIRT_QEMU_1.0.0 { global: q; };\n"
    old = read_library(build_lib(c, vmap, soname="libvirt-qemu.so.0"))
    new = read_library(
        build_lib(
            c.replace("int q(void){return 2;}\n", ""),
            vmap.replace("global: q;", "global: q_gone;"),
            soname="libvirt-qemu.so.0",
        )
    )
    result = compared(old, new, builtin("libvirt"))
    assert {(f.rule, f.severity) for f in result.findings} == {("symbol-removed", Severity.WARNING)}


def test_private_churn_is_summarised_not_listed(build_lib: BuildLib) -> None:
    pub = "int virPub(void){return 1;}\n"
    old = read_library(
        build_lib(
            pub + "int virA(void){return 1;}\nint virB(void){return 1;}\n",
            "LIBVIRT_1.0.0 { global: virPub; };\n"
            "LIBVIRT_PRIVATE_1.0.0 { global: virA; virB; local: *; };\n",
            soname="libvirt.so.0",
        )
    )
    new = read_library(
        build_lib(
            pub + "int virB(void){return 1;}\nint virC(void){return 1;}\n",
            "LIBVIRT_1.0.0 { global: virPub; };\n"
            "LIBVIRT_PRIVATE_2.0.0 { global: virB; virC; local: *; };\n",
            soname="libvirt.so.0",
        )
    )
    result = compared(old, new, builtin("libvirt"))
    assert result.findings == ()
    assert result.private is not None
    assert (result.private.added, result.private.removed) == (1, 1)
    assert result.private.old_nodes == ("LIBVIRT_PRIVATE_1.0.0",)
    assert result.private.new_nodes == ("LIBVIRT_PRIVATE_2.0.0",)
    assert result.private.symbols == ()
    shown = compared(old, new, builtin("libvirt"), show_private=True).private
    assert shown is not None and shown.symbols == ("+virC", "-virA")


def test_public_symbol_moved_into_private_node_is_an_error(build_lib: BuildLib) -> None:
    c = "int virPub(void){return 1;}\nint virX(void){return 1;}\n"
    old = read_library(
        build_lib(
            c,
            "LIBVIRT_1.0.0 { global: virPub; virX; };\nLIBVIRT_PRIVATE_1.0.0 { local: *; };\n",
            soname="libvirt.so.0",
        )
    )
    new = read_library(
        build_lib(
            c,
            "LIBVIRT_1.0.0 { global: virPub; };\n"
            "LIBVIRT_PRIVATE_2.0.0 { global: virX; local: *; };\n",
            soname="libvirt.so.0",
        )
    )
    result = compared(old, new, builtin("libvirt"))
    assert {(f.rule, f.symbol) for f in result.findings} == {("symbol-version-changed", "virX")}

"""Regression fixtures named after real incidents in libvirt's history (and its forks).

Each test builds libraries with gcc from the real version scripts in ../shared (a stub
per listed symbol) and checks that elfaudit judges the change the way it really played
out. The scripts are read in place; nothing from ../shared is copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest
from conftest import BuildLib
from weighing import checked, compared

from elfaudit.commands.waiving import WaiverOptions, apply_waivers
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Severity
from elfaudit.policy.profiles import builtin
from elfaudit.readers.elf import read_library
from elfaudit.readers.version_script import parse_script

HISTORY = "data/libvirt-syms-history"
DATA_OBJECTS = {"virConnectAuthPtrDefault"}


def _script(shared: Path, rel: str) -> Path:
    return shared / HISTORY / rel


def build_from_script(build_lib: BuildLib, path: Path, soname: str) -> LibraryABI:
    """A library exporting a stub for every name the script lists, linked with it."""
    script = parse_script(str(path))
    names = sorted({e.pattern for n in script.nodes for e in n.globals if not e.is_wildcard})
    c = "".join(f"void *{n};\n" if n in DATA_OBJECTS else f"void {n}(void) {{}}\n" for n in names)
    return read_library(build_lib(c, path.read_text(), soname=soname))


def _errors(old: LibraryABI, new: LibraryABI) -> set[tuple[str, str | None, str | None]]:
    found = compared(old, new, builtin("libvirt")).findings
    return {(f.rule, f.symbol, f.version) for f in found if f.severity is Severity.ERROR}


def test_libvirt_3_2_0_virDomainSetBlockThreshold_in_shipped_3_1_0(
    shared_dir: Path, build_lib: BuildLib
) -> None:
    """v3.2.0 put a new API into LIBVIRT_3.1.0, which v3.1.0 had already shipped."""
    v310 = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/fe356769b7/libvirt_public.syms"),
        "libvirt.so.0",
    )
    v320 = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/a2436b799f/libvirt_public.syms"),
        "libvirt.so.0",
    )
    assert _errors(v310, v320) == {
        ("symbol-added-to-released-node", "virDomainSetBlockThreshold", "LIBVIRT_3.1.0")
    }
    # libvirt cannot fix it without breaking ABI: the shipped waiver accepts it, visibly.
    findings = list(compared(v310, v320, builtin("libvirt")).findings)
    waived, stale = apply_waivers(findings, [builtin("libvirt")], WaiverOptions())
    (f,) = [f for f in waived if f.symbol == "virDomainSetBlockThreshold"]
    assert f.waived and "3.2.0" in f.waived
    assert stale == ()


def test_libvirt_0_8_0_rename_of_unreleased_node(shared_dir: Path, build_lib: BuildLib) -> None:
    """LIBVIRT_0.7.8 was renamed LIBVIRT_0.8.0 before release: had it shipped, every one
    of its symbols would have moved."""
    pre = _script(shared_dir, "libvirt__libvirt/22de841a76/libvirt_public.syms")
    rel = _script(shared_dir, "libvirt__libvirt/bfcca58787/libvirt_public.syms")
    moved = {e.pattern for e in (parse_script(str(pre)).node("LIBVIRT_0.7.8") or _no()).globals}
    errors = _errors(
        build_from_script(build_lib, pre, "libvirt.so.0"),
        build_from_script(build_lib, rel, "libvirt.so.0"),
    )
    assert {s for r, s, _ in errors if r == "symbol-version-changed"} == moved
    assert ("node-removed", None, "LIBVIRT_0.7.8") in errors
    assert {r for r, _, _ in errors} == {"symbol-version-changed", "node-removed"}


def _no() -> NoReturn:
    raise AssertionError("node missing from the history file")


def test_admin_1_3_0_node_renamed_2_0_0(shared_dir: Path, build_lib: BuildLib) -> None:
    """libvirt-admin's LIBVIRT_ADMIN_1.3.0 (shipped since 1.2.18) became LIBVIRT_ADMIN_2.0.0."""
    old = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/851a751575/libvirt_admin_public.syms"),
        "libvirt-admin.so.0",
    )
    new = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/52dbacc07a/libvirt_admin_public.syms"),
        "libvirt-admin.so.0",
    )
    errors = _errors(old, new)
    assert ("node-removed", None, "LIBVIRT_ADMIN_1.3.0") in errors
    moved = {s for r, s, _ in errors if r == "symbol-version-changed"}
    assert moved == {s.name for s in old.symbols}


def test_powerkvm_backport_into_shipped_1_2_16(shared_dir: Path, build_lib: BuildLib) -> None:
    """PowerKVM put virTypedParamsAddStringList into LIBVIRT_1.2.16; upstream shipped it in
    LIBVIRT_1.2.17. Programs built on PowerKVM fail to load on upstream libvirt."""
    downstream = build_from_script(
        build_lib,
        _script(shared_dir, "open-power-host-os__libvirt/ba965fa41f/libvirt_public.syms"),
        "libvirt.so.0",
    )
    upstream = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/845184b2fd/libvirt_public.syms"),
        "libvirt.so.0",
    )
    assert _errors(downstream, upstream) == {
        ("symbol-version-changed", "virTypedParamsAddStringList", "LIBVIRT_1.2.16")
    }


def test_cat_series_reopens_shipped_3_0_0(shared_dir: Path, build_lib: BuildLib) -> None:
    """A WIP series added virNodeGetCacheStats to LIBVIRT_3.0.0 after 3.1.0 had shipped."""
    v310 = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/fe356769b7/libvirt_public.syms"),
        "libvirt.so.0",
    )
    wip = build_from_script(
        build_lib,
        _script(shared_dir, "taget__libvirt/8e51734e70/libvirt_public.syms"),
        "libvirt.so.0",
    )
    assert _errors(v310, wip) == {
        ("symbol-added-to-released-node", "virNodeGetCacheStats", "LIBVIRT_3.0.0")
    }


def test_admin_daemon_shutdown_branch_node_vs_upstream(
    shared_dir: Path, build_lib: BuildLib
) -> None:
    """A development branch exported virAdmConnectDaemonShutdown at LIBVIRT_ADMIN_11.0.0;
    upstream merged it as LIBVIRT_ADMIN_11.2.0."""
    branch = build_from_script(
        build_lib,
        _script(shared_dir, "berrange__libvirt/4c81b03d79/libvirt_admin_public.syms"),
        "libvirt-admin.so.0",
    )
    upstream = build_from_script(
        build_lib,
        _script(shared_dir, "libvirt__libvirt/27020d20ee/libvirt_admin_public.syms"),
        "libvirt-admin.so.0",
    )
    assert _errors(branch, upstream) == {
        ("node-removed", None, "LIBVIRT_ADMIN_11.0.0"),
        ("symbol-version-changed", "virAdmConnectDaemonShutdown", "LIBVIRT_ADMIN_11.0.0"),
    }


def test_fork_inserts_a_node_for_a_shipped_release(shared_dir: Path, build_lib: BuildLib) -> None:
    """A fork (9.7 base) inserted LIBVIRT_6.2.0 mid-chain and re-parented upstream's
    LIBVIRT_6.10.0 onto it. Its own chain is consistent, so only history can tell: 6.2.0
    had shipped long before without that node."""
    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.judge import graph_check

    path = _script(shared_dir, "Maxppddcsz__libvirt/2d62cffddc/libvirt_public.syms")
    ref = shared_dir / "reference/libvirt-syms/v9.6.0/libvirt_public.syms"
    fork = build_from_script(build_lib, path, "libvirt.so.0")
    upstream = build_from_script(build_lib, ref, "libvirt.so.0")
    assert checked(fork, parse_script(str(path)), builtin("libvirt")) == []
    assert checked(upstream, parse_script(str(ref)), builtin("libvirt")) == []

    found = compared(upstream, fork, builtin("libvirt")).findings
    assert ("node-parent-changed", "LIBVIRT_6.10.0", Severity.WARNING) in {
        (f.rule, f.version, f.severity) for f in found
    }
    graph = ReleaseGraph()
    graph.add_release("9.6.0", [upstream])
    verdict = graph_check(graph, [fork], "9.7.0")
    errors = {(f.rule, f.version) for f in verdict.findings if f.severity is Severity.ERROR}
    assert errors == {("node-named-for-shipped-release", "LIBVIRT_6.2.0")}


@pytest.mark.parametrize(
    "rel",
    [
        "flying0712__libvirt/3a4001a034/libvirt_public.syms",
        "kantai__libvirt-vfork/6f16ebc8fc/libvirt_public.syms",
        "msekletar__libvirt/402c8b3dfc/libvirt_public.syms",
    ],
)
def test_forks_adding_to_shipped_nodes_are_caught_against_upstream(
    rel: str, shared_dir: Path, build_lib: BuildLib
) -> None:
    """Forks that append vendor symbols to nodes upstream had shipped: judged against the
    upstream 9.6.0 script, every such addition is a symbol-added-to-released-node."""
    fork_path = _script(shared_dir, rel)
    ref = shared_dir / "reference/libvirt-syms/v9.6.0/libvirt_public.syms"
    fork = parse_script(str(fork_path))
    upstream = parse_script(str(ref))
    expected = set()
    for node in fork.nodes:
        up = upstream.node(node.name or "")
        if up is None:
            continue
        up_names = {e.pattern for e in up.globals}
        expected |= {(e.pattern, node.name) for e in node.globals if e.pattern not in up_names}
    assert expected, "the fork adds nothing to upstream nodes"
    old = build_from_script(build_lib, ref, "libvirt.so.0")
    new = build_from_script(build_lib, fork_path, "libvirt.so.0")
    got = {(s, v) for r, s, v in _errors(old, new) if r == "symbol-added-to-released-node"}
    assert got == expected

"""Every rule of the catalogue can really be produced: one scenario per rule id.

Each scenario builds (or reuses, from the rule's own test module) a tiny input, runs the
analyser a command runs, weighs the findings as that command does and returns the rule
ids it reports. A rule added to :class:`elfaudit.policy.rules.Rule` without a scenario
here fails ``test_every_rule_has_a_scenario``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import test_apixml as ax
import test_check
import test_compare
import test_debsymbols
import test_every_library
import test_scan
from conftest import BuildLib
from libvirtlike import N100, N110, N120, c_source, version_script
from weighing import checked, compared, self_checked, weighed

from elfaudit.analysis import api_checks
from elfaudit.analysis import symbols_file as ds
from elfaudit.commands.compare import compare_sets
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.graph.judge import graph_check
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding
from elfaudit.policy.profiles import builtin
from elfaudit.policy.rules import BY_ID
from elfaudit.readers import debian_symbols as dsr
from elfaudit.readers.elf import read_library
from elfaudit.readers.snapshot import dump_document
from elfaudit.readers.version_script import parse_script_text

Scenario = Callable[[BuildLib, Path], set[str]]
SCENARIOS: dict[str, Scenario] = {}


def _ids(findings: Iterable[Finding]) -> set[str]:
    return {f.rule for f in findings}


# --------------------------------------------------------------------------- check


def _check_case(case: str) -> Scenario:
    def run(build_lib: BuildLib, _tmp: Path) -> set[str]:
        src, build_map, check_map, _ = test_check.CASES[case]
        abi = read_library(build_lib(src, build_map))
        return _ids(checked(abi, parse_script_text(check_map, "t.map"), builtin("generic")))

    return run


for _rule in (
    "script-symbol-missing",
    "symbol-wrong-node",
    "symbol-not-in-script",
    "symbol-unversioned",
    "symbol-not-default",
    "node-missing",
    "node-unexpected",
    "node-parent-mismatch",
    "script-duplicate-symbol",
):
    SCENARIOS[_rule] = _check_case(_rule)


def _chain_broken(build_lib: BuildLib, _tmp: Path) -> set[str]:
    abi = read_library(build_lib(test_scan.CHAIN_C, test_scan.CHAIN_MAP, soname="libvirt.so.0"))
    return _ids(self_checked(abi, builtin("libvirt")))


SCENARIOS["script-chain-broken"] = _chain_broken


# --------------------------------------------------------------------------- compare


def _compare_case(case: str) -> Scenario:
    def run(build_lib: BuildLib, _tmp: Path) -> set[str]:
        src, vmap, soname, _ = test_compare.CASES[case]
        old = read_library(build_lib(test_compare.OLD_C, test_compare.OLD_MAP))
        new = read_library(build_lib(src, vmap, soname=soname))
        return _ids(compared(old, new, builtin("generic")).findings)

    return run


for _rule in (
    "symbol-removed",
    "symbol-version-changed",
    "symbol-default-lost",
    "symbol-type-changed",
    "symbol-binding-changed",
    "symbol-visibility-changed",
    "symbol-size-changed",
    "node-removed",
    "node-parent-changed",
    "symbol-added-to-released-node",
    "soname-changed",
):
    SCENARIOS[_rule] = _compare_case(_rule)
SCENARIOS["symbol-added"] = _compare_case("symbol-added-in-new-node")
SCENARIOS["node-added"] = _compare_case("symbol-added-in-new-node")


def _machine_changed(build_lib: BuildLib, tmp: Path) -> set[str]:
    """gcc here has no -m32 multilib: the other machine is a snapshot of the same library
    that says aarch64 (compare_abi compares machine, ELF class and byte order)."""
    path = build_lib(test_compare.OLD_C, test_compare.OLD_MAP)
    doc = dump_document([read_library(path)])
    doc["libraries"][0]["machine"] = "aarch64"
    snap = tmp / "aarch64.json"
    snap.write_text(json.dumps(doc))
    from elfaudit.readers.inputs import load_libraries

    (other,) = load_libraries(str(snap))
    assert other.machine == "aarch64"
    return _ids(compared(read_library(path), other, builtin("generic")).findings)


SCENARIOS["machine-changed"] = _machine_changed


def _every_library_case(case: str) -> Scenario:
    def run(build_lib: BuildLib, _tmp: Path) -> set[str]:
        _, _, old, new = test_every_library._pair(build_lib, case)
        return _ids(compared(old, new, builtin("generic")).findings)

    return run


SCENARIOS["empty-node-removed"] = _every_library_case("empty-node")
SCENARIOS["versioning-added"] = _every_library_case("versioning-added")


# --------------------------------------------------------------------------- packages


def _package_sets(build_lib: BuildLib) -> tuple[list[LibraryABI], list[LibraryABI]]:
    a = read_library(build_lib(test_compare.OLD_C, test_compare.OLD_MAP, soname="liba.so.1"))
    b = read_library(build_lib(test_compare.OLD_C, test_compare.OLD_MAP, soname="libb.so.1"))
    c = read_library(build_lib(test_compare.OLD_C, test_compare.OLD_MAP, soname="libc2.so.1"))
    return [a, b], [a, c]


def _package(build_lib: BuildLib, _tmp: Path) -> set[str]:
    old, new = _package_sets(build_lib)
    found, _private, profile_of = compare_sets(old, new, provides=True)
    return _ids(weighed(found, profile_of))


SCENARIOS["library-removed"] = _package
SCENARIOS["library-added"] = _package
SCENARIOS["provides-removed"] = _package


def _moved(build_lib: BuildLib, tmp: Path) -> set[str]:
    """test_upgrades' move: foo@V1 from libA to libB, which libA needs (ld.so runs it)."""
    import test_upgrades

    old, new, _prog = test_upgrades._build_case(build_lib, tmp, "default")
    libs = [[read_library(p) for p in sorted(d.iterdir())] for d in (old, new)]
    found, _private, profile_of = compare_sets(libs[0], libs[1])
    return _ids(weighed(found, profile_of))


def _dependencies(build_lib: BuildLib, _tmp: Path) -> set[str]:
    """A build that drops libm for libz... (DT_NEEDED) and needs a newer glibc."""
    import test_upgrades

    old = test_upgrades._abi(("libc.so.6", "libm.so.6"), (("libc.so.6", "GLIBC_2.2.5"),))
    new = test_upgrades._abi(("libc.so.6", "libz.so.1"), (("libc.so.6", "GLIBC_2.38"),))
    found, _private, profile_of = compare_sets([old], [new])
    return _ids(weighed(found, profile_of))


SCENARIOS["symbol-moved-library"] = _moved
for _rule in ("needed-added", "needed-removed", "version-need-raised"):
    SCENARIOS[_rule] = _dependencies


# --------------------------------------------------------------------------- graph


def _libvirt(build_lib: BuildLib, nodes: dict[str, list[str]], private: str) -> LibraryABI:
    path = build_lib(c_source(nodes, private), version_script(nodes, private), "libvirt.so.0")
    return read_library(path)


def _graph(build_lib: BuildLib) -> ReleaseGraph:
    graph = ReleaseGraph()
    prof = builtin("libvirt")
    for rel, nodes, parents in (
        ("1.0.0", N100, []),
        ("1.1.0", N110, ["1.0.0"]),
        ("1.2.0", N120, ["1.1.0"]),
    ):
        graph.add_release(
            rel, [_libvirt(build_lib, nodes, rel)], parents, is_private=prof.is_private
        )
    return graph


def _named_for_shipped(build_lib: BuildLib, _tmp: Path) -> set[str]:
    nodes = {**N120, "LIBVIRT_1.1.5": ["virLateComer"]}
    return _ids(
        graph_check(_graph(build_lib), [_libvirt(build_lib, nodes, "1.3.0")], "1.3.0").findings
    )


def _above_release(build_lib: BuildLib, _tmp: Path) -> set[str]:
    nodes = {**N120, "LIBVIRT_1.4.0": ["virFromTheFuture"]}
    return _ids(
        graph_check(_graph(build_lib), [_libvirt(build_lib, nodes, "1.3.0")], "1.3.0").findings
    )


def _private_misnamed(build_lib: BuildLib, _tmp: Path) -> set[str]:
    stale = _libvirt(build_lib, N120, "1.2.0")  # building 1.3.0 with last release's node
    return _ids(graph_check(_graph(build_lib), [stale], "1.3.0").findings)


SCENARIOS["node-named-for-shipped-release"] = _named_for_shipped
SCENARIOS["node-above-release"] = _above_release
SCENARIOS["private-node-misnamed"] = _private_misnamed


# --------------------------------------------------------------------------- API description

_FN = "<function name='virNew' file='d' module='d' version='9.9.9'><return type='int'/></function>"
_API_EDITS: dict[str, tuple[str, str]] = {
    "api-function-removed": (ax.block("<function name='virDomainBar'", "<variable"), ""),
    "api-function-signature-changed": (
        "<return type='int' info='0 or -1'/>",
        "<return type='long'/>",
    ),
    "api-enum-removed": ("name='VIR_A_ZERO'", "name='VIR_A_NONE'"),
    "api-enum-value-changed": ("value='1' type='virA'", "value='7' type='virA'"),
    "api-macro-removed": (ax.block("<macro name='VIR_UUID_BUFLEN'", "<macro name='VIR_BIG'"), ""),
    "api-macro-value-changed": ("raw='(16)'", "raw='(32)'"),
    "api-struct-changed": ("type='int' info='type'/>", "type='long' info='type'/>"),
    "api-union-changed": ("name='s' type='char *'", "name='s' type='long'"),
    "api-typedef-removed": ("type='virDomain *'", "type='void *'"),
    "api-version-changed": ("version='0.0.3'", "version='0.0.4'"),
    "api-added": ("<variable ", f"{_FN}\n    <variable "),
}


def _api_case(rule: str) -> Scenario:
    def run(_build_lib: BuildLib, _tmp: Path) -> set[str]:
        old, new = _API_EDITS[rule]
        raw = api_checks.compare_api(ax.api(path="old.xml"), ax.api(ax.edit(old, new)))
        return _ids(weighed(raw))

    return run


for _rule in _API_EDITS:
    SCENARIOS[_rule] = _api_case(_rule)


def _api_against_binary(_build_lib: BuildLib, _tmp: Path) -> set[str]:
    abi = ax._abi(
        (
            ax._sym("tOld", "LIBT_1.0"),
            ax._sym("tNew", "LIBT_2.0"),
            ax._sym("tMoved", "LIBT_1.0"),  # documented as 2.0: api-node-mismatch
            ax._sym("tData", "LIBT_1.0", "OBJECT"),
            ax._sym("tExtra", "LIBT_2.0"),  # not documented: api-undocumented
        )  # tMissing is documented but absent: api-not-exported
    )
    return _ids(weighed(api_checks.check_api_against_library(ax.api(ax.LIB_SYMBOLS, "libt"), abi)))


for _rule in ("api-not-exported", "api-node-mismatch", "api-undocumented"):
    SCENARIOS[_rule] = _api_against_binary


# --------------------------------------------------------------------------- Debian symbols files


def _symbols_file(build_lib: BuildLib, _tmp: Path) -> set[str]:
    abi = read_library(
        build_lib(test_debsymbols.LIB_C, test_debsymbols.LIB_MAP, soname="libt.so.1")
    )
    text = (
        "libt.so.1 libt1 #MINVER#\n"
        " (symver)V_1.0 1.0\n"  # covers late@V_1.0, which really shipped in 1.5: too low
        " foo@V_1.0 1.0\n"
        " gone@V_1.0 1.0\n"  # not exported: stale
    )  # bar@V_2.0 is not covered: missing
    sf = dsr.parse_symbols_file(text, "t.symbols")
    minver = ds.node_minver({("libt.so.1", "late"): "1.5"})
    return _ids(weighed(ds.check_symbols_file(sf, [abi], minver=minver), "generic"))


for _rule in (
    "symbols-file-missing-symbol",
    "symbols-file-stale-symbol",
    "symbols-file-minver-too-low",
):
    SCENARIOS[_rule] = _symbols_file


# --------------------------------------------------------------------------- configfiles


def _config_files(_build_lib: BuildLib, _tmp: Path) -> set[str]:
    import test_config_files as tc

    from elfaudit.analysis.config_files import check_config_files

    base = tc.lens_text(tc.ENTRIES)
    lens = tc.lens_text(tc.ENTRIES.replace('int_entry "max_clients" |', ""))
    conf = tc.CONF.replace("#listen_tls = 0\n", "listen_tls = 1\n")
    old = tc.release("old", base, tc.CONF)
    new = tc.release("new", lens, conf)
    extra = tc.release("new", lens, tc.CONF, name="other.conf")
    found = list(check_config_files(old, new).findings)
    found += check_config_files(old, extra).findings
    return _ids(weighed(found, "libvirt"))


for _rule in (
    "config-parameter-unreadable",
    "config-parameter-active",
    "config-lens-missing",
    "config-parameter-dropped",
):
    SCENARIOS[_rule] = _config_files


# --------------------------------------------------------------------------- xmlschema


def _schemas(_build_lib: BuildLib, _tmp: Path) -> set[str]:
    import test_relaxng as tr

    from elfaudit.analysis.schemas import check_schemas

    old, new = tr.scenario()
    return _ids(weighed(list(check_schemas(old, new).findings), "libvirt"))


for _rule in (
    "schema-file-removed",
    "schema-element-removed",
    "schema-attribute-removed",
    "schema-value-removed",
    "schema-attribute-required",
    "schema-element-required",
    "schema-file-added",
    "schema-element-added",
    "schema-attribute-added",
    "schema-value-added",
):
    SCENARIOS[_rule] = _schemas


# --------------------------------------------------------------------------- apierrors, hvdrivers


def _api_errors(_build_lib: BuildLib, _tmp: Path) -> set[str]:
    import test_guarantees as tg

    from elfaudit.analysis.api_errors import check_api_errors

    return _ids(weighed(list(check_api_errors(*tg.error_code_pair()).findings), "libvirt"))


def _drivers(_build_lib: BuildLib, _tmp: Path) -> set[str]:
    import test_guarantees as tg

    from elfaudit.analysis.api_errors import check_drivers

    return _ids(weighed(list(check_drivers(*tg.driver_pair()).findings), "libvirt"))


for _rule in ("api-error-code-removed", "api-error-code-renumbered", "api-error-code-added"):
    SCENARIOS[_rule] = _api_errors
for _rule in ("driver-added", "driver-dropped"):
    SCENARIOS[_rule] = _drivers


# --------------------------------------------------------------------------- rpcproto


def _rpc(_build_lib: BuildLib, _tmp: Path) -> set[str]:
    import test_rpc

    from elfaudit.analysis.rpc_protocol import compare_facts

    old, new = test_rpc.rule_pair()
    return _ids(weighed(list(compare_facts(old, new, "OLD", "NEW").findings), "libvirt"))


for _rule in (
    "rpc-program-removed",
    "rpc-procedure-removed",
    "rpc-procedure-renamed",
    "rpc-message-removed",
    "rpc-message-changed",
    "rpc-message-field-renamed",
    "rpc-sources-disagree",
    "rpc-program-added",
    "rpc-procedure-added",
    "rpc-message-added",
):
    SCENARIOS[_rule] = _rpc


# --------------------------------------------------------------------------- virsh


def _virsh(_build_lib: BuildLib, tmp: Path) -> set[str]:
    import test_virsh as tv

    from elfaudit.analysis.virsh_commands import check_virsh

    return _ids(weighed(list(check_virsh(*tv.virsh_pair(tmp)).findings), "libvirt"))


for _rule in (
    "virsh-command-removed",
    "virsh-option-removed",
    "virsh-option-changed",
    "virsh-command-added",
    "virsh-option-added",
):
    SCENARIOS[_rule] = _virsh


# --------------------------------------------------------------------------- the tests


def test_every_rule_has_a_scenario() -> None:
    assert sorted(set(BY_ID) - set(SCENARIOS)) == [], "add a scenario for each new rule"
    assert sorted(set(SCENARIOS) - set(BY_ID)) == [], "a scenario for a rule that is gone"


@pytest.mark.parametrize("rule", sorted(BY_ID))
def test_rule_is_produced(rule: str, build_lib: BuildLib, tmp_path: Path) -> None:
    scenario = SCENARIOS.get(rule)
    assert scenario is not None, f"no scenario produces {rule}"
    got = scenario(build_lib, tmp_path)
    assert rule in got, f"{rule} not produced; got {sorted(got)}"

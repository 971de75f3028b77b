"""scripts/corpus.py: the binutils ground truth and the runtime check, on gcc-built pairs;
on the cached real corpus (if fetched), the invariant that elfaudit misses no break."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import corpus
import pytest
from binutils import needs_binutils
from conftest import BuildLib

pytestmark = needs_binutils

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

IFUNC_FOO = """
static int foo_impl(void) { return 1; }
static void *foo_resolve(void) { return (void *)foo_impl; }
int foo(void) __attribute__((ifunc("foo_resolve")));
"""

# name -> (new C source, new map, new soname, expected category)
CASES: dict[str, tuple[str, str, str, str]] = {
    "identical": (OLD_C, OLD_MAP, "libt.so.1", corpus.COMPATIBLE),
    "symbol-removed": (
        OLD_C.replace("int bar(void) { return 2; }", ""),
        OLD_MAP.replace(" bar;", ""),
        "libt.so.1",
        corpus.BREAKS,
    ),
    "symbol-added": (
        OLD_C + "int fresh(void) { return 9; }\n",
        OLD_MAP + "V3 { global: fresh; } V2;\n",
        "libt.so.1",
        corpus.COMPATIBLE,
    ),
    "symbol-moved-to-another-node": (
        OLD_C,
        "V1 { global: foo; baz_data; local: *; };\nV2 { global: qux; bar; } V1;\n",
        "libt.so.1",
        corpus.BREAKS,
    ),
    # foo@V1 kept as a hidden compat symbol beside the new default foo@@V3
    "compat-symbol-kept": (
        OLD_C.replace("int foo(void) { return 1; }", "int foo_v1(void) { return 1; }")
        + 'int foo_v3(void) { return 3; }\n__asm__(".symver foo_v1, foo@V1");\n'
        + '__asm__(".symver foo_v3, foo@@V3");\n',
        OLD_MAP + "V3 { global: fresh; } V2;\n",
        "libt.so.1",
        corpus.COMPATIBLE,
    ),
    "func-to-ifunc": (
        OLD_C.replace("int foo(void) { return 1; }", IFUNC_FOO),
        OLD_MAP,
        "libt.so.1",
        corpus.COMPATIBLE,
    ),
    "func-to-object": (
        OLD_C.replace("int bar(void) { return 2; }", "int bar = 2;"),
        OLD_MAP,
        "libt.so.1",
        corpus.BREAKS,
    ),
    "object-shrunk": (
        OLD_C.replace("baz_data[4]", "baz_data[2]"),
        OLD_MAP,
        "libt.so.1",
        corpus.BREAKS,
    ),
    "object-grown": (
        OLD_C.replace("baz_data[4]", "baz_data[8]"),
        OLD_MAP,
        "libt.so.1",
        corpus.BREAKS,
    ),
    "soname-changed": (OLD_C, OLD_MAP, "libt.so.2", corpus.SONAME_CHANGE),
}


def _views(
    build_lib: BuildLib, old: tuple[str, str], new: tuple[str, str, str]
) -> tuple[corpus.LibView, corpus.LibView]:
    return (
        corpus.read_view(build_lib(old[0], old[1])),
        corpus.read_view(build_lib(new[0], new[1], soname=new[2])),
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_ground_truth(case: str, build_lib: BuildLib) -> None:
    src, vmap, soname, expected = CASES[case]
    old, new = _views(build_lib, (OLD_C, OLD_MAP), (src, vmap, soname))
    truth = corpus.ground_truth(old, new)
    assert truth.category == expected, truth.reasons
    assert bool(truth.reasons) == (expected == corpus.BREAKS), truth.reasons


def test_ground_truth_reasons_name_the_symbol(build_lib: BuildLib) -> None:
    src, vmap, soname, _ = CASES["symbol-removed"]
    old, new = _views(build_lib, (OLD_C, OLD_MAP), (src, vmap, soname))
    assert corpus.ground_truth(old, new).reasons == ["bar@@V1: removed"]
    src, vmap, soname, _ = CASES["object-shrunk"]
    old, new = _views(build_lib, (OLD_C, OLD_MAP), (src, vmap, soname))
    assert corpus.ground_truth(old, new).reasons == ["baz_data@@V1: OBJECT size 16 -> 8"]


def test_version_markers_are_not_exports(build_lib: BuildLib) -> None:
    view = corpus.read_view(build_lib(OLD_C, OLD_MAP))
    assert view.nodes == ["V1", "V2"]
    assert {s.label for s in view.symbols.values()} == {
        "foo@@V1",
        "bar@@V1",
        "baz_data@@V1",
        "qux@@V2",
    }
    assert view.symbols[("baz_data", "V1")].type == "OBJECT"
    assert view.symbols[("baz_data", "V1")].size == 16


def test_empty_node_removed_is_no_break(build_lib: BuildLib) -> None:
    with_empty = "V0 { };\n" + OLD_MAP
    old = corpus.read_view(build_lib(OLD_C, with_empty))
    new = corpus.read_view(build_lib(OLD_C, OLD_MAP))
    assert "V0" in old.nodes and "V0" not in new.nodes
    assert corpus.ground_truth(old, new).category == corpus.COMPATIBLE


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_symbol_moved_to_a_needed_library_still_binds(build_lib: BuildLib, tmp_path: Path) -> None:
    """glibc 2.34's move: bar@V1 leaves libt.so.1 for libu.so.1, which libt.so.1 needs;
    V1 stays defined in libt.so.1, so ld.so finds bar@V1 in libu.so.1."""
    old = corpus.read_view(build_lib(OLD_C, OLD_MAP))
    libu = build_lib(
        "int bar(void) { return 2; }\n", "V1 { global: bar; local: *; };\n", soname="libu.so.1"
    )
    new = corpus.read_view(
        build_lib(
            OLD_C.replace("int bar(void) { return 2; }", ""),
            OLD_MAP.replace(" bar;", ""),
            extra=(f"-L{libu.parent}", "-Wl,--no-as-needed", "-l:libu.so.1"),
        )
    )
    u = corpus.read_view(libu)
    assert new.needed[0] == "libu.so.1"
    assert corpus.needed_closure(new, {"libu.so.1": u, "libt.so.1": new}) == [u]
    assert corpus.ground_truth(old, new).category == corpus.BREAKS
    assert corpus.ground_truth(old, new, [u]).category == corpus.COMPATIBLE
    assert corpus.runtime_check(old, new, [libu.parent], work=tmp_path).result == "loads"


def test_private_only_breaks_are_flagged(build_lib: BuildLib) -> None:
    c = "int pub(void){return 1;}\nint priv(void){return 2;}\n"
    old = corpus.read_view(
        build_lib(c, "P_1 { global: pub; };\nP_PRIVATE_1 { global: priv; local: *; };\n")
    )
    new = corpus.read_view(
        build_lib(c, "P_1 { global: pub; };\nP_PRIVATE_2 { global: priv; local: *; };\n")
    )
    truth = corpus.ground_truth(old, new)
    assert (truth.category, truth.private_only) == (corpus.BREAKS, True)


def test_unversioned_export_bound_by_a_new_default(build_lib: BuildLib) -> None:
    old = corpus.read_view(build_lib(OLD_C, None))
    assert not old.versioned
    new = corpus.read_view(build_lib(OLD_C, OLD_MAP))
    assert corpus.ground_truth(old, new).category == corpus.COMPATIBLE
    assert corpus.ground_truth(new, old).category == corpus.BREAKS  # versions not found


def test_score() -> None:
    assert corpus.score(corpus.BREAKS, corpus.INCOMPATIBLE) == corpus.AGREE
    assert corpus.score(corpus.COMPATIBLE, corpus.INCOMPATIBLE) == corpus.FALSE_ALARM
    assert corpus.score(corpus.BREAKS, corpus.OK) == corpus.MISS
    assert corpus.score(corpus.COMPATIBLE, corpus.OK) == corpus.AGREE
    assert corpus.score(corpus.SONAME_CHANGE, corpus.INCOMPATIBLE) == corpus.UNSCORED


def test_pairing_by_soname_and_stem(build_lib: BuildLib) -> None:
    a1 = corpus.read_view(build_lib(OLD_C, OLD_MAP, soname="liba.so.1"))
    b1 = corpus.read_view(build_lib(OLD_C, OLD_MAP, soname="libb.so.1"))
    a2 = corpus.read_view(build_lib(OLD_C, OLD_MAP, soname="liba.so.2"))
    pairs = corpus.pair_libraries({"liba.so.1": a1, "libb.so.1": b1}, {"liba.so.2": a2})
    got = [(o.soname, n.soname if n else None) for o, n in pairs]
    assert got == [("liba.so.1", "liba.so.2"), ("libb.so.1", None)]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_runtime_check_confirms_a_break_and_a_compatible_pair(
    build_lib: BuildLib, tmp_path: Path
) -> None:
    old = corpus.read_view(build_lib(OLD_C, OLD_MAP))
    src, vmap, soname, _ = CASES["symbol-removed"]
    broken = corpus.read_view(build_lib(src, vmap, soname=soname))
    got = corpus.runtime_check(old, broken, work=tmp_path)
    assert got.result == "fails", got
    assert "bar" in got.detail
    src, vmap, soname, _ = CASES["symbol-added"]
    grown = corpus.read_view(build_lib(src, vmap, soname=soname))
    got = corpus.runtime_check(old, grown, work=tmp_path)
    assert got == corpus.Runtime("loads", ""), got
    # a copy-relocated object that shrank: ld.so says so (LD_WARN)
    src, vmap, soname, _ = CASES["object-shrunk"]
    shrunk = corpus.read_view(build_lib(src, vmap, soname=soname))
    got = corpus.runtime_check(old, shrunk, work=tmp_path)
    assert got.result == "fails" and "baz_data" in got.detail, got
    # a removed version node: "version `V2' not found (required by prog)"
    old_v2 = corpus.read_view(
        build_lib(OLD_C + "int only2(void){return 0;}\n", OLD_MAP.replace("qux;", "qux; only2;"))
    )
    gone = corpus.read_view(
        build_lib(
            OLD_C.replace("int qux(void) { return 3; }", ""),
            "V1 { global: foo; bar; baz_data; local: *; };\n",
        )
    )
    got = corpus.runtime_check(old_v2, gone, work=tmp_path)
    assert got.result == "fails" and "V2" in got.detail, got


# --- the real corpus, when it has been fetched (CI does not) ------------------------------


def _cached_pairs() -> list[tuple[str, str, str, Path, Path]]:
    cache = corpus.DEFAULT_CACHE
    if not cache.is_dir():
        pytest.skip(f"{cache} is absent: run scripts/corpus.py to fetch the real corpus")
    data = corpus.load_corpus()
    import fetch_debian

    per_suite: dict[str, dict[str, Path]] = {}
    for suite in data["suites"]:
        entries = fetch_debian.read_manifest(cache / suite)
        by_pkg = {e["package"]: fetch_debian.deb_path(cache / suite, e) for e in entries}
        per_suite[suite] = {}
        for fam in data["families"]:
            pkg = next((p for p in fam["packages"] if p in by_pkg and by_pkg[p].is_file()), None)
            if pkg:
                per_suite[suite][fam["family"]] = by_pkg[pkg]
    suites = data["suites"]
    pairs = [
        (fam, a, b, per_suite[a][fam], per_suite[b][fam])
        for a, b in itertools.pairwise(suites)
        for fam in sorted(per_suite[a])
        if fam in per_suite[b]
    ]
    if not pairs:
        pytest.skip(f"{cache} holds no pair of packages of one family")
    return pairs


@pytest.mark.real
def test_real_corpus_elfaudit_misses_no_break(tmp_path: Path) -> None:
    """Every library pair whose ground truth breaks (outside PRIVATE/INTERNAL nodes, which
    elfaudit's profiles exempt by design) is INCOMPATIBLE for elfaudit."""
    cache = corpus.DEFAULT_CACHE
    missed: list[str] = []
    checked = 0
    for fam, a, b, old_deb, new_deb in _cached_pairs():
        old_libs = corpus.libraries(corpus.extract(old_deb, cache))
        new_libs = corpus.libraries(corpus.extract(new_deb, cache))
        breaking = []
        for old, new in corpus.pair_libraries(old_libs, new_libs):
            if new is None:
                continue
            truth = corpus.ground_truth(old, new, corpus.providers_of(new, new_libs))
            if truth.category == corpus.BREAKS and not truth.private_only:
                breaking.append((old.soname, truth.reasons[:3]))
        if not breaking:
            continue
        run = corpus.run_elfaudit(old_deb, new_deb)
        for soname, reasons in breaking:
            checked += 1
            verdict, _ = corpus.elfaudit_verdict(run, [soname])
            if verdict != corpus.INCOMPATIBLE:
                missed.append(f"{fam} {a}->{b} {soname}: {verdict}, truth: {reasons}")
    assert not missed, missed
    print(f"{checked} breaking library pairs, all INCOMPATIBLE for elfaudit")

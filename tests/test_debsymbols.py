"""Debian symbols files: parsing, dpkg version order, generation and checking."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import binutils
import pytest
from conftest import BuildLib
from weighing import weighed

from elfaudit.analysis import symbols_file as ds
from elfaudit.base.errors import InputError
from elfaudit.model.abi import LibraryABI, Symbol, VersionDef
from elfaudit.model.report import Finding
from elfaudit.policy.profiles import builtin
from elfaudit.readers import debian_symbols as dsr
from elfaudit.readers.elf import read_library

# --------------------------------------------------------------------------- versions

_TRICKY = [
    ("1.0", "1.0"),
    ("1.0~rc1", "1.0"),
    ("1.0~rc1", "1.0~rc2"),
    ("1.0~~", "1.0~"),
    ("1.0~", "1.0"),
    ("1.0", "1.0+b1"),
    ("1.0-1", "1.0-1+deb12u1"),
    ("1:0.1", "2.0"),
    ("0:1.0", "1.0"),
    ("1.0a", "1.0"),
    ("1.0a", "1.0+"),
    ("1.0.0", "1.0"),
    ("1.00", "1.0"),
    ("1.10", "1.9"),
    ("3.1.0~rc2", "3.2.0"),
    ("9.0.0-4+deb12u2", "9.0.0"),
    ("11.3.0-2~bpo12+1", "11.3.0-2"),
    ("1.0-1", "1.0-1.1"),
    ("2.0-a", "2.0-A"),
    ("1.2.3-0ubuntu1", "1.2.3-0ubuntu1~22.04"),
    ("7", "7.0"),
    ("0.9.0~rc1", "0.9.0"),
]


def generate(*args: Any, **kwargs: Any) -> str:
    """The text of a generated symbols file (build, then format)."""
    return ds.format_symbols_file(ds.build_symbols_file(*args, **kwargs))


def _random_version(rng: random.Random) -> str:
    def part(first_digit: bool) -> str:
        out = [rng.choice("0123456789")] if first_digit else []
        out += [rng.choice("0123456789" * 3 + "ab.~+Z") for _ in range(rng.randint(0, 5))]
        return "".join(out) or "0"

    v = part(True)
    if rng.random() < 0.2:
        v = f"{rng.randint(0, 2)}:{v}"
    if rng.random() < 0.5:
        v = f"{v}-{part(False)}"
    return v


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_compare_versions_matches_dpkg() -> None:
    rng = random.Random(20240601)
    pairs = list(_TRICKY) + [(_random_version(rng), _random_version(rng)) for _ in range(120)]
    # Pairs that differ only slightly make the interesting cases: perturb one side.
    for a, _ in list(pairs[:60]):
        pairs.append((a, a + rng.choice(["~", "~rc1", "+b1", ".0", "a", "-1"])))
    for a, b in pairs:
        try:
            dsr.parse_version(a)
            dsr.parse_version(b)
        except ValueError:
            continue
        lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode
        eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b], check=False).returncode
        expected = -1 if lt == 0 else (0 if eq == 0 else 1)
        got = dsr.compare_versions(a, b)
        assert got == expected, (a, b, got, expected)
        assert dsr.compare_versions(b, a) == -expected


@pytest.mark.parametrize("bad", ["", "abc", "1.0 2", "a:1.0", "1.0-", "1_0"])
def test_parse_version_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        dsr.parse_version(bad)


# --------------------------------------------------------------------------- parsing

TEMPLATE = """\
# a comment
libfoo.so.1 libfoo1 #MINVER#
| libfoo1-alt #MINVER#
* Build-Depends-Package: libfoo-dev
* build-depends-packages: libfoo-dev, libfoo2-dev
 foo@FOO_1.0 1.0
 bar@FOO_1.0 1.1 1
 (optional)gone@FOO_1.0 1.0
 (symver)FOO_2.0 2.0~rc1
 *@FOO_3.0 3.0
 (regex|optional=private stuff)"^priv_.*@FOO_PRIVATE$" 1.0
 (c++)"ns::f()@FOO_1.0" 1.0
#MISSING: 1.2-1# old@FOO_1.0 1.0
 (arch=amd64 arm64|arch-bits=64)wide@FOO_1.0 1.0
libbar.so.2 libbar2 #MINVER#
 baz@Base 0.1
"""


def test_parse_template_structure() -> None:
    sf = dsr.parse_symbols_file(TEMPLATE, "t.symbols")
    assert [lib.soname for lib in sf.libraries] == ["libfoo.so.1", "libbar.so.2"]
    foo = sf.libraries[0]
    assert foo.deps == ("libfoo1 #MINVER#", "libfoo1-alt #MINVER#")
    assert foo.package == "libfoo1"
    assert foo.field("Build-Depends-Package") == "libfoo-dev"
    assert foo.field("Build-Depends-Packages") == "libfoo-dev, libfoo2-dev"
    by_line = {e.location.line: e for e in foo.entries}
    assert by_line[6].name == "foo@FOO_1.0" and by_line[6].kind == "exact"
    assert by_line[7].dep_id == 1 and by_line[7].minver == "1.1"
    assert by_line[8].optional and not by_line[8].is_pattern
    assert by_line[9].kind == "symver" and by_line[9].name == "FOO_2.0"
    assert by_line[9].minver == "2.0~rc1"
    # The old wildcard is (symver|optional).
    assert by_line[10].kind == "symver" and by_line[10].optional and by_line[10].name == "FOO_3.0"
    assert by_line[10].text == "*@FOO_3.0"
    assert by_line[11].kind == "generic" and by_line[11].name == "^priv_.*@FOO_PRIVATE$"
    assert by_line[11].tag("optional") == "private stuff"
    assert by_line[12].kind == "c++" and by_line[12].name == "ns::f()@FOO_1.0"
    assert by_line[13].deprecated == "1.2-1" and by_line[13].name == "old@FOO_1.0"
    assert by_line[14].tag("arch") == "amd64 arm64" and by_line[14].tag("arch-bits") == "64"
    bar = sf.library("libbar.so.2")
    assert bar is not None and [e.name for e in bar.entries] == ["baz@Base"]


def test_include_with_tags(tmp_path: Path) -> None:
    (tmp_path / "common.symbols").write_text(" inc@V_1 1.0\n (arch=!amd64)other@V_1 1.0\n")
    main = tmp_path / "main.symbols"
    main.write_text('libx.so.1 libx1 #MINVER#\n(optional)#include "common.symbols"\n top@V_1 1.0\n')
    sf = dsr.load_symbols_file(main)
    entries = sf.libraries[0].entries
    assert [e.name for e in entries] == ["inc@V_1", "other@V_1", "top@V_1"]
    assert entries[0].optional and entries[1].optional and not entries[2].optional
    assert entries[1].tag("arch") == "!amd64"
    assert entries[0].location.path.endswith("common.symbols")
    assert entries[0].location.line == 1


def test_include_missing_file_is_one_line_error(tmp_path: Path) -> None:
    main = tmp_path / "main.symbols"
    main.write_text('libx.so.1 libx1 #MINVER#\n#include "nope.symbols"\n')
    with pytest.raises(InputError) as exc:
        dsr.load_symbols_file(main)
    assert "line 2" in exc.value.message and "nope.symbols" in exc.value.message
    assert "\n" not in exc.value.message


def test_include_loop_terminates(tmp_path: Path) -> None:
    (tmp_path / "a.symbols").write_text('libx.so.1 libx1 #MINVER#\n#include "b.symbols"\n')
    (tmp_path / "b.symbols").write_text(' b@V_1 1.0\n#include "a.symbols"\n')
    sf = dsr.load_symbols_file(tmp_path / "a.symbols")
    assert [e.name for e in sf.libraries[0].entries] == ["b@V_1"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (" foo@V 1.0\n", 1, "before any"),
        ("libx.so.1 libx1\n foo@V\n", 2, "minimal-version"),
        ("libx.so.1 libx1\n foo@V notaversion\n", 2, "invalid minimal version"),
        ("libx.so.1 libx1\n foo@V 1.0 x\n", 2, "dependency id"),
        ("libx.so.1 libx1\n foo@V 1.0 2\n", 2, "alternative"),
        ("libx.so.1 libx1\n foo 1.0\n", 2, "name@VERSION"),
        ("libx.so.1 libx1\n (optional foo@V 1.0\n", 2, "unterminated tag"),
        ("libx.so.1 libx1\n ()foo@V 1.0\n", 2, "empty tag"),
        ('libx.so.1 libx1\n (regex)"^a[" 1.0\n', 2, "regular expression"),
        ("libx.so.1 libx1\n (symver)foo@V 1.0\n", 2, "version node"),
        ("libx.so.1 libx1\n*nofield\n", 2, "Name: value"),
        ("libx.so.1\n", 1, "cannot parse"),
    ],
)
def test_malformed_lines(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as exc:
        dsr.parse_symbols_file(text, "bad.symbols")
    msg = exc.value.message
    assert msg.startswith(f"bad.symbols: line {line}: "), msg
    assert words in msg
    assert "\n" not in msg


def test_real_debian_template_parses(shared_dir: Path) -> None:
    path = (
        shared_dir / "data/libvirt-syms-history/andreabolognani__debian-libvirt/02c6017827"
        "/libvirt0.symbols"
    )
    sf = dsr.load_symbols_file(path)
    text = path.read_text().splitlines()
    headers = [ln.split()[0] for ln in text if ln and not ln[0].isspace() and ln[0] != "#"]
    assert [lib.soname for lib in sf.libraries] == headers
    n_lines = sum(1 for ln in text if ln.startswith((" ", "#MISSING")))
    assert sum(len(lib.entries) for lib in sf.libraries) == n_lines
    missing = [e for lib in sf.libraries for e in lib.entries if e.deprecated]
    assert len(missing) == sum(1 for ln in text if ln.startswith("#MISSING"))
    assert all(e.kind == "symver" for lib in sf.libraries for e in lib.entries)
    main = sf.library("libvirt.so.0")
    assert main is not None
    e = next(e for e in main.entries if e.name == "LIBVIRT_3.1.0")
    assert e.minver == "3.1.0~rc2" and e.optional


# --------------------------------------------------------------------------- building blocks

LIB_C = """
int foo(void) { return 1; }
int bar(void) { return 2; }
int late(void) { return 3; }
int old_baz(void) { return 4; }
int new_baz(void) { return 5; }
int priv1(void) { return 6; }
int priv2(void) { return 7; }
int table[4];
__asm__(".symver old_baz,baz@V_1.0");
__asm__(".symver new_baz,baz@@V_2.0");
"""
LIB_MAP = """
V_1.0 { global: foo; late; table; baz; local: *; };
V_2.0 { global: bar; } V_1.0;
T_PRIVATE_2.0 { global: priv1; priv2; };
"""


@pytest.fixture()
def libt(build_lib: BuildLib) -> LibraryABI:
    return read_library(build_lib(LIB_C, LIB_MAP, soname="libt.so.1"))


def test_exported_names_match_nm(libt: LibraryABI) -> None:
    names = {raw for raw, _ in ds.exported_names(libt)}
    assert names == binutils.dpkg_names(libt.path)
    assert {"baz@V_1.0", "baz@V_2.0", "V_1.0@V_1.0", "V_2.0@V_2.0"} <= names


def test_minver_from_node() -> None:
    assert ds.minver_from_node("LIBVIRT_3.1.0") == "3.1.0"
    assert ds.minver_from_node("LIBVIRT_QEMU_1.2.3") == "1.2.3"
    assert ds.minver_from_node("LIBVIRT_ADMIN_8.6.0") == "8.6.0"
    assert ds.minver_from_node("LIBVIRT_PRIVATE_9.0.0") is None
    assert ds.minver_from_node("LIBVIRT_ADMIN_PRIVATE_9.0.0") is None
    assert ds.minver_from_node("GLIBC_2.2.5") == "2.2.5"
    assert ds.minver_from_node("libvirt.so.0") is None
    assert ds.minver_from_node("V1") is None
    assert ds.minver_from_node(None) is None


def test_node_minver_overrides(libt: LibraryABI) -> None:
    mv = ds.node_minver({("libt.so.1", "late"): "1.5"})
    syms = {s.name: s for s in libt.symbols if s.default}
    assert mv(libt, syms["late"]) == "1.5"
    assert mv(libt, syms["foo"]) == "1.0"
    assert mv(libt, syms["bar"]) == "2.0"
    assert mv(libt, syms["priv1"]) is None


# --------------------------------------------------------------------------- generate


@pytest.mark.skipif(shutil.which("dpkg-gensymbols") is None, reason="dpkg-dev not installed")
def test_generate_matches_dpkg_gensymbols(libt: LibraryABI, tmp_path: Path) -> None:
    (tmp_path / "debian").mkdir()
    (tmp_path / "debian/control").write_text("Source: libt\n\nPackage: libt1\nArchitecture: any\n")
    (tmp_path / "debian/changelog").write_text(
        "libt (1.0-1) unstable; urgency=low\n\n  * t\n\n -- T <t@example.org>  "
        "Mon, 01 Jan 2024 00:00:00 +0000\n"
    )
    out = tmp_path / "out.symbols"
    subprocess.run(
        ["dpkg-gensymbols", "-plibt1", "-v1.0-1", f"-e{libt.path}", f"-O{out}", "-q"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    ours = generate(
        [libt],
        "libt1",
        minver=lambda a, s: "1.0-1",
        build_depends_package=None,
        is_private=lambda n: False,
    )
    assert ours == out.read_text()


def test_generate_private_pattern_and_fields(libt: LibraryABI) -> None:
    text = generate(
        [libt],
        "libt1",
        minver=ds.node_minver(),
        build_depends_package="libt-dev",
        is_private=lambda n: "PRIVATE" in n,
        fallback_minver="2.0-1",
    )
    lines = text.splitlines()
    assert lines[0] == "libt.so.1 libt1 #MINVER#"
    assert lines[1] == "* Build-Depends-Package: libt-dev"
    assert " (symver)T_PRIVATE_2.0 2.0-1" in lines
    assert not any("priv1" in ln for ln in lines)
    assert " baz@V_1.0 1.0" in lines and " baz@V_2.0 2.0" in lines
    assert " V_2.0@V_2.0 2.0" in lines
    body = [ln[1:].split()[0].removeprefix("(symver)") for ln in lines[2:]]
    assert body == sorted(body)
    # The generated file is a valid template that covers the library exactly.
    sf = dsr.parse_symbols_file(text, "gen.symbols")
    assert ds.check_symbols_file(sf, [libt], minver=ds.node_minver()) == []


def test_generate_without_minver_is_an_input_error(libt: LibraryABI) -> None:
    with pytest.raises(InputError) as exc:
        generate(
            [libt],
            "libt1",
            minver=ds.node_minver(),
            build_depends_package=None,
            is_private=lambda n: "PRIVATE" in n,
        )
    assert "T_PRIVATE_2.0" in exc.value.message


def test_generate_needs_a_soname() -> None:
    abi = LibraryABI("/x/plugin.so", None, (), "x86_64", 64, "little", (), ())
    with pytest.raises(InputError) as exc:
        generate(
            [abi],
            "p",
            minver=lambda a, s: "1",
            build_depends_package=None,
            is_private=lambda n: False,
        )
    assert "SONAME" in exc.value.message


# --------------------------------------------------------------------------- check


def _check(text: str, abi: LibraryABI, **kw: object) -> list[Finding]:
    sf = dsr.parse_symbols_file(text, "t.symbols")
    mv = kw.pop("minver", ds.node_minver({("libt.so.1", "late"): "1.5"}))
    profile = kw.pop("profile", None)  # weighed as symbols-file --check does
    found = ds.check_symbols_file(sf, [abi], minver=mv, **kw)  # type: ignore[arg-type]
    return found if profile is None else weighed(found, profile)  # type: ignore[arg-type]


def test_symver_pattern_hides_late_addition(libt: LibraryABI) -> None:
    text = """libt.so.1 libt1 #MINVER#
 (symver)V_1.0 1.0
 (symver)V_2.0 2.0
 (symver)T_PRIVATE_2.0 2.0
"""
    found = _check(text, libt)
    assert [(f.rule, f.symbol, f.version) for f in found] == [
        ("symbols-file-minver-too-low", "late", "V_1.0")
    ]
    loc = found[0].location
    assert loc is not None and loc.line == 2 and "1.5" in found[0].message
    # An exact entry overrides the pattern (dpkg: specific symbols take precedence).
    fixed = text + " late@V_1.0 1.5\n"
    assert _check(fixed, libt) == []


def test_prerelease_minver_counts_unless_strict(libt: LibraryABI) -> None:
    text = """libt.so.1 libt1 #MINVER#
 *@V_1.0 1.0~rc1
 *@V_2.0 2.0
 *@T_PRIVATE_2.0 2.0
 late@V_1.0 1.5~rc1
"""
    assert _check(text, libt) == []
    strict = _check(text, libt, allow_prerelease=False)
    assert sorted(f.symbol or "" for f in strict) == ["V_1.0", "baz", "foo", "late", "table"]


def test_missing_stale_and_optional(libt: LibraryABI) -> None:
    text = """libt.so.1 libt1 #MINVER#
 foo@V_1.0 1.0
 late@V_1.0 1.5
 baz@V_2.0 2.0
 V_1.0@V_1.0 1.0
 V_2.0@V_2.0 2.0
 gone@V_1.0 1.0
 (optional)maybe@V_1.0 1.0
#MISSING: 1.1# table@V_1.0 1.0
 (symver)NOPE_1 1.0
 (symver|optional)NOPE_2 1.0
 (regex)"^priv[0-9]@T_PRIVATE" 2.0
 T_PRIVATE_2.0@T_PRIVATE_2.0 2.0
"""
    found = _check(text, libt)
    got = sorted((f.rule, f.symbol) for f in found)
    assert got == [
        ("symbols-file-missing-symbol", "bar"),
        ("symbols-file-missing-symbol", "baz"),  # baz@V_1.0 (hidden compat) is not listed
        ("symbols-file-missing-symbol", "table"),
        ("symbols-file-stale-symbol", "(symver)NOPE_1"),
        ("symbols-file-stale-symbol", "gone"),
    ]
    baz = next(f for f in found if f.symbol == "baz")
    assert baz.version == "V_1.0"
    table = next(f for f in found if f.symbol == "table")
    assert "#MISSING" in table.message
    stale = next(f for f in found if f.symbol == "gone")
    assert stale.location is not None and stale.location.line == 7
    assert stale.severity.value == "error"


def test_arch_tags(libt: LibraryABI) -> None:
    assert libt.machine == "x86_64"  # the tests build for the host
    base = "libt.so.1 libt1 #MINVER#\n (symver)V_1.0 1.0\n (symver)V_2.0 2.0\n"
    base += " (symver)T_PRIVATE_2.0 2.0\n late@V_1.0 1.5\n"
    other = base + " (arch=armhf|arch-bits=32)only32@V_1.0 1.0\n"
    assert _check(other, libt) == []
    ours = base + " (arch=any-amd64)onlyhere@V_1.0 1.0\n"
    assert [f.symbol for f in _check(ours, libt)] == ["onlyhere"]
    negated = base + " (arch=!amd64 !i386)notx86@V_1.0 1.0\n"
    assert _check(negated, libt) == []
    endian = base + " (arch-endian=big)bigonly@V_1.0 1.0\n"
    assert _check(endian, libt) == []


def test_library_not_in_file_and_profile(libt: LibraryABI) -> None:
    found = _check("libother.so.1 libother1 #MINVER#\n x@Base 1\n", libt)
    assert len(found) == 1 and found[0].symbol is None
    assert found[0].rule == "symbols-file-missing-symbol" and "libt.so.1" in found[0].message
    # With a profile, private nodes are exempt.
    text = "libt.so.1 libt1 #MINVER#\n (symver)V_1.0 1.0\n (symver)V_2.0 2.0\n late@V_1.0 1.5\n"
    plain = _check(text, libt)
    assert {f.version for f in plain} == {"T_PRIVATE_2.0"}
    assert _check(text, libt, profile=builtin("generic")) == []


def test_cxx_pattern(build_lib: BuildLib) -> None:
    if shutil.which("c++filt") is None:
        pytest.skip("c++filt is not installed")
    # A C function with a C++ assembler name stands in for ns::f().
    src = 'int f(void) __asm__("_ZN2ns1fEv");\nint f(void) { return 1; }\n'
    src += "int plain(void) { return 2; }\n"
    path = build_lib(src, "V_1.0 { global: _ZN2ns1fEv; plain; local: *; };", soname="libcxx.so.1")
    abi = read_library(path)
    assert any(s.name.startswith("_ZN2ns1f") for s in abi.symbols)
    text = 'libcxx.so.1 libcxx1 #MINVER#\n (c++)"ns::f()@V_1.0" 1.0\n'
    text += " plain@V_1.0 1.0\n V_1.0@V_1.0 1.0\n"
    assert _check(text, abi) == []
    wrong = text.replace("ns::f()", "ns::g()")
    got = sorted((f.rule, f.symbol or "") for f in _check(wrong, abi))
    assert got[0][0] == "symbols-file-missing-symbol" and got[0][1].startswith("_ZN2ns1f")
    assert got[1] == ("symbols-file-stale-symbol", '(c++)"ns::g()@V_1.0"')


def test_handmade_abi_without_elf() -> None:
    """The checker needs only the model: a hand-built ABI with a hidden-only symbol."""
    abi = LibraryABI(
        "/x/libh.so.1",
        "libh.so.1",
        (),
        "x86_64",
        64,
        "little",
        (VersionDef("libh.so.1", 1, base=True), VersionDef("H_1", 2)),
        (
            Symbol("h", "H_1", False, "FUNC", "GLOBAL", "DEFAULT", 8),
            Symbol("_init", None, True, "FUNC", "GLOBAL", "DEFAULT", 8),
        ),
        markers=("H_1",),
    )
    assert [r for r, _ in ds.exported_names(abi)] == ["H_1@H_1", "h@H_1"]
    found = ds.check_symbols_file(
        dsr.parse_symbols_file("libh.so.1 libh1 #MINVER#\n h@H_1 0.5\n", "h"),
        [abi],
        minver=ds.node_minver(),
    )
    # Sorted by rule id: minver-too-low before missing-symbol.
    assert [(f.rule, f.symbol) for f in found] == [
        ("symbols-file-minver-too-low", "h"),
        ("symbols-file-missing-symbol", "H_1"),
    ]


# --------------------------------------------------------------------------- real packages


@pytest.mark.real
@pytest.mark.parametrize("suite", ["bookworm", "sid"])
def test_real_debian_symbols_file(suite: str, tmp_path: Path) -> None:
    from realdebs import extract_libs, require

    from elfaudit.readers.packages import read_deb_control_file

    deb = require(suite)
    raw = read_deb_control_file(deb, "symbols")
    assert raw is not None
    sf = dsr.parse_symbols_file(raw.decode(), f"{deb.name}:DEBIAN/symbols")
    abis = [read_library(p) for p in extract_libs(deb).values()]
    assert {a.soname for a in abis} == {lib.soname for lib in sf.libraries}
    # dpkg lists exactly the names exported_names gives, with the same minvers back.
    table = {(lib.soname, e.name): e.minver for lib in sf.libraries for e in lib.entries}
    regenerated = generate(
        abis,
        "libvirt0",
        build_depends_package=None,
        is_private=lambda n: False,
        minver=lambda a, s: table.get((a.soname or "", f"{s.name}@{s.version or 'Base'}")),
        private_as_pattern=False,
    )
    assert regenerated == raw.decode()
    # Debian's minvers agree with the node names, except for the two symbols libvirt added
    # to already-shipped nodes (the libvirt profile records when they really shipped).
    found = ds.check_symbols_file(
        sf, abis, minver=ds.node_minver(builtin("libvirt").late_additions_map())
    )
    assert sorted((f.rule, f.symbol, f.version) for f in found) == [
        ("symbols-file-minver-too-low", "virAdmServerUpdateTlsFiles", "LIBVIRT_ADMIN_2.0.0"),
        ("symbols-file-minver-too-low", "virDomainSetBlockThreshold", "LIBVIRT_3.1.0"),
    ]
    assert ds.check_symbols_file(sf, abis, minver=ds.node_minver()) == []

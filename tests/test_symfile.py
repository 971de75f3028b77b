"""Tests for elfaudit.readers.version_script: GNU ld version scripts and libvirt private fragments.

GNU ld is the oracle: acceptance of every script (real and synthetic) is compared with
``ld --version-script``, the line ld names in a syntax error with ours, and the nodes,
parents and symbol versions of libraries gcc links with real scripts with what the parser
and the matcher say.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from binutils import readelf_view

from elfaudit.base.errors import InputError, ScriptSyntaxError
from elfaudit.model.script import VersionScript
from elfaudit.readers.version_script import (
    ScriptMatcher,
    find_entry,
    is_private_fragment,
    load_scripts,
    match_symbol,
    parse_private_fragment,
    parse_script,
    parse_script_text,
)

HISTORY = "data/libvirt-syms-history"
V960 = "reference/libvirt-syms/v9.6.0"
HAITAO = "haitaohuang__libvirt/b08eaa6ede/libvirt_public.syms"
TEMPLATE = "libvirt__libvirt/517ff04bec/libvirt_sym.version.in"
ANON_046 = "libvirt__libvirt/321c9a7f51/libvirt_sym.version"
# Files ld rejects as they are, and the smallest repair that makes ld accept them: the missing
# ';' in a WIP branch, and configure's substitution of the 0.5.0 template.
REPAIRS = {
    HAITAO: ("virNodeGetSGXInfo\n", "virNodeGetSGXInfo;\n"),
    TEMPLATE: ("@VERSION@", "0.5.0"),
}


# --------------------------------------------------------------------------- GNU ld oracle


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{names[0]} is not installed")


@pytest.fixture(scope="session")
def ld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LD]:
    yield LD(tmp_path_factory.mktemp("ld"))


class LD:
    """Runs GNU ld (bfd) on a version script with an empty object file."""

    def __init__(self, work: Path) -> None:
        self.ld = _tool("ld.bfd", "ld")
        gcc = _tool("gcc")
        self.work = work
        (work / "empty.c").write_text("void elfaudit_empty(void) {}\n")
        self.obj = work / "empty.o"
        subprocess.run(
            [gcc, "-c", "-fPIC", "-o", str(self.obj), str(work / "empty.c")],
            check=True,
            capture_output=True,
        )
        self.count = 0

    def run_file(self, script: Path) -> tuple[bool, str]:
        out = self.work / "out.so"
        proc = subprocess.run(
            [self.ld, "-shared", f"--version-script={script}", "-o", str(out), str(self.obj)],
            capture_output=True,
            text=True,
        )
        return proc.returncode == 0, proc.stderr

    def run_text(self, text: str) -> tuple[bool, str]:
        self.count += 1
        script = self.work / f"s{self.count}.map"
        script.write_text(text)
        return self.run_file(script)


def ld_error_line(stderr: str) -> int | None:
    """The line GNU ld names in 'FILE:LINE: syntax error' (None when it names none)."""
    m = re.search(r":(\d+): syntax error", stderr)
    return int(m.group(1)) if m else None


def ld_invalid_chars(stderr: str) -> int:
    return stderr.count("ignoring invalid character")


def parse_or_error(text: str, path: str = "t.map") -> VersionScript | ScriptSyntaxError:
    try:
        return parse_script_text(text, path)
    except ScriptSyntaxError as exc:
        return exc


# --------------------------------------------------------------------------- real data


def real_files(shared: Path) -> list[Path]:
    files = sorted((shared / V960).iterdir()) + sorted((shared / HISTORY).glob("*/*/*"))
    # libvirt0.symbols is a Debian dpkg symbols file, not an ld input.
    return [p for p in files if p.name != "libvirt0.symbols"]


def global_symbols(script: VersionScript) -> int:
    return sum(1 for n in script.nodes for e in n.globals if not e.is_wildcard)


def test_every_real_script_is_accepted_exactly_when_ld_accepts_it(shared_dir: Path, ld: LD) -> None:
    mismatches = []
    rejected = []
    scripts = 0
    for path in real_files(shared_dir):
        text = path.read_text()
        if is_private_fragment(text):
            # fragments are not ld inputs on their own; they must parse and be named so
            assert "private" in path.name, path
            assert parse_private_fragment(text, str(path)), path
            continue
        assert "private" not in path.name, path
        scripts += 1
        ours = parse_or_error(text, str(path))
        ok, stderr = ld.run_file(path)
        if ok != isinstance(ours, VersionScript):
            mismatches.append(f"{path}: ld {'accepts' if ok else 'rejects'}, we say {ours}")
        if isinstance(ours, ScriptSyntaxError):
            rejected.append(path.relative_to(shared_dir / HISTORY).as_posix())
            assert str(ours).startswith(f"{path}:{ours.line}:{ours.column}: "), ours
            ld_line = ld_error_line(stderr)
            if ld_line:
                assert ours.line == ld_line, (str(ours), stderr)
    assert not mismatches, "\n".join(mismatches)
    assert scripts > 50
    assert HAITAO in rejected  # the one file of the set with a real syntax error


def test_haitaohuang_missing_semicolon_is_located_like_ld(shared_dir: Path, ld: LD) -> None:
    path = shared_dir / HISTORY / HAITAO
    ok, stderr = ld.run_file(path)
    assert not ok
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script(str(path))
    err = info.value
    assert err.path == str(path)
    lines = path.read_text().splitlines()
    assert "virNodeGetSGXInfo" in lines[err.line - 2]  # the symbol lacking ';' ...
    assert lines[err.line - 1].startswith("}")  # ... and the '}' where ';' was expected
    assert err.line == ld_error_line(stderr)
    assert err.column == 1
    assert "expected ';' after symbol 'virNodeGetSGXInfo'" in err.reason
    assert err.message == f"{path}:{err.line}:1: {err.reason}"
    # the repaired file parses, given as a Path this time
    repaired = path.read_text().replace(*REPAIRS[HAITAO])
    fixed = Path(ld.work / "haitao_fixed.syms")
    fixed.write_text(repaired)
    assert ld.run_file(fixed)[0]
    assert parse_script(fixed).nodes[-1].name == "LIBVIRT_5.8.0"


def test_unsubstituted_configure_template_is_rejected_like_ld(shared_dir: Path, ld: LD) -> None:
    path = shared_dir / HISTORY / TEMPLATE
    text = path.read_text()
    ok, stderr = ld.run_file(path)
    assert not ok
    ours = parse_or_error(text, str(path))
    assert isinstance(ours, ScriptSyntaxError)
    assert ours.line == ld_error_line(stderr)
    assert "LIBVIRT_PRIVATE_@VERSION@" in text.splitlines()[ours.line - 1]
    assert "'@'" in ours.reason  # explains that ld dropped the '@'
    warnings: list[str] = []
    with pytest.raises(ScriptSyntaxError):
        parse_script_text(text, str(path), warnings=warnings)
    assert len(warnings) == ld_invalid_chars(stderr)  # the same two '@' ld warns about
    # configure's substitution makes a script both accept
    fixed = text.replace("@VERSION@", "0.5.0")
    assert ld.run_text(fixed)[0]
    assert parse_script_text(fixed, str(path)).nodes[-1].name == "LIBVIRT_PRIVATE_0.5.0"


def index_rows(shared: Path) -> Iterator[tuple[str, str, int, int]]:
    """(relative path, newest node, nodes, symbols) for every row of INDEX.md with counts."""
    for line in (shared / HISTORY / "INDEX.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 9 or not re.fullmatch(r"`[0-9a-f]{10,40}`", cells[2]):
            continue
        if not cells[6].isdigit():
            continue  # the Debian symbols file: no counts
        owner, repo = cells[1].split("/")
        commit = cells[2].strip("`")[:10]
        base = cells[3].strip("`").rsplit("/", 1)[-1]
        yield (f"{owner}__{repo}/{commit}/{base}", cells[5], int(cells[6]), int(cells[7]))


def test_counts_and_newest_node_agree_with_index(shared_dir: Path, ld: LD) -> None:
    rows = list(index_rows(shared_dir))
    assert len(rows) >= 69
    disagreements = []
    for rel, newest, nodes, symbols in rows:
        path = shared_dir / HISTORY / rel
        text = path.read_text()
        if rel in REPAIRS:
            old, new = REPAIRS[rel]
            assert old in text
            text = text.replace(old, new)
            assert ld.run_text(text)[0], rel  # the repair is what ld needed, nothing more
            newest = newest.split(" (")[0].replace("@VERSION@", "0.5.0")
        if is_private_fragment(text):
            got = ("(fragment, no nodes)", 0, len(parse_private_fragment(text, rel)))
        else:
            script = parse_script_text(text, rel)
            last = script.nodes[-1].name or "(anonymous)"
            got = (last, len(script.nodes), global_symbols(script))
        if got != (newest, nodes, symbols):
            disagreements.append(f"{rel}: INDEX {(newest, nodes, symbols)}, parser {got}")
    assert not disagreements, "\n".join(disagreements)


def test_reference_960_public_file_is_the_fork_import_copy(shared_dir: Path) -> None:
    """The 9.6.0 reference files parse to what INDEX lists for the pristine 9.6.0 import."""
    ref = parse_script(str(shared_dir / V960 / "libvirt_public.syms"))
    fork = shared_dir / HISTORY / "zwbclearlove__libvirt-colo-extension/ca653ffebc"
    imported = parse_script(str(fork / "libvirt_public.syms"))
    assert [(n.name, n.parents) for n in ref.nodes] == [(n.name, n.parents) for n in imported.nodes]
    assert ref.nodes[-1].name == "LIBVIRT_9.0.0"
    assert ref.nodes[-1].parents == ("LIBVIRT_8.5.0",)


# --------------------------------------------------------------------------- build oracle


def readelf_verdefs(lib: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Version definitions (BASE excluded) with their parents, in ELF order."""
    return [(name, parents) for _, name, base, _, parents in readelf_view(lib).defs if not base]


def readelf_exports(lib: Path) -> dict[str, str | None]:
    """Defined global FUNC symbols -> version (None when unversioned; the default wins)."""
    funcs = sorted((e for e in readelf_view(lib).exports if e[3] == "FUNC"), key=lambda e: e[2])
    return {e[0]: e[1] for e in funcs}


EXTRAS = ("elfaudit_unlisted_a", "elfaudit_unlisted_b")


BuildLib = Callable[..., Path]


def check_against_ld(
    build_lib: BuildLib, text: str, script: VersionScript, names: set[str]
) -> None:
    """Link stubs for ``names`` with ``text``; compare nodes and every symbol's fate."""
    source = "".join(f"void {n}(void) {{}}\n" for n in sorted(names))
    lib = build_lib(source, version_script=text)
    assert readelf_verdefs(lib) == [
        (n.name, tuple(reversed(n.parents)))  # ld writes a node's parents last to first
        for n in script.nodes
        if n.name is not None
    ]
    exports = readelf_exports(lib)
    matcher = ScriptMatcher(script)
    wrong = []
    for name in sorted(names):
        got = matcher.lookup(name)
        if name not in exports:
            ok = got.local and got.node is not None
        elif exports[name] is None:  # unversioned: unmatched, or in an anonymous node
            ok = not got.local and (got.node is None or got.node.name is None)
        else:
            ok = not got.local and got.node is not None and got.node.name == exports[name]
        node = match_symbol(script, name)
        ok = ok and node is got.exported_node
        if not ok:
            wrong.append(f"{name}: ld {exports.get(name, 'hidden')}, matcher {got}")
    assert not wrong, "\n".join(wrong[:20])


def literal_names(script: VersionScript) -> set[str]:
    return {e.pattern for n in script.nodes for e in (*n.globals, *n.locals) if not e.is_wildcard}


def test_libvirt_046_anonymous_script_against_ld(shared_dir: Path, build_lib: BuildLib) -> None:
    path = shared_dir / HISTORY / ANON_046
    text = path.read_text()
    script = parse_script_text(text, str(path))
    assert [n.name for n in script.nodes] == [None]
    assert [e.pattern for e in script.nodes[0].locals] == ["*"]
    check_against_ld(build_lib, text, script, literal_names(script) | set(EXTRAS))
    assert match_symbol(script, "virInitialize") is script.nodes[0]
    assert match_symbol(script, EXTRAS[0]) is None
    # listed twice in that file, and both kept
    assert len(find_entry(script, "virNodeGetCellsFreeMemory")) == 2


def test_libvirt_960_public_plus_private_fragment_against_ld(
    shared_dir: Path, build_lib: BuildLib
) -> None:
    public = shared_dir / V960 / "libvirt_public.syms"
    private = shared_dir / V960 / "libvirt_private.syms"
    script = load_scripts([str(public), str(private)], "LIBVIRT_PRIVATE_9.6.0")
    # what libvirt's scripts/meson-gen-sym.py hands to the linker
    text = (
        public.read_text()
        + "\n\n# Private symbols\n\nLIBVIRT_PRIVATE_9.6.0 {\n\nglobal:\n\n"
        + private.read_text()
        + "\n\nlocal:\n*;\n\n};"
    )
    assert global_symbols(script) == global_symbols(parse_script_text(text, "merged"))
    check_against_ld(build_lib, text, script, literal_names(script) | set(EXTRAS))
    node = script.nodes[-1]
    assert node.name == "LIBVIRT_PRIVATE_9.6.0" and node.parents == ()
    assert [e.pattern for e in node.locals] == ["*"]
    assert node.globals[0].location.path == str(private)
    assert match_symbol(script, EXTRAS[0]) is None
    assert ScriptMatcher(script).lookup(EXTRAS[0]).local


def test_reparented_fork_without_local_star_against_ld(
    shared_dir: Path, build_lib: BuildLib
) -> None:
    path = shared_dir / HISTORY / "Maxppddcsz__libvirt/2d62cffddc/libvirt_public.syms"
    text = path.read_text()
    script = parse_script_text(text, str(path))
    reparented = script.node("LIBVIRT_6.10.0")
    assert reparented is not None and reparented.parents == ("LIBVIRT_6.2.0",)
    check_against_ld(build_lib, text, script, literal_names(script) | set(EXTRAS))
    got = ScriptMatcher(script).lookup(EXTRAS[0])
    assert got.node is None and not got.local  # no local: *, so ld leaves it global


def test_050_template_with_private_node_against_ld(shared_dir: Path, build_lib: BuildLib) -> None:
    text = (shared_dir / HISTORY / TEMPLATE).read_text().replace("@VERSION@", "0.5.0")
    script = parse_script_text(text, "libvirt_sym.version")
    dups = [n for n in literal_names(script) if len(find_entry(script, n)) > 1]
    assert dups  # INDEX: duplicates inside the private node; ld takes them
    check_against_ld(build_lib, text, script, literal_names(script) | set(EXTRAS))


# Crafted scripts exercising ld's precedence rules; ld decides, the matcher must agree.
PRECEDENCE = [
    (  # a global wildcard beats a later local wildcard
        "V1 { global: a*; };\nV2 { local: ab*; } V1;\n",
        {"abc", "axy", "b1"},
    ),
    (  # an exact local name beats a global wildcard
        "V1 { global: a*; };\nV2 { local: abc; };\n",
        {"abc", "abd"},
    ),
    (  # the last node with a matching wildcard wins, an exact name stops the search
        "V1 { global: a*; };\nV2 { global: ab*; };\nV3 { global: abc; ab?; };\n"
        "V4 { global: a[bc]d; };\n",
        {"abc", "abd", "abx", "acd", "azz"},
    ),
    (  # '*' alone is weakest: any other global match wins, a local pattern hides
        "V1 { global: *; };\nV2 { global: x*; local: xl*; };\nV3 { local: y*; };\n",
        {"q", "x1", "xl1", "y1"},
    ),
    (  # an exact name in an earlier node wins over any later pattern
        "V1 { global: abc; };\nV2 { global: a*; };\n",
        {"abc", "abd"},
    ),
    (  # ranges (a "[:class:]" cannot even be written: ld's lexer stops names at ':')
        "V1 { global: r[a-c]y; local: *; };\n",
        {"rby", "rdy"},
    ),
    (  # anonymous node
        "{ global: pub_*; keep; local: *; };\n",
        {"pub_a", "keep", "other"},
    ),
    (  # global before local in one node; [!..] and [^..] negation; backslash escape
        "V1 { global: f; n[!a]x; m[^a]x; esc\\_name; local: f; g; };\n",
        {"f", "g", "nbx", "nax", "mbx", "max", "esc_name"},
    ),
    (  # extern blocks; a C++ pattern matches a name that is not mangled
        'V1 { global: extern "C" { c_*; "c_quoted"; }; extern "C++" { cpp_*; }; local: *; };\n',
        {"c_one", "c_quoted", "cpp_one", "zzz"},
    ),
]


@pytest.mark.parametrize(("text", "names"), PRECEDENCE)
def test_matcher_precedence_against_ld(build_lib: BuildLib, text: str, names: set[str]) -> None:
    script = parse_script_text(text, "t.map")
    check_against_ld(build_lib, text, script, names | literal_names(script))


def describe(script: VersionScript, name: str) -> tuple[str | None, bool, str | None]:
    hit = ScriptMatcher(script).lookup(name)
    node = hit.node.name if hit.node is not None else None
    return (node, hit.local, hit.entry.pattern if hit.entry is not None else None)


def test_matcher_precedence_documented_cases() -> None:
    script = parse_script_text(PRECEDENCE[3][0], "t.map")
    assert describe(script, "q") == ("V1", False, "*")  # only the global '*' matches
    assert describe(script, "xl1") == ("V2", False, "x*")  # global pattern beats local one
    assert describe(script, "y1") == ("V3", True, "y*")  # local pattern beats global '*'
    assert match_symbol(script, "y1") is None


def test_mangled_names_only_match_cxx_literals_exactly() -> None:
    script = parse_script_text(
        'V1 { global: extern "C++" { ns::*; "_ZN2ns1gEv"; }; _Zplain*; };', "t.map"
    )
    m = ScriptMatcher(script)
    assert m.lookup("_ZN2ns1fEv").node is None  # would need demangling: documented limit
    assert m.lookup("_ZN2ns1gEv").node is script.nodes[0]
    assert m.lookup("_Zplain1").node is script.nodes[0]  # plain patterns see raw names
    cxx = [e for e in script.nodes[0].globals if e.language == "C++"]
    assert [(e.pattern, e.exact) for e in cxx] == [("ns::*", False), ("_ZN2ns1gEv", True)]


# --------------------------------------------------------------------------- syntax


def test_nodes_parents_sections_and_positions() -> None:
    text = (
        "# header\n"
        "VERS_1.0 {\n"
        "  global:\n"
        "\tone; two;three;\n"
        "  local:\n"
        "    *;\n"
        "};\n"
        "\n"
        "VERS_1.1 { four; } VERS_1.0 ;\n"
        "$dot.v { global: five; } VERS_1.1 VERS_1.0;\n"
    )
    script = parse_script_text(text, "lib.map")
    assert script.paths == ("lib.map",)
    assert [(n.name, n.parents) for n in script.nodes] == [
        ("VERS_1.0", ()),
        ("VERS_1.1", ("VERS_1.0",)),
        ("$dot.v", ("VERS_1.1", "VERS_1.0")),
    ]
    first = script.nodes[0]
    assert str(first.location) == "lib.map:2:1"
    assert [(e.pattern, e.location.line, e.location.column) for e in first.globals] == [
        ("one", 4, 2),
        ("two", 4, 7),
        ("three", 4, 11),
    ]
    assert [(e.pattern, str(e.location), e.is_wildcard) for e in first.locals] == [
        ("*", "lib.map:6:5", True)
    ]
    assert [e.pattern for e in script.nodes[1].globals] == ["four"]  # no label: global
    assert script.nodes[1].locals == ()
    assert str(script.nodes[2].globals[0].location) == "lib.map:10:18"


def test_comments_crlf_and_odd_layout() -> None:
    text = (
        "/* a comment\r\n   over lines */ V1\r\n{\r\n"
        "     global :   # label and colon apart\r\n"
        "a /* inline */ ;b;#c;\r\n"
        "\r\n\r\n    local\t:\t*\t;\r\n} ; V2{c;}V1;"
    )
    script = parse_script_text(text, "crlf.map")
    v1, v2 = script.nodes
    assert (v1.name, str(v1.location)) == ("V1", "crlf.map:2:18")
    assert [(e.pattern, str(e.location)) for e in v1.globals] == [
        ("a", "crlf.map:5:1"),
        ("b", "crlf.map:5:17"),
    ]
    assert [str(e.location) for e in v1.locals] == ["crlf.map:8:13"]
    assert (v2.name, v2.parents, [e.pattern for e in v2.globals]) == ("V2", ("V1",), ["c"])


def test_keywords_as_symbols_quoted_and_escaped_names() -> None:
    text = (
        'V1 { global: global; local; extern; "quoted name"; "star*"; ns::f; a-b; esc\\*x;\n'
        '  extern "C" { c1; "c2" }; extern "c++" { "x::y"; extern "Java" { j*; }; };\n'
        "local: local; };"
    )
    script = parse_script_text(text, "kw.map")
    got = [(e.pattern, e.language, e.exact, e.is_wildcard) for e in script.nodes[0].globals]
    assert got == [
        ("global", None, False, False),
        ("local", None, False, False),
        ("extern", None, False, False),
        ("quoted name", None, True, False),
        ("star*", None, True, False),
        ("ns::f", None, False, False),
        ("a-b", None, False, False),
        ("esc*x", None, True, False),
        ("c1", "C", False, False),
        ("c2", "C", True, False),
        ("x::y", "C++", True, False),
        ("j*", "Java", False, True),
    ]
    assert [e.pattern for e in script.nodes[0].locals] == ["local"]


def test_empty_node_and_single_symbol_node() -> None:
    script = parse_script_text("EMPTY {};\nONE { local: x; };", "e.map")
    assert [(n.name, n.globals, len(n.locals)) for n in script.nodes] == [
        ("EMPTY", (), 0),
        ("ONE", (), 1),
    ]


def test_invalid_characters_are_skipped_with_warnings_like_ld(ld: LD) -> None:
    text = "V1 { 1abc; %f; };\nV2 { g; } V1 ;"
    ok, stderr = ld.run_text(text)
    assert ok
    warnings: list[str] = []
    script = parse_script_text(text, "w.map", warnings=warnings)
    assert [e.pattern for e in script.nodes[0].globals] == ["abc", "f"]
    assert len(warnings) == ld_invalid_chars(stderr) == 2
    assert warnings[0] == "w.map:1:6: ignoring invalid character '1'"


# Scripts GNU ld accepts: the parser must accept them too (checked against ld each time).
ACCEPTED = [
    "V1 { f; };",
    "V1 {};",
    "V1 { f; } ;",
    "{ global: f; local: *; };",
    "V1 { global: f; local: f; };",  # same name global and local in one node: allowed
    'V1 { extern "C" { f }; };',
    'V1 { extern "C" { extern "C++" { f; }; }; };',
    "V0 { a; }; V1 { f; } V0 V0;",
    "V1 { a::b; a-b!c^d\\e; };",
    "V1 { global: a; local; b; };",
    "V1 { f\\; };",
    "local { f; }; global { g; }; extern { h; };",
    'V1 { "a b"; ""; };',
    'V1 { "unterminated; };',  # ld drops the stray '"' and reads a name
    "V1 { f; /* c */ };",
    "V1 { global:f;local:*;};",
    "V1 { global : f; };",
    "V1 { 1abc; };",
    '"V1" { f; };',
    "V-1 { f; };",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_like_ld(ld: LD, text: str) -> None:
    ok, stderr = ld.run_text(text)
    assert ok, stderr
    warnings: list[str] = []
    parse_script_text(text, "t.map", warnings=warnings)
    assert len(warnings) == ld_invalid_chars(stderr)


# Scripts GNU ld rejects: (text, line, column, part of our message).
REJECTED = [
    ("", 1, 1, "no version node"),
    ("# only a comment\n", 2, 1, "no version node"),
    ("V1 { f };", 1, 8, "expected ';' after symbol 'f', found '}'"),
    ("V1 {\n  global:\n    f\n}", 4, 1, "expected ';' after symbol 'f' on line 3"),
    ("V1 { f; }", 1, 10, "expected ';' after '}' of node 'V1'"),
    ("V1 { f;", 1, 8, "unexpected end of file inside node 'V1'"),
    ("V1 { global: f;\n", 2, 1, "unexpected end of file inside node 'V1'"),
    ("{ f;", 1, 5, "unexpected end of file inside anonymous node"),
    ("/* unterminated", 1, 1, "unterminated comment"),
    ("V1 { f; };\n/* x\n", 2, 1, "unterminated comment"),
    ("V1 { a; global: b; };", 1, 9, "'global:' label after symbols"),
    ("V1 { global: ; };", 1, 14, "expected a symbol after 'global:', found ';'"),
    ("V1 { global: a; global: b; };", 1, 17, "second 'global:' label"),
    ("V1 { local: *; global: f; };", 1, 16, "'global:' after 'local:'"),
    ("V1 { local: a; local: b; };", 1, 16, "second 'local:' label"),
    ("V1 { f;; };", 1, 8, "expected '}' or a symbol, found ';'"),
    ("V1 { ; };", 1, 6, "expected a symbol or '}' in node 'V1', found ';'"),
    ("V1 { f, g; };", 1, 7, "expected ';' after symbol 'f', found ','"),
    ('V1 { extern "C" { }; };', 1, 19, 'expected a symbol in the extern "C" block'),
    ('V1 { extern "C" { f; } };', 1, 24, "expected ';' after the extern \"C\" block"),
    ('V1 { extern "C" { global: f; }; };', 1, 19, "found 'global:' label"),
    ("V1 { extern C { f; }; };", 1, 13, "expected ';' after symbol 'extern', found 'C'"),
    ('V1 { extern "Fortran" { f; }; };', 1, 13, 'unknown language "Fortran"'),
    ("V1 { {f;}; };", 1, 6, "expected a symbol, 'global:', 'local:' or '}'"),
    ("V1 { f; }; V2 { g; } V1, V1;", 1, 24, "parents are separated by spaces"),
    ("V1 { f; } V0;", 1, 11, "parent 'V0' of node 'V1' is not a defined version node"),
    ("V2 { g; } V1;\nV1 { f; };", 1, 11, "is defined only later (line 2)"),
    ("V1 { f; } V1;", 1, 11, "parent 'V1' of node 'V1' is the node itself"),
    ("{ f; } V0;", 1, 8, "an anonymous version node cannot have parents"),
    ("{ f; };\n{ g; };", 2, 1, "anonymous version node cannot be combined"),
    ("V1 { f; };\n{ g; };", 2, 1, "anonymous version node cannot be combined"),
    ("V1 { a; };\nV1 { b; };", 2, 1, "duplicate version node 'V1' (first defined at line 1)"),
    ("V1 { global: f; };\nV2 { local: f; };", 2, 13, "symbol 'f' is local in node 'V2'"),
    ("V1 { local: f; };\nV2 { global: f; };", 2, 14, "symbol 'f' is global in node 'V2'"),
    ("V1 { global: f*; };\nV2 { local: f*; };", 2, 13, "pattern 'f*' is local"),
    ("V1 { local: *; };\nV2 { global: *; };", 2, 14, "pattern '*' is global"),
    ("V1 { f; };;", 1, 11, "expected a version node name or '{', found ';'"),
    (";V1 { f; };", 1, 1, "expected a version node name or '{', found ';'"),
    ("V1 : { f; };", 1, 4, "expected '{' after version node name 'V1', found ':'"),
    ("A@B { f; };", 1, 3, "found 'B' (note: GNU ld skips the invalid character '@' at 1:2)"),
    ("V1.2-rc1 { f; };", 1, 6, "found 'rc1'"),
    ("V1 { f; } global;", 1, 11, "parent 'global' of node 'V1' is not a defined"),
    ("VERSION { V1 { f; }; };", 1, 14, "expected ';' after symbol 'V1', found '{'"),
    ("V1", 1, 3, "unexpected end of file after version node name 'V1'"),
]


@pytest.mark.parametrize(("text", "line", "col", "reason"), REJECTED)
def test_rejected_like_ld_with_position(
    ld: LD, text: str, line: int, col: int, reason: str
) -> None:
    ok, stderr = ld.run_text(text)
    assert not ok, f"ld accepts {text!r}"
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script_text(text, "bad.map")
    err = info.value
    assert (err.path, err.line, err.column) == ("bad.map", line, col)
    assert reason in err.reason
    assert err.message == f"bad.map:{line}:{col}: {err.reason}"
    assert "\n" not in err.message
    ld_line = ld_error_line(stderr)
    if ld_line:  # ld names a line for syntax errors (0 at end of file)
        assert err.line == ld_line


def test_deeply_nested_extern_blocks_fail_cleanly() -> None:
    text = "V1 { " + 'extern "C" { ' * 200 + "f; " + "}; " * 200 + "};"
    with pytest.raises(ScriptSyntaxError, match="nested too deeply"):
        parse_script_text(text, "deep.map")


def test_large_generated_script_has_no_pathological_cost() -> None:
    # long runs of blanks/comments before failures once caused regex backtracking
    text = "V1 {\n" + " \n" * 5000 + "# c\n" * 2000 + "  f\n};"
    with pytest.raises(ScriptSyntaxError, match="expected ';' after symbol 'f'"):
        parse_script_text(text, "big.map")
    assert is_private_fragment(" \t\n" * 20000 + "x")
    with pytest.raises(ScriptSyntaxError, match="expected ';'"):
        parse_private_fragment(" \t\n" * 20000 + "x", "big.syms")


# --------------------------------------------------------------------------- private fragments


FRAGMENT = (
    "#\n# header comment\n#\n\n# util/virfoo.h\nvirFooNew;\nvirFooFree;\n\n# bar.h\n  virBar ;\n"
)


def test_private_fragment_entries_and_positions() -> None:
    assert is_private_fragment(FRAGMENT)
    entries = parse_private_fragment(FRAGMENT, "libvirt_private.syms")
    assert [(e.pattern, str(e.location)) for e in entries] == [
        ("virFooNew", "libvirt_private.syms:6:1"),
        ("virFooFree", "libvirt_private.syms:7:1"),
        ("virBar", "libvirt_private.syms:10:3"),
    ]
    assert all(e.language is None and not e.exact for e in entries)


def test_fragment_slow_path_gives_the_same_entries() -> None:
    # a /* */ comment, a quoted name and two symbols on a line take the general lexer
    odd = FRAGMENT + '/* tail */ "virQuoted"; virA; virB;\n'
    entries = parse_private_fragment(odd, "p.syms")
    plain = parse_private_fragment(FRAGMENT, "p.syms")
    assert entries[: len(plain)] == plain
    assert [(e.pattern, e.exact, e.location.column) for e in entries[len(plain) :]] == [
        ("virQuoted", True, 12),
        ("virA", False, 25),
        ("virB", False, 31),
    ]


def test_fragment_detection() -> None:
    assert is_private_fragment("")
    assert is_private_fragment("# only comments\n")
    assert is_private_fragment("virA\n")  # no braces: a (broken) fragment, see below
    assert not is_private_fragment("V1 { f; };")
    assert not is_private_fragment("{ global: f; };")
    assert not is_private_fragment("global: f;")
    assert not is_private_fragment("# { in a comment\nV1 { f; };")
    assert is_private_fragment("# V1 { f; };\nvirA;")


@pytest.mark.parametrize(
    ("text", "line", "col", "reason"),
    [
        ("virA;\nvirB\n", 3, 1, "unexpected end of file: expected ';' after symbol 'virB'"),
        ("virA\nvirB;\n", 2, 1, "expected ';' after symbol 'virA' on line 1, found 'virB'"),
        ("virA;\n{ virB; }\n", 2, 1, "unexpected '{' in a private symbol fragment"),
        ("virA;\nlocal: *;\n", 2, 1, "unexpected 'local:' label in a private symbol fragment"),
        ("virA;\n/* open", 2, 1, "unterminated comment"),
        ("virA;;\n", 1, 6, "expected a symbol, found ';'"),
    ],
)
def test_private_fragment_errors(text: str, line: int, col: int, reason: str) -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        parse_private_fragment(text, "frag.syms")
    assert (info.value.line, info.value.column) == (line, col)
    assert reason in info.value.reason


# --------------------------------------------------------------------------- load_scripts


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_load_scripts_merges_like_libvirt(tmp_path: Path) -> None:
    pub = write(
        tmp_path, "pub.syms", "LIBVIRT_1 { global: virA; };\nLIBVIRT_2 { virB; } LIBVIRT_1;"
    )
    qemu = write(tmp_path, "more.syms", "LIBVIRT_3 { virC; } LIBVIRT_2;")  # parent in pub.syms
    p1 = write(tmp_path, "priv1.syms", "# a.h\nvirX;\nvirY;\n")
    p2 = write(tmp_path, "priv2.syms", "# b.h\nvirX;\n")
    script = load_scripts([pub, p1, qemu, p2], "LIBVIRT_PRIVATE_1")
    assert script.paths == (pub, p1, qemu, p2)
    assert [(n.name, n.parents) for n in script.nodes] == [
        ("LIBVIRT_1", ()),
        ("LIBVIRT_2", ("LIBVIRT_1",)),
        ("LIBVIRT_3", ("LIBVIRT_2",)),
        ("LIBVIRT_PRIVATE_1", ()),
    ]
    private = script.nodes[-1]
    assert [(e.pattern, str(e.location)) for e in private.globals] == [
        ("virX", f"{p1}:2:1"),
        ("virY", f"{p1}:3:1"),
        ("virX", f"{p2}:2:1"),  # duplicates are kept for a later rule to report
    ]
    assert [(e.pattern, e.location.path) for e in private.locals] == [("*", p1)]
    assert private.location.path == p1
    assert match_symbol(script, "virX") is private
    assert match_symbol(script, "virC") is script.nodes[2]
    assert match_symbol(script, "virUnlisted") is None


def test_load_scripts_needs_the_private_node_name(tmp_path: Path) -> None:
    pub = write(tmp_path, "pub.syms", "V1 { a; };")
    frag = write(tmp_path, "libvirt_private.syms", "virX;\n")
    with pytest.raises(InputError) as info:
        load_scripts([pub, frag], None)
    assert info.value.path == frag
    assert "private version node" in info.value.message
    assert load_scripts([pub], None).nodes[0].name == "V1"  # no fragment, no name needed
    with pytest.raises(InputError, match="not a valid version node name"):
        load_scripts([frag], "LIBVIRT_PRIVATE_@VERSION@")


def test_load_scripts_checks_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.syms", "V1 { a; };")
    b = write(tmp_path, "b.syms", "\nV1 { b; };")
    with pytest.raises(ScriptSyntaxError) as info:
        load_scripts([a, b], None)
    assert (info.value.path, info.value.line) == (b, 2)
    assert f"first defined at {a}:1:1" in info.value.reason
    frag = write(tmp_path, "p.syms", "a;\n")
    with pytest.raises(ScriptSyntaxError, match="symbol 'a' is global in node 'P'"):
        load_scripts([write(tmp_path, "c.syms", "V1 { local: a; };"), frag], "P")


def test_unreadable_inputs_raise_input_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.syms")
    with pytest.raises(InputError) as info:
        parse_script(missing)
    assert info.value.message == f"{missing}: no such file"
    binary = tmp_path / "bin.syms"
    binary.write_bytes(b"V1 { \xff\xfe; };")
    with pytest.raises(InputError, match=r"bin\.syms:1: not UTF-8 text \(byte 0xff\)$"):
        load_scripts([str(binary)], None)
    with pytest.raises(InputError):
        parse_script(str(tmp_path))  # a directory


def test_find_entry_lists_literal_entries_only() -> None:
    text = 'V1 { global: f; f*; local: f; };\nV2 { global: g; extern "C++" { f; }; } V1;'
    script = parse_script_text(text, "t.map")
    found = find_entry(script, "f")
    assert [(n.name, str(e.location), e.language) for n, e in found] == [
        ("V1", "t.map:1:14", None),
        ("V1", "t.map:1:28", None),
        ("V2", "t.map:2:32", "C++"),
    ]
    assert find_entry(script, "f*") == []
    assert find_entry(script, "nope") == []

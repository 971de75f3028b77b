"""Issue 10, "Right on every library": the package as the unit, SONAME changes, readable
reports, dependencies and version needs, expiring waivers.

The move verdict is checked against ld.so itself: a program built against the old
library is run against the new tree (``LD_BIND_NOW=1``, so that every symbol is bound at
start-up); it runs exactly when elfaudit says the symbol moved rather than vanished.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BuildLib

from elfaudit.analysis.dependencies import compare_dependencies, newest_needs
from elfaudit.commands.compare import run_compare
from elfaudit.commands.waiving import WaiverOptions
from elfaudit.model.abi import ImportedSymbol, LibraryABI, VersionNeed
from elfaudit.model.report import Finding, PrivateSummary, Report, Severity
from elfaudit.policy import waivers as wv
from elfaudit.render import load_schema, render_report
from elfaudit.render.text import DEFAULT_WIDTH, TextRenderer, terminal_width

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# --------------------------------------------------------------------------- 1. moves

OLD_A_C = "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"
OLD_A_MAP = "V1 { global: foo; bar; local: *; };\n"
NEW_A_C = "int bar(void) { return 2; }\n"
NEW_B_DEFAULT = ("int foo(void) { return 1; }\n", "V1 { global: foo; local: *; };\n")
NEW_B_HIDDEN = (  # foo@V1 hidden, foo@@B_2 the default
    "int foo_v1(void) { return 1; }\nint foo_v2(void) { return 10; }\n"
    "int b2(void) { return 2; }\n"
    '__asm__(".symver foo_v1, foo@V1");\n__asm__(".symver foo_v2, foo@@B_2");\n',
    "V1 { global: foo; local: *; };\nB_2 { global: b2; } V1;\n",
)
PROG_C = "int foo(void);\nint bar(void);\nint main(void) { return foo() + bar() == 3 ? 0 : 1; }\n"


def _tree(d: Path, libs: dict[str, Path]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for soname, path in libs.items():
        shutil.copy(path, d / soname)
    return d


def _build_case(build_lib: BuildLib, tmp: Path, variant: str) -> tuple[Path, Path, Path]:
    """(old tree, new tree, program built against old) for a move ``variant``:
    ``default``/``hidden`` (libA needs libB and keeps V1: a real move), ``not-needed``
    (libA does not load libB), ``node-gone`` (libA no longer defines V1)."""
    old_a = build_lib(OLD_A_C, OLD_A_MAP, soname="libA.so.1")
    b_src, b_map = NEW_B_HIDDEN if variant == "hidden" else NEW_B_DEFAULT
    new_b = build_lib(b_src, b_map, soname="libB.so.1")
    needs = ("-Wl,--no-as-needed", str(new_b)) if variant != "not-needed" else ()
    a_map = "V2 { global: bar; local: *; };\n" if variant == "node-gone" else OLD_A_MAP
    a_map = a_map.replace(" foo;", "")
    new_a = build_lib(NEW_A_C, a_map, soname="libA.so.1", extra=needs)
    old = _tree(tmp / "old", {"libA.so.1": old_a})
    new = _tree(tmp / "new", {"libA.so.1": new_a, "libB.so.1": new_b})
    (tmp / "prog.c").write_text(PROG_C)
    prog = tmp / "prog"
    subprocess.run(
        ["gcc", "-o", str(prog), str(tmp / "prog.c"), str(old / "libA.so.1")],
        check=True,
        capture_output=True,
    )
    return old, new, prog


def _run_against(prog: Path, libdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LD_LIBRARY_PATH": str(libdir), "LD_BIND_NOW": "1"}
    return subprocess.run([str(prog)], capture_output=True, text=True, env=env, timeout=30)


def _rules(report: Report, library: str | None = None) -> dict[tuple[str, str | None], str]:
    return {
        (f.rule, f.symbol): f.severity.value
        for f in report.findings
        if library is None or f.library == library
    }


@pytest.mark.parametrize("variant", ["default", "hidden"])
def test_symbol_moved_to_a_needed_library_is_a_move_and_old_programs_run(
    build_lib: BuildLib, tmp_path: Path, variant: str
) -> None:
    old, new, prog = _build_case(build_lib, tmp_path, variant)
    assert _run_against(prog, old).returncode == 0
    ran = _run_against(prog, new)
    assert ran.returncode == 0, ran.stderr  # ld.so resolves foo@V1 from libB
    report = run_compare(str(old), str(new))
    rules = _rules(report)
    assert rules[("symbol-moved-library", "foo")] == "info"
    assert ("symbol-removed", "foo") not in rules
    # The counterpart in libB (foo@V1 new there) is folded into the move.
    assert not [f for f in report.findings if f.library == "libB.so.1" and f.symbol == "foo"
                and f.version == "V1"]  # fmt: skip
    moved = next(f for f in report.findings if f.rule == "symbol-moved-library")
    assert moved.library == "libA.so.1" and moved.version == "V1"
    assert "libB.so.1" in moved.message and "libA.so.1 keeps V1" in moved.message


def test_symbol_in_a_library_not_loaded_is_still_removed_and_old_programs_fail(
    build_lib: BuildLib, tmp_path: Path
) -> None:
    old, new, prog = _build_case(build_lib, tmp_path, "not-needed")
    ran = _run_against(prog, new)
    assert ran.returncode != 0 and "foo" in ran.stderr
    report = run_compare(str(old), str(new))
    removed = [f for f in report.findings if f.rule == "symbol-removed" and f.symbol == "foo"]
    assert len(removed) == 1 and removed[0].severity is E
    assert "libA.so.1 does not load it" in removed[0].message
    assert ("symbol-moved-library", "foo") not in _rules(report)


def test_symbol_moved_but_node_gone_from_old_library_is_removed(
    build_lib: BuildLib, tmp_path: Path
) -> None:
    old, new, prog = _build_case(build_lib, tmp_path, "node-gone")
    ran = _run_against(prog, new)
    assert ran.returncode != 0 and "V1" in ran.stderr and "not found" in ran.stderr
    report = run_compare(str(old), str(new))
    rules = _rules(report, "libA.so.1")
    assert rules[("node-removed", None)] == "error"
    assert rules[("symbol-removed", "foo")] == "error"
    assert ("symbol-moved-library", "foo") not in rules


def test_symbol_moved_library_in_debs(build_lib: BuildLib, tmp_path: Path) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    old, new, _prog = _build_case(build_lib, tmp_path, "default")
    debs = []
    for name, tree in (("old", old), ("new", new)):
        root = tmp_path / f"root-{name}"
        (root / "DEBIAN").mkdir(parents=True)
        (root / "DEBIAN" / "control").write_text(
            f"Package: liba1\nVersion: {'1.0' if name == 'old' else '2.0'}-1\n"
            "Architecture: amd64\nMaintainer: Nobody <nobody@example.org>\n"
            "Description: test\n"
        )
        shutil.copytree(tree, root / "usr/lib/x86_64-linux-gnu")
        deb = tmp_path / f"liba1_{name}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
            check=True,
            capture_output=True,
        )
        debs.append(deb)
    rules = _rules(run_compare(str(debs[0]), str(debs[1])))
    assert rules[("symbol-moved-library", "foo")] == "info"
    assert rules[("library-added", None)] == "info"
    assert ("symbol-removed", "foo") not in rules


def test_symbol_moved_to_libc_counts_as_always_loaded() -> None:
    from elfaudit.analysis.moves import always_loaded, fold_moves
    from elfaudit.model.abi import Symbol, VersionDef

    assert always_loaded("libc.so.6") and always_loaded("ld-linux-x86-64.so.2")
    assert not always_loaded("libm.so.6") and not always_loaded(None)

    def lib(soname: str, symbols: tuple[Symbol, ...], nodes: tuple[str, ...]) -> LibraryABI:
        nodes_defs = tuple(VersionDef(n, i + 2) for i, n in enumerate(nodes))
        versions = (VersionDef(soname, 1, base=True), *nodes_defs)
        return LibraryABI(soname, soname, (), "x86_64", 64, "little", versions, symbols)

    create = Symbol("pthread_create", "GLIBC_2.2.5", False, "FUNC", "GLOBAL", "DEFAULT", 0)
    libc = lib("libc.so.6", (create,), ("GLIBC_2.2.5",))
    stub = lib("libpthread.so.0", (), ("GLIBC_2.2.5",))
    raw = Finding("symbol-removed", E, "libpthread.so.0", "pthread_create", "GLIBC_2.2.5", "gone")
    (moved,) = fold_moves([raw], [libc, stub])
    assert moved.rule == "symbol-moved-library"
    assert "which every process loads" in moved.message


# --------------------------------------------------------------------------- 2. SONAME change

MANY_C = "".join(f"int s{i}(void) {{ return {i}; }}\n" for i in range(40))
MANY_MAP = "X_1 { global: " + " ".join(f"s{i};" for i in range(40)) + " local: *; };\n"
OTHER_C = "".join(f"int t{i}(void) {{ return {i}; }}\n" for i in range(30))
OTHER_MAP = "X_3 { global: " + " ".join(f"t{i};" for i in range(30)) + " local: *; };\n"


def test_soname_changed_first_and_symbol_noise_summarised(build_lib: BuildLib) -> None:
    old = build_lib(MANY_C, MANY_MAP, soname="libx.so.1")
    new = build_lib(OTHER_C, OTHER_MAP, soname="libx.so.3")
    report = run_compare(str(old), str(new))
    assert report.libraries == ("libx.so.3",)
    (only,) = report.findings
    assert only.rule == "soname-changed" and only.severity is E
    assert "72 symbol and node findings" in only.message
    assert "symbol-removed: 40 error" in only.message and "symbol-added: 30 info" in only.message
    text = render_report(report, "text")
    assert "== libx.so.1 ==" not in text and "no findings" not in text
    full = run_compare(str(old), str(new), list_all=True)
    assert len(full.findings) == 1 + 72
    ordered = render_report(full, "json")
    assert json.loads(ordered)["findings"][0]["rule"] == "soname-changed"


def test_soname_changed_cli_verbose_lists_everything(build_lib: BuildLib, tmp_path: Path) -> None:
    old = build_lib(MANY_C, MANY_MAP, soname="libx.so.1")
    new = build_lib(OTHER_C, OTHER_MAP, soname="libx.so.3")

    def run(*extra: str) -> str:
        env = {**os.environ, "COLUMNS": "100"}
        proc = subprocess.run(
            [sys.executable, "-m", "elfaudit", "compare", str(old), str(new), *extra],
            capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert proc.returncode == 12, proc.stderr
        return proc.stdout

    short, full = run(), run("-v")
    assert short.count("symbol-removed") == 1 and "-v lists them" in short
    assert full.count("symbol-removed  ") == 40
    assert full.splitlines()[5].startswith("error       soname-changed")


# --------------------------------------------------------------------------- 3. readable reports

LONG = "a message that is long enough to overflow any terminal " * 5


def test_text_tables_fit_the_width_and_wrap_the_message() -> None:
    report = Report(
        "compare",
        ("l.so.1",),
        (
            Finding("symbol-removed", E, "l.so.1", "sym", "V_1", LONG.strip()),
            Finding("symbol-removed", E, "l.so.1", "other", "V_1", "short", waived="r " * 60),
        ),
    )
    out = TextRenderer(width=80).render(report)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "overflow" in out and "short" in out
    # Continuation lines carry only the message.
    lines = out.splitlines()
    first = next(
        i for i, ln in enumerate(lines) if ln.startswith("error       symbol-removed  sym")
    )
    assert lines[first + 1].startswith(" " * 40)
    wide = TextRenderer(width=400).render(report)
    assert LONG.strip() in wide


def test_terminal_width_from_columns_else_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    assert terminal_width() == 90
    monkeypatch.delenv("COLUMNS")
    assert terminal_width() == DEFAULT_WIDTH  # pytest's stdout is not a terminal
    monkeypatch.setenv("COLUMNS", "junk")
    assert terminal_width() == DEFAULT_WIDTH


def test_nodes_sort_in_version_order() -> None:
    nodes = ["LIBVIRT_10.1.0", "LIBVIRT_7.1.0", "LIBVIRT_9.0.0", "LIBVIRT_0.10.0"]
    report = Report(
        "compare",
        ("l.so.1",),
        tuple(Finding("node-added", INFO, "l.so.1", None, n, "added") for n in nodes),
    )
    out = render_report(report, "text", verbose=True)
    order = [ln.split()[3] for ln in out.splitlines() if ln.startswith("info")]
    assert order == ["LIBVIRT_0.10.0", "LIBVIRT_7.1.0", "LIBVIRT_9.0.0", "LIBVIRT_10.1.0"]
    doc = json.loads(render_report(report, "json"))
    assert [f["version"] for f in doc["findings"]] == order


def test_empty_private_summaries_are_omitted() -> None:
    report = Report(
        "compare",
        ("libc.so.6",),
        private=(
            PrivateSummary("libc.so.6", ("GLIBC_PRIVATE",), ("GLIBC_PRIVATE",), 0, 0),
            PrivateSummary("libc.so.6", ("X_PRIVATE_1",), ("X_PRIVATE_2",), 0, 0),
        ),
    )
    out = render_report(report, "text")
    assert "GLIBC_PRIVATE" not in out
    assert "private: X_PRIVATE_1 -> X_PRIVATE_2: 0 added, 0 removed" in out


# --------------------------------------------------------------------------- 4. dependencies


def _abi(
    needed: tuple[str, ...] = (),
    needs: tuple[tuple[str, str], ...] = (),
    imports: tuple[tuple[str, str, str], ...] = (),
) -> LibraryABI:
    return LibraryABI(
        "/x/libd.so.1", "libd.so.1", needed, "x86_64", 64, "little", (), (),
        version_needs=tuple(VersionNeed(f, n, i + 2) for i, (f, n) in enumerate(needs)),
        imports=tuple(ImportedSymbol(s, v, f) for s, v, f in imports),
    )  # fmt: skip


def test_needed_added_and_removed() -> None:
    old = _abi(needed=("libc.so.6", "libm.so.6"))
    new = _abi(needed=("libc.so.6", "libz.so.1"))
    got = {(f.rule, f.severity, f.message.split(" (")[0]) for f in compare_dependencies(old, new)}
    assert got == {
        ("needed-removed", W, "no longer needs libm.so.6"),
        ("needed-added", INFO, "now needs libz.so.1"),
    }


def test_version_need_raised_names_the_symbols_pulling_it_in() -> None:
    old = _abi(
        needed=("libc.so.6",),
        needs=(("libc.so.6", "GLIBC_2.2.5"), ("libc.so.6", "GLIBC_2.28"),
               ("libc.so.6", "GLIBC_PRIVATE")),
    )  # fmt: skip
    new = _abi(
        needed=("libc.so.6",),
        needs=(("libc.so.6", "GLIBC_2.2.5"), ("libc.so.6", "GLIBC_2.38"),
               ("libc.so.6", "GLIBC_2.9")),
        imports=(("strlcpy", "GLIBC_2.38", "libc.so.6"),
                 ("__isoc23_strtol", "GLIBC_2.38", "libc.so.6"),
                 ("puts", "GLIBC_2.2.5", "libc.so.6")),
    )  # fmt: skip
    assert {k: str(v.numbers) for k, v in newest_needs(new).items()} == {
        ("libc.so.6", "GLIBC"): "(2, 38)"
    }
    (f,) = compare_dependencies(old, new)
    assert f.rule == "version-need-raised" and f.severity is W
    assert f.message.startswith("needs GLIBC_2.38 of libc.so.6, was GLIBC_2.28")
    assert f.message.endswith("pulled in by __isoc23_strtol@GLIBC_2.38, strlcpy@GLIBC_2.38")
    # Same or older needs: nothing.
    assert compare_dependencies(new, old) == [] or all(
        f.rule != "version-need-raised" for f in compare_dependencies(new, old)
    )


def test_version_need_raised_and_needed_added_from_gcc_builds(build_lib: BuildLib) -> None:
    old = build_lib("#include <stdio.h>\nint f(void) { return puts(\"x\"); }\n",
                    "D_1 { global: f; local: *; };\n", soname="libd.so.1")  # fmt: skip
    new = build_lib(
        "#include <sys/random.h>\nint f(void) { char b[4]; return (int)getrandom(b, 4, 0); }\n",
        "D_1 { global: f; local: *; };\n",
        soname="libd.so.1",
        extra=("-Wl,--no-as-needed", "-lm"),
    )
    report = run_compare(str(old), str(new))
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["needed-added"].message.startswith("now needs libm.so.6")
    raised = by_rule["version-need-raised"]
    assert raised.severity is W and "GLIBC_2.25 of libc.so.6" in raised.message
    assert "getrandom@GLIBC_2.25" in raised.message


# --------------------------------------------------------------------------- 4. expiring waivers


def _waivers_file(tmp: Path, expires: object) -> Path:
    item: dict[str, object] = {"rule": "symbol-removed", "symbol": "bar", "reason": "accepted"}
    if expires is not None:
        item["expires"] = expires
    p = tmp / "w.json"
    p.write_text(json.dumps({"format": wv.FORMAT, "format_version": 1, "waivers": [item]}))
    return p


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ("2024-13-01", "not a valid date"),
        ("2024-02-30", "not a valid date"),
        ("tomorrow", 'expected a date as "YYYY-MM-DD"'),
        ("2024-1-01", 'expected a date as "YYYY-MM-DD"'),
        (20240101, "number 20240101"),
        (None, "null"),
    ],
)
def test_waiver_expires_is_validated(tmp_path: Path, value: object, expect: str) -> None:
    item: dict[str, object] = {"rule": "symbol-removed", "symbol": "x", "reason": "r"}
    item["expires"] = value
    doc = {"format": wv.FORMAT, "format_version": 1, "waivers": [item]}
    with pytest.raises(Exception, match="expires") as exc:
        wv.parse_waivers(doc, "w.json")
    assert expect in str(exc.value)


def test_expired_waiver_no_longer_waives_and_is_reported_once() -> None:
    f = Finding("symbol-removed", E, "l", "bar", "V1", "gone")
    g = Finding("symbol-removed", E, "l", "bar", "V2", "gone")
    w = wv.Waiver("symbol-removed", "ok", symbol="bar", expires=datetime.date(2024, 1, 31))
    applied, unused = wv.apply_waivers([f, g], [w], today=datetime.date(2024, 1, 31))
    assert all(x.waived == "ok" for x in applied) and unused == ()  # the last day still waives
    applied, unused = wv.apply_waivers([f, g], [w], today=datetime.date(2024, 2, 1))
    assert all(x.waived is None for x in applied) and unused == (w,)
    assert wv.describe_unused(w, datetime.date(2024, 2, 1)) == (
        "symbol-removed bar (expires 2024-01-31): expired on 2024-01-31, no longer waives"
    )


def test_expired_waiver_in_a_compare_report(build_lib: BuildLib, tmp_path: Path) -> None:
    old = build_lib(OLD_A_C, OLD_A_MAP, soname="libA.so.1")
    new = build_lib("int foo(void) { return 1; }\n", "V1 { global: foo; local: *; };\n",
                    soname="libA.so.1")  # fmt: skip
    future = _waivers_file(tmp_path, "2999-12-31")
    report = run_compare(str(old), str(new), waivers=WaiverOptions((str(future),)))
    assert [x.waived for x in report.findings] == ["accepted"] and not report.unused_waivers
    past = _waivers_file(tmp_path, "2000-01-01")
    report = run_compare(str(old), str(new), waivers=WaiverOptions((str(past),)))
    assert [x.waived for x in report.findings] == [None]
    (line,) = report.unused_waivers
    assert line.endswith("expired on 2000-01-01, no longer waives")
    assert "unused waivers:\n  " + line in render_report(report, "text")
    import jsonschema

    jsonschema.validate(json.loads(render_report(report, "json")), load_schema("report"))

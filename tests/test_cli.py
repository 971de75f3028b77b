"""Golden CLI tests: args in, exact stdout / stderr / exit code out.

Each case in ``tests/golden/<name>.json`` holds ``args``, ``stdout``, ``stderr`` and
``rc``. Arguments may name inputs as ``{lib:NAME}`` (a library built with gcc from the
sources below), ``{file:NAME}`` (a bad input written below) or ``{tmp}``, as paths
relative to the working directory, so outputs are the same wherever pytest puts its
temporary directory. The real process is run
(``python -m elfaudit``) so exit codes and stderr are exactly what users get.

To re-record after an intended change: ``ELFAUDIT_UPDATE_GOLDEN=1 pytest tests/test_cli.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BuildLib

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("ELFAUDIT_UPDATE_GOLDEN"))

C = "int foo(void){return 1;}\nint bar(void){return 2;}\nint tab[4];\n"
MAP = "LIBT_1.0 { global: foo; bar; tab; local: *; };\n"
LIBS: dict[str, tuple[str, str | None, str]] = {
    "old": (C, MAP, "libt.so.1"),
    "rebuild": (C, MAP, "libt.so.1"),
    "removed": (
        "int foo(void){return 1;}\nint tab[8];\n",
        "LIBT_1.0 { global: foo; tab; local: *; };\n",
        "libt.so.1",
    ),
    "added": (
        C + "int baz(void){return 3;}\n",
        MAP + "LIBT_2.0 { global: baz; } LIBT_1.0;\n",
        "libt.so.1",
    ),
    "unversioned": (C, None, "libu.so.1"),
}
SCRIPTS = {
    "good.map": MAP,
    "ghost.map": "LIBT_1.0 {\n  global:\n    foo; bar; tab;\n    ghost;\n  local: *;\n};\n",
    "broken.map": "LIBT_1.0 {\n  global:\n    foo\n};\n",
    "waivers.json": json.dumps(
        {
            "format": "elfaudit-waivers",
            "format_version": 1,
            "waivers": [
                {"rule": "symbol-removed", "symbol": "bar", "reason": "dropped on purpose"},
                {"rule": "symbol-removed", "symbol": "never", "reason": "stale"},
            ],
        }
    ),
    "random.bin": None,
    "empty.so": "",
    "bad.json": '{"schema_version": 1, "kind": "elfaudit-dump", "libraries": [{}]}\n',
    "bad.deb": None,
    "graph.json": '{"format": "elfaudit-release-graph", "format_version": 1, "releas',
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, build_lib: BuildLib) -> Path:
    d = tmp_path_factory.mktemp("cli")
    for name, (src, vmap, soname) in LIBS.items():
        (d / f"{name}.so").write_bytes(build_lib(src, vmap, soname=soname).read_bytes())
    for name, text in SCRIPTS.items():
        if text is not None:
            (d / name).write_text(text)
    rnd = bytes((i * 7919 + 13) % 251 for i in range(4096))
    (d / "random.bin").write_bytes(rnd)
    (d / "bad.deb").write_bytes(b"!<arch>\n" + rnd[:100])
    (d / "emptydir").mkdir()
    (d / "truncated.so").write_bytes((d / "old.so").read_bytes()[:1000])
    return d


def _expand(arg: str, d: Path, *, relative: bool = False) -> str:
    """Placeholders to paths; relative to ``d`` (the working directory) for golden runs,
    so that outputs do not depend on where pytest put its temporary directory."""
    base = "" if relative else f"{d}/"
    arg = re.sub(r"\{lib:(\w+)\}", lambda m: f"{base}{m.group(1)}.so", arg)
    arg = re.sub(r"\{file:([\w.]+)\}", lambda m: f"{base}{m.group(1)}", arg)
    return arg.replace("{tmp}", "." if relative else str(d))


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ELFAUDIT_GRAPH", "ELFAUDIT_DEBUG")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "elfaudit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, workdir: Path) -> None:
    path = GOLDEN / f"{case}.json"
    spec = json.loads(path.read_text())
    proc = run_cli([_expand(a, workdir, relative=True) for a in spec["args"]], workdir)
    got = {"stdout": proc.stdout, "stderr": proc.stderr, "rc": proc.returncode}
    if UPDATE:
        spec.update(got)
        path.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    assert got == {k: spec[k] for k in ("stdout", "stderr", "rc")}


def test_every_error_is_one_line_without_traceback(workdir: Path) -> None:
    """Bad input of every kind: one line on stderr naming the file, exit 1."""
    cases = [
        ["dump", "{file:missing.so}"],
        ["dump", "{file:random.bin}"],
        ["dump", "{file:empty.so}"],
        ["dump", "{file:truncated.so}"],
        ["dump", "{file:emptydir}"],
        ["dump", "{file:bad.deb}"],
        ["compare", "{file:bad.json}", "{lib:old}"],
        ["check", "{lib:old}", "--script", "{file:broken.map}"],
        ["check", "{lib:old}", "--script", "{file:missing.map}"],
        ["compare", "{lib:old}", "{lib:rebuild}", "--waivers", "{file:broken.map}"],
        ["graph", "show", "--graph", "{file:graph.json}"],
        ["compare", "{lib:old}", "{lib:old}", "--profile", "{file:bad.json}"],
    ]
    for args in cases:
        expanded = [_expand(a, workdir) for a in args]
        proc = run_cli(expanded, workdir)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 1, (args, proc.stderr)
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
        named = [a for a in expanded if a.startswith(str(workdir))]
        assert any(n in lines[0] for n in named), (args, lines[0])


def test_output_file_is_not_written_on_bad_input(workdir: Path) -> None:
    out = workdir / "report.json"
    out.write_text("previous\n")
    proc = run_cli(
        [
            "compare",
            str(workdir / "random.bin"),
            str(workdir / "old.so"),
            "--format",
            "json",
            "-o",
            str(out),
        ],
        workdir,
    )
    assert proc.returncode == 1
    assert out.read_text() == "previous\n"
    assert not [p for p in workdir.iterdir() if p.name.startswith(".elfaudit-")]
    proc = run_cli(
        [
            "compare",
            str(workdir / "old.so"),
            str(workdir / "removed.so"),
            "--format",
            "json",
            "-o",
            str(out),
        ],
        workdir,
    )
    assert proc.returncode == 12 and proc.stdout == ""
    assert json.loads(out.read_text())["exit_code"] == 12


def test_installed_entry_point_and_package_data(tmp_path: Path) -> None:
    """The console script works outside the checkout, with its data files."""
    code = (
        "import elfaudit, elfaudit.policy.profiles as p, elfaudit.commands.graph as a, os;"
        "print(elfaudit.__file__);"
        "print(p.builtin('libvirt').name, os.path.exists(a.shipped_graph_path()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert proc.stdout.splitlines()[1] == "libvirt True"


def test_large_output_arrives_whole_through_a_pipe_and_in_a_file(workdir: Path) -> None:
    """A dump arrives whole through a pipe and in an --output file, byte for byte."""
    args = ["dump", "--format", "json", "old.so"]
    piped = run_cli(args, workdir)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.endswith("}\n") and json.loads(piped.stdout)["kind"] == "elfaudit-dump"
    out = workdir / "dump-whole.json"
    to_file = run_cli([*args, "--output", str(out)], workdir)
    assert (to_file.returncode, to_file.stdout, to_file.stderr) == (0, "", "")
    assert out.read_text() == piped.stdout
    assert run_cli(["compare", "old.so", "removed.so"], workdir).returncode == 12


def test_reader_closing_the_pipe_early_is_quiet(workdir: Path) -> None:
    """`elfaudit dump ... | head -c 10`: no traceback, no 'Exception ignored' from a last
    flush, and not Python's 120 (flush failed at exit) nor a death by SIGPIPE: 0 when the
    pipe took the write before the reader left, 1 when the write failed."""
    many = ["old.so"] * 300  # far more than a pipe's buffer holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "elfaudit", "dump", "--format", "json", *many],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{\n  "kind"'
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) in (0, 1), err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_atexit_handlers_run_after_the_console_script(workdir: Path) -> None:
    """The console script (``elfaudit.cli:run``, called as pip's generated script calls
    it) ends with a normal interpreter exit: ``atexit`` handlers and ``weakref.finalize``
    callbacks run after everything elfaudit wrote, and the exit status is still main's."""
    code = "\n".join(
        [
            "import atexit, sys, weakref",
            "from elfaudit.cli import run",
            "class Held: pass",
            "held = Held()",
            "weakref.finalize(held, print, 'finalizer ran', flush=True)",
            "atexit.register(print, 'atexit ran', flush=True)",
            "sys.argv = ['elfaudit', *sys.argv[1:]]",
            "sys.exit(run())",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ELFAUDIT_GRAPH", "ELFAUDIT_DEBUG")}
    for args, status in ((["dump", "--format", "json", "old.so"], 0), (["dump", "nosuch"], 1)):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=workdir,
            env=env,
            timeout=120,
            check=False,
        )
        assert proc.returncode == status, proc.stderr
        written, _, handlers = proc.stdout.partition("atexit ran\n")
        assert handlers == "finalizer ran\n", proc.stdout  # after all that elfaudit wrote
        if status == 0:
            assert json.loads(written)["kind"]
        else:
            assert (written, proc.stderr.count("\n")) == ("", 1), proc.stderr


def _walk_commands(
    group: object, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every (group path, command path) below ``group``, read from click itself, so a new
    command or subcommand is covered without being listed here."""
    import click

    assert isinstance(group, click.Group)
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, (*path, name)
        out.append((path, (*path, name)))
        if isinstance(command, click.Group):
            out.extend(_walk_commands(command, (*path, name)))
    return out


def test_help_lists_every_command(workdir: Path) -> None:
    from elfaudit.cli import cli

    walked = _walk_commands(cli)
    assert len(walked) >= 16  # 10 top-level commands and graph's 6 subcommands
    helps: dict[tuple[str, ...], str] = {}
    for group, command in walked:
        if group not in helps:
            proc = run_cli([*group, "--help"], workdir)
            assert proc.returncode == 0, group
            helps[group] = proc.stdout
        name = command[-1]
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", helps[group], re.M), command
        proc = run_cli([*command, "--help"], workdir)
        assert proc.returncode == 0, command
        assert proc.stdout.startswith(f"Usage: elfaudit {' '.join(command)} "), command
        # a description under the usage line, not only the options
        body = proc.stdout.split("\n\n", 2)[1]
        assert body.strip() and not body.lstrip().startswith("Options:"), command


def _json_outputs(workdir: Path) -> list[tuple[list[str], str]]:
    from elfaudit.commands.graph import shipped_graph_path

    shipped = shipped_graph_path()
    graph = str(workdir / "schema-graph.json")
    return [
        (["dump", "old.so"], "dump"),
        (["check", "old.so", "--script", "good.map"], "report"),
        (["compare", "old.so", "added.so"], "report"),
        (["scan", "old.so"], "report"),
        (["graph", "record", "old.so", "--release", "1.0", "--graph", graph], "record"),
        (["graph", "check", "added.so", "--release", "2.0", "--graph", graph], "report"),
        (
            ["gate", "added.so", "--script", "good.map", "--release", "2.0", "--graph", graph],
            "report",
        ),
        (["graph", "show", "--graph", shipped], "table"),
        (["graph", "introduced", "virConnectOpen", "--graph", shipped], "table"),
        (["graph", "introduced", "foo", "--from", "old.so"], "table"),
        (["graph", "export", "--graph", shipped], "graph"),
        (["provides", "old.so", "--requires"], "table"),
        (["needs", "old.so", "--library", "old.so"], "table"),
        (["symbols-file", "old.so", "--package", "libt1", "--minver-fallback", "1.0"], "symbols"),
    ]


def test_every_json_output_matches_its_schema(workdir: Path) -> None:
    """Each command's --format json document validates against the schema it ships."""
    import jsonschema

    from elfaudit.render import load_schema

    for args, schema in _json_outputs(workdir):
        proc = run_cli([*args, "--format", "json"], workdir)
        assert proc.returncode in (0, 4, 12), (args, proc.stderr)
        jsonschema.Draft202012Validator(load_schema(schema)).validate(json.loads(proc.stdout))


def test_every_data_command_speaks_markdown(workdir: Path) -> None:
    for args, _schema in _json_outputs(workdir):
        if args[:2] == ["graph", "record"]:
            args = [*args, "--replace"]
        if args[0] == "dump":
            continue  # dump keeps text and json
        proc = run_cli([*args, "--format", "markdown"], workdir)
        assert proc.returncode in (0, 4, 12), (args, proc.stderr)
        assert proc.stdout.strip(), args


def test_text_confirmation_stays_on_stderr(workdir: Path) -> None:
    graph = str(workdir / "confirm-graph.json")
    proc = run_cli(["graph", "record", "old.so", "--release", "1.0", "--graph", graph], workdir)
    assert proc.returncode == 0 and proc.stdout == ""
    assert proc.stderr == f"recorded 1.0 as a root in {graph}\n"
    again = ["graph", "record", "old.so", "--release", "1.0", "--graph", graph, "--replace"]
    proc = run_cli([*again, "--format", "json"], workdir)
    assert json.loads(proc.stdout)["release"] == "1.0" and proc.stderr == ""

"""Issue 11, round two: hostile JSON and XML inputs, a broken stdout, stale temp files and
terminal escaping. Every case runs the real CLI in a subprocess and expects exit 1, one line
on stderr naming the file (or stdout), no traceback and no internal error.

The property tests at the end feed mutated inputs to every loader in-process: each ends in
a result or an :class:`~elfaudit.base.errors.InputError` whose message is one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfaudit.base.errors import InputError, terminal_safe
from elfaudit.base.fileio import MAX_JSON_DEPTH, atomic_write
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.policy.profiles import load_profile
from elfaudit.policy.waivers import load_waivers
from elfaudit.readers.api_xml import parse_api
from elfaudit.readers.snapshot import read_snapshot

SOURCE = "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"
SCRIPT = "V_1 { global: foo; bar; local: *; };\n"


def elfaudit(
    *args: str, cwd: Path, stdout: Any = subprocess.PIPE, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elfaudit", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        **kw,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], names: str) -> str:
    """Exit 1, exactly one stderr line, naming ``names``, no traceback or internal error."""
    err = done.stderr
    assert done.returncode == 1, (done.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("elfaudit: error: "), err
    assert names in lines[0], err
    return lines[0]


@pytest.fixture
def lib(build_lib: Callable[..., Path]) -> Path:
    path: Path = build_lib(SOURCE, SCRIPT)
    return path


@pytest.fixture
def snapshot(lib: Path, tmp_path: Path) -> dict[str, Any]:
    done = elfaudit("dump", "--format", "json", str(lib), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


@pytest.fixture
def graph(lib: Path, tmp_path: Path) -> dict[str, Any]:
    g = tmp_path / "recorded.json"
    done = elfaudit(
        "graph", "record", str(lib), "--release", "1.0.0", "--graph", str(g), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(g.read_text())
    return doc


def first_symbol(doc: dict[str, Any]) -> dict[str, Any]:
    sym: dict[str, Any] = doc["libraries"][0]["symbols"][0]
    return sym


# --------------------------------------------------------------------------- snapshots


def test_snapshot_with_a_lone_surrogate_in_a_name(snapshot: dict[str, Any], tmp_path: Path) -> None:
    first_symbol(snapshot)["name"] = "foo\udc80"
    bad = tmp_path / "sur.json"
    bad.write_text(json.dumps(snapshot))  # ensure_ascii: the escape \udc80, valid UTF-8
    for cmd in (["dump"], ["dump", "--format", "json"]):
        line = assert_one_line(elfaudit(*cmd, str(bad), cwd=tmp_path), "sur.json: ")
        assert "lone surrogate" in line


def test_snapshot_nested_100000_levels(snapshot: dict[str, Any], tmp_path: Path) -> None:
    text = json.dumps(snapshot)
    bad = tmp_path / "deep.json"
    bad.write_text(text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    line = assert_one_line(elfaudit("dump", str(bad), cwd=tmp_path), "deep.json: ")
    assert f"nested more than {MAX_JSON_DEPTH} levels" in line


def test_snapshot_nested_just_over_the_limit(snapshot: dict[str, Any], tmp_path: Path) -> None:
    """Deep enough to be refused, shallow enough for the json module to parse it."""
    snapshot["x"] = json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    bad = tmp_path / "deep.json"
    bad.write_text(json.dumps(snapshot))
    assert_one_line(elfaudit("dump", str(bad), cwd=tmp_path), "deep.json: invalid JSON: nested")
    snapshot["x"] = []
    bad.write_text(json.dumps(snapshot))
    assert elfaudit("dump", str(bad), cwd=tmp_path).returncode == 0


def test_snapshot_holding_a_5000_digit_integer(snapshot: dict[str, Any], tmp_path: Path) -> None:
    first_symbol(snapshot)["size"] = 0
    bad = tmp_path / "big.json"
    bad.write_text(json.dumps(snapshot).replace('"size": 0', '"size": ' + "9" * 5000, 1))
    line = assert_one_line(elfaudit("dump", str(bad), cwd=tmp_path), "big.json: ")
    assert "more than 20 digits" in line


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_snapshot_holding_a_non_finite_number(
    snapshot: dict[str, Any], tmp_path: Path, literal: str
) -> None:
    first_symbol(snapshot)["size"] = 0
    bad = tmp_path / "nan.json"
    bad.write_text(json.dumps(snapshot).replace('"size": 0', f'"size": {literal}', 1))
    assert_one_line(elfaudit("dump", str(bad), cwd=tmp_path), "nan.json: invalid JSON: ")


def test_snapshot_with_a_surrogate_pair_is_fine(snapshot: dict[str, Any], tmp_path: Path) -> None:
    first_symbol(snapshot)["name"] = "foo\U0001f600"
    ok = tmp_path / "pair.json"
    ok.write_text(json.dumps(snapshot))  # the escape pair \ud83d\ude00
    done = elfaudit("dump", "--format", "json", str(ok), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "foo\U0001f600" in done.stdout


# --------------------------------------------------------------------------- graph


def test_graph_with_a_lone_surrogate(graph: dict[str, Any], lib: Path, tmp_path: Path) -> None:
    graph["releases"]["1.0.0"]["note"] = "\udc80"
    bad = tmp_path / "g.json"
    bad.write_text(json.dumps(graph))
    for cmd in (
        ["graph", "show", "--graph", str(bad)],
        ["graph", "check", str(lib), "--release", "1.0.1", "--graph", str(bad)],
        ["graph", "record", str(lib), "--release", "1.0.1", "--graph", str(bad)],
    ):
        line = assert_one_line(elfaudit(*cmd, cwd=tmp_path), "g.json: ")
        assert "lone surrogate" in line, cmd


def test_graph_nested_too_deeply_and_huge_integer(graph: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "g.json"
    text = json.dumps(graph)
    bad.write_text(text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_one_line(elfaudit("graph", "show", "--graph", str(bad), cwd=tmp_path), "g.json: ")
    bad.write_text(text.replace('"format_version": 1', '"format_version": ' + "1" * 5000))
    assert_one_line(elfaudit("graph", "show", "--graph", str(bad), cwd=tmp_path), "g.json: ")


# --------------------------------------------------------------------------- stdout


def test_stdout_closed(lib: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m elfaudit dump "{lib}" >&-'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = assert_one_line(done, "stdout: ")
    assert line == "elfaudit: error: stdout: cannot write: Bad file descriptor"


def test_stdout_closed_help_too(tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m elfaudit --help >&-'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_line(done, "stdout: ")


def test_stdout_closed_is_fine_when_nothing_goes_to_stdout(lib: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m elfaudit dump "{lib}" -o out.txt >&-'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.txt").read_text().startswith("== libt.so.1 ==")


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_stdout_full(lib: Path, tmp_path: Path, unbuffered: str) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    with open("/dev/full", "w") as full:
        done = elfaudit("dump", str(lib), cwd=tmp_path, stdout=full, env=env)
    line = assert_one_line(done, "stdout: ")
    assert line == "elfaudit: error: stdout: cannot write: No space left on device"


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_stdout_broken_pipe(snapshot: dict[str, Any], tmp_path: Path, unbuffered: str) -> None:
    """A reader that closes after 10 bytes, with more output than a pipe holds (a smaller
    output that the pipe takes whole is written successfully, as with ``cat``)."""
    sym = first_symbol(snapshot)
    snapshot["libraries"][0]["symbols"] = [dict(sym, name=f"sym{i}") for i in range(5000)]
    big = tmp_path / "big.json"
    big.write_text(json.dumps(snapshot))
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    proc = subprocess.Popen(
        [sys.executable, "-m", "elfaudit", "dump", str(big)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert len(proc.stdout.read(10)) == 10
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    rc = proc.wait(timeout=60)
    done = subprocess.CompletedProcess(proc.args, rc, "", err)
    line = assert_one_line(done, "stdout: ")
    assert line == "elfaudit: error: stdout: cannot write: Broken pipe"


# --------------------------------------------------------------------------- outputs


def test_stale_temp_file_of_a_dead_writer_is_removed(lib: Path, tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".out.txt.{dead.pid}.0123456789ab.tmp"
    stale.write_text("left by a killed run")
    alive = tmp_path / f".out.txt.{os.getpid()}.0123456789ab.tmp"  # this test: alive
    alive.write_text("being written")
    other = tmp_path / f".other.txt.{dead.pid}.0123456789ab.tmp"  # another target
    other.write_text("not ours")
    done = elfaudit("dump", str(lib), "-o", "out.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert alive.exists() and other.exists()
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.txt."))
    assert names == [alive.name]


def test_graph_record_killed_mid_write_leaves_no_temp_file_for_ever(
    lib: Path, tmp_path: Path
) -> None:
    g = tmp_path / "g.json"
    script = (
        "import os, signal, sys\n"
        "from elfaudit.base import fileio\n"
        "real = fileio._write_all\n"
        "def write_all(fd, data):\n"
        "    real(fd, data)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "fileio._write_all = write_all\n"
        "sys.argv = ['elfaudit', 'graph', 'record', sys.argv[1], '--release', '1.0.0',"
        " '--graph', sys.argv[2]]\n"
        "from elfaudit.cli import run\n"
        "run()\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(lib), str(g)], cwd=tmp_path, timeout=60, check=False
    )
    assert killed.returncode == -9
    temps = [p for p in tmp_path.iterdir() if p.name.startswith(".g.json.")]
    assert len(temps) == 1 and not g.exists()
    done = elfaudit(
        "graph", "record", str(lib), "--release", "1.0.0", "--graph", str(g), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".g.json.")] == []
    assert g.exists()


def test_atomic_write_names_temp_files_after_the_pid(tmp_path: Path, monkeypatch) -> None:
    from elfaudit.base import fileio

    seen: list[str] = []
    real = fileio._temp_in

    def temp_in(directory: str, base: str) -> tuple[str, int]:
        tmp, fd = real(directory, base)
        seen.append(os.path.basename(tmp))
        return tmp, fd

    monkeypatch.setattr(fileio, "_temp_in", temp_in)
    atomic_write(tmp_path / ("n" * 250), "x")  # a long name still fits NAME_MAX
    assert seen and f".{os.getpid()}." in seen[0] and len(seen[0]) <= 255


# --------------------------------------------------------------------------- terminal safety


def test_terminal_safe_escapes_controls_and_keeps_letters() -> None:
    assert terminal_safe("plain é 😀") == "plain é 😀"
    assert terminal_safe("a\nb\x1b[31m\r\x7f\x9b\udc80\u202e\t") == (
        "a\\x0ab\\x1b[31m\\x0d\\x7f\\x9b\\udc80\\u202e\\x09"
    )


def test_names_with_newline_and_escape_in_text_output(
    snapshot: dict[str, Any], tmp_path: Path
) -> None:
    nasty = "foo\n\x1b[2Jbar"
    first_symbol(snapshot)["name"] = nasty
    snapshot["libraries"][0]["versions"][1]["name"] = "V\r1"
    f = tmp_path / "nasty.json"
    f.write_text(json.dumps(snapshot))
    done = elfaudit("dump", str(f), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\r" not in done.stdout
    assert "foo\\x0a\\x1b[2Jbar" in done.stdout and "V\\x0d1" in done.stdout
    done = elfaudit("dump", "--format", "json", str(f), cwd=tmp_path)  # JSON: exact
    assert json.loads(done.stdout)["libraries"][0]["symbols"][0]["name"] in (nasty, "bar")
    assert nasty in {s["name"] for s in json.loads(done.stdout)["libraries"][0]["symbols"]}


def test_names_with_newline_and_escape_in_an_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad\n\x1b[31mname.json"
    bad.write_text("{")
    line = assert_one_line(elfaudit("dump", str(bad), cwd=tmp_path), "bad\\x0a\\x1b[31mname")
    assert "\x1b" not in line


def test_names_in_a_compare_report_are_escaped(snapshot: dict[str, Any], tmp_path: Path) -> None:
    new = tmp_path / "new.json"
    new.write_text(json.dumps(snapshot))
    first_symbol(snapshot)["name"] = "gone\x1b]0;pwned\x07"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(snapshot))  # removed in the new one: an error, listed
    for fmt in ("text", "markdown"):
        done = elfaudit("compare", str(old), str(new), "--format", fmt, cwd=tmp_path)
        assert done.returncode in (4, 12), done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout
        assert "x1b" in done.stdout
    done = elfaudit("compare", str(old), str(new), "--format", "json", cwd=tmp_path)
    assert "gone\x1b]0;pwned\x07" in done.stdout or "\\u001b" in done.stdout


# --------------------------------------------------------------------------- API XML


API = """<?xml version='1.0'?>
<api name='libvirt'>
  <symbols>
    <enum name='VIR_A' file='f' value='{value}' type='virA' version='1.0.0'/>
    <function name='virF' file='f' module='m' version='1.0.0'>
      <return type='int'/>
    </function>
  </symbols>
</api>
"""


def test_api_xml_huge_enum_value_and_deep_nesting() -> None:
    for value in ("9" * 5000, "1" * 60 + " &lt;&lt; 3", "0x" + "f" * 5000):
        desc = parse_api(API.format(value=value).encode(), "api.xml")
        assert [i for i in desc.items() if getattr(i, "name", "") == "VIR_A"]
    deep = API.replace("<return type='int'/>", "<a>" * 200_000 + "</a>" * 200_000)
    parse_api(deep.format(value="1").encode(), "api.xml")
    big_attr = API.format(value="1").replace("file='f'", "file='" + "x" * 10_000_000 + "'", 1)
    parse_api(big_attr.encode(), "api.xml")


# --------------------------------------------------------------------------- property tests

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TIME_BOUND = 5.0  # seconds for one example; each takes milliseconds

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def walk_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += walk_paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += walk_paths(v, (*prefix, i))
    return out


def mutate_doc(data: st.DataObject, doc: Any) -> Any:
    """Replace, delete or add one value somewhere in a deep copy of ``doc``."""
    doc = json.loads(json.dumps(doc))
    paths = walk_paths(doc)
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(JSON_VALUES)
    if not path:
        return replacement
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = replacement
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8))] = replacement
    else:
        parent.insert(path[-1], replacement)
    return doc


TEXT_MUTATIONS = st.sampled_from(
    ["truncate", "byte", "surrogate", "deep", "bigint", "nan", "ctrl", "none"]
)


def mutate_text(data: st.DataObject, text: str) -> bytes:
    kind = data.draw(TEXT_MUTATIONS)
    raw = text.encode()
    at = data.draw(st.integers(min_value=0, max_value=max(0, len(raw) - 1)))
    if kind == "truncate":
        return raw[:at]
    if kind == "byte":
        return raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1 :]
    if kind == "surrogate":
        return text.replace('"', '"\\udc80', 1).encode()
    if kind == "deep":
        n = data.draw(st.sampled_from([MAX_JSON_DEPTH, 5000, 200_000]))
        return ('{"x": ' + "[" * n + "]" * n + ", " + text.lstrip()[1:]).encode()
    if kind == "bigint":
        return text.replace("1", "1" * data.draw(st.sampled_from([21, 5000])), 1).encode()
    if kind == "nan":
        return text.replace("1", "NaN", 1).encode()
    if kind == "ctrl":
        return text.replace('"', '"\\u001b\\n', 3).encode()
    return raw


def clean_outcome(load: Callable[[Path], object], path: Path) -> None:
    start = time.monotonic()
    try:
        load(path)
    except InputError as exc:
        assert str(path) in exc.message
        assert "\n" not in terminal_safe(exc.message)
        terminal_safe(exc.message).encode("utf-8")  # printable, encodable
    assert time.monotonic() - start < TIME_BOUND


def fuzz_json(
    data: st.DataObject, doc: Any, tmp_path: Path, load: Callable[[Path], object]
) -> None:
    f = tmp_path / "fuzz.json"
    if data.draw(st.booleans()):
        f.write_text(json.dumps(mutate_doc(data, doc)))
    else:
        f.write_bytes(mutate_text(data, json.dumps(doc, indent=1)))
    clean_outcome(load, f)


@pytest.fixture(scope="module")
def fuzz_lib(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A snapshot and a graph document, built once for all the property tests."""
    import shutil

    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    d = tmp_path_factory.mktemp("fuzzlib")
    (d / "t.c").write_text(SOURCE)
    (d / "t.map").write_text(SCRIPT)
    lib = d / "libt.so.1"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-o",
            str(lib),
            str(d / "t.c"),
            "-Wl,-soname,libt.so.1",
            f"-Wl,--version-script={d / 't.map'}",
        ],
        check=True,
    )
    snap = elfaudit("dump", "--format", "json", str(lib), cwd=d)
    g = d / "g.json"
    rec = elfaudit("graph", "record", str(lib), "--release", "1.0.0", "--graph", str(g), cwd=d)
    assert snap.returncode == 0 and rec.returncode == 0, (snap.stderr, rec.stderr)
    return {"snapshot": json.loads(snap.stdout), "graph": json.loads(g.read_text())}


@FUZZ
@given(data=st.data())
def test_fuzz_snapshots(data: st.DataObject, fuzz_lib: dict[str, Any], tmp_path: Path) -> None:
    fuzz_json(data, fuzz_lib["snapshot"], tmp_path, read_snapshot)


@FUZZ
@given(data=st.data())
def test_fuzz_graph_files(data: st.DataObject, fuzz_lib: dict[str, Any], tmp_path: Path) -> None:
    def load(p: Path) -> object:
        g = ReleaseGraph.load(p)
        return g.dumps()  # what graph record writes back must encode

    fuzz_json(data, fuzz_lib["graph"], tmp_path, load)


@FUZZ
@given(data=st.data())
def test_fuzz_profiles(data: st.DataObject, tmp_path: Path) -> None:
    from elfaudit.base.datafiles import read_data

    doc = json.loads(read_data("profiles", "libvirt.json"))

    fuzz_json(data, doc, tmp_path, lambda p: load_profile(str(p)))


WAIVERS = {
    "format": "elfaudit-waivers",
    "format_version": 1,
    "waivers": [
        {
            "rule": "symbol-removed",
            "library": "libt.so.1",
            "symbol": "foo",
            "reason": "gone on purpose",
            "expires": "2999-01-01",
        }
    ],
}


@FUZZ
@given(data=st.data())
def test_fuzz_waivers(data: st.DataObject, tmp_path: Path) -> None:
    f = tmp_path / "seed.json"
    f.write_text(json.dumps(WAIVERS))
    load_waivers(f)  # the seed itself is valid
    fuzz_json(data, WAIVERS, tmp_path, load_waivers)


@FUZZ
@given(data=st.data())
def test_fuzz_api_xml(data: st.DataObject, tmp_path: Path) -> None:
    text = API.format(value="1")
    kind = data.draw(st.sampled_from(["truncate", "byte", "insert", "value"]))
    raw = text.encode()
    at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    if kind == "truncate":
        raw = raw[:at]
    elif kind == "byte":
        raw = raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1 :]
    elif kind == "insert":
        piece = data.draw(
            st.sampled_from(["<", ">", "&", "'", "<!DOCTYPE x>", "<a>" * 1000, "&#0;", "]]>"])
        )
        raw = raw[:at] + piece.encode() + raw[at:]
    else:
        raw = API.format(value=data.draw(st.text(max_size=60)).replace("'", "")).encode()
    start = time.monotonic()
    try:
        parse_api(raw, "fuzz.xml")
    except InputError as exc:
        assert exc.message.startswith("fuzz.xml")
        assert "\n" not in terminal_safe(exc.message)
    assert time.monotonic() - start < TIME_BOUND

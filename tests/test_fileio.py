"""elfaudit.base.fileio: the one wording of input errors, atomic writes, locks.

Runs as root in CI: nothing here may replace /dev/null. The FIFO/device path is tested on
FIFOs in tmp_path; /dev/null is only written through that path, with os.replace and the
temp-file creation patched to fail loudly should the code ever take the other one.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import BuildLib

from elfaudit.base import fileio
from elfaudit.base.errors import (
    GraphError,
    InputError,
    OutputError,
    ProfileError,
    SnapshotError,
    one_line,
)
from elfaudit.base.fileio import MISSING, atomic_write, file_lock, read_bytes, read_json
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.policy.profiles import load_profile
from elfaudit.policy.waivers import load_waivers
from elfaudit.readers.debian_symbols import load_symbols_file
from elfaudit.readers.snapshot import read_snapshot
from elfaudit.readers.version_script import parse_script

# --------------------------------------------------------------------------- helpers


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def never_replace_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the replace path fail loudly for anything under /dev (we run as root)."""
    real_replace, real_temp = fileio.os.replace, fileio._temp_in

    def replace(src: Any, dst: Any) -> None:
        assert not os.path.realpath(dst).startswith("/dev/"), f"would replace {dst}"
        real_replace(src, dst)

    def temp_in(directory: str, base: str) -> tuple[str, int]:
        assert not os.path.realpath(directory).startswith("/dev"), f"temp file in {directory}"
        return real_temp(directory, base)

    monkeypatch.setattr(fileio.os, "replace", replace)
    monkeypatch.setattr(fileio, "_temp_in", temp_in)


class FifoReader:
    """A thread that reads a FIFO to EOF (the writer's open blocks until it is there)."""

    def __init__(self, path: Path) -> None:
        self.data = b""
        self.thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self.thread.start()

    def _run(self, path: Path) -> None:
        with open(path, "rb") as fh:
            self.data = fh.read()

    def result(self) -> bytes:
        self.thread.join(10)
        assert not self.thread.is_alive()
        return self.data


# --------------------------------------------------------------------------- one_line


def test_one_line_collapses_and_names_empty_messages() -> None:
    assert one_line(ValueError("a\n  b\tc")) == "a b c"
    assert one_line(ValueError()) == "ValueError"
    assert one_line(ValueError(), empty="") == ""  # read_library_bytes: "ValueError: "
    assert one_line("  ", empty="unreadable") == "unreadable"
    assert one_line("") == ""


# --------------------------------------------------------------------------- reading


def test_read_bytes_wording(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"12345")
    assert read_bytes(f) == b"12345"
    with pytest.raises(InputError) as err:
        read_bytes(f, limit=4)
    assert err.value.message == f"{f}: too large (more than 4 bytes)"
    with pytest.raises(InputError) as err:
        read_bytes(tmp_path / "nope")
    assert err.value.message == f"{tmp_path}/nope: no such file"
    with pytest.raises(InputError) as err:
        read_bytes(tmp_path)
    assert err.value.message == f"{tmp_path}: is a directory"
    assert fileio.read_problem(PermissionError(13, "Permission denied")) == "permission denied"
    assert (
        fileio.read_problem(OSError(5, "Input/output error")) == "cannot read: Input/output error"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_read_permission_denied(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("{}")
    f.chmod(0)
    with pytest.raises(InputError, match=r": permission denied$"):
        read_bytes(f)


def test_read_too_large_from_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write(b"x" * 100)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    with pytest.raises(InputError, match=r"too large \(more than 10 bytes\)"):
        read_bytes(fifo, limit=10)
    t.join(10)


def test_read_json_options(tmp_path: Path) -> None:
    f = tmp_path / "d.json"
    f.write_text('{"a": 1, "a": 2}')
    assert read_json(f) == {"a": 2}
    with pytest.raises(InputError) as err:
        read_json(f, unique_keys=True)
    assert err.value.message == f"{f}: invalid JSON: key 'a' appears twice in one object"
    assert read_json(tmp_path / "none.json", missing_ok=True) is MISSING
    f.write_text("null")
    assert read_json(f, missing_ok=True) is None
    f.write_text("[" * 100_000)
    with pytest.raises(InputError, match="invalid JSON"):
        read_json(f)


Loader = Callable[[Path], object]

# (name, loader, error class, reads JSON)
LOADERS: list[tuple[str, Loader, type[InputError], bool]] = [
    ("graph", ReleaseGraph.load, GraphError, True),
    ("profile", lambda p: load_profile(str(p)), ProfileError, True),
    ("waivers", load_waivers, ProfileError, True),
    ("snapshot", read_snapshot, SnapshotError, True),
    ("symbols", load_symbols_file, InputError, False),
    ("version script", lambda p: parse_script(p), InputError, False),
]


@pytest.mark.parametrize(
    ("loader", "error", "is_json"),
    [pytest.param(f, e, j, id=n) for n, f, e, j in LOADERS],
)
def test_every_loader_words_file_problems_one_way(
    tmp_path: Path, loader: Loader, error: type[InputError], is_json: bool
) -> None:
    def message(path: Path) -> str:
        with pytest.raises(error) as err:
            loader(path)
        assert type(err.value) is error
        assert "\n" not in err.value.message
        return err.value.message

    f = tmp_path / "input.json"
    f.write_bytes(b'{\n  "a": "\xff"\n}\n')
    assert message(f) == f"{f}:2: not UTF-8 text (byte 0xff)"
    missing = tmp_path / "missing.json"
    assert message(missing) == f"{missing}: no such file"
    d = tmp_path / "dir.json"
    d.mkdir()
    assert message(d) == f"{d}: is a directory"
    if is_json:
        f.write_text('{\n  "a": 1,\n  "b": }\n')
        assert message(f) == f"{f}:3: invalid JSON: Expecting value"


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize(("mask", "expect"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_respects_the_umask(tmp_path: Path, mask: int, expect: int) -> None:
    out = tmp_path / "out.txt"
    with umask(mask):
        atomic_write(out, "hello\n")
    assert out.read_text() == "hello\n"
    assert mode(out) == expect
    assert leftovers(tmp_path) == []


def test_existing_file_keeps_its_mode_and_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old")
    out.chmod(0o640)
    ino = out.stat().st_ino
    with umask(0o077):
        atomic_write(out, b"new")
    assert out.read_bytes() == b"new"
    assert mode(out) == 0o640
    assert out.stat().st_ino != ino  # a new inode renamed over: readers see old or new
    assert leftovers(tmp_path) == []


def test_symlink_is_followed_and_stays(tmp_path: Path) -> None:
    target = tmp_path / "real" / "target.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new" and mode(target) == 0o600
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "real" / "created.json")
    with umask(0o022):
        atomic_write(dangling, "made")
    assert dangling.is_symlink()
    assert (tmp_path / "real" / "created.json").read_text() == "made"
    assert mode(tmp_path / "real" / "created.json") == 0o644


def test_directory_is_an_error(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    with pytest.raises(OutputError) as err:
        atomic_write(d, "x")
    assert err.value.message == f"{d}: is a directory"
    assert list(d.iterdir()) == [] and leftovers(tmp_path) == []
    with pytest.raises(GraphError, match="is a directory"):
        atomic_write(d, "x", error=GraphError)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as err:
        atomic_write(tmp_path / "no" / "out", "x")
    assert err.value.message == f"{tmp_path}/no/out: cannot write: No such file or directory"


def test_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo, 0o600)
    reader = FifoReader(fifo)
    atomic_write(fifo, b"x" * 200_000)  # more than a pipe buffer
    assert reader.result() == b"x" * 200_000
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and mode(fifo) == 0o600
    assert leftovers(tmp_path) == []
    link = tmp_path / "to-fifo"
    link.symlink_to(fifo)
    reader = FifoReader(fifo)
    atomic_write(link, "via link")
    assert reader.result() == b"via link"
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.usefixtures("never_replace_devices")
def test_dev_null_is_written_into(tmp_path: Path) -> None:
    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    atomic_write("/dev/null", "discarded")
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    atomic_write(link, "discarded")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino and link.is_symlink()


@pytest.mark.parametrize("where", ["replace", "fsync", "write"])
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_old_content_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, exc: BaseException
) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")

    def boom(*args: object) -> None:
        raise exc

    monkeypatch.setattr(fileio.os, where, boom)
    if isinstance(exc, OSError):
        with pytest.raises(GraphError) as err:
            atomic_write(out, "new" * 1000, error=GraphError)
        assert err.value.message == f"{out}: cannot write: No space left on device"
    else:
        with pytest.raises(KeyboardInterrupt):
            atomic_write(out, "new" * 1000)
    monkeypatch.undo()
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_failure_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Odd(Exception):
        pass

    def boom(*args: object) -> None:
        raise Odd("not an OSError")

    monkeypatch.setattr(fileio.os, "fchmod", boom)
    out = tmp_path / "out"
    out.write_text("old")
    with pytest.raises(Odd):
        atomic_write(out, "new")
    monkeypatch.undo()
    assert out.read_text() == "old" and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- locks


def test_file_lock_is_exclusive(tmp_path: Path) -> None:
    lock = tmp_path / "g.lock"
    with file_lock(str(lock)):
        fd = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
    finally:
        os.close(fd)
    with (
        pytest.raises(GraphError, match=r"cannot lock: No such file or directory$"),
        file_lock(str(tmp_path / "no" / "g.lock"), error=GraphError),
    ):
        pass


# --------------------------------------------------------------------------- the CLI's -o


@pytest.fixture
def lib(build_lib: BuildLib) -> Path:
    return build_lib("int f(void) { return 1; }\n", "V_1 { global: f; local: *; };\n")


@pytest.mark.parametrize(("mask", "expect"), [(0o022, 0o644), (0o077, 0o600)])
def test_cli_output_file_respects_the_umask(
    tmp_path: Path, lib: Path, mask: int, expect: int
) -> None:
    out = tmp_path / "dump.json"
    proc = subprocess.run(
        [sys.executable, "-m", "elfaudit", "dump", str(lib), "--format", "json", "-o", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(mask),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert mode(out) == expect
    assert json.loads(out.read_text())["kind"]
    assert leftovers(tmp_path) == []


def test_cli_output_into_a_fifo_in_a_real_process(tmp_path: Path, lib: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "elfaudit", "dump", str(lib), "--format", "json", "-o", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(reader.result())["kind"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


@pytest.mark.usefixtures("never_replace_devices")
def test_cli_output_to_dev_null(tmp_path: Path, lib: Path) -> None:
    from elfaudit.cli import cli

    before = os.stat("/dev/null")
    result = CliRunner().invoke(cli, ["dump", str(lib), "--format", "json", "-o", "/dev/null"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    result = CliRunner().invoke(cli, ["dump", str(lib), "-o", "-"])
    assert result.exit_code == 0 and "V_1" in result.output  # "-" stays stdout


def test_cli_output_error_is_one_line(tmp_path: Path, lib: Path) -> None:
    from elfaudit.cli import cli

    out = tmp_path / "no" / "out.json"
    result = CliRunner().invoke(cli, ["dump", str(lib), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output == f"elfaudit: error: {out}: cannot write: No such file or directory\n"


def test_reading_a_small_input_does_not_reserve_the_whole_limit(tmp_path: Path) -> None:
    """``read(limit + 1)`` reserves the limit up front (512 MiB for every profile, waiver or
    graph file read); the reader reserves what the file holds."""
    import tracemalloc

    small = tmp_path / "small.json"
    small.write_text('{"a": 1}\n')
    grown = tmp_path / "fifo"
    os.mkfifo(grown)

    def feed() -> None:
        with open(grown, "wb") as fh:
            fh.write(b"x" * (3 << 20))

    tracemalloc.start()
    try:
        assert fileio.read_bytes(small) == b'{"a": 1}\n'
        small_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        writer = threading.Thread(target=feed)
        writer.start()
        assert len(fileio.read_bytes(grown)) == 3 << 20  # a FIFO: read in pieces
        writer.join()
        fifo_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert small_peak < 1 << 20, small_peak
    assert fifo_peak < 16 << 20, fifo_peak

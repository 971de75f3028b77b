"""Smoke test of scripts/bench.py: it runs, prints its table, saves JSON. No timing checks."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench.py"
HEADER = ("measurement", "elfaudit", "reference tool", "ratio", "target", "result")


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    # --python self: no isolated venv is made here (that needs the package index).
    return subprocess.run(
        [sys.executable, str(BENCH), "--python", "self", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def header_line(stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("measurement")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_startup_group_prints_the_table_and_saves_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # An empty cache: the startup group must not need the network or the libvirt packages.
    done = run_bench(
        "--quick",
        "--only",
        "startup",
        "--no-fetch",
        "--cache",
        str(tmp_path / "empty"),
        "--json",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert header_line(done.stdout).split() == " ".join(HEADER).split()
    assert f"elfaudit runs as {sys.executable} -m elfaudit" in done.stdout
    doc = json.loads(out.read_text())
    rows = doc["rows"]
    assert {r["group"] for r in rows} == {"startup"}
    version = next(r for r in rows if r["measurement"].startswith("elfaudit --version"))
    assert version["status"] == "INFO"
    assert len(version["raw"]["elfaudit"]["wall_s"]) == 3  # --quick: 3 timed runs
    assert all(rc == 0 for rc in version["raw"]["elfaudit"]["exit_codes"])
    imports = [r for r in rows if r["measurement"].startswith("heavy imports")]
    assert len(imports) == 2
    for r in imports:
        # The import check is deterministic (which modules a dump loads), unlike timings: a
        # FAIL here is a heavy library pulled onto the dump path, and must fail the test.
        assert (r["status"], r["exact"]) == ("PASS", True), (r["measurement"], r["raw"]["heavy"])
        assert "elfaudit" in r["raw"]["modules"]  # the import check saw the real process


def test_missing_inputs_are_skipped_not_a_crash(tmp_path: Path) -> None:
    done = run_bench(
        "--quick", "--only", "read,compare", "--no-fetch", "--cache", str(tmp_path / "empty")
    )
    assert done.returncode == 0, done.stderr
    header_line(done.stdout)
    assert "Traceback" not in done.stderr
    skipped = done.stdout.split("\nskipped:\n", 1)[1].splitlines()
    assert [s.split(":", 1)[0] for s in skipped] == ["- read", "- compare"]
    assert all("--no-fetch" in s for s in skipped)


def test_unknown_group_is_a_usage_error() -> None:
    done = run_bench("--only", "nosuchgroup")
    assert done.returncode == 2
    assert "nosuchgroup" in done.stderr


def test_a_failed_import_check_exits_1_without_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timing's FAIL exits 0 unless --strict (a busy machine); an import check's does not."""
    spec = importlib.util.spec_from_file_location("elfaudit_bench", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)

    def rows(status: str, exact: bool) -> Callable[[object], list[object]]:
        return lambda _ctx: [bench.Row("startup", "check", status=status, exact=exact)]

    argv = ["--only", "startup", "--python", "self", "--no-fetch", "--cache", str(tmp_path)]
    for status, exact, code, strict_code in (
        ("PASS", True, 0, 0),
        ("FAIL", False, 0, 1),
        ("FAIL", True, 1, 1),
    ):
        monkeypatch.setitem(bench.RUNNERS, "startup", rows(status, exact))
        assert (bench.main(argv), bench.main([*argv, "--strict"])) == (code, strict_code)
    assert "FAIL (exits 1 even without --strict): check" in capsys.readouterr().err

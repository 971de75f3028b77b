"""The code stays typed and lint-clean: mypy (setup.cfg) and ruff (pyproject.toml) over the
package, the scripts and the tests, as CI runs the test suite."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("elfaudit", "scripts", "tests")


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


@pytest.mark.parametrize("tool", ["mypy", "ruff"])
def test_tool_is_installed(tool: str) -> None:
    """The [test] extra brings both; a missing one must fail, not skip the checks."""
    assert importlib.util.find_spec(tool) is not None, f"pip install '.[test]' ({tool})"


def test_mypy_is_clean() -> None:
    done = _run("mypy", "--no-incremental", *TARGETS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_check_and_format_are_clean() -> None:
    check = _run("ruff", "check", *TARGETS)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = _run("ruff", "format", "--check", *TARGETS)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr

"""Real Debian packages for tests, fetched with ``scripts/fetch_debian.py``.

    from realdebs import require, extract_libs

    @pytest.mark.real
    def test_x():
        deb = require("bookworm")                  # Path, or pytest.skip(reason)
        libs = extract_libs(deb)                   # {"libvirt.so.0": Path, ...}

``fetch(suite, arch="amd64", package="libvirt0")`` returns the cached .deb, running the
fetch script (a subprocess with a private apt setup) when the cache has none or its
package lists are over a day old. It returns ``None`` when the package cannot be had:
archive unreachable, apt missing, architecture not in that suite; ``reason(...)`` then
says why. A cached .deb is still used when a refresh fails (offline runs keep working).

Skips must not go unnoticed in CI: every skip reason is printed to the real stderr,
prefixed ``REALDEBS SKIP``, and collected in ``SKIPPED``; ``terminal_summary`` prints
them at the end of the run when called from ``pytest_terminal_summary`` in conftest.
The cache is ``$ELFAUDIT_CACHE`` or ``<repo>/.cache/debian``, shared with the script.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from elfaudit.packages import find_libraries

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "fetch_debian.py"
RELEASES = ROOT / "data" / "debian-releases.json"
FETCH_TIMEOUT = 1800  # seconds, the whole subprocess
FRESH = 24 * 3600  # the script's own refresh period

SKIPPED: list[str] = []
_reasons: dict[tuple[str, str, str], str] = {}


def cache_dir() -> Path:
    env = os.environ.get("ELFAUDIT_CACHE")
    return Path(env) if env else ROOT / ".cache" / "debian"


def releases() -> dict[str, Any]:
    """``data/debian-releases.json``: suites, expected upstream releases, packages."""
    data: dict[str, Any] = json.loads(RELEASES.read_text())
    return data


def _cached(suite: str, arch: str, package: str) -> Path | None:
    try:
        entries = json.loads((cache_dir() / "debs" / "manifest.json").read_text())["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for e in entries:
        if (e.get("suite"), e.get("arch"), e.get("package")) == (suite, arch, package):
            path = cache_dir() / "debs" / suite / arch / str(e.get("filename"))
            return path if path.is_file() else None
    return None


def _fresh(suite: str, arch: str) -> bool:
    stamp = cache_dir() / "apt" / suite / arch / "updated"
    try:
        return time.time() - stamp.stat().st_mtime < FRESH
    except OSError:
        return False


@functools.cache
def fetch(suite: str, arch: str = "amd64", package: str = "libvirt0") -> Path | None:
    """The .deb of ``package`` in ``suite`` for ``arch``, or None (see ``reason``)."""
    key = (suite, arch, package)
    cached = _cached(*key)
    if cached is not None and _fresh(suite, arch):
        return cached
    cmd = [sys.executable, str(SCRIPT), "--cache", str(cache_dir())]
    cmd += ["--suite", suite, "--arch", arch, "--package", package]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        why = f"fetch_debian.py took more than {FETCH_TIMEOUT}s"
    else:
        for line in done.stdout.splitlines():
            fields = line.split("\t")
            if len(fields) == 4 and fields[:2] == [suite, arch]:
                path = Path(fields[3])
                if path.name.startswith(f"{package}_") and path.is_file():
                    return path
        lines = [ln for ln in done.stderr.splitlines() if "error" in ln or "skip" in ln]
        why = (lines or done.stderr.splitlines() or ["fetch_debian.py printed nothing"])[-1]
    if cached is not None:
        _loud(f"{package} {suite}/{arch}: refresh failed ({why}); using {cached.name}")
        return cached
    _reasons[key] = why
    return None


def reason(suite: str, arch: str = "amd64", package: str = "libvirt0") -> str:
    """Why ``fetch`` returned None for these arguments."""
    return _reasons.get((suite, arch, package), "not fetched")


def require(suite: str, arch: str = "amd64", package: str = "libvirt0") -> Path:
    """``fetch`` or skip the test, saying why (loudly: see the module docstring)."""
    path = fetch(suite, arch, package)
    if path is not None:
        return path
    message = (
        f"real Debian package {package} {suite}/{arch} unavailable: {reason(suite, arch, package)}"
    )
    if os.environ.get("CI"):
        message = "CI: " + message
    SKIPPED.append(message)
    _loud(message)
    pytest.skip(message)


def _loud(message: str) -> None:
    stream = sys.__stderr__
    if stream is not None:
        print(f"REALDEBS SKIP: {message}", file=stream, flush=True)


def terminal_summary(terminalreporter: Any) -> None:
    """Call from ``pytest_terminal_summary`` so skipped real-package tests are listed."""
    if SKIPPED:
        terminalreporter.section("real Debian packages not available", sep="=", red=True)
        for message in dict.fromkeys(SKIPPED):
            terminalreporter.write_line(message)


def extract_libs(deb_path: Path, dest: Path | None = None) -> dict[str, Path]:
    """Write the libraries ``elfaudit.packages`` finds in a .deb to files; soname -> path.

    Files are named by their SONAME hint (``libvirt.so.0``), else their own name, in
    ``dest`` (default ``<cache>/extracted/<deb file stem>/``); existing identical files
    are reused.
    """
    deb_path = Path(deb_path)
    dest = dest if dest is not None else cache_dir() / "extracted" / deb_path.stem
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for lib in find_libraries(deb_path):
        soname = lib.soname_hint or PurePosixPath(lib.name).name
        if soname in out:
            raise ValueError(f"{deb_path.name}: two libraries named {soname}")
        target = dest / soname
        if not (target.is_file() and target.read_bytes() == lib.data):
            tmp = target.with_name(f".{soname}.{os.getpid()}.tmp")
            tmp.write_bytes(lib.data)
            os.replace(tmp, target)
        out[soname] = target
    return out

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
Each package is tried once per session, and once the archive proved unreachable it is
not asked again. ``fetch_arches(suite, arches)`` fetches several architectures with one
run of the script; ``skip_unavailable(suite, arch)`` skips (loudly) for a None.

``libraries(suite, arch)`` extracts a package's libraries into a session folder, once;
``release_tree(release)`` extracts libvirt-dev + libvirt0 of an upstream release (found
through ``data/debian-releases.json``) into one folder, as ``dpkg-deb -x`` would.

Skips must not go unnoticed in CI: every skip reason is printed to the real stderr,
prefixed ``REALDEBS SKIP``, and collected in ``SKIPPED``; ``terminal_summary`` prints
them at the end of the run when called from ``pytest_terminal_summary`` in conftest.
The cache is ``$ELFAUDIT_CACHE`` or ``<repo>/.cache/debian``, shared with the script.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import pytest

from elfaudit.readers.packages import find_libraries

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "fetch_debian.py"
RELEASES = ROOT / "data" / "debian-releases.json"
FETCH_TIMEOUT = 1800  # seconds, the whole subprocess
FRESH = 24 * 3600  # the script's own refresh period

SKIPPED: list[str] = []
_reasons: dict[tuple[str, str, str], str] = {}
_results: dict[tuple[str, str, str], Path | None] = {}  # what fetch gave, once per session
_unreachable: str | None = None  # set when apt could not reach the archive at all
# apt's words for "no network" (a missing package or architecture is not one of them)
_OFFLINE = (
    "Could not connect",
    "Could not resolve",
    "Temporary failure resolving",
    "Connection failed",
    "Network is unreachable",
    "took more than",
)


def cache_dir() -> Path:
    env = os.environ.get("ELFAUDIT_CACHE")
    return Path(env) if env else ROOT / ".cache" / "debian"


def full_set(
    suite: str,
    arch: str = "amd64",
    needs: Sequence[str] = ("libvirt-daemon-system", "libvirt0"),
) -> Path:
    """The cached full package set of ``suite`` (every libvirt binary package, as
    ``scripts/fetch_debian.py --set full`` fetches it), holding at least the packages
    ``needs``, or skip loudly saying how to get it."""
    d = cache_dir() / "debs" / suite / arch
    if not all(list(d.glob(f"{name}_*.deb")) for name in needs):
        reason = (
            f"no full package set of {suite} in {d} "
            f"(python3 scripts/fetch_debian.py --set full --suite {suite})"
        )
        SKIPPED.append(reason)
        print(f"REALDEBS SKIP {reason}", file=sys.__stderr__)
        pytest.skip(reason)
    return d


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


def fetch(suite: str, arch: str = "amd64", package: str = "libvirt0") -> Path | None:
    """The .deb of ``package`` in ``suite`` for ``arch``, or None (see ``reason``)."""
    return fetch_arches(suite, (arch,), package)[arch]


def fetch_arches(
    suite: str, arches: Sequence[str], package: str = "libvirt0"
) -> dict[str, Path | None]:
    """``fetch`` for several architectures of one suite with ONE run of the script.

    Each (suite, arch, package) is tried once per session. Architectures whose cached
    .deb is fresh are not asked for again; a refresh that fails falls back to the cached
    .deb. Once the archive proved unreachable, nothing more is asked of it.
    """
    global _unreachable
    out: dict[str, Path | None] = {}
    todo: list[str] = []
    for arch in dict.fromkeys(arches):
        key = (suite, arch, package)
        if key in _results:
            out[arch] = _results[key]
            continue
        cached = _cached(*key)
        if cached is not None and _fresh(suite, arch):
            out[arch] = _results[key] = cached
        else:
            todo.append(arch)
    if not todo:
        return out
    got: dict[str, Path] = {}
    stderr: list[str] = []
    if _unreachable is not None:
        general = _unreachable
    else:
        cmd = [sys.executable, str(SCRIPT), "--cache", str(cache_dir())]
        cmd += ["--suite", suite, "--package", package]
        for arch in todo:
            cmd += ["--arch", arch]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            general = f"fetch_debian.py took more than {FETCH_TIMEOUT}s"
        else:
            for line in done.stdout.splitlines():
                fields = line.split("\t")
                if len(fields) == 4 and fields[0] == suite and fields[1] in todo:
                    path = Path(fields[3])
                    if path.name.startswith(f"{package}_") and path.is_file():
                        got[fields[1]] = path
            stderr = done.stderr.splitlines()
            lines = [ln for ln in stderr if "error" in ln or "skip" in ln]
            general = (lines or stderr or ["fetch_debian.py printed nothing"])[-1]
        if not got and any(sign in general for sign in _OFFLINE):
            _unreachable = f"{general} (no further attempt this session)"
    for arch in todo:
        key = (suite, arch, package)
        if arch in got:
            out[arch] = _results[key] = got[arch]
            continue
        # "skip trixie/armhf: ..." names the architecture; else the run's last error
        own = [ln for ln in stderr if f"{suite}/{arch}:" in ln or f"{suite}/{arch} " in ln]
        why = own[-1] if own else general
        previous = _cached(*key)
        if previous is not None:
            _loud(f"{package} {suite}/{arch}: refresh failed ({why}); using {previous.name}")
        else:
            _reasons[key] = why
        out[arch] = _results[key] = previous
    return out


def reason(suite: str, arch: str = "amd64", package: str = "libvirt0") -> str:
    """Why ``fetch`` returned None for these arguments."""
    return _reasons.get((suite, arch, package), "not fetched")


def require(suite: str, arch: str = "amd64", package: str = "libvirt0") -> Path:
    """``fetch`` or skip the test, saying why (loudly: see the module docstring)."""
    path = fetch(suite, arch, package)
    if path is not None:
        return path
    skip_unavailable(suite, arch, package)


def skip_unavailable(suite: str, arch: str = "amd64", package: str = "libvirt0") -> NoReturn:
    """Skip the test because ``package`` of ``suite``/``arch`` could not be had (loudly)."""
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
    """Write the libraries ``elfaudit.readers.packages`` finds in a .deb to files; soname -> path.

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


@functools.cache
def session_dir() -> Path:
    """A scratch folder for this test session, removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix="elfaudit-real-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def libraries(suite: str, arch: str = "amd64", package: str = "libvirt0") -> dict[str, Path]:
    """``require`` + ``extract_libs`` into the session folder, once per session."""
    deb = require(suite, arch, package)
    return extract_libs(deb, session_dir() / "libs" / f"{suite}_{arch}_{package}")


def upstream_of(deb_path: Path) -> str:
    """``libvirt0_1:9.0.0-4+deb12u2_amd64.deb`` -> ``9.0.0`` (as the fetch script does)."""
    from elfaudit.readers.packages import debian_upstream

    return debian_upstream(Path(deb_path).name.split("_")[1].replace("%3a", ":"))


def suites_for(release: str) -> list[str]:
    """Suites expected to carry upstream ``release``; floating suites (sid) come last."""
    suites = releases()["suites"]
    fixed = [s["suite"] for s in suites if s.get("upstream") == release]
    return fixed + [s["suite"] for s in suites if s.get("upstream") is None]


def extract_tree(deb_path: Path, dest: Path) -> Path:
    """The whole data tree of a .deb (``dpkg-deb -x``) under ``dest``."""
    if shutil.which("dpkg-deb") is None:
        raise FileNotFoundError("dpkg-deb is not installed")
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["dpkg-deb", "-x", str(deb_path), str(dest)], check=True, capture_output=True, timeout=300
    )
    return dest


@functools.cache
def release_tree(release: str, arch: str = "amd64") -> Path | None:
    """libvirt-dev and libvirt0 of upstream ``release`` extracted into one folder, or None.

    The folder looks like ``dpkg-deb -x`` of both packages (``usr/share/libvirt/api/``,
    ``usr/lib/<triplet>/``) and lives in the session folder. The suite is the one
    ``data/debian-releases.json`` expects to carry ``release``, else a floating suite
    (sid) currently carrying it. Why it is None: ``release_reason(release, arch)``.
    """
    reasons: list[str] = []
    for suite in suites_for(release):
        dev = fetch(suite, arch, "libvirt-dev")
        lib = fetch(suite, arch, "libvirt0")
        if dev is None or lib is None:
            missing = "libvirt-dev" if dev is None else "libvirt0"
            reasons.append(f"{missing} {suite}/{arch}: {reason(suite, arch, missing)}")
            continue
        if upstream_of(dev) != release or upstream_of(lib) != release:
            reasons.append(f"{suite} carries {upstream_of(lib)}, not {release}")
            continue
        dest = session_dir() / "trees" / f"{release}_{arch}"
        if dest.exists():
            shutil.rmtree(dest)
        try:
            extract_tree(dev, dest)
            extract_tree(lib, dest)
        except (OSError, subprocess.SubprocessError) as exc:
            reasons.append(f"cannot extract {dev.name}: {exc}")
            continue
        return dest
    _release_reasons[(release, arch)] = "; ".join(reasons) or f"no suite carries {release}"
    return None


_release_reasons: dict[tuple[str, str], str] = {}


def release_reason(release: str, arch: str = "amd64") -> str:
    """Why ``release_tree`` returned None."""
    return _release_reasons.get((release, arch), "not fetched")


def skip_release(release: str, arch: str = "amd64") -> NoReturn:
    """Skip loudly: the packages of ``release`` could not be had."""
    message = f"real libvirt {release} ({arch}) unavailable: {release_reason(release, arch)}"
    if os.environ.get("CI"):
        message = "CI: " + message
    SKIPPED.append(message)
    _loud(message)
    pytest.skip(message)

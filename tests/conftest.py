"""Shared fixtures: gcc-built test libraries, the ../shared data folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ELFAUDIT_SHARED", ROOT.parent / "shared"))

# Subprocesses (`python -m elfaudit ...` run from temporary folders) must test this
# checkout, not whatever copy of elfaudit happens to be installed.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
# The synthetic release graph (scripts/synthetic_graph.py) is benchmark data, not part of
# the shipped package; the tests that use it import it from scripts/.
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the clone (CI lays it there); skip where it is absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"{SHARED} is absent: the shared libvirt data lives beside the clone in CI")
    return SHARED


BuildLib = Callable[..., Path]


def make_deb(dest: Path, tree: Path, package: str, version: str) -> Path:
    """``dest/<package>_<version>_amd64.deb`` built with dpkg-deb from a copy of ``tree``."""
    root = dest / f"root-{package}"
    shutil.copytree(tree, root, symlinks=True)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: Test <test@example.org>\nDescription: test\n"
    )
    out = dest / f"{package}_{version}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "--root-owner-group", "--build", str(root), str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    shutil.rmtree(root)
    return out


@pytest.fixture(scope="session")
def build_lib(tmp_path_factory: pytest.TempPathFactory) -> BuildLib:
    """Build a tiny shared library with gcc, cached by its sources.

    ``build_lib(c_source, version_script=None, soname="libt.so.1", extra=())`` returns the
    path of the built ``.so``. ``version_script`` is the text of a GNU ld version script
    (``None`` builds an unversioned library). ``c_source`` may use ``.symver`` asm
    directives for compat symbols.
    """
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("libs")

    def build(
        c_source: str,
        version_script: str | None = None,
        soname: str = "libt.so.1",
        extra: tuple[str, ...] = (),
        name: str | None = None,
    ) -> Path:
        key = hashlib.sha256(repr((c_source, version_script, soname, extra)).encode()).hexdigest()[
            :16
        ]
        d = out / key
        lib = d / (name or soname)
        if lib.exists():
            return lib
        d.mkdir(exist_ok=True)
        (d / "t.c").write_text(c_source)
        cmd = ["gcc", "-shared", "-fPIC", "-O0", "-o", str(lib), str(d / "t.c")]
        cmd.append(f"-Wl,-soname,{soname}")
        if version_script is not None:
            (d / "t.map").write_text(version_script)
            cmd.append(f"-Wl,--version-script={d / 't.map'}")
        cmd.extend(extra)
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        return lib

    return build


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List real-package tests that were skipped (a missing archive must not go unseen)."""
    import realdebs

    realdebs.terminal_summary(terminalreporter)

#!/usr/bin/env python3
"""Fetch the Debian packages that carry libvirt's configuration files and augeas lenses.

    python scripts/fetch_config_packages.py [--suite SUITE]... [--list]

For each suite (default: bullseye, bookworm, trixie, sid; amd64) the candidates are the
binary packages of libvirt's daemons and tools that the suite's own index lists
(``libvirt-daemon*``, ``libvirt-clients``, ``libvirt-common``, ...; found with
``apt-cache pkgnames`` in the private apt setup of ``scripts/fetch_debian.py``, whose
functions this imports and whose cache, ``.cache/debian/debs/<suite>/amd64/``, it shares).
Which of them carries which ``etc/libvirt/*.conf`` and ``usr/share/augeas/lenses/*.aug`` is
then read from inside the packages (``dpkg-deb --fsys-tarfile``), never assumed:
:func:`release_files` returns them as path -> bytes, with the package of each.

Prints one line per suite: ``suite  upstream  packages  conf files  lenses``.
Exit status 0, or 1 with one ``fetch_config_packages: error: ...`` line.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fetch_debian as fd

PROG = "fetch_config_packages"
SUITES = ("bullseye", "bookworm", "trixie", "sid")
ARCH = "amd64"
# The binary packages of the libvirt source that can ship daemons' or tools' configuration.
PREFIXES = (
    "libvirt-daemon",
    "libvirt-clients",
    "libvirt-common",
    "libvirt-login-shell",
    "libvirt-sanlock",
    "libvirt-ssh-proxy",
    "libvirt0",
)
WANTED = ("etc/libvirt/", "usr/share/augeas/lenses/")


def _state(cache: Path, suite: str, releases: dict[str, Any]) -> fd.AptState:
    return fd.AptState(
        cache=cache,
        suite=suite,
        arch=ARCH,
        mirror=releases.get("mirror", "http://deb.debian.org/debian"),
        component=releases.get("component", "main"),
        keyring=releases.get("keyring", "/usr/share/keyrings/debian-archive-keyring.gpg"),
    )


def candidates(cache: Path, suite: str, releases: dict[str, Any]) -> list[str]:
    """The suite's libvirt daemon and tool packages, from its own index."""
    state = _state(cache, suite, releases)
    state.update(False)
    out = state.run("apt-cache", ["pkgnames", "libvirt"], fd.QUERY_TIMEOUT)
    names = {n.strip() for n in out.split()}
    return sorted(
        n for n in names if n.startswith(PREFIXES) and not n.endswith(("-dbgsym", "-dev"))
    )


def fetch_suite(cache: Path, suite: str) -> list[dict[str, Any]]:
    releases = fd.load_releases()
    names = candidates(cache, suite, releases)
    with fd.locked(cache):
        return fd.fetch(cache, [suite], [ARCH], names, releases)


def cached_debs(cache: Path, suite: str) -> list[tuple[str, str, Path]]:
    """(package, version, path) of every cached candidate of ``suite`` (no network)."""
    out = []
    for e in fd.read_manifest(cache):
        if e.get("suite") != suite or e.get("arch") != ARCH:
            continue
        if not str(e.get("package", "")).startswith(PREFIXES):
            continue
        path = fd.deb_path(cache, e)
        if path.is_file():
            out.append((str(e["package"]), str(e["version"]), path))
    return sorted(out)


def deb_members(deb: Path, prefixes: Sequence[str] = WANTED) -> dict[str, bytes]:
    """The regular files of ``deb`` under ``prefixes`` (no leading ``./``), as bytes."""
    done = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True)
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        for m in tar:
            name = m.name[2:] if m.name.startswith("./") else m.name
            if m.isfile() and name.startswith(tuple(prefixes)):
                f = tar.extractfile(m)
                if f is not None:
                    out[name] = f.read()
    return out


def release_files(cache: Path, suite: str) -> tuple[dict[str, bytes], dict[str, str], str]:
    """(path -> bytes, path -> package, upstream version) of ``suite``'s cached packages."""
    files: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    upstream = ""
    for package, version, deb in cached_debs(cache, suite):
        if package == "libvirt0":
            upstream = fd.upstream_of(version)
        for path, data in deb_members(deb).items():
            files[path] = data
            origin[path] = package
    return files, origin, upstream


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fetch_config_packages.py")
    parser.add_argument(
        "--suite", action="append", help=f"repeatable (default: {','.join(SUITES)})"
    )
    parser.add_argument("--list", action="store_true", help="what the cache holds; no network")
    args = parser.parse_args(argv)
    cache = fd.default_cache().resolve()
    try:
        for suite in args.suite or SUITES:
            if not args.list:
                fetch_suite(cache, suite)
            files, _, upstream = release_files(cache, suite)
            confs = [p for p in files if p.startswith("etc/libvirt/") and p.endswith(".conf")]
            lenses = [p for p in files if p.endswith(".aug") and "/tests/" not in p]
            n = len(cached_debs(cache, suite))
            print(f"{suite}\t{upstream}\t{n}\t{len(confs)}\t{len(lenses)}")
    except (fd.FetchError, OSError, subprocess.CalledProcessError, tarfile.TarError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

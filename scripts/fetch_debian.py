#!/usr/bin/env python3
"""Fetch real Debian packages (libvirt's by default) with a private apt configuration.

    python scripts/fetch_debian.py [--cache DIR] [--arch ARCH]... [--suite SUITE]...
                                   [--package NAME]... [--set default|full]
                                   [--refresh] [--mirror URL] [--list]

Downloads each requested package, for each suite and architecture, into
``<cache>/debs/<suite>/<arch>/`` and prints one tab-separated line per .deb:
``suite  arch  version  path``. The defaults (suites, packages, architectures, mirror)
come from ``data/debian-releases.json``.

``--set full`` fetches a release's whole relevant package set instead (what ``elfaudit
guarantees`` reads): every binary package that the suite's own Packages index says is built
from the ``libvirt`` source (``Source: libvirt``; a package without a Source field is its own
source), found by reading the private index, never from a fixed list, less the ones no
section reads (``-dbgsym``, ``-doc``, ``-l10n``). About 5 MB of .debs per suite (20 to 42
packages). ``--set default`` (the default) is ``packages`` of the data file: libvirt0 and
libvirt-dev, what CI and most real-data tests use. The cache is ``--cache``, else
``$ELFAUDIT_CACHE``, else ``<repo>/.cache/debian`` (git-ignored).

The system's apt setup is never read for sources nor written: every (suite, arch) pair
gets its own sources.list, lists, cache and (empty) dpkg status under
``<cache>/apt/<suite>/<arch>/``, so apt only ever parses the one index it needs.
``apt-get update`` runs only when those lists are missing, older than a day, or
``--refresh`` is given; if it fails but older lists exist they are used (with a note).
The version is chosen from ``apt-cache madison`` restricted to the exact suite, and the
file is checked against the index's SHA256, so re-running reuses what is already there.
``<cache>/debs/manifest.json`` lists suite, arch, package, version, filename, size and
sha256 of every .deb fetched. An architecture a suite does not carry (bullseye LTS has
no s390x, riscv64 starts with trixie) is skipped with a note on stderr, not an error.

Exit status: 0 on success (skips included), 1 with one ``fetch_debian: error: ...`` line
on stderr when apt or the archive cannot be used, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RELEASES = REPO / "data" / "debian-releases.json"
STALE_AFTER = 24 * 3600  # seconds before the lists are refreshed
UPDATE_TIMEOUT = 900  # seconds for one apt-get update
DOWNLOAD_TIMEOUT = 900  # seconds for one apt-get download
QUERY_TIMEOUT = 300  # seconds for one apt-cache query (builds its cache the first time)
LOCK_TIMEOUT = 1800  # seconds to wait for another fetch using the same cache
PROG = "fetch_debian"
APT_HELPER = "/usr/lib/apt/apt-helper"
SOURCE = "libvirt"  # the source package whose binaries make up a release's full set
# Binary packages of the full set that no section of `elfaudit guarantees` reads.
UNNEEDED = re.compile(r".*-(dbgsym|dbg|doc|l10n)$")

# Hooks the system's apt.conf.d may install; a private update must not run them.
APT_CONF = """\
// Written by scripts/fetch_debian.py: private apt settings for the fetch cache.
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
"""


class FetchError(Exception):
    """Anything that stops the fetch; the message is one line."""


def note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def load_releases(path: Path = RELEASES) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot read {path}: {exc}") from None
    return data


def default_cache() -> Path:
    env = os.environ.get("ELFAUDIT_CACHE")
    return Path(env) if env else REPO / ".cache" / "debian"


def upstream_of(version: str) -> str:
    """``1:9.0.0-4+deb12u2`` -> ``9.0.0`` (epoch and Debian revision dropped)."""
    v = version.split(":", 1)[1] if ":" in version else version
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    return re.split(r"[+~]", v, maxsplit=1)[0]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _apt_error(output: str) -> str:
    """The most telling line of apt's output, for a one-line error."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for prefix in ("E:", "Err:", "W:"):
        picked = [ln for ln in lines if ln.startswith(prefix)]
        if picked:
            return picked[0]
    return lines[-1] if lines else "no output"


@dataclass
class AptState:
    """A private apt configuration for one suite and one architecture."""

    cache: Path
    suite: str
    arch: str
    mirror: str
    component: str
    keyring: str

    @property
    def root(self) -> Path:
        return self.cache / "apt" / self.suite / self.arch

    @property
    def conf(self) -> Path:
        return self.cache / "apt" / "apt.conf"

    @property
    def lists(self) -> Path:
        return self.root / "lists"

    @property
    def stamp(self) -> Path:
        return self.root / "updated"

    def options(self) -> list[str]:
        r = self.root
        opts = {
            "Dir::Etc::SourceList": r / "sources.list",
            "Dir::Etc::SourceParts": "/dev/null",
            "Dir::Etc::Preferences": "/dev/null",
            "Dir::Etc::PreferencesParts": "/dev/null",
            "Dir::State::Lists": self.lists,
            "Dir::State::Status": r / "status",
            "Dir::Cache": r / "cache",
            "Dir::Cache::pkgcache": "pkgcache.bin",
            "Dir::Cache::srcpkgcache": "",  # pkgcache.bin alone makes queries fast
            "APT::Architecture": self.arch,
            "APT::Architectures::": self.arch,
            "Acquire::Languages": "none",
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled": "false",
            "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled": "false",
            "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled": "false",
            "Acquire::Retries": "3",
            "Acquire::http::Timeout": "60",
            "APT::Update::Error-Mode": "any",
        }
        out = ["-c", str(self.conf)]
        for key, value in opts.items():
            out += ["-o", f"{key}={value}"]
        if os.geteuid() == 0:
            # apt would fall back to root anyway ("download is performed unsandboxed")
            # because the private directories are not _apt's; say so to keep it quiet.
            out += ["-o", "APT::Sandbox::User=root"]
        return out

    def prepare(self) -> bool:
        """Create the private directories; True when sources.list changed."""
        for d in (self.lists / "partial", self.root / "cache" / "archives" / "partial"):
            d.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(APT_CONF)
        status = self.root / "status"
        if not status.exists():
            status.write_text("")
        sources = self.root / "sources.list"
        line = f"deb [signed-by={self.keyring}] {self.mirror} {self.suite} {self.component}\n"
        if sources.exists() and sources.read_text() == line:
            return False
        sources.write_text(line)
        return True

    def run(self, tool: str, args: Sequence[str], timeout: int, cwd: Path | None = None) -> str:
        cmd = [tool, *self.options(), *args]
        env = dict(os.environ, LC_ALL="C", LANG="C", DEBIAN_FRONTEND="noninteractive")
        try:
            done = subprocess.run(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise FetchError(f"{tool} not found: this script needs Debian's apt") from None
        except subprocess.TimeoutExpired:
            raise FetchError(
                f"{tool} {args[0]} for {self.suite}/{self.arch} took more than {timeout}s"
            ) from None
        if done.returncode != 0:
            why = _apt_error(done.stderr + "\n" + done.stdout)
            raise FetchError(f"{tool} {args[0]} failed for {self.suite}/{self.arch}: {why}")
        return done.stdout

    def release_file(self) -> Path | None:
        for name in ("InRelease", "Release"):
            hits = sorted(self.lists.glob(f"*_dists_{self.suite}_{name}"))
            if hits:
                return hits[0]
        return None

    def update(self, refresh: bool) -> None:
        changed = self.prepare()
        have = self.release_file() is not None and self.stamp.exists()
        fresh = have and time.time() - self.stamp.stat().st_mtime < STALE_AFTER
        if fresh and not refresh and not changed:
            return
        note(f"updating the package lists of {self.suite}/{self.arch}")
        try:
            self.run("apt-get", ["update"], UPDATE_TIMEOUT)
        except FetchError as exc:
            if not have or changed:
                raise
            note(f"warning: {exc}; using the lists of {time.ctime(self.stamp.stat().st_mtime)}")
            return
        if self.release_file() is None:
            raise FetchError(f"apt-get update left no Release file for {self.suite}")
        self.stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))

    def architectures(self) -> set[str] | None:
        """The ``Architectures:`` field of the suite's Release file, if present."""
        rel = self.release_file()
        if rel is None:
            return None
        for line in rel.read_text(errors="replace").splitlines():
            if line.startswith("Architectures:"):
                return set(line.split(":", 1)[1].split())
        return None

    def index_files(self) -> list[Path]:
        """The suite's Packages indexes for this architecture, as apt stored them."""
        return sorted(self.lists.glob(f"*_dists_{self.suite}_*_binary-{self.arch}_Packages*"))

    def built_from(self, source: str) -> list[str]:
        """Every binary package of this suite and architecture built from ``source``.

        Read from the private Packages index (``apt-helper cat-file`` decompresses whatever
        apt stored: lz4, xz, gz or plain), one stanza at a time: ``Source: libvirt`` or
        ``Source: libvirt (1.2-3)`` for a binNMU; without a Source field a package is its
        own source.
        """
        files = self.index_files()
        if not files:
            raise FetchError(f"no Packages index for {self.suite}/{self.arch} in {self.lists}")
        found: set[str] = set()
        for path in files:
            cmd = [APT_HELPER, *self.options(), "cat-file", str(path)]
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                )
            except FileNotFoundError:
                raise FetchError(f"{APT_HELPER} not found: this script needs apt") from None
            assert proc.stdout is not None
            package: str | None = None
            src: str | None = None
            for line in proc.stdout:
                if line.startswith("Package:"):
                    package = line.split(":", 1)[1].strip()
                elif line.startswith("Source:"):
                    words = line.split(":", 1)[1].split()
                    src = words[0] if words else None
                elif not line.strip():
                    if package is not None and (src or package) == source:
                        found.add(package)
                    package = src = None
            if package is not None and (src or package) == source:
                found.add(package)
            _, err = proc.communicate(timeout=QUERY_TIMEOUT)
            if proc.returncode != 0:
                raise FetchError(f"apt-helper cat-file {path.name} failed: {_apt_error(err)}")
        return sorted(found)

    def madison(self, packages: Sequence[str]) -> dict[str, str]:
        """package -> version carried by exactly this suite (first listed wins)."""
        out = self.run("apt-cache", ["madison", *packages], QUERY_TIMEOUT)
        found: dict[str, str] = {}
        for line in out.splitlines():
            fields = [f.strip() for f in line.split("|")]
            if len(fields) != 3:
                continue
            name, version, source = fields
            name = name.split(":", 1)[0]
            words = source.split()
            # "http://deb.debian.org/debian bookworm-backports/main amd64 Packages"
            if len(words) < 4 or words[-1] != "Packages" or words[-2] != self.arch:
                continue
            if words[1].split("/", 1)[0] != self.suite:
                continue
            if name in packages and name not in found:
                found[name] = version
        return found

    def record(self, package: str, version: str) -> dict[str, str]:
        """The index record (Filename, SHA256, Size, ...) of package=version."""
        out = self.run("apt-cache", ["show", f"{package}:{self.arch}={version}"], QUERY_TIMEOUT)
        fields: dict[str, str] = {}
        for line in out.splitlines():
            if not line.strip():
                if fields:
                    break
                continue
            if line[0] in " \t" or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key] = value.strip()
        for key in ("Filename", "SHA256", "Size"):
            if key not in fields:
                raise FetchError(f"apt-cache show {package}={version} gave no {key} field")
        return fields

    def download(self, package: str, version: str, dest: Path, record: dict[str, str]) -> Path:
        """Download into a scratch folder under dest, check the hash, move into place."""
        final = dest / Path(record["Filename"]).name
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=dest))
        try:
            self.run(
                "apt-get", ["download", f"{package}:{self.arch}={version}"], DOWNLOAD_TIMEOUT, tmp
            )
            debs = list(tmp.glob("*.deb"))
            if len(debs) != 1:
                raise FetchError(f"apt-get download {package}={version} produced {len(debs)} files")
            digest = sha256_of(debs[0])
            if digest != record["SHA256"]:
                raise FetchError(f"{debs[0].name}: SHA256 {digest} differs from the index")
            os.replace(debs[0], final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final


@contextlib.contextmanager
def locked(cache: Path) -> Iterator[None]:
    """One fetch at a time per cache (tests may run it from several processes)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as f:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise FetchError(f"{cache}/.lock is held by another fetch") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def manifest_path(cache: Path) -> Path:
    return cache / "debs" / "manifest.json"


def read_manifest(cache: Path) -> list[dict[str, Any]]:
    path = manifest_path(cache)
    try:
        data = json.loads(path.read_text())
        entries = data["entries"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        note(f"warning: {path} is unreadable; starting a new one")
        return []
    return [e for e in entries if isinstance(e, dict)]


def write_manifest(cache: Path, entries: list[dict[str, Any]]) -> None:
    path = manifest_path(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = sorted(entries, key=lambda e: (e["suite"], e["arch"], e["package"]))
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"format": 1, "entries": entries}, indent=2) + "\n")
    os.replace(tmp, path)


def deb_path(cache: Path, entry: dict[str, Any]) -> Path:
    return cache / "debs" / entry["suite"] / entry["arch"] / entry["filename"]


def show(cache: Path, entry: dict[str, Any]) -> None:
    print(f"{entry['suite']}\t{entry['arch']}\t{entry['version']}\t{deb_path(cache, entry)}")


def fetch(
    cache: Path,
    suites: Sequence[str],
    arches: Sequence[str],
    packages: Sequence[str],
    releases: dict[str, Any],
    refresh: bool = False,
    mirror: str | None = None,
    full: bool = False,
) -> list[dict[str, Any]]:
    """Fetch every package for every suite and arch; return the manifest entries.

    ``full``: ``packages`` plus every binary package of the suite built from ``SOURCE``
    (read from its index), less ``UNNEEDED``."""
    keyring = releases.get("keyring", "/usr/share/keyrings/debian-archive-keyring.gpg")
    if not Path(keyring).is_file():
        raise FetchError(f"{keyring} is missing: install debian-archive-keyring")
    expected = {s["suite"]: s.get("upstream") for s in releases.get("suites", [])}
    mirrors = {s["suite"]: s.get("mirror") for s in releases.get("suites", [])}
    corpus = set(releases.get("packages", []))
    manifest = {(e["suite"], e["arch"], e["package"]): e for e in read_manifest(cache)}
    done: list[dict[str, Any]] = []
    for suite in suites:
        for arch in arches:
            state = AptState(
                cache=cache,
                suite=suite,
                arch=arch,
                mirror=mirror
                or mirrors.get(suite)
                or releases.get("mirror", "http://deb.debian.org/debian"),
                component=releases.get("component", "main"),
                keyring=keyring,
            )
            state.update(refresh)
            carried = state.architectures()
            if carried is not None and arch not in carried:
                note(f"skip {suite}/{arch}: {suite} has no {arch} ({' '.join(sorted(carried))})")
                continue
            wanted = list(packages)
            if full:
                found = [p for p in state.built_from(SOURCE) if not UNNEEDED.fullmatch(p)]
                wanted = sorted(set(wanted) | set(found))
                note(f"{suite}/{arch}: {len(found)} packages built from {SOURCE}")
            versions = state.madison(wanted)
            dest = cache / "debs" / suite / arch
            dest.mkdir(parents=True, exist_ok=True)
            for package in wanted:
                version = versions.get(package)
                if version is None:
                    note(f"skip {suite}/{arch}: no {package} for {arch} in {suite}")
                    continue
                want = expected.get(suite)
                if package in corpus and want and upstream_of(version) != want:
                    note(
                        f"note: {suite} carries {package} {version}, {RELEASES.name} expects {want}"
                    )
                record = state.record(package, version)
                final = dest / Path(record["Filename"]).name
                if not (final.is_file() and sha256_of(final) == record["SHA256"]):
                    final = state.download(package, version, dest, record)
                old = manifest.get((suite, arch, package))
                if old and old.get("filename") != final.name:
                    stale = dest / str(old.get("filename"))
                    if stale.is_file() and stale.parent == dest:
                        stale.unlink()
                entry = {
                    "suite": suite,
                    "arch": arch,
                    "package": package,
                    "version": version,
                    "filename": final.name,
                    "size": final.stat().st_size,
                    "sha256": record["SHA256"],
                }
                manifest[(suite, arch, package)] = entry
                write_manifest(cache, list(manifest.values()))
                show(cache, entry)
                done.append(entry)
    return done


def list_cached(
    cache: Path, suites: Sequence[str], arches: Sequence[str], packages: Sequence[str]
) -> None:
    for entry in sorted(read_manifest(cache), key=lambda e: (e["suite"], e["arch"], e["package"])):
        if suites and entry.get("suite") not in suites:
            continue
        if arches and entry.get("arch") not in arches:
            continue
        if packages and entry.get("package") not in packages:
            continue
        if deb_path(cache, entry).is_file():
            show(cache, entry)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        releases = load_releases()
    except FetchError as exc:
        note(f"error: {exc}")
        return 1
    supported = releases.get("supported_architectures", [])
    parser = argparse.ArgumentParser(
        prog="fetch_debian.py", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--cache", type=Path, help="cache folder (default: %(default)s)")
    parser.add_argument("--arch", action="append", choices=supported, help="repeatable")
    parser.add_argument("--suite", action="append", help="repeatable (e.g. bookworm, sid)")
    parser.add_argument("--package", action="append", help="repeatable (binary package)")
    parser.add_argument(
        "--set",
        dest="package_set",
        choices=("default", "full"),
        default="default",
        help="default: the data file's packages (libvirt0, libvirt-dev); full: every "
        f"package built from {SOURCE} that elfaudit guarantees reads",
    )
    parser.add_argument("--refresh", action="store_true", help="run apt-get update now")
    parser.add_argument("--mirror", help="archive URL (default: deb.debian.org, see data/)")
    parser.add_argument(
        "--list", action="store_true", help="print what the cache holds; no network"
    )
    parser.set_defaults(cache=default_cache())
    args = parser.parse_args(argv)
    cache: Path = args.cache.resolve()
    if args.list:
        list_cached(cache, args.suite or [], args.arch or [], args.package or [])
        return 0
    suites = args.suite or [s["suite"] for s in releases["suites"]]
    arches = args.arch or releases.get("architectures", ["amd64"])
    packages = args.package or releases["packages"]
    try:
        with locked(cache):
            fetch(
                cache,
                suites,
                arches,
                packages,
                releases,
                args.refresh,
                args.mirror,
                full=args.package_set == "full",
            )
    except FetchError as exc:
        note(f"error: {exc}")
        return 1
    except OSError as exc:  # the cache folder cannot be written, a disk is full...
        note(f"error: {exc.filename or cache}: {exc.strerror or exc}")
        return 1
    except KeyboardInterrupt:
        note("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark elfaudit side by side with nm, readelf, abidiff and abipkgdiff, in one run.

    python scripts/bench.py [--quick] [--only GROUP[,GROUP]]... [--skip-abidiff]
                            [--json FILE] [--no-fetch] [--cache DIR] [--strict] [--keep]
                            [--python venv|self|PATH]

Inputs are real Debian ``libvirt0`` packages from the fetch cache (``scripts/fetch_debian.py``;
fetched when missing unless ``--no-fetch``): the newest amd64 release (NEW, e.g. sid 12.8.0)
and the newest older one (OLD, e.g. trixie 11.3.0); their libraries are extracted to a
temporary folder with ``elfaudit.readers.packages.find_libraries``.

Groups (``--only``), in the order they run:

  read       in-process ``elfaudit.readers.elf.read_library`` of NEW's libvirt.so.0, and
             ``wireshark_plugin.read_plugin`` of the newest amd64 libvirt-wireshark plugin
  dump       ``elfaudit dump --format json`` vs ``nm -D --with-symbol-versions`` and
             ``readelf --dyn-syms -W -V`` (whole processes)
  compare    ``elfaudit compare OLD NEW`` vs ``abidiff OLD NEW``, and peak memory
  debs       ``elfaudit compare OLD.deb NEW.deb`` vs ``abipkgdiff OLD.deb NEW.deb``
  graph      ``elfaudit graph check`` (shipped graph) and ``elfaudit graph record``
  synthetic  a 200-release x 4-library synthetic graph: size, load + graph_check
             (in-process and as a process), peak memory
  scan       ``elfaudit scan DIR`` over 20 packages: wall and CPU time (uses both cores?),
             and the same with ``-j 1``
  startup    ``elfaudit --version``, ``import elfaudit.cli``, heavy imports of ``dump``

elfaudit runs the way it is deployed: by default installed from this checkout into an
isolated virtual environment (``.cache/bench-venv``: ``python -m venv`` plus setup.cfg's
``install_requires``, as ``pipx`` would make it) and run through its ``elfaudit`` console
script. The interpreter running this script may
have start-up hooks of its own machine in its site-packages (``*.pth``; this sandbox's
certifi patch costs ~60 ms a process) that every process would pay; the startup group
prints both interpreters' ``python -c pass`` side by side. ``--python self`` measures with
this script's interpreter instead.

Every number is a wall-clock time from ``time.perf_counter`` (whole processes: from spawn to
exit; in-process: around the call), N runs after one untimed warm-up run (none for the slow
reference tools), reported as median and minimum. Where a ratio is the target, a slow spell
of a shared machine must hit both sides alike: ``dump`` and ``nm``/``readelf`` run turn
about, and half of elfaudit's ``compare`` runs come before the slow reference tool's runs,
half after. CPU time (user + sys) of one process
comes from ``os.wait4``: the rusage of exactly that child, including the workers it reaped.
Peak memory cannot come from there: Linux carries the parent's high-water RSS across fork and
exec, so every child of this (large) process would look at least as big as it. It comes from
GNU ``/usr/bin/time -f %M`` instead (one extra run; every run for the slow reference tools),
or, where that is missing, from a bare ``python -S`` launcher (floor: its own ~10 MB).

Targets live here, never in tests. The table says PASS/FAIL per target; ``--strict`` makes
any FAIL or ERROR exit 1 (otherwise the exit status is 0 whatever the numbers), except the
startup group's import checks: which modules a process imports is a fact, not a timing that
a busy machine can spoil, so their FAIL exits 1 with or without ``--strict``. A missing
input or tool never crashes the run: its rows say ``not installed`` / ``skipped`` and why.
Times on a shared 2-core machine vary by 10-30 %: compare ratios, rerun when it was busy
(the load average before and after is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FETCH_SCRIPT = REPO / "scripts" / "fetch_debian.py"
if str(REPO) not in sys.path:  # run from a clone without installing elfaudit
    sys.path.insert(0, str(REPO))

GROUPS = (
    "read",
    "dump",
    "compare",
    "debs",
    "graph",
    "synthetic",
    "scan",
    "guarantees",
    "startup",
)
PROC_TIMEOUT = 900.0  # seconds for one measured process
FETCH_TIMEOUT = 3600.0  # seconds for one run of the fetch script
SCAN_PACKAGES = 20
MORE_ARCHES = ("i386", "s390x", "arm64", "armhf", "ppc64el", "riscv64")
# pdb (with bdb, cmd, code...): imported by pyelftools' construct, loaded by elfaudit only
# on first use (elfaudit/readers/elf.py, _defer_debugger_modules).
HEAVY_MODULES = ("networkx", "tabulate", "matplotlib", "pdb")

# Targets (seconds, bytes, ratios).
TARGET_READ_S = 0.030
TARGET_WIRESHARK_S = 0.200  # read_plugin of libvirt's wireshark plugin, in-process
TARGET_VIRSH_S = 0.200  # read_virsh: virsh's command and option tables, in-process
TARGET_DUMP_VS_NM = 5.0  # elfaudit dump may take at most 5x nm's time
TARGET_ABIDIFF_SPEEDUP = 20.0
TARGET_ABIPKGDIFF_SPEEDUP = 15.0
TARGET_COMPARE_RSS = 100 * 2**20
TARGET_GRAPH_S = 1.0
TARGET_SYNTH_S = 1.0
TARGET_SYNTH_MEM = 200 * 2**20
TARGET_SCAN_CPU_WALL = 1.3
TARGET_GUARANTEES_S = 10.0  # guarantees on two releases' whole package sets (issue 12)
TARGET_GRAPH_SET_S = 10.0  # graph check of a whole package set, every section (issue 13)
TARGET_SCHEMA_MODEL_S = 1.0  # the RELAX NG model of one release's schemas, in-process
GUARANTEES_SUITES = ("bookworm", "sid")
MB = 2**20


class BenchError(Exception):
    """A measurement could not be made; the message is one line."""


class Skip(Exception):
    """An input or tool is missing; the message says which."""


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    group: str
    measurement: str
    elfaudit: str = "-"
    reference: str = "-"
    ratio: str = "-"
    target: str = "-"
    status: str = "INFO"  # PASS, FAIL, INFO, n/a, SKIP, ERROR
    note: str = ""
    exact: bool = False  # a yes/no fact, not a timing: its FAIL exits 1 even without --strict
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sample:
    wall: float
    cpu: float  # user + sys of the child and the children it reaped
    rc: int


@dataclass
class Stats:
    label: str
    samples: list[Sample]
    peak_rss: int | None = None  # bytes, measured from a small launcher (see the docstring)

    @property
    def walls(self) -> list[float]:
        return [s.wall for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def min(self) -> float:
        return min(self.walls)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    def raw(self) -> dict[str, Any]:
        return {
            "command": self.label,
            "wall_s": self.walls,
            "cpu_s": [s.cpu for s in self.samples],
            "peak_rss_bytes": self.peak_rss,
            "exit_codes": sorted({s.rc for s in self.samples}),
            "median_s": self.median,
            "min_s": self.min,
        }


def fmt_time(seconds: float) -> str:
    if seconds < 1.0:
        return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_med_min(median: float, minimum: float) -> str:
    return f"{fmt_time(median)} (min {fmt_time(minimum)})"


def fmt_mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


def speed(elf: float, ref: float) -> str:
    """How elfaudit's time compares with the reference's."""
    if elf <= 0 or ref <= 0:
        return "-"
    return f"{ref / elf:.1f}x faster" if ref >= elf else f"{elf / ref:.1f}x slower"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --------------------------------------------------------------------------- measuring


def bench_env() -> dict[str, str]:
    """The environment elfaudit runs in, as after ``pip install``: bytecode compiled
    (pip compiles it at install time; with PYTHONDONTWRITEBYTECODE set, as on some
    development machines, every run would recompile every module and the bench would
    measure the compiler)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not INSTALLED:  # run from the checkout
        import compileall

        compileall.compile_dir(str(REPO / "elfaudit"), quiet=1)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("ELFAUDIT_GRAPH", None)
    env["LC_ALL"] = "C"
    return env


# The interpreter that runs elfaudit (``--python``) and the command; main() sets them.
PYTHON = sys.executable
ELFAUDIT = [PYTHON, "-m", "elfaudit"]
INSTALLED = False  # elfaudit installed in PYTHON's environment (else run from the checkout)


def runtime_requirements() -> list[str]:
    """``install_requires`` of setup.cfg: what ``pip install elfaudit`` brings along."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    raw = cfg.get("options", "install_requires", fallback="")
    return [line.strip() for line in raw.splitlines() if line.strip()]


def isolated_python(where: Path, log: Callable[[str], None]) -> str:
    """A virtual environment with elfaudit installed from this checkout and nothing else
    but its runtime dependencies: elfaudit as ``pipx install`` or a plain ``python -m
    venv`` + ``pip install`` deploys it, run through its console script (``elfaudit``).
    The dependencies are installed once (again when setup.cfg's change); elfaudit itself
    on every run (``--no-deps``, a few seconds), so the bench measures the checkout.

    The interpreter that runs this script may carry site-packages ``.pth`` start-up hooks
    of its own machine (this sandbox injects a certifi patch costing ~60 ms per process);
    those belong to that machine, not to elfaudit. The startup group measures both
    interpreters side by side, so the difference stays visible.
    """
    python = where / "bin" / "python"
    reqs = [*runtime_requirements(), "setuptools>=61", "wheel"]  # + what builds elfaudit
    stamp = where / "elfaudit-requirements.txt"
    wanted = "\n".join(reqs) + "\n"
    if not python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        log(f"making {where} ({', '.join(reqs)})")
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(where)], check=True, timeout=600
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs],
            check=True,
            timeout=1800,
        )
        subprocess.run(
            [str(python), "-m", "compileall", "-q", str(where / "lib")],
            check=True,
            capture_output=True,
            timeout=600,
        )
        stamp.write_text(wanted)
    log(f"installing elfaudit from {REPO} into {where}")
    subprocess.run(
        [
            *(str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"),
            *("--no-deps", "--no-build-isolation", "--force-reinstall", str(REPO)),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return str(python)


def use_python(python: str, *, installed: bool = False) -> None:
    """Run elfaudit with ``python``: its console script when elfaudit is installed there
    (``installed``), else ``python -m elfaudit`` from the checkout."""
    global PYTHON, ELFAUDIT, INSTALLED
    PYTHON = python
    INSTALLED = installed
    script = Path(python).parent / "elfaudit"
    ELFAUDIT = [str(script)] if installed else [python, "-m", "elfaudit"]


def run_once(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str], stdout: Path | None = None
) -> tuple[Sample, str]:
    """Spawn ``cmd``, wait for it, return its sample and the first line of its stderr."""
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(tempfile.TemporaryFile())
        out: Any = (
            stack.enter_context(stdout.open("wb")) if stdout is not None else subprocess.DEVNULL
        )
        timed_out = threading.Event()
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        except OSError as exc:
            raise BenchError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(PROC_TIMEOUT, kill)
        timer.start()
        try:
            # Block until it exits without reaping it, so the timer never kills a reused pid.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - t0
        except BaseException:
            proc.kill()
            raise
        finally:
            timer.cancel()
            timer.join()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read(4096).decode("utf-8", "replace").strip().splitlines()
    if timed_out.is_set():
        raise BenchError(f"{Path(cmd[0]).name} took over {PROC_TIMEOUT:.0f} s; killed")
    first = next((ln for ln in lines if ln.strip()), "")
    return Sample(wall, usage.ru_utime + usage.ru_stime, proc.returncode), first


# Fallback for GNU time: fork from a small process so the child's RSS high-water mark starts
# from this launcher's, not from the benchmark's; write the child's ru_maxrss (KiB) to argv[1].
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def rss_wrapper(cmd: Sequence[str], out: Path) -> list[str]:
    """``cmd`` run so that its own peak RSS (KiB) ends up in ``out``."""
    gnu_time = Path("/usr/bin/time")
    if gnu_time.is_file() and os.access(gnu_time, os.X_OK):
        return [str(gnu_time), "-f", "%M", "-o", str(out), *cmd]
    return [sys.executable, "-S", "-I", "-c", LAUNCHER, str(out), *cmd]


def rss_method() -> str:
    gnu_time = Path("/usr/bin/time")
    if gnu_time.is_file() and os.access(gnu_time, os.X_OK):
        return "GNU time %M"
    return "python -S launcher (floor ~10 MB)"


def read_rss(out: Path) -> int | None:
    try:
        text = out.read_text().strip().splitlines()
    except OSError:
        return None
    # GNU time writes "Command exited with non-zero status N" before the number.
    last = text[-1].strip() if text else ""
    return int(last) * 1024 if last.isdigit() else None


def bitmask_ok(rc: int) -> bool:
    """abidiff's convention (shared by elfaudit): bit 1 = could not run."""
    return rc >= 0 and rc & 1 == 0


def zero_ok(rc: int) -> bool:
    return rc == 0


def measure(
    label: str,
    cmd: Sequence[str],
    runs: int,
    *,
    cwd: Path,
    ok: Callable[[int], bool] = zero_ok,
    warmup: bool = True,
    prepare: Callable[[], None] | None = None,
    rss: str = "none",
) -> Stats:
    """``runs`` timed runs of ``cmd`` (after one warm-up run when ``warmup``).

    ``rss``: "none"; "extra" = one more run to measure the peak RSS; "wrap" = measure it on
    every timed run (for slow tools, where the launcher's ~1 ms does not matter).
    """
    env = bench_env()
    samples = []
    peaks: list[int] = []
    rss_file = cwd / ".bench-rss"

    def one(wrapped: bool) -> Sample:
        if prepare is not None:
            prepare()
        rss_file.unlink(missing_ok=True)
        argv = rss_wrapper(cmd, rss_file) if wrapped else list(cmd)
        sample, first_err = run_once(argv, cwd=cwd, env=env)
        if not ok(sample.rc):
            why = f": {first_err}" if first_err else ""
            raise BenchError(f"{label} exited {sample.rc}{why}")
        if wrapped:
            peak = read_rss(rss_file)
            if peak is not None:
                peaks.append(peak)
        return sample

    if warmup:
        one(False)
    samples = [one(rss == "wrap") for _ in range(runs)]
    if rss == "extra":
        one(True)
    return Stats(label, samples, max(peaks) if peaks else None)


def measure_interleaved(
    entries: Sequence[tuple[str, Sequence[str]]],
    runs: int,
    *,
    cwd: Path,
    ok: Callable[[int], bool] = zero_ok,
) -> list[Stats]:
    """Several commands measured turn about (A B C A B C ...) after one warm-up each, so
    that a slow spell of a shared machine lands on all of them alike and their ratio holds.
    """
    env = bench_env()
    samples: list[list[Sample]] = [[] for _ in entries]
    for rnd in range(runs + 1):
        for (label, cmd), got in zip(entries, samples, strict=True):
            sample, first_err = run_once(list(cmd), cwd=cwd, env=env)
            if not ok(sample.rc):
                why = f": {first_err}" if first_err else ""
                raise BenchError(f"{label} exited {sample.rc}{why}")
            if rnd:  # round 0 is the warm-up
                got.append(sample)
    return [Stats(label, got) for (label, _), got in zip(entries, samples, strict=True)]


def fmt_rss(n: int | None) -> str:
    return "?" if n is None else fmt_mb(n)


def time_call(fn: Callable[[], object], runs: int, *, warmup: bool = True) -> list[float]:
    if warmup:
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def tool_version(tool: str) -> str | None:
    path = shutil.which(tool)
    if path is None:
        return None
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Deb:
    suite: str
    arch: str
    version: str
    path: Path

    @property
    def upstream(self) -> str:
        from elfaudit.readers.packages import debian_upstream

        return debian_upstream(self.version)

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", self.upstream))

    def label(self) -> str:
        return f"{self.suite}/{self.arch} {self.upstream}"


_DEB_NAME = re.compile(r"^(?P<pkg>[^_]+)_(?P<ver>[^_]+)_(?P<arch>[^_.]+)\.deb$")


class Inputs:
    """The cached libvirt0 packages, fetched on demand, and what is extracted from them."""

    def __init__(self, cache: Path, tmp: Path, *, allow_fetch: bool, log: Callable[[str], None]):
        self.cache = cache
        self.tmp = tmp
        self.allow_fetch = allow_fetch
        self.log = log
        self._extracted: dict[Path, dict[str, Path]] = {}
        self._fetched: set[tuple[str, ...]] = set()
        self.chosen: tuple[Deb, Deb] | None = None

    def debs(self, package: str = "libvirt0") -> list[Deb]:
        found: dict[Path, Deb] = {}
        root = self.cache / "debs"
        for path in sorted(root.glob(f"*/*/{package}_*.deb")):
            m = _DEB_NAME.match(path.name)
            if m is None or not path.is_file():
                continue
            suite, arch = path.parent.parent.name, path.parent.name
            found[path] = Deb(suite, arch, m.group("ver").replace("%3a", ":"), path)
        return list(found.values())

    def fetch(self, *args: str) -> None:
        if not self.allow_fetch:
            raise Skip(f"not in {self.cache / 'debs'} and --no-fetch was given")
        if not FETCH_SCRIPT.is_file():
            raise Skip(f"{FETCH_SCRIPT} is missing")
        if args in self._fetched:  # tried already: what it got is in the cache
            return
        self._fetched.add(args)
        cmd = [sys.executable, str(FETCH_SCRIPT), "--cache", str(self.cache), *args]
        self.log(f"fetching: {' '.join(cmd[1:])}")
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            self.log(f"fetch took over {FETCH_TIMEOUT:.0f} s; gave up")
            return
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            self.log(f"fetch failed (exit {done.returncode}): {last}")

    def pair(self) -> tuple[Deb, Deb]:
        """(OLD, NEW): the newest amd64 release and the newest one before it."""
        for attempt in range(2):
            amd = [d for d in self.debs() if d.arch == "amd64"]
            if amd:
                new = max(amd, key=lambda d: (d.key, not d.suite.endswith("backports")))
                older = [d for d in amd if d.key < new.key]
                if older:
                    old = max(older, key=lambda d: (d.key, not d.suite.endswith("backports")))
                    self.chosen = (old, new)
                    return old, new
            if attempt == 0:
                try:
                    self.fetch(
                        "--suite",
                        "trixie",
                        "--suite",
                        "sid",
                        "--arch",
                        "amd64",
                        "--package",
                        "libvirt0",
                    )
                except Skip as exc:
                    raise Skip(f"two amd64 libvirt0 releases: {exc}") from None
        raise Skip(f"two amd64 libvirt0 releases are not in {self.cache / 'debs'}")

    def libraries(self, deb: Deb) -> dict[str, Path]:
        """soname -> extracted file, for the versioned libraries in ``deb``."""
        if deb.path in self._extracted:
            return self._extracted[deb.path]
        dest = self.tmp / "libs" / f"{deb.suite}-{deb.arch}"
        dest.mkdir(parents=True, exist_ok=True)
        out: dict[str, Path] = {}
        try:
            from elfaudit.readers.packages import find_libraries

            for lib in find_libraries(deb.path):
                name = lib.soname_hint or lib.name.rsplit("/", 1)[-1]
                (dest / name).write_bytes(lib.data)
                out[name] = dest / name
        except Exception as exc:  # fall back on dpkg-deb
            self.log(f"find_libraries({deb.path.name}) failed ({exc}); trying dpkg-deb -x")
            out = self._dpkg_extract(deb, dest)
        self._extracted[deb.path] = out
        return out

    def _dpkg_extract(self, deb: Deb, dest: Path) -> dict[str, Path]:
        if shutil.which("dpkg-deb") is None:
            raise Skip(f"cannot extract {deb.path.name}: dpkg-deb is not installed")
        tree = dest / "tree"
        done = subprocess.run(
            ["dpkg-deb", "-x", str(deb.path), str(tree)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise Skip(f"cannot extract {deb.path.name}: {done.stderr.strip()[:200]}")
        out = {}
        for link in tree.glob("usr/lib/*/lib*.so.[0-9]*"):
            if re.fullmatch(r"lib[\w-]+\.so\.\d+", link.name):
                out[link.name] = link.resolve()
        return out

    def library(self, deb: Deb, soname: str = "libvirt.so.0") -> Path:
        libs = self.libraries(deb)
        if soname not in libs:
            raise Skip(f"{soname} not found in {deb.path.name}")
        return libs[soname]

    def scan_debs(self, want: int) -> list[Deb]:
        debs = self.debs()
        if len(debs) < want:
            with contextlib.suppress(Skip):
                args = [a for arch in MORE_ARCHES for a in ("--arch", arch)]
                self.fetch(*args, "--package", "libvirt0")
            debs = self.debs()
        debs.sort(key=lambda d: (d.key, d.suite, d.arch))
        return debs[:want]


def system_library() -> Path | None:
    """A shared library every Linux box has (for the import check without the cache)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        maps = ""
    for line in maps.splitlines():
        path = line.split()[-1] if line.split() else ""
        if re.search(r"/libc\.so\.6$", path) and Path(path).is_file():
            return Path(path)
    for pattern in ("/lib/*/libc.so.6", "/usr/lib/*/libc.so.6", "/lib64/libc.so.6"):
        for hit in sorted(Path("/").glob(pattern.lstrip("/"))):
            return hit
    return None


# --------------------------------------------------------------------------- the groups


@dataclass
class Context:
    inputs: Inputs
    tmp: Path
    quick: bool
    skip_abidiff: bool
    log: Callable[[str], None]
    meta: dict[str, Any]

    def runs(self, full: int, quick: int) -> int:
        return quick if self.quick else full


_READ_PROBE = """
import json, sys, time
from elfaudit.readers.elf import read_library
path, runs = sys.argv[1], int(sys.argv[2])
abi = read_library(path)
times = []
for _ in range(runs):
    t = time.perf_counter()
    read_library(path)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "symbols": len(abi.symbols), "versions": len(abi.versions)}))
"""


def in_fresh_interpreter(code: str, *args: str) -> tuple[dict[str, Any], float, float]:
    """Run a probe printing ``{"times": [...], ...}`` as JSON in a fresh interpreter (the
    bench's own heap and imports must not be measured); returns it, its median and min."""
    probe = subprocess.run(
        [PYTHON, "-c", code, *args], capture_output=True, text=True, check=True, env=bench_env()
    )
    result: dict[str, Any] = json.loads(probe.stdout)
    times = result["times"]
    return result, statistics.median(times), min(times)


def group_read(ctx: Context) -> list[Row]:
    _, new = ctx.inputs.pair()
    lib = ctx.inputs.library(new)
    result, med, low = in_fresh_interpreter(_READ_PROBE, str(lib), str(ctx.runs(30, 5)))
    times = result["times"]
    return [
        Row(
            "read",
            f"read_library(libvirt.so.0 {new.upstream}) in-process",
            elfaudit=fmt_med_min(med, low),
            target=f"<= {fmt_time(TARGET_READ_S)}",
            status=verdict(med <= TARGET_READ_S),
            note=f"{result['symbols']} exported symbols, {result['versions']} version nodes",
            raw={"times_s": times, "median_s": med, "min_s": low, "symbols": result["symbols"]},
        ),
        _wireshark_row(ctx),
        _virsh_row(ctx),
    ]


_WIRESHARK_PROBE = """
import json, sys, time
from elfaudit.readers.wireshark_plugin import read_plugin
path, runs = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
proto = read_plugin(data, path)
times = []
for _ in range(runs):
    t = time.perf_counter()
    read_plugin(data, path)
    times.append(time.perf_counter() - t)
fields = sum(len(m.fields) for m in proto.messages.values())
print(json.dumps({"times": times, "procedures": len(proto.procedures),
                  "messages": len(proto.messages), "fields": fields}))
"""


def _wireshark_row(ctx: Context) -> Row:
    """``read_plugin`` of the newest cached amd64 libvirt-wireshark plugin (sid's)."""
    measurement = "read_plugin(wireshark libvirt.so) in-process"
    try:
        debs = [d for d in ctx.inputs.debs("libvirt-wireshark") if d.arch == "amd64"]
        if not debs:
            ctx.inputs.fetch("--suite", "sid", "--arch", "amd64", "--package", "libvirt-wireshark")
            debs = [d for d in ctx.inputs.debs("libvirt-wireshark") if d.arch == "amd64"]
        if not debs:
            raise Skip("no amd64 libvirt-wireshark package in the cache")
        deb = max(debs, key=lambda d: d.key)
        if shutil.which("dpkg-deb") is None:
            raise Skip("dpkg-deb is not installed")
        tree = ctx.tmp / "wireshark" / deb.suite
        tree.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb.path), str(tree)], check=True, timeout=300)
        found = sorted(tree.glob("usr/lib/*/wireshark/plugins/*/epan/libvirt.so"))
        if not found:
            raise Skip(f"no wireshark plugin in {deb.path.name}")
    except Skip as exc:
        return Row("read", measurement, status="SKIP", note=str(exc))
    result, med, low = in_fresh_interpreter(_WIRESHARK_PROBE, str(found[0]), str(ctx.runs(20, 3)))
    return Row(
        "read",
        f"read_plugin(wireshark libvirt.so {deb.label()}) in-process",
        elfaudit=fmt_med_min(med, low),
        target=f"< {fmt_time(TARGET_WIRESHARK_S)}",
        status=verdict(med < TARGET_WIRESHARK_S),
        note=f"{result['procedures']} procedures, {result['messages']} messages, "
        f"{result['fields']} fields",
        raw={"times_s": result["times"], "median_s": med, "min_s": low},
    )


_VIRSH_PROBE = """
import json, sys, time
from elfaudit.readers.release_files import read_release
from elfaudit.readers.virsh_tables import read_virsh
path, runs = sys.argv[1], int(sys.argv[2])
data = read_release(path).files.files["usr/bin/virsh"]
tables = read_virsh(data, path)
times = []
for _ in range(runs):
    t = time.perf_counter()
    read_virsh(data, path)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "commands": len(tables.commands),
                  "options": tables.option_count}))
"""


def _virsh_row(ctx: Context) -> Row:
    """``read_virsh`` of the newest cached amd64 libvirt-clients (sid's virsh)."""
    measurement = "read_virsh(/usr/bin/virsh) in-process"
    try:
        debs = [d for d in ctx.inputs.debs("libvirt-clients") if d.arch == "amd64"]
        if not debs:
            ctx.inputs.fetch("--suite", "sid", "--arch", "amd64", "--package", "libvirt-clients")
            debs = [d for d in ctx.inputs.debs("libvirt-clients") if d.arch == "amd64"]
        if not debs:
            raise Skip("no amd64 libvirt-clients package in the cache")
    except Skip as exc:
        return Row("read", measurement, status="SKIP", note=str(exc))
    deb = max(debs, key=lambda d: d.key)
    result, med, low = in_fresh_interpreter(_VIRSH_PROBE, str(deb.path), str(ctx.runs(20, 3)))
    return Row(
        "read",
        f"read_virsh(/usr/bin/virsh {deb.label()}) in-process",
        elfaudit=fmt_med_min(med, low),
        target=f"< {fmt_time(TARGET_VIRSH_S)}",
        status=verdict(med < TARGET_VIRSH_S),
        note=f"{result['commands']} commands, {result['options']} options",
        raw={"times_s": result["times"], "median_s": med, "min_s": low},
    )


def group_dump(ctx: Context) -> list[Row]:
    _, new = ctx.inputs.pair()
    lib = ctx.inputs.library(new)
    refs = [
        (tool, cmd, limit)
        for tool, cmd, limit in (
            ("nm", ["nm", "-D", "--with-symbol-versions", str(lib)], TARGET_DUMP_VS_NM),
            ("readelf", ["readelf", "--dyn-syms", "-W", "-V", str(lib)], None),
        )
    ]
    present = [(tool, cmd) for tool, cmd, _ in refs if shutil.which(tool) is not None]
    elf, *measured = measure_interleaved(
        [("elfaudit dump", [*ELFAUDIT, "dump", "--format", "json", str(lib)]), *present],
        ctx.runs(15, 3),
        cwd=ctx.tmp,
    )
    by_tool = dict(zip((tool for tool, _ in present), measured, strict=True))
    rows = []
    for tool, cmd, limit in refs:
        row = Row(
            "dump",
            f"dump --format json libvirt.so.0 {new.upstream} vs {' '.join(cmd[:-1])}",
            elfaudit=fmt_med_min(elf.median, elf.min),
            target=f"<= {limit:.0f}x {tool}'s time" if limit else "-",
            raw={"elfaudit": elf.raw()},
            note="runs taken turn about with elfaudit's",
        )
        ref = by_tool.get(tool)
        if ref is None:
            row.reference, row.status, row.note = "not installed", "n/a", ""
        else:
            row.reference = fmt_med_min(ref.median, ref.min)
            row.ratio = speed(elf.median, ref.median)
            row.raw[tool] = ref.raw()
            row.raw["elfaudit_over_reference"] = elf.median / ref.median
            row.status = verdict(elf.median <= limit * ref.median) if limit else "INFO"
        rows.append(row)
    return rows


def _abidiff_row(
    ctx: Context,
    group: str,
    title: str,
    elf: Stats,
    tool: str,
    cmd: list[str],
    runs: int,
    target: float,
    after: Callable[[], Stats] | None = None,
) -> tuple[Row, Stats | None]:
    """``elf`` was measured before the reference; ``after`` measures elfaudit again after
    it (the samples are pooled)."""
    row = Row(
        group,
        title,
        elfaudit=fmt_med_min(elf.median, elf.min),
        target=f">= {target:.0f}x faster",
        raw={"elfaudit": elf.raw()},
    )
    if ctx.skip_abidiff:
        row.reference, row.status = "skipped (--skip-abidiff)", "n/a"
        return row, None
    if shutil.which(tool) is None:
        row.reference, row.status = "not installed", "n/a"
        row.note = f"{tool}: apt-get install abigail-tools"
        return row, None
    ref = measure(tool, cmd, runs, cwd=ctx.tmp, ok=bitmask_ok, warmup=False, rss="wrap")
    if after is not None:  # elfaudit's runs bracket the reference's: drift hits both
        elf = Stats(elf.label, [*elf.samples, *after().samples], elf.peak_rss)
        row.elfaudit = fmt_med_min(elf.median, elf.min)
        row.raw["elfaudit"] = elf.raw()
    row.reference = fmt_med_min(ref.median, ref.min)
    row.ratio = speed(elf.median, ref.median)
    row.status = verdict(ref.median >= target * elf.median)
    row.raw[tool] = ref.raw()
    row.raw["speedup"] = ref.median / elf.median
    rcs = sorted({s.rc for s in ref.samples})
    row.note = f"{tool} exit {'/'.join(map(str, rcs))}; elfaudit exit " + "/".join(
        str(rc) for rc in sorted({s.rc for s in elf.samples})
    )
    return row, ref


def group_compare(ctx: Context) -> list[Row]:
    old, new = ctx.inputs.pair()
    a, b = ctx.inputs.library(old), ctx.inputs.library(new)
    compare = [*ELFAUDIT, "compare", str(a), str(b)]
    half = ctx.runs(6, 2)
    elf = measure("elfaudit compare", compare, half, cwd=ctx.tmp, ok=bitmask_ok, rss="extra")
    title = f"compare libvirt.so.0 {old.upstream} {new.upstream} vs abidiff"
    row, ref = _abidiff_row(
        ctx,
        "compare",
        title,
        elf,
        "abidiff",
        ["abidiff", str(a), str(b)],
        ctx.runs(3, 1),
        TARGET_ABIDIFF_SPEEDUP,
        after=lambda: measure("elfaudit compare", compare, half, cwd=ctx.tmp, ok=bitmask_ok),
    )
    mem = Row(
        "compare",
        "peak RSS of the elfaudit compare process",
        elfaudit=fmt_rss(elf.peak_rss),
        reference=f"abidiff {fmt_rss(ref.peak_rss)}" if ref else "-",
        target=f"< {fmt_mb(TARGET_COMPARE_RSS)}",
        status="n/a" if elf.peak_rss is None else verdict(elf.peak_rss < TARGET_COMPARE_RSS),
        note=f"peak RSS via {rss_method()}",
        raw={
            "elfaudit_peak_rss_bytes": elf.peak_rss,
            "reference_peak_rss_bytes": ref and ref.peak_rss,
        },
    )
    return [row, mem]


def group_debs(ctx: Context) -> list[Row]:
    old, new = ctx.inputs.pair()
    cmd = [*ELFAUDIT, "compare", str(old.path), str(new.path)]
    # One untimed run with JSON output: how many libraries were paired?
    report = ctx.tmp / "debs-report.json"
    sample, first = run_once(
        [*cmd, "--format", "json"], cwd=ctx.tmp, env=bench_env(), stdout=report
    )
    if not bitmask_ok(sample.rc):
        raise BenchError(f"elfaudit compare of the .debs exited {sample.rc}: {first}")
    try:
        libraries = json.loads(report.read_text()).get("libraries", [])
    except (OSError, ValueError):
        libraries = []
    half = ctx.runs(6, 2)
    elf = measure("elfaudit compare .deb", cmd, half, cwd=ctx.tmp, ok=bitmask_ok, warmup=False)
    title = f"compare libvirt0 .debs {old.upstream} {new.upstream} vs abipkgdiff"
    row, _ = _abidiff_row(
        ctx,
        "debs",
        title,
        elf,
        "abipkgdiff",
        ["abipkgdiff", str(old.path), str(new.path)],
        ctx.runs(3, 1),
        TARGET_ABIPKGDIFF_SPEEDUP,
        after=lambda: measure("elfaudit compare .deb", cmd, half, cwd=ctx.tmp, ok=bitmask_ok),
    )
    row.note = f"{len(libraries)} libraries paired; {row.note}".rstrip("; ")
    row.raw["libraries"] = libraries
    return [row]


def group_graph(ctx: Context) -> list[Row]:
    from elfaudit.commands.graph import shipped_graph_path

    _, new = ctx.inputs.pair()
    lib = ctx.inputs.library(new)
    runs = ctx.runs(10, 3)
    env = bench_env()
    # A graph of the cached amd64 releases before NEW (one per upstream release).
    base = ctx.tmp / "graph-base.json"
    base.unlink(missing_ok=True)
    recorded: list[str] = []
    earlier = sorted(
        (d for d in ctx.inputs.debs() if d.arch == "amd64" and d.key < new.key),
        key=lambda d: (d.key, d.suite.endswith("backports")),
    )
    for deb in earlier:
        if deb.upstream in recorded:
            continue
        cmd = [
            *ELFAUDIT,
            "graph",
            "record",
            str(deb.path),
            "--release",
            deb.upstream,
            "--graph",
            str(base),
        ]
        sample, first = run_once(cmd, cwd=ctx.tmp, env=env)
        if sample.rc != 0:
            raise BenchError(f"graph record {deb.path.name} exited {sample.rc}: {first}")
        recorded.append(deb.upstream)
    rows = []

    shipped = Path(shipped_graph_path())
    check = [*ELFAUDIT, "graph", "check", str(lib), "--release", new.upstream]
    if shipped.is_file():
        where, note = "shipped graph", f"default graph {shipped.name}"
    else:
        check += ["--graph", str(base)]
        where = f"graph of {len(recorded)} cached releases"
        note = f"no shipped graph ({shipped.name} missing): used {', '.join(recorded)}"
    st = measure("elfaudit graph check", check, runs, cwd=ctx.tmp, ok=bitmask_ok)
    rows.append(
        Row(
            "graph",
            f"graph check libvirt.so.0 --release {new.upstream} ({where})",
            elfaudit=fmt_med_min(st.median, st.min),
            target=f"< {fmt_time(TARGET_GRAPH_S)}",
            status=verdict(st.median < TARGET_GRAPH_S),
            note=f"{note}; exit {st.samples[-1].rc}",
            raw={"elfaudit": st.raw()},
        )
    )

    work = ctx.tmp / "graph-work.json"

    def fresh_copy() -> None:
        if base.is_file():
            shutil.copyfile(base, work)
        else:
            work.unlink(missing_ok=True)

    record = [
        *ELFAUDIT,
        "graph",
        "record",
        str(lib),
        "--release",
        new.upstream,
        "--graph",
        str(work),
    ]
    st = measure("elfaudit graph record", record, runs, cwd=ctx.tmp, ok=zero_ok, prepare=fresh_copy)
    rows.append(
        Row(
            "graph",
            f"graph record libvirt.so.0 --release {new.upstream} --graph tmp.json",
            elfaudit=fmt_med_min(st.median, st.min),
            target=f"< {fmt_time(TARGET_GRAPH_S)}",
            status=verdict(st.median < TARGET_GRAPH_S),
            note=f"into a graph holding {', '.join(recorded) or 'nothing'}",
            raw={"elfaudit": st.raw(), "base_releases": recorded},
        )
    )
    return rows


def group_synthetic(ctx: Context) -> list[Row]:
    from synthetic_graph import synthetic_graph

    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.judge import graph_check
    from elfaudit.model.tags import release_key
    from elfaudit.readers.snapshot import dump_document

    # 201 releases; the newest head is the "new build", the other 200 are the graph.
    t0 = time.perf_counter()
    full = synthetic_graph(201)
    t_gen = time.perf_counter() - t0
    newest = max(full.heads(), key=release_key)
    libs = [abi for so in full.library_names() if (abi := full.library(newest, so)) is not None]
    full.remove_release(newest)
    releases, n_libs = len(full), len(full.library_names())
    path = ctx.tmp / "synthetic-graph.json"
    full.save(path)
    del full
    size = path.stat().st_size
    with path.open("rb") as fh:
        lines = sum(1 for _ in fh)
    snap = ctx.tmp / "synthetic-new-build.json"
    snap.write_text(json.dumps(dump_document(libs)))
    rows = [
        Row(
            "synthetic",
            f"synthetic graph: {releases} releases x {n_libs} libraries (file)",
            elfaudit=f"{size / 1024:.0f} KiB, {lines} lines",
            note=f"synthetic_graph(201) took {fmt_time(t_gen)}; new build = {newest}",
            raw={
                "bytes": size,
                "lines": lines,
                "releases": releases,
                "libraries": n_libs,
                "generate_s": t_gen,
                "new_release": newest,
            },
        )
    ]

    found: list[int] = []

    def load_and_check() -> None:
        g = ReleaseGraph.load(path)
        found.append(len(graph_check(g, libs, newest).findings))

    times = time_call(load_and_check, ctx.runs(5, 2))
    med, low = statistics.median(times), min(times)
    rows.append(
        Row(
            "synthetic",
            f"load + graph_check of {newest} (in-process)",
            elfaudit=fmt_med_min(med, low),
            target=f"< {fmt_time(TARGET_SYNTH_S)}",
            status=verdict(med < TARGET_SYNTH_S),
            note=f"{found[-1]} findings",
            raw={"times_s": times, "median_s": med, "min_s": low, "findings": found[-1]},
        )
    )

    gc.collect()
    tracemalloc.start()
    try:
        load_and_check()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows.append(
        Row(
            "synthetic",
            "peak memory of load + graph_check (tracemalloc)",
            elfaudit=fmt_mb(peak),
            target=f"< {fmt_mb(TARGET_SYNTH_MEM)}",
            status=verdict(peak < TARGET_SYNTH_MEM),
            raw={"peak_bytes": peak},
        )
    )

    rows.extend(_synthetic_1000(ctx))

    cmd = [*ELFAUDIT, "graph", "check", str(snap), "--graph", str(path), "--release", newest]
    st = measure(
        "elfaudit graph check (synthetic)",
        cmd,
        ctx.runs(5, 2),
        cwd=ctx.tmp,
        ok=bitmask_ok,
        rss="extra",
    )
    rows.append(
        Row(
            "synthetic",
            "graph check SNAPSHOT --graph FILE (process)",
            elfaudit=fmt_med_min(st.median, st.min),
            target=f"< {fmt_time(TARGET_SYNTH_S)}",
            status=verdict(st.median < TARGET_SYNTH_S),
            note=f"exit {st.samples[-1].rc}",
            raw={"elfaudit": st.raw()},
        )
    )
    rows.append(
        Row(
            "synthetic",
            "peak RSS of that graph check process",
            elfaudit=fmt_rss(st.peak_rss),
            target=f"< {fmt_mb(TARGET_SYNTH_MEM)}",
            status="n/a" if st.peak_rss is None else verdict(st.peak_rss < TARGET_SYNTH_MEM),
            note=f"peak RSS via {rss_method()}",
            raw={"peak_rss_bytes": st.peak_rss},
        )
    )
    return rows


def _synthetic_1000(ctx: Context) -> list[Row]:
    """``graph show``, ``graph check`` and ``graph record`` on 1,000 releases, in-process,
    each including the load of the file (they were quadratic or close to it: issue 11)."""
    import shutil

    from synthetic_graph import synthetic_graph

    from elfaudit.commands.graph import graph_show_table, record_release
    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.judge import graph_check
    from elfaudit.model.tags import release_key
    from elfaudit.readers.snapshot import dump_document

    full = synthetic_graph(1001)
    newest = max(full.heads(), key=release_key)
    libs = [abi for so in full.library_names() if (abi := full.library(newest, so)) is not None]
    full.remove_release(newest)
    path = ctx.tmp / "synthetic-1000.json"
    full.save(path)
    del full
    snap = ctx.tmp / "synthetic-1000-new.json"
    snap.write_text(json.dumps(dump_document(libs)))
    work = ctx.tmp / "synthetic-1000-work.json"

    def show() -> None:
        graph_show_table(str(path), profile=None)

    def check() -> None:
        graph_check(ReleaseGraph.load(path), libs, newest)

    def record() -> None:
        shutil.copyfile(path, work)
        record_release([str(snap)], release=newest, parents=None, graph_path=str(work))

    rows = []
    for what, fn in (("graph show", show), ("graph check", check), ("graph record", record)):
        times = time_call(fn, ctx.runs(5, 2))
        med, low = statistics.median(times), min(times)
        rows.append(
            Row(
                "synthetic",
                f"1,000 releases x 4 libraries: load + {what} (in-process)",
                elfaudit=fmt_med_min(med, low),
                target=f"< {fmt_time(TARGET_SYNTH_S)}",
                status=verdict(med < TARGET_SYNTH_S),
                raw={"times_s": times, "median_s": med, "min_s": low},
            )
        )
    return rows


def cli_has(command: str) -> bool:
    done = subprocess.run(
        [*ELFAUDIT, command, "--help"],
        cwd=REPO,
        env=bench_env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    return done.returncode == 0


def group_scan(ctx: Context) -> list[Row]:
    if not cli_has("scan"):
        raise Skip("`elfaudit scan` is not in the CLI yet")
    debs = ctx.inputs.scan_debs(SCAN_PACKAGES)
    if len(debs) < 2:
        raise Skip(f"only {len(debs)} libvirt0 packages in the cache")
    folder = ctx.tmp / "scan"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for deb in debs:  # real files, not symlinks: a scanner may rightly skip links
        shutil.copyfile(deb.path, folder / deb.path.name)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    st = measure(
        "elfaudit scan",
        [*ELFAUDIT, "scan", str(folder)],
        ctx.runs(3, 1),
        cwd=ctx.tmp,
        ok=bitmask_ok,
        warmup=False,
        rss="wrap",
    )
    ratio = st.cpu_median / st.median
    row = Row(
        "scan",
        f"scan DIR ({len(debs)} packages): wall, CPU (user+sys)",
        elfaudit=fmt_med_min(st.median, st.min),
        reference=f"cpu {fmt_time(st.cpu_median)}",
        ratio=f"cpu/wall {ratio:.2f}",
        target=f"cpu/wall > {TARGET_SCAN_CPU_WALL}",
        note=f"{cores} cores; peak RSS {fmt_rss(st.peak_rss)}; exit {st.samples[-1].rc}",
        raw={"elfaudit": st.raw(), "packages": [d.path.name for d in debs], "cores": cores},
    )
    if (cores or 1) < 2:
        row.status = "n/a"
        row.note += " (one core: no parallelism to show)"
    else:
        row.status = verdict(ratio > TARGET_SCAN_CPU_WALL)
    if len(debs) < SCAN_PACKAGES:
        row.note += f"; only {len(debs)} packages available"
    one = measure(
        "elfaudit scan -j 1",
        [*ELFAUDIT, "scan", "-j", "1", str(folder)],
        ctx.runs(2, 1),
        cwd=ctx.tmp,
        ok=bitmask_ok,
        warmup=False,
    )
    serial = Row(
        "scan",
        f"scan DIR ({len(debs)} packages) vs scan -j 1 DIR",
        elfaudit=fmt_med_min(st.median, st.min),
        reference=fmt_med_min(one.median, one.min),
        ratio=speed(st.median, one.median),
        note=f"-j 1: cpu {fmt_time(one.cpu_median)}",
        raw={"elfaudit": st.raw(), "serial": one.raw()},
    )
    return [row, serial]


def imported_modules(ctx: Context, args: Sequence[str]) -> list[str]:
    """Top-level packages ``elfaudit ARGS`` imports (from ``python -X importtime``)."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "elfaudit", *args],
        cwd=ctx.tmp,
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not bitmask_ok(done.returncode):
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise BenchError(f"elfaudit {' '.join(args[:1])} exited {done.returncode}: {last}")
    mods = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") >= 2:
            mods.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return sorted(mods)


def group_startup(ctx: Context) -> list[Row]:
    runs = ctx.runs(10, 3)
    base = measure("python -c pass", [PYTHON, "-c", "pass"], runs, cwd=ctx.tmp)
    rows = []
    if sys.executable != PYTHON:
        own = measure("python -c pass", [sys.executable, "-c", "pass"], runs, cwd=ctx.tmp)
        rows.append(
            Row(
                "startup",
                "python -c pass: the bench's own interpreter vs elfaudit's (--python)",
                elfaudit=fmt_med_min(base.median, base.min),
                reference=fmt_med_min(own.median, own.min),
                ratio=speed(base.median, own.median),
                note=(
                    f"{sys.executable} starts {fmt_time(own.median - base.median)} slower: "
                    "its site-packages .pth hooks; with --python self every elfaudit "
                    "process pays that too"
                ),
                raw={"elfaudit_python": base.raw(), "bench_python": own.raw()},
            )
        )
    for title, cmd in (
        ("elfaudit --version", [*ELFAUDIT, "--version"]),
        ('python -c "import elfaudit.cli"', [PYTHON, "-c", "import elfaudit.cli"]),
    ):
        st = measure(title, cmd, runs, cwd=ctx.tmp)
        rows.append(
            Row(
                "startup",
                f"{title} vs python -c pass",
                elfaudit=fmt_med_min(st.median, st.min),
                reference=fmt_med_min(base.median, base.min),
                ratio=speed(st.median, base.median),
                note=f"{fmt_time(st.median - base.median)} above a bare interpreter",
                raw={"elfaudit": st.raw(), "python": base.raw()},
            )
        )
    try:
        lib, where = ctx.inputs.library(ctx.inputs.pair()[1]), "libvirt.so.0"
    except Skip:
        sys_lib = system_library()
        if sys_lib is None:
            raise Skip("no library to dump for the import check") from None
        lib, where = sys_lib, f"{sys_lib.name} (libvirt not cached)"
    for fmt, allowed in (("json", ()), ("text", ("tabulate",))):
        mods = imported_modules(ctx, ["dump", "--format", fmt, str(lib)])
        heavy = [m for m in HEAVY_MODULES if m in mods]
        bad = [m for m in heavy if m not in allowed]
        banned = [m for m in HEAVY_MODULES if m not in allowed]
        rows.append(
            Row(
                "startup",
                f"heavy imports of `dump --format {fmt}` {where}",
                elfaudit=", ".join(heavy) or "none",
                target=f"no {', '.join(banned)}",
                status=verdict(not bad),
                note=f"{len(mods)} top-level packages imported",
                exact=True,
                raw={"heavy": heavy, "modules": mods},
            )
        )
    return rows


_SCHEMA_PROBE = """
import json, sys, time
from elfaudit.readers.release_files import read_release
from elfaudit.readers.relaxng import read_schemas
files = read_release(sys.argv[1]).files.under("usr/share/libvirt/schemas/")
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    models = read_schemas(files)
    times.append(time.perf_counter() - t0)
paths = sum(len(m.elements) for m in models.values())
print(json.dumps({"times": times, "schemas": len(models), "paths": paths}))
"""


def _schema_model_row(ctx: Context, suite: str, directory: Path) -> Row:
    """``read_schemas`` of one release's ``*.rng`` files, in a fresh interpreter."""
    result, med, low = in_fresh_interpreter(_SCHEMA_PROBE, str(directory), str(ctx.runs(5, 2)))
    times = result["times"]
    return Row(
        "guarantees",
        f"schema model of {suite}'s {result['schemas']} RELAX NG schemas (in-process)",
        elfaudit=fmt_med_min(med, low),
        target=f"< {fmt_time(TARGET_SCHEMA_MODEL_S)}",
        status=verdict(med < TARGET_SCHEMA_MODEL_S),
        note=f"{result['paths']} element paths",
        raw={"times_s": times, "median_s": med, "min_s": low},
    )


def group_guarantees(ctx: Context) -> list[Row]:
    """``elfaudit guarantees`` on bookworm's and sid's whole package sets (``--set full``)."""
    dirs = []
    for suite in GUARANTEES_SUITES:
        d = ctx.inputs.cache / "debs" / suite / "amd64"
        if not list(d.glob("libvirt-daemon-system_*.deb")):
            ctx.inputs.fetch("--set", "full", "--suite", suite, "--arch", "amd64")
        if not list(d.glob("libvirt-daemon-system_*.deb")):
            raise Skip(f"no full package set of {suite} in {d}")
        dirs.append(d)
    debs = [sorted(d.glob("*.deb")) for d in dirs]
    size = sum(f.stat().st_size for fs in debs for f in fs)
    cmd = [*ELFAUDIT, "guarantees", str(dirs[0]), str(dirs[1]), "--format", "json"]
    st = measure(
        "elfaudit guarantees", cmd, ctx.runs(5, 2), cwd=ctx.tmp, ok=bitmask_ok, rss="extra"
    )
    counts = " + ".join(str(len(fs)) for fs in debs)
    # The newer set against the shipped graph: every section against every ancestor.
    gcmd = [*ELFAUDIT, "graph", "check", str(dirs[1]), "--format", "json"]
    gst = measure(
        "elfaudit graph check DIR", gcmd, ctx.runs(5, 2), cwd=ctx.tmp, ok=bitmask_ok, rss="extra"
    )
    return [
        Row(
            "guarantees",
            f"guarantees {' -> '.join(GUARANTEES_SUITES)}: whole package sets "
            f"({counts} .debs, {fmt_mb(size)}), every section",
            elfaudit=fmt_med_min(st.median, st.min),
            target=f"< {fmt_time(TARGET_GUARANTEES_S)}",
            status=verdict(st.median < TARGET_GUARANTEES_S),
            note=f"peak RSS {fmt_rss(st.peak_rss)}; exit {st.samples[-1].rc}",
            raw={"elfaudit": st.raw(), "debs": counts, "bytes": size},
        ),
        Row(
            "guarantees",
            f"graph check {GUARANTEES_SUITES[1]}'s whole package set ({len(debs[1])} .debs) "
            "vs the shipped graph: every section, every ancestor",
            elfaudit=fmt_med_min(gst.median, gst.min),
            target=f"< {fmt_time(TARGET_GRAPH_SET_S)}",
            status=verdict(gst.median < TARGET_GRAPH_SET_S),
            note=f"peak RSS {fmt_rss(gst.peak_rss)}; exit {gst.samples[-1].rc}",
            raw={"elfaudit": gst.raw()},
        ),
        *(_schema_model_row(ctx, s, d) for s, d in zip(GUARANTEES_SUITES, dirs, strict=True)),
    ]


RUNNERS: dict[str, Callable[[Context], list[Row]]] = {
    "read": group_read,
    "dump": group_dump,
    "compare": group_compare,
    "debs": group_debs,
    "graph": group_graph,
    "synthetic": group_synthetic,
    "scan": group_scan,
    "guarantees": group_guarantees,
    "startup": group_startup,
}


# --------------------------------------------------------------------------- output


HEADER = ("measurement", "elfaudit", "reference tool", "ratio", "target", "result")


def table(rows: Sequence[Row]) -> str:
    cells = [HEADER] + [
        (r.measurement, r.elfaudit, r.reference, r.ratio, r.target, r.status) for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(rows: Sequence[Row]) -> list[str]:
    return [f"- {r.measurement}: {r.note}" for r in rows if r.note]


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    if keep:
        yield Path(tempfile.mkdtemp(prefix="elfaudit-bench-"))
    else:
        with tempfile.TemporaryDirectory(prefix="elfaudit-bench-") as d:
            yield Path(d)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench.py",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="groups: " + ", ".join(GROUPS),
    )
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="GROUP[,GROUP]",
        help="run only these groups (repeatable, comma-separated)",
    )
    p.add_argument("--skip-abidiff", action="store_true", help="do not run abidiff/abipkgdiff")
    p.add_argument("--json", type=Path, metavar="FILE", help="save the raw numbers here")
    p.add_argument("--no-fetch", action="store_true", help="never run the fetch script")
    p.add_argument(
        "--cache",
        type=Path,
        help="fetch cache (default: $ELFAUDIT_CACHE, else <repo>/.cache/debian)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a row is FAIL or ERROR (an import check's FAIL always exits 1)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument(
        "--python",
        default="venv",
        metavar="venv|self|PATH",
        help=(
            "interpreter that runs elfaudit: 'venv' (default) an isolated virtual "
            "environment with setup.cfg's install_requires, made once under "
            "<repo>/.cache/bench-venv; 'self' this script's interpreter; or a path to one "
            "that has the dependencies"
        ),
    )
    args = p.parse_args(argv)
    only = [g.strip() for item in args.only for g in item.split(",") if g.strip()]
    unknown = sorted(set(only) - set(GROUPS))
    if unknown:
        p.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    args.groups = [g for g in GROUPS if g in only] if only else list(GROUPS)
    if args.cache is None:
        env = os.environ.get("ELFAUDIT_CACHE")
        args.cache = Path(env) if env else REPO / ".cache" / "debian"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def log(msg: str) -> None:
        print(f"bench: {msg}", file=sys.stderr, flush=True)

    if args.python == "self":
        use_python(sys.executable)
    elif args.python == "venv":
        try:
            use_python(isolated_python(REPO / ".cache" / "bench-venv", log), installed=True)
        except (OSError, subprocess.SubprocessError) as exc:
            log(f"cannot make the isolated venv ({exc}); elfaudit runs in {sys.executable}")
            use_python(sys.executable)
    else:
        use_python(args.python)
    meta: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_before": list(os.getloadavg()),
        "quick": args.quick,
        "groups": args.groups,
        "tools": {t: tool_version(t) for t in ("nm", "readelf", "abidiff", "abipkgdiff")},
        "elfaudit": " ".join(ELFAUDIT) + ("" if INSTALLED else f" (PYTHONPATH={REPO})"),
    }
    rows: list[Row] = []
    skipped: list[str] = []
    with workdir(args.keep) as tmp:
        inputs = Inputs(args.cache.resolve(), tmp, allow_fetch=not args.no_fetch, log=log)
        ctx = Context(inputs, tmp, args.quick, args.skip_abidiff, log, meta)
        for group in args.groups:
            log(f"running {group}")
            t0 = time.perf_counter()
            try:
                got = RUNNERS[group](ctx)
            except Skip as exc:
                skipped.append(f"{group}: {exc}")
                got = [Row(group, f"[{group}]", status="SKIP", note=str(exc))]
            except KeyboardInterrupt:
                log("interrupted; partial results follow")
                break
            except Exception as exc:  # report it, keep going
                msg = str(exc).splitlines()[0] if str(exc) else ""
                got = [
                    Row(group, f"[{group}]", status="ERROR", note=f"{type(exc).__name__}: {msg}")
                ]
            rows.extend(got)
            log(f"{group} done in {fmt_time(time.perf_counter() - t0)}")
        if inputs.chosen is not None:
            old, new = inputs.chosen
            meta["inputs"] = {"old": str(old.path), "new": str(new.path)}
        if args.keep:
            log(f"kept {tmp}")
    meta["loadavg_after"] = list(os.getloadavg())

    print(
        f"elfaudit benchmark ({'quick' if args.quick else 'full'}): python {meta['python']}, "
        f"{meta['cores']} cores, load {meta['loadavg_before'][0]:.2f} before / "
        f"{meta['loadavg_after'][0]:.2f} after"
    )
    print(f"elfaudit runs as {meta['elfaudit']}")
    if "inputs" in meta:
        print(f"OLD = {meta['inputs']['old']}\nNEW = {meta['inputs']['new']}")
    print()
    print(table(rows))
    if notes(rows):
        print("\nnotes:")
        print("\n".join(notes(rows)))
    if skipped:
        print("\nskipped:")
        print("\n".join(f"- {s}" for s in skipped))
    if args.json:
        doc = {"meta": meta, "rows": [asdict(r) for r in rows], "skipped": skipped}
        try:
            args.json.write_text(json.dumps(doc, indent=2) + "\n")
        except OSError as exc:
            log(f"cannot write {args.json}: {exc.strerror or exc}")
            return 1
    failed = [r for r in rows if r.status in ("FAIL", "ERROR")]
    exact_failed = [r for r in failed if r.exact and r.status == "FAIL"]
    for r in exact_failed:
        log(f"FAIL (exits 1 even without --strict): {r.measurement}: {r.elfaudit}")
    return 1 if exact_failed or (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())

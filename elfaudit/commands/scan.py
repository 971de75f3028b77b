"""``scan``: audit many libraries or packages at once, in parallel, in a stable order.

Each input (an ELF file, a snapshot, a .deb/.rpm, or a directory expanded into those) is audited
on its own by ``audit_one(path) -> ScanItem``, in a pool of worker processes (all cores by
default). Results come back in input order whatever the order the workers finish in, so two
runs give the same report. An input that cannot be read becomes a
:class:`~elfaudit.model.report.Problem`
of its item, never a crash of the scan; a worker that dies takes only its own inputs down.

The default per-input audit, :func:`audit_path`, reads the input's libraries and runs
:func:`self_check` on each: the checks that need no version script or earlier release.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from elfaudit.analysis.self_check import self_check
from elfaudit.base.errors import ElfauditError, NoLibrariesError, one_line
from elfaudit.commands.waiving import WaiverOptions, apply_waivers
from elfaudit.model.report import Finding, Problem, Report
from elfaudit.policy.profiles import profile_for
from elfaudit.policy.weigh import weigh
from elfaudit.readers.inputs import PACKAGE_SUFFIXES


@dataclass(frozen=True, slots=True)
class ScanItem:
    """The outcome for one input."""

    path: str
    libraries: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    problems: tuple[Problem, ...] = ()
    worker: int | None = None  # pid of the process that audited it (set by scan)


@dataclass(frozen=True, slots=True)
class ScanResult:
    inputs: tuple[str, ...]  # after directory expansion, in order
    items: tuple[ScanItem, ...]  # one per input, same order
    jobs: int  # worker processes used (1: ran in this process)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for item in self.items for f in item.findings)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(p for item in self.items for p in item.problems)

    @property
    def workers(self) -> frozenset[int]:
        return frozenset(i.worker for i in self.items if i.worker is not None)

    def report(self, command: str = "scan") -> Report:
        libs = tuple(lib for item in self.items for lib in item.libraries)
        return Report(command, libs, self.findings, (), self.problems)


def audit_path(path: str) -> ScanItem:
    """Default ``audit_one``: read every library ``path`` stands for and self-check each."""
    from elfaudit.readers.inputs import load_libraries

    try:
        libs = load_libraries(path)
    except NoLibrariesError:
        return ScanItem(path)  # e.g. a -dev or -doc package in a folder of packages
    # A scan sees the same SONAME in many packages: name each library with its input.
    where = os.path.basename(os.path.normpath(path))
    findings: list[Finding] = []
    labels: list[str] = []
    for abi in libs:
        label = (
            abi.name
            if len(libs) == 1 and where == os.path.basename(abi.path)
            else (f"{abi.name} ({where})")
        )
        labels.append(label)
        prof = profile_for(abi.soname)
        weighed = weigh(self_check(abi, prof), prof)
        findings.extend(replace(f, library=label) for f in weighed)
    return ScanItem(path, tuple(labels), tuple(findings))


# --------------------------------------------------------------------------- inputs


def _is_elf(path: str) -> bool:
    from elfaudit.readers import ELF_MAGIC

    try:
        with open(path, "rb") as fh:
            return fh.read(len(ELF_MAGIC)) == ELF_MAGIC
    except OSError:
        return False


def _looks_like_library(name: str) -> bool:
    from elfaudit.readers.packages import is_library_name

    return is_library_name(name)


def _walk(root: str) -> Iterator[str]:
    """Every file under ``root``, sorted, without following directory symlinks."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for f in sorted(filenames):
            yield os.path.join(dirpath, f)


def expand_inputs(paths: Sequence[str]) -> list[str]:
    """Replace each directory by the inputs it holds.

    A directory containing ``.deb``/``.rpm`` files (at any depth) stands for those packages;
    otherwise for every ELF shared library in its tree (``*.so``, ``*.so.N``...), each real
    file once (a symlink and its target count once, under the first name in sorted order).
    Other paths are kept as given, so that unreadable ones are reported, not dropped.
    """
    out: list[str] = []
    for p in paths:
        if not os.path.isdir(p):
            out.append(p)
            continue
        files = list(_walk(p))
        packages = [f for f in files if f.endswith(PACKAGE_SUFFIXES) and os.path.isfile(f)]
        if packages:
            out.extend(packages)
            continue
        seen: set[str] = set()
        for f in files:
            if not _looks_like_library(os.path.basename(f)) or not os.path.isfile(f):
                continue
            real = os.path.realpath(f)
            if real in seen or not _is_elf(f):
                continue
            seen.add(real)
            out.append(f)
    return out


# --------------------------------------------------------------------------- running


def _run_one(audit_one: Callable[[str], ScanItem], path: str) -> ScanItem:
    """Run one audit; failures become Problems (exceptions need not pickle back)."""
    pid = os.getpid()
    try:
        item: object = audit_one(path)
    except ElfauditError as exc:
        # The Problem names the input; keep only what the message adds to it.
        why = exc.message.removeprefix(f"{path}: ")
        return ScanItem(path, problems=(Problem(path, why),), worker=pid)
    except MemoryError:
        return ScanItem(path, problems=(Problem(path, "out of memory"),), worker=pid)
    except Exception as exc:  # an audit bug must not take the other inputs down
        why = f"internal error: {type(exc).__name__}: {one_line(exc)}"
        return ScanItem(path, problems=(Problem(path, why),), worker=pid)
    if not isinstance(item, ScanItem):
        why = f"internal error: audit returned {type(item).__name__}, not ScanItem"
        return ScanItem(path, problems=(Problem(path, why),), worker=pid)
    return replace(item, worker=pid)


def scan(
    paths: Sequence[str],
    *,
    jobs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    audit_one: Callable[[str], ScanItem] = audit_path,
) -> ScanResult:
    """Audit every input (directories expanded) with ``audit_one``, ``jobs`` at a time.

    ``jobs`` defaults to ``os.cpu_count()``; 1 runs everything in this process. ``audit_one``
    must be picklable (a module-level function) when ``jobs`` > 1. ``progress(done, total,
    path)`` is called in this process as each input finishes (completion order); the result
    is in input order.
    """
    inputs = expand_inputs(paths)
    total = len(inputs)
    want = jobs if jobs is not None else (os.cpu_count() or 1)
    if want < 1:
        raise ValueError("jobs must be at least 1")
    workers = max(1, min(want, total))
    results: list[ScanItem | None] = [None] * total
    done = 0

    def finished(i: int, item: ScanItem) -> None:
        nonlocal done
        results[i] = item
        done += 1
        if progress is not None:
            progress(done, total, inputs[i])

    if workers == 1:
        for i, p in enumerate(inputs):
            finished(i, _run_one(audit_one, p))
        return ScanResult(tuple(inputs), tuple(r for r in results if r is not None), 1)

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures: dict[Future[ScanItem], int] = {
            pool.submit(_run_one, audit_one, p): i for i, p in enumerate(inputs)
        }
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                item = fut.result()
            except BrokenProcessPool:
                item = ScanItem(
                    inputs[i],
                    problems=(Problem(inputs[i], "the worker auditing this input died"),),
                )
            except Exception as exc:  # e.g. audit_one could not be pickled
                why = f"internal error: {type(exc).__name__}: {one_line(exc)}"
                item = ScanItem(inputs[i], problems=(Problem(inputs[i], why),))
            finished(i, item)
    return ScanResult(tuple(inputs), tuple(r for r in results if r is not None), workers)


def run_scan(
    paths: Sequence[str],
    *,
    jobs: int | None,
    progress: Callable[[int, int, str], None] | None = None,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    # A folder holding nothing to audit is a problem, not a clean scan (a wrong path in CI
    # must not pass): expand each argument here, then scan the expanded inputs.
    expanded: list[str] = []
    empty: list[Problem] = []
    for p in paths:
        got = expand_inputs([p])
        if not got:
            empty.append(Problem(p, "no shared libraries or packages found in this directory"))
        expanded.extend(got)
    result = scan(expanded, jobs=jobs, progress=progress)
    report = result.report("scan")
    profiles = [profile_for(name) for name in sorted(set(report.libraries))]
    # Weighed per library in audit_path (by SONAME, before naming it with its input).
    applied, stale = apply_waivers(list(report.findings), profiles, waivers)
    problems = tuple(empty) + report.problems
    return Report(
        "scan",
        report.libraries,
        applied,
        problems=problems,
        unused_waivers=stale,
        # Not the worker count: the report must not depend on --jobs or on the machine.
        extra={"inputs": len(result.inputs)},
    )

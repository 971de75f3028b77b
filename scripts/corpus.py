#!/usr/bin/env python3
"""A real-world corpus, side by side: elfaudit and abidiff against a binutils ground truth.

    python scripts/corpus.py [--cache DIR] [--suite SUITE]... [--family NAME]... [--jobs N]
                             [--refresh] [--fetch-only] [--no-runtime] [--json FILE]
                             [--markdown]

1. Fetches, for every library family of ``data/corpus.json`` and every suite, the first
   of the family's candidate binary packages the suite carries (names change per suite:
   ``libssl3`` -> ``libssl3t64``), with scripts/fetch_debian.py's private apt setup (its
   functions, imported): one cache per suite under ``<cache>/<suite>/`` (default
   ``<repo>/.cache/corpus``), so two suites can be fetched at once.
2. Pairs consecutive suites per family, and the libraries of the two packages by SONAME
   (a SONAME the new package no longer ships is paired with the new one of the same stem,
   ``libssl.so.1.1`` -> ``libssl.so.3``, as a ``soname-change``). For each pair the ground
   truth comes from ``nm -D --defined-only --with-symbol-versions`` and ``readelf -W
   --dyn-syms -V -d`` only (:func:`ground_truth`): the pair *breaks* old programs iff a
   symbol@version a program linked against OLD could be bound to (``@@`` defaults, ``@``
   compat symbols, unversioned exports) is not defined by NEW under that name and version
   (nor, NEW still defining the version, by a library of NEW's package that NEW loads),
   an OBJECT/TLS symbol changed size (copy relocations), or a symbol changed kind between
   code (FUNC, IFUNC) and data (OBJECT) or TLS. Removed empty version nodes are no break;
   a SONAME change is its own category (a new library, not a break of the old one).
   A runtime check confirms the truth where it can (:func:`runtime_check`): a C program
   taking the address of every default-versioned function and object of OLD, linked
   against OLD, run with NEW first on ``LD_LIBRARY_PATH``, ``LD_BIND_NOW=1``, and the
   NEW suite's own ld.so and libraries (so a newer glibc requirement of NEW is met).
   glibc's libraries need their own ld.so and libc, so that family is not run.
3. Runs ``elfaudit compare OLD.deb NEW.deb --format json`` (this checkout, per package
   pair; a library's verdict is INCOMPATIBLE when it has an unwaived error finding) and
   ``abidiff --no-show-locs OLD.so NEW.so`` per library pair (abipkgdiff compares whole
   packages only; without debug info both compare ELF symbols; bit 8 = incompatible).
   Each tool's verdict is scored against the truth: agreement, false alarm (incompatible,
   truth compatible) or miss (compatible, truth breaks). SONAME changes are not scored.

Prints one line per pair and a table of totals; ``--json FILE`` writes the raw data,
``--markdown`` prints the table as Markdown (for README.md). Exit status 0, or 1 when the
corpus could not be fetched.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fetch_debian

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus.json"
DEFAULT_CACHE = REPO / ".cache" / "corpus"
PROG = "corpus"
TOOL_TIMEOUT = 900  # seconds for one elfaudit or abidiff run
RUN_TIMEOUT = 60  # seconds for one runtime check program

CODE, DATA, TLS = "code", "data", "tls"
KINDS = {"FUNC": CODE, "IFUNC": CODE, "GNU_IFUNC": CODE, "OBJECT": DATA, "COMMON": DATA}
KINDS["TLS"] = TLS

BREAKS, COMPATIBLE, SONAME_CHANGE = "breaks", "compatible", "soname-change"
AGREE, FALSE_ALARM, MISS, UNSCORED = "agreement", "false alarm", "miss", "unscored"
FAILED = "could not audit"
INCOMPATIBLE, OK, ERROR = "incompatible", "compatible", "error"


def note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# --- binutils: the ground truth's only source -----------------------------------------


def _run(*cmd: str | Path) -> str:
    done = subprocess.run(
        [str(c) for c in cmd],
        check=True,
        capture_output=True,
        text=True,
        errors="replace",
        env=dict(os.environ, LC_ALL="C"),
    )
    return done.stdout


@dataclass(frozen=True)
class Sym:
    name: str
    version: str | None  # None: unversioned
    default: bool  # @@ (or unversioned) rather than a hidden @ compat symbol
    type: str  # readelf's: FUNC, IFUNC, OBJECT, TLS, NOTYPE...
    size: int

    @property
    def label(self) -> str:
        if self.version is None:
            return self.name
        return f"{self.name}{'@@' if self.default else '@'}{self.version}"


@dataclass
class LibView:
    """What binutils say one shared library exports."""

    path: Path
    soname: str | None
    nodes: list[str]  # version definitions, the BASE entry excluded
    needed: list[str] = field(default_factory=list)  # DT_NEEDED
    symbols: dict[tuple[str, str | None], Sym] = field(default_factory=dict)

    @property
    def versioned(self) -> bool:
        return bool(self.nodes)


_DYNSYM_RE = re.compile(
    r"^\s*\d+:\s+(?P<value>[0-9a-f]+)\s+(?P<size>\S+)\s+(?P<type>\S+)\s+(?P<bind>\S+)\s+"
    r"(?P<vis>\S+)\s+(?P<ndx>\S+)\s*(?P<name>.*)$"
)


def _split_label(raw: str) -> tuple[str, str | None, bool]:
    if "@@" in raw:
        name, version = raw.split("@@", 1)
        return name, version, True
    if "@" in raw:
        name, version = raw.split("@", 1)
        return name, version, False
    return raw, None, True


def read_view(path: Path) -> LibView:
    """SONAME, version nodes and defined dynamic symbols, per readelf and nm."""
    soname = None
    needed: list[str] = []
    for line in _run("readelf", "-d", "-W", path).splitlines():
        m = re.search(r"\((SONAME|NEEDED)\)\s+\S+ \S+: \[(.*)\]$", line)
        if m and m[1] == "NEEDED":
            needed.append(m[2])
        elif m and soname is None:
            soname = m[2]
    nodes: list[str] = []
    section = ""
    for line in _run("readelf", "-V", "-W", path).splitlines():
        if line.startswith("Version definition section"):
            section = "d"
        elif line.startswith("Version"):
            section = ""
        elif (
            section == "d"
            and (m := re.search(r"Flags: (.*?)\s+Index: \d+.*Name: (\S+)$", line))
            and "BASE" not in m[1]
        ):
            nodes.append(m[2])
    node_set = set(nodes)
    # readelf: type, size, section index of each versioned name
    detail: dict[tuple[str, str | None], tuple[str, int]] = {}
    markers: set[str] = set()
    for line in _run("readelf", "--dyn-syms", "-W", path).splitlines():
        m = _DYNSYM_RE.match(line)
        if m is None or m["bind"] == "LOCAL" or m["ndx"] == "UND":
            continue
        raw = re.sub(r" \(\d+\)$", "", m["name"])
        name, version, _ = _split_label(raw)
        if m["ndx"] == "ABS" and name in node_set and version in (None, name):
            markers.add(name)  # a version node's marker symbol, not an export
            continue
        size = int(m["size"], 16) if m["size"].startswith("0x") else int(m["size"])
        detail[(name, version)] = (m["type"], size)
    view = LibView(path, soname, nodes, needed)
    # nm: the defined set (global, weak, unique; lowercase letters are local)
    out = _run("nm", "-D", "--with-symbol-versions", "--defined-only", path)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] in "tdbrsgn":
            continue
        name, version, default = _split_label(parts[2])
        if name in markers and version in (None, name):
            continue
        kind, size = detail.get((name, version), ("NOTYPE", 0))
        view.symbols[(name, version)] = Sym(name, version, default, kind, size)
    return view


@dataclass
class Truth:
    category: str  # breaks, compatible, soname-change
    reasons: list[str]  # one line per breaking symbol (sorted), empty when compatible
    private_only: bool = False  # every break is in a node named *PRIVATE* or *INTERNAL*

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "reasons": self.reasons,
            "private_only": self.private_only,
        }


def _private(version: str | None) -> bool:
    return version is not None and ("PRIVATE" in version or "INTERNAL" in version)


def needed_closure(lib: LibView, package: dict[str, LibView]) -> list[LibView]:
    """The libraries of ``package`` that loading ``lib`` loads too (DT_NEEDED, transitively)."""
    seen: dict[str, LibView] = {}
    todo = list(lib.needed)
    while todo:
        name = todo.pop(0)
        dep = package.get(name)
        if dep is None or name in seen or name == lib.soname:
            continue
        seen[name] = dep
        todo.extend(dep.needed)
    return list(seen.values())


#: Libraries in every process's global scope: the dynamic linker, and libc.so.6, which
#: every program built against a glibc library links too.
ALWAYS_LOADED = re.compile(r"^(libc\.so\.6|ld-linux[-.\w]*\.so\.\d+|ld64\.so\.\d+)$")


def providers_of(lib: LibView, package: dict[str, LibView]) -> list[LibView]:
    """Where ld.so can find a symbol that left ``lib``: what loading it loads, plus the
    always-loaded libraries of the same package (glibc 2.34 moved malloc and friends from
    ld.so, and libpthread's symbols, into libc.so.6)."""
    out = needed_closure(lib, package)
    have = {p.soname for p in out}
    out += [
        p for name, p in sorted(package.items())
        if ALWAYS_LOADED.match(name) and name not in have and name != lib.soname
    ]  # fmt: skip
    return out


def _lookup(lib: LibView, name: str, version: str | None) -> Sym | None:
    if version is not None:
        return lib.symbols.get((name, version))
    # an unversioned reference binds to any non-hidden definition of the name
    hits = [s for s in lib.symbols.values() if s.name == name and s.default]
    return next((s for s in hits if s.version is None), hits[0] if hits else None)


def ground_truth(old: LibView, new: LibView, providers: Sequence[LibView] = ()) -> Truth:
    """Does NEW break programs linked against OLD? (binutils' view only.)

    ``providers`` are libraries loaded whenever NEW is (:func:`providers_of`: its DT_NEEDED
    closure in the same package, and the always-loaded libc.so.6 and dynamic linker): ld.so
    looks a symbol up in every loaded object, so one that moved there (glibc 2.34 moved
    libpthread's into libc.so.6) still binds, provided NEW still defines its version.
    """
    reasons: list[tuple[str, bool]] = []
    for (name, version), sym in sorted(old.symbols.items(), key=lambda kv: kv[1].label):
        got = _lookup(new, name, version)
        if got is None and (version is None or version in new.nodes):
            got = next((s for p in providers if (s := _lookup(p, name, version)) is not None), None)
        if got is None:
            what = "version not found" if version not in new.nodes and version else "removed"
            reasons.append((f"{sym.label}: {what}", _private(version)))
            continue
        old_kind, new_kind = KINDS.get(sym.type), KINDS.get(got.type)
        if old_kind and new_kind and old_kind != new_kind:
            reasons.append((f"{sym.label}: {sym.type} became {got.type}", _private(version)))
        elif old_kind in (DATA, TLS) and new_kind == old_kind and got.size != sym.size:
            reasons.append(
                (f"{sym.label}: {sym.type} size {sym.size} -> {got.size}", _private(version))
            )
    lines = [r for r, _ in reasons]
    if old.soname != new.soname:
        return Truth(SONAME_CHANGE, lines)
    if reasons:
        return Truth(BREAKS, lines, all(p for _, p in reasons))
    return Truth(COMPATIBLE, [])


# --- the runtime check -------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$")


def program_source(old: LibView) -> str:
    """C source taking the address of every default-versioned function and object of OLD."""
    decls: list[str] = []
    refs: list[str] = []
    in_code: list[str] = []  # TLS, and data (copy relocations): referenced by main's code
    for i, sym in enumerate(sorted(old.symbols.values(), key=lambda s: s.label)):
        kind = KINDS.get(sym.type)
        if not sym.default or kind is None or not _IDENT.match(sym.name):
            continue
        if kind == CODE:
            decls.append(f'extern void f{i}(void) __asm__("{sym.name}");')
            refs.append(f"(void *)&f{i}")
        elif kind == DATA:
            # read from code: a copy relocation, whose size ld.so checks against NEW's
            decls.append(f'extern char o{i}[] __asm__("{sym.name}");')
            in_code.append(f"o{i}")
        else:
            decls.append(f'extern __thread char t{i}[] __asm__("{sym.name}");')
            in_code.append(f"t{i}")
    body = "\n".join(decls)
    table = ",\n    ".join(refs) or "0"
    code = "\n".join(f"    sink = (void *){t};" for t in in_code)
    return (
        "/* Generated by scripts/corpus.py: one reference per exported symbol. */\n"
        f"{body}\n"
        f"void *volatile refs[] = {{\n    {table}\n}};\n"
        "void *volatile sink;\n"
        "int main(void) {\n"
        f"{code}\n"
        "    return refs[0] == (void *)1;\n"
        "}\n"
    )


@dataclass
class Runtime:
    result: str  # loads, fails, inconclusive, skipped
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"result": self.result, "detail": self.detail}


def runtime_check(
    old: LibView,
    new: LibView,
    search: Sequence[Path] = (),
    loader: Path | None = None,
    work: Path | None = None,
) -> Runtime:
    """Link a program against OLD, run it against NEW: does it load?

    ``search`` is put after NEW's folder on ``LD_LIBRARY_PATH`` (NEW's own dependencies);
    ``loader`` runs the program under another ld.so (that of NEW's suite).
    """
    if shutil.which("gcc") is None:
        return Runtime("skipped", "gcc is not installed")
    if old.soname is None or new.soname is None:
        return Runtime("skipped", "no SONAME")
    with tempfile.TemporaryDirectory(prefix="corpus-run-", dir=work) as tmp:
        d = Path(tmp)
        (d / "old").mkdir()
        (d / "new").mkdir()
        (d / "old" / old.soname).symlink_to(old.path.resolve())
        (d / "new" / new.soname).symlink_to(new.path.resolve())
        (d / "prog.c").write_text(program_source(old))
        prog = d / "prog"
        link = subprocess.run(
            [
                *("gcc", "-O0", "-w", "-o", str(prog), str(d / "prog.c"), "-L", str(d / "old")),
                *("-Wl,--no-as-needed", f"-l:{old.soname}", "-Wl,--allow-shlib-undefined"),
            ],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        if link.returncode != 0:
            why = (link.stderr.strip().splitlines() or ["?"])[-1]
            return Runtime("inconclusive", f"cannot link against OLD: {why}")
        path = os.pathsep.join([str(d / "new"), *map(str, search)])
        # LD_WARN: ld.so then also reports a copy-relocated object that shrank
        env = dict(os.environ, LD_LIBRARY_PATH=path, LD_BIND_NOW="1", LD_WARN="1", LC_ALL="C")
        cmd = [str(loader), str(prog)] if loader else [str(prog)]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, errors="replace", env=env,
                timeout=RUN_TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return Runtime("inconclusive", f"the program ran for more than {RUN_TIMEOUT}s")
        err = done.stderr.replace(str(d) + "/", "")
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        mine = [
            ln
            for ln in lines
            if "(required by prog)" in ln
            or re.search(r"symbol lookup error: prog: undefined symbol", ln)
            or "has different size in shared object" in ln
        ]
        if mine:
            return Runtime("fails", mine[0])
        if done.returncode == 0:
            return Runtime("loads", "")
        return Runtime("inconclusive", lines[0] if lines else f"exit status {done.returncode}")


# --- the corpus --------------------------------------------------------------------------


def load_corpus(path: Path = CORPUS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def releases_for(corpus: dict[str, Any], suites: Sequence[str]) -> dict[str, Any]:
    """The ``releases`` document fetch_debian.fetch() expects, for the corpus."""
    return {
        "mirror": corpus["mirror"],
        "component": corpus["component"],
        "keyring": corpus["keyring"],
        "packages": [],  # no upstream version expected of any package
        "suites": [{"suite": s} for s in suites],
    }


def state_for(corpus: dict[str, Any], cache: Path, suite: str) -> fetch_debian.AptState:
    return fetch_debian.AptState(
        cache=cache,
        suite=suite,
        arch=corpus["arch"],
        mirror=corpus["mirror"],
        component=corpus["component"],
        keyring=corpus["keyring"],
    )


def fetch_suite(
    corpus: dict[str, Any], cache: Path, suite: str, families: Sequence[str], refresh: bool
) -> dict[str, dict[str, Any]]:
    """family -> manifest entry (package, version, path) of the suite's package."""
    scache = cache / suite
    with fetch_debian.locked(scache):
        state = state_for(corpus, scache, suite)
        state.update(refresh)
        wanted = [f for f in corpus["families"] if f["family"] in families]
        names = sorted({p for f in wanted for p in f["packages"]})
        carried = state.madison(names)
        chosen: dict[str, str] = {}
        for fam in wanted:
            pkg = next((p for p in fam["packages"] if p in carried), None)
            if pkg is None:
                note(f"skip {suite}: none of {', '.join(fam['packages'])}")
                continue
            chosen[fam["family"]] = pkg
        entries = fetch_debian.fetch(
            scache,
            [suite],
            [corpus["arch"]],
            sorted(set(chosen.values())),
            releases_for(corpus, [suite]),
        )
    by_pkg = {e["package"]: e for e in entries}
    out: dict[str, dict[str, Any]] = {}
    for fam_name, pkg in chosen.items():
        if pkg in by_pkg:
            entry = dict(by_pkg[pkg])
            entry["path"] = str(fetch_debian.deb_path(scache, entry))
            out[fam_name] = entry
    return out


def extract(deb: Path, cache: Path) -> Path:
    """``dpkg-deb -x`` once into ``<cache>/extracted/<deb name>/``."""
    dest = cache / "extracted" / deb.name.removesuffix(".deb")
    stamp = dest / ".done"
    if not stamp.exists():
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True, capture_output=True)
        (tmp / ".done").write_text("")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
    return dest


def libraries(tree: Path) -> dict[str, LibView]:
    """SONAME -> view of every shared library (regular ELF file with a SONAME) in tree."""
    out: dict[str, LibView] = {}
    for path in sorted(tree.rglob("*.so*"), key=lambda p: (len(p.parts), str(p))):
        if path.is_symlink() or not path.is_file() or not re.search(r"\.so(\.|$)", path.name):
            continue
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        view = read_view(path)
        if view.soname and view.soname not in out:
            out[view.soname] = view
    return out


def stem(soname: str) -> str:
    """``liblber-2.4.so.2`` -> ``liblber``: the name without the SONAME's versions."""
    return re.sub(r"[-_.]?[0-9][0-9.]*$", "", soname.split(".so", 1)[0])


def pair_libraries(
    old: dict[str, LibView], new: dict[str, LibView]
) -> list[tuple[LibView, LibView | None]]:
    """Same SONAME first; a SONAME gone is paired with a new SONAME of the same stem."""
    pairs: list[tuple[LibView, LibView | None]] = []
    fresh = {s: v for s, v in new.items() if s not in old}
    for soname, view in sorted(old.items()):
        if soname in new:
            pairs.append((view, new[soname]))
            continue
        succ = sorted(s for s in fresh if stem(s) == stem(soname))
        pairs.append((view, fresh[succ[0]] if succ else None))
    return pairs


# --- the tools -----------------------------------------------------------------------------


def run_elfaudit(old_deb: Path, new_deb: Path) -> dict[str, Any]:
    """elfaudit compare of two packages: exit status, findings per library."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "elfaudit", "compare", str(old_deb), str(new_deb), "--format=json"],
        capture_output=True, text=True, errors="replace", env=env,
        timeout=TOOL_TIMEOUT, check=False,
    )  # fmt: skip
    seconds = round(time.monotonic() - start, 2)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return {"exit": done.returncode, "error": done.stderr.strip(), "seconds": seconds}
    return {
        "exit": done.returncode,
        "seconds": seconds,
        "findings": report.get("findings", []),
        "problems": report.get("problems", []),
    }


def elfaudit_errors(run: dict[str, Any], sonames: Iterable[str | None]) -> list[dict[str, Any]]:
    """The unwaived error findings of a package report about these libraries."""
    names = {s for s in sonames if s}
    return [
        f
        for f in run.get("findings", [])
        if f.get("library") in names and f.get("severity") == "error" and not f.get("waived")
    ]


def elfaudit_verdict(run: dict[str, Any], sonames: Iterable[str | None]) -> tuple[str, list[str]]:
    """A library pair's verdict from the package report: its unwaived error findings."""
    if "findings" not in run:
        return ERROR, []
    rules = sorted({f["rule"] for f in elfaudit_errors(run, sonames)})
    return (INCOMPATIBLE if rules else OK), rules


def run_abidiff(old: Path, new: Path) -> dict[str, Any]:
    start = time.monotonic()
    try:
        done = subprocess.run(
            ["abidiff", "--no-show-locs", str(old), str(new)],
            capture_output=True, text=True, errors="replace", timeout=TOOL_TIMEOUT, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        return {"exit": None, "verdict": ERROR, "detail": "abidiff is not installed"}
    except subprocess.TimeoutExpired:
        return {"exit": None, "verdict": ERROR, "detail": f"more than {TOOL_TIMEOUT}s"}
    rc = done.returncode
    verdict = ERROR if rc & 1 else INCOMPATIBLE if rc & 8 else OK
    summary = [ln.strip() for ln in done.stdout.splitlines() if "Summary" in ln or "Removed" in ln]
    return {
        "exit": rc,
        "verdict": verdict,
        "seconds": round(time.monotonic() - start, 2),
        "detail": "; ".join(summary[:4]) or done.stderr.strip()[:200],
    }


def score(truth: str, verdict: str) -> str:
    if truth == SONAME_CHANGE:
        return UNSCORED
    if verdict == ERROR:
        return FAILED
    if verdict == INCOMPATIBLE:
        return AGREE if truth == BREAKS else FALSE_ALARM
    return MISS if truth == BREAKS else AGREE


# --- the run ------------------------------------------------------------------------------


@dataclass
class Job:
    family: str
    old_suite: str
    new_suite: str
    old: dict[str, Any]  # manifest entries (package, version, path)
    new: dict[str, Any]
    runtime: bool


def suite_dirs(cache: Path, suite: str, entries: dict[str, dict[str, Any]]) -> tuple[Path, Path]:
    """A folder of SONAME links to every corpus library of a suite, and its ld.so."""
    d = cache / "libdirs" / suite
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    loader = d / "ld-linux-x86-64.so.2"
    for entry in entries.values():
        for soname, view in libraries(extract(Path(entry["path"]), cache)).items():
            link = d / soname
            if not link.exists():
                link.symlink_to(view.path.resolve())
    return d, loader


def do_job(job: Job, cache: Path, libdirs: dict[str, tuple[Path, Path]]) -> list[dict[str, Any]]:
    old_libs = libraries(extract(Path(job.old["path"]), cache))
    new_libs = libraries(extract(Path(job.new["path"]), cache))
    ea = run_elfaudit(Path(job.old["path"]), Path(job.new["path"]))
    rows: list[dict[str, Any]] = []
    for old, new in pair_libraries(old_libs, new_libs):
        row: dict[str, Any] = {
            "family": job.family,
            "old_suite": job.old_suite,
            "new_suite": job.new_suite,
            "old_package": f"{job.old['package']}={job.old['version']}",
            "new_package": f"{job.new['package']}={job.new['version']}",
            "old_soname": old.soname,
            "new_soname": new.soname if new else None,
            "versioned": old.versioned,
            "symbols": len(old.symbols),
        }
        if new is None:
            truth = Truth(SONAME_CHANGE, ["no library of that name in the new package"])
            abi: dict[str, Any] = {"exit": None, "verdict": ERROR, "detail": "no new library"}
        else:
            truth = ground_truth(old, new, providers_of(new, new_libs))
            abi = run_abidiff(old.path, new.path)
        sonames = [old.soname, new.soname if new else None]
        verdict, rules = elfaudit_verdict(ea, sonames)
        row["truth"] = truth.as_json()
        row["elfaudit"] = {
            "verdict": verdict,
            "rules": rules,
            "examples": [
                f"{f['rule']}: {f['message']}"
                for f in sorted(elfaudit_errors(ea, sonames), key=lambda f: f["rule"])[:8]
            ],
            "error": ea.get("error"),
            "package_exit": ea.get("exit"),
            "seconds": ea.get("seconds"),
            "score": score(truth.category, verdict),
        }
        abi["score"] = score(truth.category, abi["verdict"])
        row["abidiff"] = abi
        if new is None or truth.category == SONAME_CHANGE:
            rt = Runtime("skipped", "SONAME change")
        elif not job.runtime:
            rt = Runtime("skipped", "needs its own ld.so and libc")
        else:
            search, loader = libdirs[job.new_suite]
            rt = runtime_check(
                old, new, [search], loader if loader.exists() else None, cache / "tmp"
            )
        row["runtime"] = rt.as_json()
        rows.append(row)
    return rows


def tally(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for tool in ("elfaudit", "abidiff"):
        counts = {AGREE: 0, FALSE_ALARM: 0, MISS: 0, "private misses": 0, FAILED: 0, UNSCORED: 0}
        for row in rows:
            counts[row[tool]["score"]] += 1
            if row[tool]["score"] == MISS and row["truth"]["private_only"]:
                counts["private misses"] += 1
        out[tool] = counts
    return out


def truth_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = {BREAKS: 0, COMPATIBLE: 0, SONAME_CHANGE: 0}
    for row in rows:
        counts[row["truth"]["category"]] += 1
    return counts


def runtime_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["runtime"]["result"]] = counts.get(row["runtime"]["result"], 0) + 1
    return counts


def line_of(row: dict[str, Any]) -> str:
    sonames = row["old_soname"]
    if row["new_soname"] != row["old_soname"]:
        sonames += f" -> {row['new_soname'] or '(gone)'}"
    truth = row["truth"]["category"] + (" (private nodes)" if row["truth"]["private_only"] else "")
    ea, ab, rt = row["elfaudit"], row["abidiff"], row["runtime"]
    rules = f" [{', '.join(ea['rules'])}]" if ea["rules"] else ""
    return (
        f"{row['family']:<13} {row['old_suite']}->{row['new_suite']:<9} {sonames:<34} "
        f"truth={truth:<14} elfaudit={ea['verdict']}{rules} ({ea['score']}) "
        f"abidiff={ab['verdict']} ({ab['score']}) runtime={rt['result']}"
    )


def table(rows: Sequence[dict[str, Any]], markdown: bool, suites: Sequence[str], when: str) -> str:
    totals = tally(rows)
    truths = truth_counts(rows)
    head = ["tool", "pairs scored", "agreements", "false alarms", "misses"]
    head += ["(of which PRIVATE/INTERNAL only)", "could not audit", "SONAME changes"]
    body = []
    for tool in ("elfaudit", "abidiff"):
        c = totals[tool]
        scored = c[AGREE] + c[FALSE_ALARM] + c[MISS]
        body.append([tool, scored, c[AGREE], c[FALSE_ALARM], c[MISS]])
        body[-1] += [c["private misses"], c[FAILED], c[UNSCORED]]
    families = len({r["family"] for r in rows})
    caption = (
        f"{when}, {' -> '.join(suites)} (amd64): {families} families, {len(rows)} library "
        f"pairs; ground truth: {truths[BREAKS]} break, {truths[COMPATIBLE]} compatible, "
        f"{truths[SONAME_CHANGE]} SONAME changes (not scored); runtime check: "
        + ", ".join(f"{n} {k}" for k, n in sorted(runtime_counts(rows).items()))
    )
    if markdown:
        lines = [caption, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(map(str, r)) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([caption, fmt.format(*head), *(fmt.format(*map(str, r)) for r in body)])


def main(argv: Sequence[str] | None = None) -> int:
    corpus = load_corpus()
    all_families = [f["family"] for f in corpus["families"]]
    parser = argparse.ArgumentParser(
        prog="corpus.py", description=(__doc__ or "").split("\n\n")[1].strip()
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="default: %(default)s")
    parser.add_argument("--suite", action="append", help="repeatable, in order (default: all)")
    parser.add_argument("--family", action="append", choices=all_families, help="repeatable")
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="default: 2")
    parser.add_argument("--refresh", action="store_true", help="run apt-get update now")
    parser.add_argument("--fetch-only", action="store_true", help="fetch, compare nothing")
    parser.add_argument("--no-runtime", action="store_true", help="skip the runtime checks")
    parser.add_argument("--json", type=Path, help="write the raw data to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    cache: Path = args.cache.resolve()
    suites: list[str] = args.suite or corpus["suites"]
    families: list[str] = args.family or all_families
    start = time.monotonic()

    # the runtime check runs NEW under its suite's own ld.so and libc: always fetch glibc
    wanted = [*families, *(["glibc"] if not args.no_runtime and "glibc" not in families else [])]
    fetched: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool,
        ):
            futures = {
                s: pool.submit(fetch_suite, corpus, cache, s, wanted, args.refresh) for s in suites
            }
            for s, fut in futures.items():
                fetched[s] = fut.result()
    except (fetch_debian.FetchError, OSError, subprocess.CalledProcessError) as exc:
        note(f"error: {exc}")
        return 1
    fetch_seconds = round(time.monotonic() - start, 1)
    note(f"fetched {sum(map(len, fetched.values()))} packages in {fetch_seconds}s")
    if args.fetch_only:
        return 0

    runtime = {
        f["family"]: f.get("runtime", True) and not args.no_runtime for f in corpus["families"]
    }
    libdirs = {s: suite_dirs(cache, s, fetched[s]) for s in suites}
    jobs = [
        Job(fam, a, b, fetched[a][fam], fetched[b][fam], runtime[fam])
        for a, b in itertools.pairwise(suites)
        for fam in families
        if fam in fetched[a] and fam in fetched[b]
    ]
    (cache / "tmp").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for got in pool.map(lambda j: do_job(j, cache, libdirs), jobs):
            for row in got:
                print(line_of(row), flush=True)
            rows.extend(got)
    seconds = round(time.monotonic() - start, 1)
    when = time.strftime("%Y-%m-%d", time.gmtime())
    print()
    print(table(rows, args.markdown, suites, when))
    print(f"\n{len(jobs)} package pairs, {len(rows)} library pairs in {seconds}s "
          f"(fetch {fetch_seconds}s, --jobs {args.jobs})")  # fmt: skip
    if args.json:
        doc = {
            "date": when,
            "suites": suites,
            "arch": corpus["arch"],
            "seconds": seconds,
            "fetch_seconds": fetch_seconds,
            "jobs": args.jobs,
            "abidiff": "abidiff --no-show-locs OLD.so NEW.so, per library pair",
            "totals": tally(rows),
            "truth": truth_counts(rows),
            "runtime": runtime_counts(rows),
            "pairs": rows,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

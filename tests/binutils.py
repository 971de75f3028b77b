"""The tests' one binutils oracle: what readelf and nm say an ELF file holds.

:func:`binutils_view` / :func:`assert_matches_binutils` compare a whole reading (multisets,
every field, every architecture: the real-package tests); :func:`readelf_view` is the same
parsing shaped like elfaudit's model for the built test libraries.

Every test that checks elfaudit's reading of a binary against binutils goes through this
module, so the parsing of readelf's and nm's output exists once. :func:`readelf_view` gives the
whole picture (the fields elfaudit's model has), the helpers below answer the common questions.
Plain readelf and nm read every ELF class, byte order and machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from elfaudit.model.abi import LibraryABI

needs_binutils = pytest.mark.skipif(
    shutil.which("readelf") is None or shutil.which("nm") is None,
    reason="binutils (readelf, nm) are not installed",
)


# (name, version, default, type, binding, visibility, size)
Export = tuple[str, "str | None", bool, str, str, str, int]
# (index, name, base, weak, parents as a set: GNU ld writes them in reverse script order)
Def = tuple[int, str, bool, bool, frozenset[str]]
# (name, version, default, binding class from nm's letter)
NmEntry = tuple[str, "str | None", bool, str]


def run(*cmd: str | Path) -> str:
    """A binutils command's stdout (it must succeed)."""
    args = [str(c) for c in cmd]
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr.strip()}"
    return done.stdout


_DYNSYM_RE = re.compile(
    r"^\s*\d+:\s+(?P<value>[0-9a-fA-F]+)\s+(?P<size>\S+)\s+(?P<type>\S+)\s+(?P<bind>\S+)\s+"
    # ppc64 ELFv2 adds "[<localentry>: 8]", AArch64 "[VARIANT_PCS]", RISC-V "[VARIANT_CC]"
    r"(?P<vis>\S+)(?:\s+\[[^\]]*\])?\s+(?P<ndx>\S+)\s+(?P<name>.*?)(?:\s+\(\d+\))?\s*$"
)


def split_version(raw: str) -> tuple[str, str | None, bool]:
    if "@@" in raw:
        name, version = raw.split("@@", 1)
        return name, version, True
    if "@" in raw:
        name, version = raw.split("@", 1)
        return name, version, False
    return raw, None, True


@dataclass(frozen=True)
class BinutilsView:
    """What binutils says one library exports; also built from elfaudit's reading."""

    elf_class: int
    byte_order: str
    defs: tuple[Def, ...]
    exports: Counter[Export]
    markers: Counter[str]
    nm: Counter[NmEntry]


def readelf_header(path: Path) -> dict[str, str]:
    """``Class``, ``Data`` and ``Machine`` of ``readelf -h``."""
    return {k: v for k, v in header(path).items() if k in ("Class", "Data", "Machine")}


def readelf_defs(path: Path) -> tuple[Def, ...]:
    """Version definitions with their parents as sets (GNU ld writes them in reverse)."""
    return tuple((i, n, b, w, frozenset(p)) for i, n, b, w, p in _readelf_versions(path)[0])


def nm_letter_binding(letter: str) -> str:
    return "WEAK" if letter in "VvWw" else "UNIQUE" if letter == "u" else "GLOBAL"


def binutils_view(path: Path) -> BinutilsView:
    header = readelf_header(path)
    defs = readelf_defs(path)
    nodes = {name for _, name, base, _, _ in defs if not base}
    exports: Counter[Export] = Counter()
    markers: Counter[str] = Counter()
    for line in run("readelf", "--dyn-syms", "-W", str(path)).splitlines():
        m = _DYNSYM_RE.match(line)
        if m is None or m["bind"] == "LOCAL" or m["ndx"] == "UND":
            continue
        name, version, default = split_version(m["name"])
        if m["ndx"] == "ABS" and name in nodes and version in (None, name):
            markers[name] += 1  # GNU ld's per-node marker (binutils >= 2.35 hides @@NODE)
            continue
        size = int(m["size"], 16) if m["size"].startswith("0x") else int(m["size"])
        exports[(name, version, default, m["type"], m["bind"], m["vis"], size)] += 1
    nm: Counter[NmEntry] = Counter()
    listing = run("nm", "-D", "--with-symbol-versions", "--defined-only", str(path))
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        letter = parts[1]
        if letter.islower() and letter not in "iuvw":  # local symbols
            continue
        name, version, default = split_version(parts[2])
        if version == name and name in nodes:  # a marker, shown as NODE@@NODE by some nm
            version = None
        nm[(name, version, default, nm_letter_binding(letter))] += 1
    return BinutilsView(
        elf_class={"ELF32": 32, "ELF64": 64}[header["Class"]],
        byte_order="big" if "big endian" in header["Data"] else "little",
        defs=defs,
        exports=exports,
        markers=markers,
        nm=nm,
    )


def elfaudit_view(abi: LibraryABI) -> BinutilsView:
    nm: Counter[NmEntry] = Counter(
        (s.name, s.version, s.default, "WEAK" if s.binding == "WEAK" else s.binding)
        for s in abi.symbols
    )
    nm.update((m, None, True, "GLOBAL") for m in abi.markers)
    return BinutilsView(
        elf_class=abi.elf_class,
        byte_order=abi.byte_order,
        defs=tuple((v.index, v.name, v.base, v.weak, frozenset(v.parents)) for v in abi.versions),
        exports=Counter(
            (s.name, s.version, s.default, s.type, s.binding, s.visibility, s.size)
            for s in abi.symbols
        ),
        markers=Counter(abi.markers),
        nm=nm,
    )


def differences(what: str, got: Iterable[Any], want: Iterable[Any], limit: int = 25) -> str:
    """``got`` (elfaudit) vs ``want`` (the oracle) as multisets, or "" when equal."""
    g, w = Counter(got), Counter(want)
    extra = sorted((g - w).elements(), key=repr)
    missing = sorted((w - g).elements(), key=repr)
    if not extra and not missing:
        return ""
    lines = [f"{what}: {len(extra)} only in elfaudit, {len(missing)} only in the oracle"]
    lines += [f"  + {x}" for x in extra[:limit]]
    lines += [f"  - {x}" for x in missing[:limit]]
    return "\n".join(lines)


def assert_matches_binutils(path: Path, abi: LibraryABI) -> BinutilsView:
    """elfaudit's reading of ``path`` equals readelf's and nm's exactly; returns binutils'."""
    want, got = binutils_view(path), elfaudit_view(abi)
    problems = [
        differences("version definitions", got.defs, want.defs),
        differences(
            "exported symbols (readelf --dyn-syms)", got.exports.elements(), want.exports.elements()
        ),
        differences("version markers", got.markers.elements(), want.markers.elements()),
        differences("nm -D --with-symbol-versions", got.nm.elements(), want.nm.elements()),
    ]
    if got.defs != want.defs:  # same entries in another order
        problems.append(f"version definitions out of order: {got.defs} != {want.defs}")
    if (got.elf_class, got.byte_order) != (want.elf_class, want.byte_order):
        problems.append(
            f"header: elfaudit {got.elf_class}-bit {got.byte_order}-endian, readelf "
            f"{want.elf_class}-bit {want.byte_order}-endian"
        )
    report = "\n".join(p for p in problems if p)
    assert not report, f"{path.name}:\n{report}"
    # The comparison above is only meaningful if there was something to compare.
    assert want.exports and want.defs and want.nm
    return want


@dataclass
class View:
    """What elfaudit and the binutils oracles are compared on."""

    soname: str | None
    needed: list[str]
    defs: list[tuple[int, str, bool, bool, tuple[str, ...]]]
    needs: list[tuple[str, str, int, bool]]
    exports: set[tuple[str, str | None, bool, str, str, int]]
    markers: set[str]
    imports: set[tuple[str, str | None, bool]]


def readelf_view(path: Path) -> View:
    defs, needs = _readelf_versions(path)
    nodes = {name for _, name, base, _, _ in defs if not base}
    exports: set[tuple[str, str | None, bool, str, str, int]] = set()
    markers: set[str] = set()
    imports: set[tuple[str, str | None, bool]] = set()
    for line in run("readelf", "--dyn-syms", "-W", str(path)).splitlines():
        m = _DYNSYM_RE.match(line)
        if m is None or m["bind"] == "LOCAL":
            continue
        size = int(m["size"], 16) if m["size"].startswith("0x") else int(m["size"])
        name, version, default = split_version(m["name"])
        if m["ndx"] == "UND":
            imports.add((name, version, m["bind"] == "WEAK"))
        elif (
            m["ndx"] == "ABS"
            and m["type"] == "OBJECT"
            and int(m["value"], 16) == 0
            and name in nodes
            and version in (None, name)
        ):
            markers.add(name)
        else:
            exports.add((name, version, default, m["type"], m["bind"], size))
    soname = None
    needed = []
    for line in run("readelf", "-d", "-W", str(path)).splitlines():
        m = re.search(r"\((NEEDED|SONAME)\)\s+\S+ \S+: \[(.*)\]$", line)
        if m and m[1] == "NEEDED":
            needed.append(m[2])
        elif m and soname is None:
            soname = m[2]
    return View(soname, needed, defs, needs, exports, markers, imports)


def _readelf_versions(
    path: Path,
) -> tuple[list[tuple[int, str, bool, bool, tuple[str, ...]]], list[tuple[str, str, int, bool]]]:
    defs: list[tuple[int, str, bool, bool, list[str]]] = []
    needs: list[tuple[str, str, int, bool]] = []
    section = ""
    file = ""
    for line in run("readelf", "-V", "-W", str(path)).splitlines():
        if line.startswith("Version definition section"):
            section = "d"
        elif line.startswith("Version needs section"):
            section = "r"
        elif line.startswith("Version symbols section"):
            section = "s"
        elif section == "d" and (
            m := re.search(r"Flags: (.*?)\s+Index: (\d+)\s+Cnt: \d+\s+Name: (\S+)$", line)
        ):
            defs.append((int(m[2]), m[3], "BASE" in m[1], "WEAK" in m[1], []))
        elif section == "d" and (m := re.search(r"Parent \d+: (\S+)$", line)):
            defs[-1][4].append(m[1])
        elif section == "r" and (m := re.search(r"File: (\S+)\s+Cnt:", line)):
            file = m[1]
        elif section == "r" and (
            m := re.search(r"Name: (\S+)\s+Flags: (.*?)\s+Version: (\d+)$", line)
        ):
            needs.append((file, m[1], int(m[3]), "WEAK" in m[2]))
    return [(i, n, b, w, tuple(p)) for i, n, b, w, p in defs], needs


def nm_defined(path: str | Path) -> set[tuple[str, str | None, bool]]:
    out: set[tuple[str, str | None, bool]] = set()
    for line in run("nm", "-D", "--with-symbol-versions", "--defined-only", str(path)).split("\n"):
        parts = line.split()
        if len(parts) != 3 or parts[1] in "tdbrsgn":  # lowercase letters: local symbols
            continue
        out.add(split_version(parts[2]))
    return out


def soname(path: Path) -> str | None:
    """DT_SONAME, per ``readelf -d``."""
    return readelf_view(path).soname


def version_nodes(path: Path) -> list[str]:
    """The version nodes ``path`` defines (the BASE entry excluded), in definition order."""
    return [name for _, name, base, _, _ in readelf_view(path).defs if not base]


def version_needs(path: Path) -> dict[str, list[str]]:
    """``{file: [node, ...]}`` of ``.gnu.version_r``: what a program needs of each library."""
    out: dict[str, list[str]] = {}
    for file, name, _, _ in readelf_view(path).needs:
        out.setdefault(file, []).append(name)
    return out


def default_nodes(path: Path) -> dict[str, str]:
    """The node of every default-versioned (``@@``) export, per ``nm``."""
    return {name: version for name, version, default in nm_defined(path) if default and version}


def dpkg_names(path: str | Path) -> set[str]:
    """nm's view in dpkg-gensymbols' spelling: ``name@VERSION`` for every defined dynamic
    symbol (``@Base`` when unversioned), ``NODE@NODE`` for each version marker."""
    names = {f"{name}@{version or 'Base'}" for name, version, _ in nm_defined(path)}
    markers = readelf_view(Path(path)).markers
    names -= {f"{m}@Base" for m in markers}
    return names | {f"{m}@{m}" for m in markers}


def header(path: Path) -> dict[str, str]:
    """``readelf -h``'s fields (``Machine``, ``Class``, ``Data``, ...)."""
    out: dict[str, str] = {}
    for line in run("readelf", "-h", "-W", path).splitlines():
        key, _, value = line.strip().partition(":")
        out[key] = value.strip()
    return out


def dynamic_text(path: Path) -> str:
    """``readelf --wide -V --dyn-syms``: version sections and dynamic symbols as printed."""
    return run("readelf", "--wide", "-V", "--dyn-syms", path)

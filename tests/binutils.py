"""The tests' one binutils oracle: what readelf and nm say an ELF file holds.

Every test that checks elfaudit's reading of a binary against binutils goes through this
module, so the parsing of readelf's and nm's output exists once. :func:`readelf_view` gives the
whole picture (the fields elfaudit's model has), the helpers below answer the common questions.
Plain readelf and nm read every ELF class, byte order and machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

needs_binutils = pytest.mark.skipif(
    shutil.which("readelf") is None or shutil.which("nm") is None,
    reason="binutils (readelf, nm) are not installed",
)


def run(*cmd: str | Path) -> str:
    """A binutils command's stdout (it must succeed)."""
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


_DYNSYM_RE = re.compile(
    r"^\s*\d+:\s+(?P<value>[0-9a-f]+)\s+(?P<size>\S+)\s+(?P<type>\S+)\s+(?P<bind>\S+)\s+"
    r"(?P<vis>\S+)\s+(?P<ndx>\S+)\s*(?P<name>.*)$"
)


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
        raw = re.sub(r" \(\d+\)$", "", m["name"])
        name, version, default = raw, None, True
        if "@@" in raw:
            name, version = raw.split("@@", 1)
        elif "@" in raw:
            name, version = raw.split("@", 1)
            default = False
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


def nm_defined(path: Path) -> set[tuple[str, str | None, bool]]:
    out: set[tuple[str, str | None, bool]] = set()
    for line in run("nm", "-D", "--with-symbol-versions", "--defined-only", str(path)).split("\n"):
        parts = line.split()
        if len(parts) != 3 or parts[1] in "tdbrsgn":  # lowercase letters: local symbols
            continue
        raw = parts[2]
        if "@@" in raw:
            name, version = raw.split("@@", 1)
            out.add((name, version, True))
        elif "@" in raw:
            name, version = raw.split("@", 1)
            out.add((name, version, False))
        else:
            out.add((raw, None, True))
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


def default_nodes(path: Path) -> dict[str, str | None]:
    """Each defined symbol's default (``@@``) version, per ``nm`` (None: unversioned)."""
    return {name: version for name, version, default in nm_defined(path) if default}


def dpkg_names(path: Path) -> set[str]:
    """nm's view in dpkg-gensymbols' spelling: ``name@VERSION`` for every defined dynamic
    symbol (``@Base`` when unversioned), ``NODE@NODE`` for each version marker."""
    names = {f"{name}@{version or 'Base'}" for name, version, _ in nm_defined(path)}
    markers = readelf_view(path).markers
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

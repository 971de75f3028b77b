"""Reading Debian symbols files (deb-symbols(5)) and Debian version ordering.

The format and dpkg's matching rules are described in :mod:`elfaudit.analysis.symbols_file`,
which generates and checks symbols files against a library; this module only parses them
(``#include`` resolved, tags, patterns, ``#MISSING`` markers) into :class:`SymbolsFile`, and
compares Debian versions as ``dpkg --compare-versions`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from elfaudit.base.errors import InputError
from elfaudit.base.fileio import read_text
from elfaudit.model.script import Location

_MAX_INCLUDE_DEPTH = 16

# --------------------------------------------------------------------------- Debian versions

_VERSION_CHARS = re.compile(r"^[A-Za-z0-9.+~:-]+$")


def parse_version(version: str) -> tuple[int, str, str]:
    """Split a Debian version into (epoch, upstream, revision); ValueError if malformed.

    As dpkg's ``parseversion``: the epoch is the digits before the first ``:``, the revision
    is what follows the last ``-``; the upstream part must start with a digit.
    """
    v = version.strip()
    if not v:
        raise ValueError("empty version")
    if not _VERSION_CHARS.match(v):
        raise ValueError(f"invalid character in version '{version}'")
    epoch = 0
    if ":" in v:
        head, v = v.split(":", 1)
        if not head.isdigit():
            raise ValueError(f"epoch in '{version}' is not a number")
        epoch = int(head)
    upstream, revision = v, ""
    if "-" in v:
        upstream, revision = v.rsplit("-", 1)
        if not revision:
            raise ValueError(f"empty revision in '{version}'")
    if not upstream:
        raise ValueError(f"empty upstream version in '{version}'")
    if not upstream[0].isdigit():
        raise ValueError(f"version '{version}' does not start with a digit")
    if ":" in revision:
        raise ValueError(f"invalid character in revision of '{version}'")
    return epoch, upstream, revision


def _order(c: str) -> int:
    if c in "0123456789":
        return 0
    if c.isascii() and c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's ``verrevcmp``: alternate non-digit and digit runs; ``~`` sorts before anything."""
    i = j = 0
    la, lb = len(a), len(b)
    digits = "0123456789"
    while i < la or j < lb:
        first_diff = 0
        while (i < la and a[i] not in digits) or (j < lb and b[j] not in digits):
            ac = _order(a[i]) if i < la else 0
            bc = _order(b[j]) if j < lb else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and a[i] in digits and j < lb and b[j] in digits:
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and a[i] in digits:
            return 1
        if j < lb and b[j] in digits:
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_versions(a: str, b: str) -> int:
    """Negative, zero or positive as ``a`` sorts before, equal to or after ``b`` (dpkg order)."""
    ea, ua, ra = parse_version(a)
    eb, ub, rb = parse_version(b)
    if ea != eb:
        return -1 if ea < eb else 1
    c = _verrevcmp(ua, ub)
    if c:
        return -1 if c < 0 else 1
    c = _verrevcmp(ra, rb)
    return -1 if c < 0 else (1 if c > 0 else 0)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class SymbolEntry:
    """One symbol line: an exact ``name@VERSION`` or a pattern.

    ``name`` is what dpkg matches: ``name@VERSION`` for an exact entry, the node for a
    ``symver`` pattern (``*@NODE`` is normalised to ``(symver|optional)NODE``), the regular
    expression for ``regex``, the demangled name for ``c++``.
    """

    name: str
    minver: str
    dep_id: int
    tags: tuple[tuple[str, str | None], ...]
    location: Location
    deprecated: str | None = None  # the version in '#MISSING: version#'
    spec: str = ""  # the name field as written

    def has_tag(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.tags)

    def tag(self, tag: str) -> str | None:
        for t, v in self.tags:
            if t == tag:
                return v
        return None

    @property
    def optional(self) -> bool:
        return self.has_tag("optional")

    @property
    def kind(self) -> str:
        """``exact``, ``c++`` or ``symver`` (alias patterns), or ``generic``."""
        cxx, symver, regex = self.has_tag("c++"), self.has_tag("symver"), self.has_tag("regex")
        if regex or (cxx and symver):
            return "generic"
        if cxx:
            return "c++"
        if symver:
            return "symver"
        return "exact"

    @property
    def is_pattern(self) -> bool:
        return self.kind != "exact"

    @property
    def text(self) -> str:
        """The entry as a template line would spell it (without minver)."""
        if self.spec.startswith("*@"):
            return self.spec
        if not self.tags:
            return self.name
        tags = "|".join(t if v is None else f"{t}={v}" for t, v in self.tags)
        return f"({tags}){self.spec or self.name}"


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One library of a symbols file: header, alternatives, fields and symbol entries."""

    soname: str
    deps: tuple[str, ...]  # the main dependency template first, then the alternatives
    fields: tuple[tuple[str, str], ...]
    entries: tuple[SymbolEntry, ...]
    location: Location

    @property
    def package(self) -> str:
        """The package named by the main dependency template (``libvirt0`` in
        ``libvirt0 #MINVER#``)."""
        return self.deps[0].split()[0] if self.deps and self.deps[0].split() else ""

    def field(self, name: str) -> str | None:
        for k, v in self.fields:
            if k.lower() == name.lower():
                return v
        return None


@dataclass(frozen=True, slots=True)
class SymbolsFile:
    path: str
    libraries: tuple[LibraryEntry, ...]

    def library(self, soname: str) -> LibraryEntry | None:
        for lib in self.libraries:
            if lib.soname == soname:
                return lib
        return None


# --------------------------------------------------------------------------- parsing

_SYMBOL_LINE = re.compile(r"^(?:\s+|#(?:DEPRECATED|MISSING): ([^#]+)#\s*)(.*)$")
_INCLUDE_LINE = re.compile(r'^(\(.*\))?#include\s+"([^"]+)"')
_ALT_LINE = re.compile(r"^\|\s*(.*)$")
_FIELD_LINE = re.compile(r"^\*\s*([^:]+):\s*(.*\S)\s*$")
_HEADER_LINE = re.compile(r"^(\S+)\s+(.*\S)\s*$")
_REST = re.compile(r"^\s+(\S+)(?:\s+(\S+))?\s*$")


def _field_capitalize(name: str) -> str:
    return "-".join(w[:1].upper() + w[1:].lower() for w in name.strip().split("-"))


class _Lib:
    def __init__(self, soname: str, dep: str, loc: Location) -> None:
        self.soname = soname
        self.deps = [dep]
        self.fields: dict[str, str] = {}
        self.entries: list[SymbolEntry] = []
        self.location = loc


class _Parser:
    def __init__(self) -> None:
        self.libs: dict[str, _Lib] = {}
        self.current: _Lib | None = None
        self.seen: set[str] = set()

    def parse(
        self,
        text: str,
        path: str,
        base_tags: tuple[tuple[str, str | None], ...],
        depth: int,
    ) -> None:
        key = os.path.realpath(path) if os.path.exists(path) else path
        if key in self.seen:  # dpkg silently skips include loops
            return
        self.seen.add(key)
        for lineno, raw in enumerate(text.splitlines(), 1):
            self._line(raw.rstrip("\r"), path, lineno, base_tags, depth)
        self.seen.discard(key)

    def _fail(self, path: str, lineno: int, why: str) -> InputError:
        return InputError(path, f"line {lineno}: {why}")

    def _line(
        self,
        line: str,
        path: str,
        lineno: int,
        base_tags: tuple[tuple[str, str | None], ...],
        depth: int,
    ) -> None:
        if not line.strip():
            return
        m = _SYMBOL_LINE.match(line)
        if m:
            if self.current is None:
                raise self._fail(path, lineno, "symbol line before any 'soname package' header")
            entry = _parse_spec(m.group(2), m.group(1), path, lineno, base_tags)
            self.current.entries.append(entry)
            return
        m = _INCLUDE_LINE.match(line)
        if m:
            tags = base_tags
            if m.group(1):
                tags = _merge_tags(base_tags, _parse_tags(m.group(1)[1:-1], path, lineno))
            self._include(m.group(2), path, lineno, tags, depth)
            return
        if line.startswith("#"):
            return
        m = _ALT_LINE.match(line)
        if m:
            if self.current is None:
                raise self._fail(path, lineno, "alternative dependency before any header")
            if not m.group(1).strip():
                raise self._fail(path, lineno, "empty alternative dependency template")
            self.current.deps.append(m.group(1).strip())
            return
        if line.startswith("*"):
            m = _FIELD_LINE.match(line)
            if m is None:
                raise self._fail(path, lineno, "a field line must read '* Name: value'")
            if self.current is None:
                raise self._fail(path, lineno, "field line before any header")
            self.current.fields[_field_capitalize(m.group(1))] = m.group(2)
            return
        m = _HEADER_LINE.match(line)
        if m is None:
            raise self._fail(
                path,
                lineno,
                f"cannot parse '{_clip(line)}' (a header reads 'soname package-template')",
            )
        soname, dep = m.group(1), m.group(2)
        lib = self.libs.get(soname)
        if lib is None:
            lib = _Lib(soname, dep, Location(path, lineno))
            self.libs[soname] = lib
        else:  # dpkg: a repeated header overrides the dependency template only
            lib.deps = [dep]
        self.current = lib

    def _include(
        self,
        name: str,
        path: str,
        lineno: int,
        tags: tuple[tuple[str, str | None], ...],
        depth: int,
    ) -> None:
        if depth >= _MAX_INCLUDE_DEPTH:
            raise self._fail(path, lineno, f"#include nested deeper than {_MAX_INCLUDE_DEPTH}")
        target = os.path.join(os.path.dirname(path), name)
        try:
            text = read_text(target)
        except InputError as exc:
            if exc.line is not None:  # a line of the included file: that file names it
                raise
            raise self._fail(path, lineno, f"cannot read included file {exc.message}") from None
        self.parse(text, target, tags, depth + 1)


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _parse_tags(spec: str, path: str, lineno: int) -> tuple[tuple[str, str | None], ...]:
    if not spec:
        raise InputError(path, f"line {lineno}: empty tag list '()'")
    out: list[tuple[str, str | None]] = []
    for tag in spec.split("|"):
        name, eq, value = tag.partition("=")
        if not name:
            raise InputError(path, f"line {lineno}: empty tag name in '({spec})'")
        out.append((name, value if eq else None))
    return tuple(out)


def _merge_tags(
    base: tuple[tuple[str, str | None], ...], extra: Iterable[tuple[str, str | None]]
) -> tuple[tuple[str, str | None], ...]:
    merged = dict(base)
    order = [t for t, _ in base]
    for t, v in extra:
        if t not in merged:
            order.append(t)
        merged[t] = v
    return tuple((t, merged[t]) for t in order)


def _parse_spec(
    spec: str,
    deprecated: str | None,
    path: str,
    lineno: int,
    base_tags: tuple[tuple[str, str | None], ...],
) -> SymbolEntry:
    def fail(why: str) -> InputError:
        return InputError(path, f"line {lineno}: {why}")

    tags: tuple[tuple[str, str | None], ...] = ()
    quoted = False
    if spec.startswith("("):
        close = spec.find(")")
        if close < 0:
            raise fail(f"unterminated tag list in '{_clip(spec)}'")
        tags = _parse_tags(spec[1:close], path, lineno)
        body = spec[close + 1 :]
        if body[:1] in ("'", '"'):
            end = body.find(body[0], 1)
            if end < 0:
                raise fail(f"unterminated quoted symbol name in '{_clip(spec)}'")
            name, rest = body[1:end], body[end + 1 :]
            quoted = True
        else:
            m = re.match(r"^(\S+)(.*)$", body)
            if m is None:
                raise fail("tags must be followed by a symbol name (no space in between)")
            name, rest = m.group(1), m.group(2)
    else:
        m = re.match(r"^(\S+)(.*)$", spec)
        if m is None:
            raise fail("empty symbol line")
        name, rest = m.group(1), m.group(2)
    if not name:
        raise fail("empty symbol name")
    spec_name = f'"{name}"' if quoted else name
    rm = _REST.match(rest)
    if rm is None:
        what = "nothing" if not rest.strip() else f"'{_clip(rest.strip())}'"
        raise fail(
            f"{name}: expected ' minimal-version [dependency-id]' after the name, found {what}"
        )
    minver, dep = rm.group(1), rm.group(2)
    try:
        parse_version(minver)
    except ValueError as exc:
        raise fail(f"{name}: invalid minimal version: {exc}") from None
    if dep is not None and not dep.isdigit():
        raise fail(f"{name}: dependency id '{dep}' is not a number")
    if deprecated is not None:
        deprecated = deprecated.strip()
    tags = _merge_tags(base_tags, tags)
    names = dict(tags)
    if name.startswith("*@"):  # old wildcard syntax = (symver|optional)NODE
        name = name[2:]
        extra = [("symver", None)] if "symver" not in names else []
        if "optional" not in names:
            extra.append(("optional", None))
        tags = _merge_tags(tags, extra)
        names = dict(tags)
        if not name:
            raise fail("'*@' without a version node")
    if "symver" in names:
        if "@" in name and "c++" not in names and "regex" not in names:
            raise fail(f"(symver){name}: a symver pattern names a version node, not name@node")
        if name == "Base":
            raise fail("(symver)Base: symver patterns cannot match unversioned symbols")
    if "regex" in names:
        try:
            re.compile(name)
        except re.error as exc:
            raise fail(f"invalid regular expression '{_clip(name)}': {exc}") from None
    if not any(t in names for t in ("symver", "regex", "c++")) and "@" not in name:
        raise fail(f"{name}: a symbol is listed as name@VERSION ('@Base' when unversioned)")
    return SymbolEntry(
        name=name,
        minver=minver,
        dep_id=int(dep) if dep is not None else 0,
        tags=tags,
        location=Location(path, lineno),
        deprecated=deprecated,
        spec=spec_name,
    )


def parse_symbols_file(text: str, path: str) -> SymbolsFile:
    """Parse a symbols file (binary ``DEBIAN/symbols`` or source template).

    ``#include`` directives are read relative to ``path``. Malformed lines raise
    :class:`InputError` naming the file and line.
    """
    p = _Parser()
    p.parse(text, path, (), 0)
    libs: list[LibraryEntry] = []
    for lib in p.libs.values():
        nalt = len(lib.deps) - 1
        for e in lib.entries:
            if e.dep_id > nalt:
                raise InputError(
                    e.location.path,
                    f"line {e.location.line}: {e.name} refers to alternative dependency "
                    f"{e.dep_id}, but {lib.soname} has {nalt}",
                )
        libs.append(
            LibraryEntry(
                soname=lib.soname,
                deps=tuple(lib.deps),
                fields=tuple(sorted(lib.fields.items())),
                entries=tuple(lib.entries),
                location=lib.location,
            )
        )
    return SymbolsFile(path, tuple(libs))


def load_symbols_file(path: str | os.PathLike[str]) -> SymbolsFile:
    """Read and parse the symbols file at ``path``."""
    p = os.fspath(path)
    return parse_symbols_file(read_text(p), p)

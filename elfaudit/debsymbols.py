"""Debian symbols files (deb-symbols(5), deb-src-symbols(5)): read, write and check them.

A symbols file maps every exported symbol of a library to the *minimal version* of the package
that provides it; ``dpkg-shlibdeps`` turns the symbols a program uses into a dependency
``libfoo1 (>= minver)``. When a minimal version is too low the dependency is too loose: the
program installs against a package that lacks the symbol and fails with "undefined symbol".

This module follows dpkg's own reader (``Dpkg::Shlibs::SymbolFile``) line for line:

- ``soname dependency-template`` starts a library; ``| alternative`` adds a template (numbered
  from 1 for the ``id`` column); ``* Field: value`` adds a meta field.
- `` name@VERSION minver [id]`` lists a symbol (``@Base`` when the symbol has no version).
  ``#MISSING: ver#`` (or ``#DEPRECATED: ver#``) in front marks an entry dpkg-gensymbols found
  missing since ``ver``; such entries count as gone (they cover nothing and are never stale).
- ``(tag|tag=value)`` before the name tags the entry. ``symver``, ``c++`` and ``regex`` make it a
  pattern; the old ``*@VERSION`` spelling means ``(symver|optional)VERSION``; ``optional``
  entries may match nothing; ``arch=``, ``arch-bits=`` and ``arch-endian=`` restrict entries.
- ``#include "file"`` (optionally tagged) reads another file relative to this one.

Matching follows dpkg: an exact ``name@VERSION`` entry wins, then alias patterns (``c++``
first, then ``symver``), then generic patterns (``regex`` and tag combinations) in file order.

What dpkg lists (``Dpkg::Shlibs::Objdump``): every defined, non-local dynamic symbol, hidden
(``@``) compat versions included under the same ``name@NODE`` spelling as default ones, and the
ABS version-marker symbol of every node as ``NODE@NODE``; a short list of toolchain symbols
(``_init``, ``_fini``, ``_edata``, ...) is skipped.

Minimal versions compare with Debian version ordering (:func:`compare_versions`, the semantics of
``dpkg --compare-versions``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from elfaudit.errors import InputError
from elfaudit.model.abi import LibraryABI, Symbol
from elfaudit.model.report import Finding
from elfaudit.model.script import Location
from elfaudit.profiles import Profile
from elfaudit.rules import Rule

__all__ = [
    "LibraryEntry",
    "MinverFn",
    "SymbolEntry",
    "SymbolsFile",
    "check_symbols_file",
    "compare_versions",
    "exported_names",
    "generate_symbols_file",
    "load_symbols_file",
    "minver_from_node",
    "node_minver",
    "parse_symbols_file",
    "parse_version",
]

MinverFn = Callable[[LibraryABI, Symbol], "str | None"]
"""``minver(abi, symbol)``: the first release that shipped ``symbol``, or None if unknown."""

# Symbols that were added to a version node after a release had already shipped that node:
# (soname, symbol) -> the release that really shipped it first. The node name lies about them.

# dpkg never lists these (Dpkg::Shlibs::SymbolFile %internal_symbol): side effects of the
# toolchain, not API.
_INTERNAL = frozenset(
    {
        "__bss_end__",
        "__bss_end",
        "_bss_end__",
        "__bss_start",
        "__bss_start__",
        "__data_start",
        "__do_global_ctors_aux",
        "__do_global_dtors_aux",
        "__do_jv_register_classes",
        "_DYNAMIC",
        "_edata",
        "_end",
        "__end__",
        "__exidx_end",
        "__exidx_start",
        "_fbss",
        "_fdata",
        "_fini",
        "_ftext",
        "_GLOBAL_OFFSET_TABLE_",
        "__gmon_start__",
        "__gnu_local_gp",
        "_gp",
        "_init",
        "_PROCEDURE_LINKAGE_TABLE_",
        "_SDA2_BASE_",
        "_SDA_BASE_",
    }
    | {
        f"{stem}_{i}{suffix}"
        for i in range(14, 32)
        for stem, suffix in (
            ("_restfpr", ""),
            ("_restfpr", "_x"),
            ("_restgpr", ""),
            ("_restgpr", "_x"),
            ("_savefpr", ""),
            ("_savegpr", ""),
        )
    }
)

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
            with open(target, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise self._fail(
                path, lineno, f"cannot read included file {target}: {exc.strerror or exc}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise InputError(target, f"not UTF-8 text ({exc.reason})") from exc
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
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(p, exc.strerror or str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise InputError(p, f"not UTF-8 text ({exc.reason})") from exc
    return parse_symbols_file(text, p)


# --------------------------------------------------------------------------- minimal versions

_NODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*?_(\d+(?:\.\d+)*)$")


def minver_from_node(symbol_version: str | None) -> str | None:
    """The release a version node is named for: ``LIBVIRT_3.1.0`` -> ``3.1.0``.

    ``LIBVIRT_QEMU_1.2.3`` -> ``1.2.3``. Private nodes (names containing ``PRIVATE`` or
    ``INTERNAL``), unversioned symbols and names without a ``_<numbers>`` tail give None.
    """
    if not symbol_version:
        return None
    if "PRIVATE" in symbol_version or "INTERNAL" in symbol_version:
        return None
    m = _NODE_RE.match(symbol_version)
    return m.group(1) if m else None


def node_minver(
    overrides: Mapping[tuple[str, str], str] | None = None,
    *,
    node_release: Callable[[str], str | None] = minver_from_node,
) -> MinverFn:
    """A ``minver`` function: ``overrides[(soname, symbol)]`` if present, else the node's release.

    ``overrides`` holds the symbols added to a node after it shipped (see
    ``Profile.late_additions`` and :func:`elfaudit.history.late_additions`).
    """
    table = dict(overrides or {})

    def minver(abi: LibraryABI, sym: Symbol) -> str | None:
        if abi.soname is not None:
            hit = table.get((abi.soname, sym.name))
            if hit is not None:
                return hit
        return node_release(sym.version) if sym.version else None

    return minver


# --------------------------------------------------------------------------- library side


def _marker_symbol(node: str) -> Symbol:
    return Symbol(node, node, True, "OBJECT", "GLOBAL", "DEFAULT", 0)


def exported_names(abi: LibraryABI) -> list[tuple[str, Symbol]]:
    """What dpkg-gensymbols lists for ``abi``: ``(name@VERSION, symbol)``, sorted.

    Hidden compat symbols are listed like default ones; each version-marker symbol appears as
    ``NODE@NODE`` (a synthetic OBJECT :class:`Symbol`); toolchain symbols are skipped.
    """
    out: dict[str, Symbol] = {}
    for s in abi.symbols:
        if s.name in _INTERNAL:
            continue
        out.setdefault(f"{s.name}@{s.version or 'Base'}", s)
    for m in abi.markers:
        out.setdefault(f"{m}@{m}", _marker_symbol(m))
    return sorted(out.items())


# --------------------------------------------------------------------------- generate


def generate_symbols_file(
    abis: Sequence[LibraryABI],
    package: str,
    *,
    minver: MinverFn,
    build_depends_package: str | None,
    is_private: Callable[[str], bool],
    private_as_pattern: bool = True,
    fallback_minver: str | None = None,
) -> str:
    """A symbols file for ``abis``, one ``soname package #MINVER#`` entry per library.

    Every exported symbol is listed as `` name@NODE minver`` sorted like dpkg (byte order of
    ``name@NODE``), including hidden compat versions and the ``NODE@NODE`` version markers, as
    dpkg-gensymbols does. Symbols of private nodes (``is_private(node)``) change every release,
    so by default each private node becomes one ``(symver)NODE minver`` pattern (the form
    libvirt's Debian packaging uses, ``*@LIBVIRT_PRIVATE_x``): the file is then a
    deb-src-symbols template for ``debian/``. With ``private_as_pattern=False`` private
    symbols are listed one by one and the output is a plain deb-symbols file.

    A private node's pattern takes the minimal version of its marker symbol. ``minver`` returning
    None falls back to ``fallback_minver``; without one that is an :class:`InputError`.
    """
    by_soname: dict[str, LibraryABI] = {}
    for abi in abis:
        if abi.soname is None:
            raise InputError(abi.path, "has no SONAME; a symbols file is keyed by SONAME")
        if abi.soname in by_soname:
            raise InputError(
                abi.path, f"SONAME {abi.soname} also belongs to {by_soname[abi.soname].path}"
            )
        by_soname[abi.soname] = abi
    lines: list[str] = []
    for soname in sorted(by_soname):
        abi = by_soname[soname]
        lines.append(f"{soname} {package} #MINVER#")
        if build_depends_package:
            lines.append(f"* Build-Depends-Package: {build_depends_package}")
        rows: list[tuple[str, str]] = []
        private_done: set[str] = set()
        for raw, sym in exported_names(abi):
            node = sym.version
            if private_as_pattern and node is not None and is_private(node):
                if node in private_done:
                    continue
                private_done.add(node)
                mv = _minver_or_fail(abi, _marker_symbol(node), minver, fallback_minver, raw)
                rows.append((node, f" (symver){node} {mv}"))
                continue
            mv = _minver_or_fail(abi, sym, minver, fallback_minver, raw)
            rows.append((raw, f" {raw} {mv}"))
        lines.extend(text for _, text in sorted(rows))
    return "\n".join(lines) + ("\n" if lines else "")


def _minver_or_fail(
    abi: LibraryABI, sym: Symbol, minver: MinverFn, fallback: str | None, raw: str
) -> str:
    mv = minver(abi, sym) or fallback
    if mv is None:
        raise InputError(abi.path, f"no minimal version known for {raw} (give a fallback)")
    try:
        parse_version(mv)
    except ValueError as exc:
        raise InputError(abi.path, f"minimal version for {raw}: {exc}") from None
    return mv


# --------------------------------------------------------------------------- check

_ARCHES: dict[tuple[str, int, str], tuple[tuple[str, str], ...]] = {
    # (ELF machine, class, byte order) -> ((Debian architecture, Debian cpu), ...)
    ("x86_64", 64, "little"): (("amd64", "amd64"),),
    ("x86_64", 32, "little"): (("x32", "amd64"),),
    ("i386", 32, "little"): (("i386", "i386"),),
    ("aarch64", 64, "little"): (("arm64", "arm64"),),
    ("arm", 32, "little"): (("armel", "arm"), ("armhf", "arm")),
    ("ppc64", 64, "little"): (("ppc64el", "ppc64el"),),
    ("ppc64", 64, "big"): (("ppc64", "ppc64"),),
    ("ppc", 32, "big"): (("powerpc", "powerpc"),),
    ("s390", 64, "big"): (("s390x", "s390x"),),
    ("riscv", 64, "little"): (("riscv64", "riscv64"),),
    ("mips", 32, "big"): (("mips", "mips"),),
    ("mips", 32, "little"): (("mipsel", "mipsel"),),
    ("mips", 64, "little"): (("mips64el", "mips64el"),),
    ("loongarch", 64, "little"): (("loong64", "loong64"),),
    ("alpha", 64, "little"): (("alpha", "alpha"),),
    ("ia64", 64, "little"): (("ia64", "ia64"),),
    ("sparcv9", 64, "big"): (("sparc64", "sparc64"),),
    ("parisc", 32, "big"): (("hppa", "hppa"),),
    ("m68k", 32, "big"): (("m68k", "m68k"),),
    ("sh", 32, "little"): (("sh4", "sh4"),),
}


def _debarch_is(arch: str, cpu: str, token: str) -> bool:
    if token == "any" or token == arch:
        return True
    parts = token.split("-")
    if len(parts) == 2:  # os-cpu wildcards: linux-any, any-amd64, linux-amd64
        os_, c = parts
        return os_ in ("any", "linux") and c in ("any", cpu)
    if len(parts) == 3:  # abi-os-cpu
        _abi, os_, c = parts
        return _abi in ("any", "gnu") and os_ in ("any", "linux") and c in ("any", cpu)
    return False


def _debarch_is_concerned(arch: str, cpu: str, tokens: Sequence[str]) -> bool:
    """dpkg's ``debarch_is_concerned`` (Dpkg::Arch), for one host architecture."""
    seen = False
    for tok in tokens:
        t = tok.lower()
        if t.startswith("!"):
            if _debarch_is(arch, cpu, t[1:]):
                return False
            seen = True
        elif _debarch_is(arch, cpu, t):
            return True
    return seen


def _arch_concerned(entry: SymbolEntry, abi: LibraryABI) -> bool | None:
    """Does ``entry`` apply to ``abi``'s architecture? None when that cannot be told."""
    bits = entry.tag("arch-bits")
    if bits is not None and bits != str(abi.elf_class):
        return False
    endian = entry.tag("arch-endian")
    if endian is not None and endian != abi.byte_order:
        return False
    arches = entry.tag("arch")
    if not entry.has_tag("arch") or arches is None:
        return True
    tokens = [t for t in re.split(r"[\s,]+", arches) if t]
    cands = _ARCHES.get((abi.machine, abi.elf_class, abi.byte_order))
    if not cands:
        return None
    results = {_debarch_is_concerned(a, c, tokens) for a, c in cands}
    return results.pop() if len(results) == 1 else None


class _Demangler:
    """C++ names through ``c++filt`` (one call for all names); without it nothing demangles."""

    def __init__(self, raws: Iterable[str]) -> None:
        self.table: dict[str, str] = {}
        todo = [r for r in raws if r.startswith("_Z")]
        exe = shutil.which("c++filt")
        if not todo or exe is None:
            return
        try:
            out = subprocess.run(
                [exe],
                input="\n".join(todo) + "\n",
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            return
        if len(out) == len(todo):
            self.table = {r: d for r, d in zip(todo, out, strict=True) if r != d}

    def __call__(self, raw: str) -> str | None:
        return self.table.get(raw)


class _Matcher:
    """dpkg's lookup order for one library entry."""

    def __init__(self, lib: LibraryEntry, abi: LibraryABI, demangle: _Demangler) -> None:
        self.demangle = demangle
        self.exact: dict[str, SymbolEntry] = {}
        self.aliases: dict[str, dict[str, SymbolEntry]] = {"c++": {}, "symver": {}}
        self.generic: list[SymbolEntry] = []
        self.patterns: list[SymbolEntry] = []
        for e in lib.entries:
            kind = e.kind
            if kind == "exact":
                self.exact[e.name] = e  # later lines override earlier ones, as in dpkg
                continue
            self.patterns.append(e)
            if e.deprecated is not None or _arch_concerned(e, abi) is False:
                continue
            if kind == "generic":
                self.generic.append(e)
            else:
                self.aliases[kind][e.name] = e

    def _alias(self, kind: str, raw: str) -> str | None:
        if kind == "symver":
            return raw.rsplit("@", 1)[1] if "@" in raw else None
        if not raw.startswith("_Z"):
            return None
        name, at, ver = raw.rpartition("@")
        plain = self.demangle(name if at else raw)
        if plain is None:
            return None
        return f"{plain}@{ver}" if at else plain

    def _generic_match(self, e: SymbolEntry, raw: str) -> bool:
        target: str | None = raw
        eq = True
        for tag, _ in e.tags:
            if target is None:
                return False
            if tag in ("c++", "symver"):
                target = self._alias(tag, target)
            elif tag == "regex":
                eq = False
                if re.search(e.name, target) is None:
                    return False
        if target is None:
            return False
        return target == e.name if eq else True

    def find(self, raw: str) -> tuple[SymbolEntry | None, SymbolEntry | None]:
        """(covering entry, a #MISSING entry that would otherwise have matched)."""
        hit = self.exact.get(raw)
        if hit is not None and hit.deprecated is None:
            return hit, None
        shadow = hit
        for kind in ("c++", "symver"):
            alias = self._alias(kind, raw)
            if alias is not None and alias in self.aliases[kind]:
                return self.aliases[kind][alias], None
        for e in self.generic:
            if self._generic_match(e, raw):
                return e, None
        if shadow is None:
            for e in self.patterns:
                if e.deprecated is not None and self._generic_match(e, raw):
                    shadow = e
                    break
        return None, shadow


def _is_enough(file_minver: str, real: str, allow_prerelease: bool) -> bool:
    """Is ``file_minver`` at least ``real``? Pre-releases of ``real`` (``3.2.0~rc1``) count as
    ``real`` when ``allow_prerelease``: Debian uploads release candidates that carry the API."""
    bound = real + "~" if allow_prerelease and "~" not in real else real
    return compare_versions(file_minver, bound) >= 0


def check_symbols_file(
    sf: SymbolsFile,
    abis: Sequence[LibraryABI],
    *,
    minver: MinverFn,
    profile: Profile | None = None,
    allow_prerelease: bool = True,
) -> list[Finding]:
    """Where the symbols file and the libraries disagree.

    - ``symbols-file-missing-symbol``: an exported symbol no live entry covers (exact
      ``name@NODE``, a ``(symver)NODE`` / ``*@NODE`` pattern, a ``regex`` or ``c++`` pattern).
    - ``symbols-file-stale-symbol``: an exact, non-optional entry (or a non-optional pattern)
      that matches nothing exported. ``#MISSING`` entries are never stale.
    - ``symbols-file-minver-too-low``: the entry covering a symbol gives a minimal version
      lower than ``minver(abi, symbol)``; this is how a ``(symver)`` pattern hides a symbol
      added to a node after the node shipped.

    Libraries are matched by SONAME; a library the file does not describe gives one
    missing-symbol finding. ``profile`` (optional) exempts private nodes and softens weak ones.
    """
    findings: list[Finding] = []

    def add(
        rule: Rule,
        library: str,
        symbol: str | None,
        node: str | None,
        message: str,
        location: Location | None,
    ) -> None:
        f = Finding(rule.id, rule.severity, library, symbol, node, message, location)
        adjusted = profile.adjust(f, node) if profile is not None else f
        if adjusted is not None:
            findings.append(adjusted)

    for abi in abis:
        name = abi.name
        exported = exported_names(abi)
        lib = sf.library(abi.soname) if abi.soname else None
        if lib is None:
            add(
                Rule.SYMBOLS_FILE_MISSING_SYMBOL,
                name,
                None,
                None,
                f"{name} ({len(exported)} exported symbols) has no entry in {sf.path}",
                None,
            )
            continue
        has_cxx = any(e.has_tag("c++") for e in lib.entries)
        demangle = _Demangler(r.split("@", 1)[0] for r, _ in exported if has_cxx)
        matcher = _Matcher(lib, abi, demangle)
        used: set[int] = set()
        raw_names = set()
        for raw, sym in exported:
            raw_names.add(raw)
            entry, shadow = matcher.find(raw)
            if entry is None:
                why = ""
                if shadow is not None:
                    why = (
                        f" (only the #MISSING entry {shadow.text} at line "
                        f"{shadow.location.line} matches it)"
                    )
                add(
                    Rule.SYMBOLS_FILE_MISSING_SYMBOL,
                    name,
                    sym.name,
                    sym.version,
                    f"{raw} is exported but {sf.path} does not cover it{why}",
                    lib.location,
                )
                continue
            used.add(id(entry))
            real = minver(abi, sym)
            if real is None:
                continue
            try:
                enough = _is_enough(entry.minver, real, allow_prerelease)
            except ValueError as exc:
                raise InputError(abi.path, f"minimal version for {raw}: {exc}") from None
            if not enough:
                via = "" if entry.kind == "exact" else f" through the pattern {entry.text}"
                add(
                    Rule.SYMBOLS_FILE_MINVER_TOO_LOW,
                    name,
                    sym.name,
                    sym.version,
                    f"{raw} gets minimal version {entry.minver}{via} but first shipped in "
                    f"{real}: programs using it would accept a {lib.package or 'package'} "
                    "without it",
                    entry.location,
                )
        for e in lib.entries:
            if e.deprecated is not None or e.optional:
                continue
            if _arch_concerned(e, abi) is not True:
                continue
            if e.kind == "exact":
                if e.name in raw_names:
                    continue
                sym_name, _, node = e.name.rpartition("@")
                add(
                    Rule.SYMBOLS_FILE_STALE_SYMBOL,
                    name,
                    sym_name,
                    None if node == "Base" else node,
                    f"{e.name} is listed in the symbols file but {name} does not export it",
                    e.location,
                )
            elif id(e) not in used and not _matches_any(matcher, e, raw_names):
                add(
                    Rule.SYMBOLS_FILE_STALE_SYMBOL,
                    name,
                    e.text,
                    e.name if e.kind == "symver" else None,
                    f"the pattern {e.text} matches nothing {name} exports",
                    e.location,
                )
    return sorted(
        findings,
        key=lambda f: (f.rule, f.library, f.symbol or "", f.version or ""),
    )


def _matches_any(matcher: _Matcher, e: SymbolEntry, raws: Iterable[str]) -> bool:
    """A pattern shadowed by an exact entry still counts as used when it matches (dpkg)."""
    if e.kind == "symver":
        return any(r.rsplit("@", 1)[-1] == e.name for r in raws)
    return any(matcher._generic_match(e, r) for r in raws)

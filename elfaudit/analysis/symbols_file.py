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

import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence

from elfaudit.base.errors import InputError
from elfaudit.model.abi import LibraryABI, Symbol
from elfaudit.model.report import Finding
from elfaudit.model.script import Location
from elfaudit.model.tables import GeneratedSymbols, SymbolsLibrary, SymbolsLine
from elfaudit.policy.rules import Rule
from elfaudit.readers.debian_symbols import (
    LibraryEntry,
    SymbolEntry,
    SymbolsFile,
    compare_versions,
    parse_version,
)

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
    ``Profile.late_additions`` and :func:`elfaudit.commands.graph.late_additions`).
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


def build_symbols_file(
    abis: Sequence[LibraryABI],
    package: str,
    *,
    minver: MinverFn,
    build_depends_package: str | None,
    is_private: Callable[[str], bool],
    private_as_pattern: bool = True,
    fallback_minver: str | None = None,
) -> GeneratedSymbols:
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
    libraries: list[SymbolsLibrary] = []
    for soname in sorted(by_soname):
        abi = by_soname[soname]
        rows: list[tuple[str, str, SymbolsLine]] = []
        private_done: set[str] = set()
        for raw, sym in exported_names(abi):
            node = sym.version
            if private_as_pattern and node is not None and is_private(node):
                if node in private_done:
                    continue
                private_done.add(node)
                mv = _minver_or_fail(abi, _marker_symbol(node), minver, fallback_minver, raw)
                line = SymbolsLine(node, mv, pattern=True)
                rows.append((node, f" (symver){node} {mv}", line))
                continue
            mv = _minver_or_fail(abi, sym, minver, fallback_minver, raw)
            rows.append((raw, f" {raw} {mv}", SymbolsLine(raw, mv)))
        # sorted as before: by the name, then by the line's text
        lines = tuple(line for _, _, line in sorted(rows, key=lambda r: (r[0], r[1])))
        libraries.append(SymbolsLibrary(soname, package, build_depends_package or None, lines))
    return GeneratedSymbols(tuple(libraries))


def format_symbols_file(generated: GeneratedSymbols) -> str:
    """The symbols file as dpkg reads it: per library ``soname package #MINVER#``, the
    ``* Build-Depends-Package:`` field, then `` name minver`` lines (``(symver)NODE``)."""
    lines: list[str] = []
    for lib in generated.libraries:
        lines.append(f"{lib.soname} {lib.package} #MINVER#")
        if lib.build_depends_package:
            lines.append(f"* Build-Depends-Package: {lib.build_depends_package}")
        lines.extend(
            f" (symver){e.name} {e.minver}" if e.pattern else f" {e.name} {e.minver}"
            for e in lib.lines
        )
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

#: The minimal version that asks for no version at all. dpkg-shlibdeps replaces
#: ``#MINVER#`` by ``(>= minver)`` only when the version's text is true to Perl, and the
#: string ``0`` is false: a symbol whose minimal version is ``0`` gives a dependency on the
#: package with no version (any version of it will do). Packagers write it on purpose for
#: symbols every version of the package ever had (libsystemd0's ``LIBSYSTEMD_209``), so
#: it is a deliberate choice, not a minimal version that is too low. Only ``0`` itself
#: (``0.0`` or ``0~`` are ordinary versions).
UNVERSIONED = "0"

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
    allow_prerelease: bool = True,
) -> list[Finding]:
    """Where the symbols file and the libraries disagree.

    - ``symbols-file-missing-symbol``: an exported symbol no live entry covers (exact
      ``name@NODE``, a ``(symver)NODE`` / ``*@NODE`` pattern, a ``regex`` or ``c++`` pattern).
    - ``symbols-file-stale-symbol``: an exact, non-optional entry (or a non-optional pattern)
      that matches nothing exported. ``#MISSING`` entries are never stale.
    - ``symbols-file-minver-too-low``: the entry covering a symbol gives a minimal version
      lower than ``minver(abi, symbol)``; this is how a ``(symver)`` pattern hides a symbol
      added to a node after the node shipped. A minimal version of ``0`` is never too low:
      it asks for an unversioned dependency on purpose (see :data:`UNVERSIONED`).

    Libraries are matched by SONAME; a library the file does not describe gives one
    missing-symbol finding. The findings are raw: the weighing pass exempts private nodes
    and softens weak ones.
    """
    findings: list[Finding] = []

    def add(
        rule: Rule,
        library: str,
        symbol: str | None,
        node: str | None,
        message: str,
        location: Location | None,
        hidden: bool = False,
    ) -> None:
        findings.append(
            rule.finding(library, node, message, symbol, location=location, hidden=hidden)
        )

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
                    hidden=not sym.default,
                )
                continue
            used.add(id(entry))
            real = minver(abi, sym)
            if real is None or entry.minver == UNVERSIONED:
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
                    hidden=not sym.default,
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

"""RPM-style capabilities of shared libraries, as rpm's ``elfdeps`` derives them.

rpm turns a library's dynamic section into package dependencies:

- Provides: ``SONAME()(64bit)`` for the SONAME and ``SONAME(NODE)(64bit)`` for every version
  node of ``.gnu.version_d`` except the BASE entry (which names the file). The SONAME used for
  the nodes is the name of that BASE entry. Weak nodes and private nodes are provided like any
  other (``--filter-private`` only drops ``GLIBC_PRIVATE``); parents are not provided.
- Requires: ``NEEDED()(64bit)`` per ``DT_NEEDED`` and ``FILE(NODE)(64bit)`` per
  ``.gnu.version_r`` entry.
- The ``(64bit)`` marker is added for ELFCLASS64 files, except on Alpha; 32-bit files get no
  marker at all, and then a bare SONAME is written without the empty ``()``:
  ``libvirt.so.0`` and ``libvirt.so.0(LIBVIRT_0.0.3)``.
- A library without DT_SONAME provides its file name instead (rpm's default "fake soname").
- Names that do not look like libraries are filtered: they must contain ``.so`` and start with
  ``lib`` (or be the dynamic linker, ``ld.``/``ld-``/``ld64.``/``ld64-``).

Not modelled: ``rtld(GNU_HASH)`` (needs the hash sections) and rpm's per-file executable-bit
test for Requires.
"""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding
from elfaudit.policy.rules import Rule

__all__ = ["compare_provides", "marker", "provides", "requires"]


def marker(abi: LibraryABI) -> str:
    """``(64bit)`` for 64-bit ELF (not Alpha), else the empty string."""
    return "(64bit)" if abi.elf_class == 64 and abi.machine != "alpha" else ""


def _sane(soname: str) -> bool:
    """rpm's ``skipSoname`` (inverted): does the name look like a linkable library?"""
    if not soname.strip():
        return False
    if ".so" not in soname:
        return False
    return soname.startswith(("lib", "ld.", "ld-", "ld64.", "ld64-"))


def _dep(soname: str, version: str | None, mark: str) -> str:
    if version is None and not mark:
        return soname
    return f"{soname}({version or ''}){mark}"


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def provides(abi: LibraryABI) -> list[str]:
    """The capabilities rpm would record for ``abi``, sorted and without duplicates."""
    mark = marker(abi)
    out: set[str] = set()
    soname = abi.soname if abi.soname is not None else _file_name(abi.path)
    if _sane(soname):
        out.add(_dep(soname, None, mark))
    base = next((v.name for v in abi.versions if v.base), None)
    if base is not None and _sane(base):
        for v in abi.versions:
            if v.base:
                continue
            # elfdeps loops over every verdaux but never advances past the first, so a node
            # with parents is provided twice under its own name; parents are not provided.
            out.add(_dep(base, v.name, mark))
    return sorted(out)


def requires(abi: LibraryABI) -> list[str]:
    """What rpm would require for ``abi``: DT_NEEDED entries and versions it needs."""
    mark = marker(abi)
    out: set[str] = set()
    for n in abi.needed:
        if _sane(n):
            out.add(_dep(n, None, mark))
    for vn in abi.version_needs:
        if _sane(vn.file):
            out.add(_dep(vn.file, vn.name, mark))
    return sorted(out)


def _node_of(capability: str) -> str | None:
    """``libvirt.so.0(LIBVIRT_1.0.0)(64bit)`` -> ``LIBVIRT_1.0.0``; SONAME provides -> None."""
    start = capability.find("(")
    if start < 0:
        return None
    end = capability.find(")", start)
    inner = capability[start + 1 : end] if end > start else ""
    return inner or None


def compare_provides(
    old_abis: Sequence[LibraryABI], new_abis: Sequence[LibraryABI]
) -> list[Finding]:
    """``provides-removed`` for every capability the old set of libraries provided and the new
    one does not (the package-level view rpm has: a capability may move between libraries).

    A node that held no symbol of its library is skipped: no program can need it, so no
    package requires it (compare reports it as ``empty-node-removed``).

    Raw findings, named by the old library and the node: the weighing pass exempts private
    nodes (they are renamed every release) and softens weak ones.
    """
    new_caps: set[str] = set()
    for abi in new_abis:
        new_caps.update(provides(abi))
    findings: list[Finding] = []
    seen: set[str] = set()
    for abi in old_abis:
        held = {s.version for s in abi.symbols if s.version is not None}
        for cap in provides(abi):
            if cap in new_caps or cap in seen:
                continue
            node = _node_of(cap)
            if node is not None and node not in held:
                continue
            seen.add(cap)
            what = f"version node {node}" if node else "the library itself"
            findings.append(
                Rule.PROVIDES_REMOVED.finding(
                    abi.name,
                    node,
                    f"{cap} is no longer provided ({what}): packages requiring it cannot be "
                    "installed against the new build",
                )
            )
    return sorted(findings, key=lambda f: (f.library, f.version or "", f.message))

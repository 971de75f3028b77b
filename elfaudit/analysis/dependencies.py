"""What a library needs, release to release: ``DT_NEEDED`` entries and version needs.

Packagers ask two questions of an upgrade besides the exported ABI: which libraries the
new build loads that the old one did not (or no longer loads), and whether it needs a
newer version of a dependency (``GLIBC_2.28`` -> ``GLIBC_2.38``: the new build no longer
loads on a system with the older glibc, and the package's Depends must follow). The
findings are raw (see :mod:`elfaudit.policy.weigh`); they carry no version node of the
library itself (``version`` is None), so they are weighed as public.
"""

from __future__ import annotations

from collections import defaultdict

from elfaudit.analysis.raw import RawFindings
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding
from elfaudit.model.tags import VersionTag
from elfaudit.policy.rules import Rule

#: At most this many symbols are named in a ``version-need-raised`` message.
MAX_NAMED = 8


def compare_dependencies(old: LibraryABI, new: LibraryABI) -> list[Finding]:
    """``needed-added``, ``needed-removed`` and ``version-need-raised`` for one pair."""
    out = RawFindings(new.name)
    _compare_needed(old, new, out)
    _compare_version_needs(old, new, out)
    return out.findings


def _compare_needed(old: LibraryABI, new: LibraryABI, out: RawFindings) -> None:
    before, after = set(old.needed), set(new.needed)
    for lib in sorted(before - after):
        out.add(
            Rule.NEEDED_REMOVED,
            None,
            f"no longer needs {lib} (DT_NEEDED): programs that use {lib} without linking "
            f"it themselves, relying on {new.name} to load it, fail with undefined symbols",
        )
    for lib in sorted(after - before):
        out.add(
            Rule.NEEDED_ADDED,
            None,
            f"now needs {lib} (DT_NEEDED): the package must depend on the package shipping it",
        )


def newest_needs(abi: LibraryABI) -> dict[tuple[str, str], VersionTag]:
    """(needed file, node prefix) -> the newest numbered node ``abi`` needs from it.

    ``GLIBC_PRIVATE`` and other names without a numeric tail have no order, and are left
    out; nodes of different prefixes (``GLIBC_`` and ``GLIBCXX_``) are not compared.
    """
    out: dict[tuple[str, str], VersionTag] = {}
    for need in abi.version_needs:
        tag = VersionTag.parse(need.name)
        if not tag.numbers:
            continue
        key = (need.file, tag.prefix)
        if key not in out or out[key] < tag:
            out[key] = tag
    return out


def _node_name(tag: VersionTag, names: dict[VersionTag, str]) -> str:
    return names.get(tag) or f"{tag.prefix}_{'.'.join(map(str, tag.numbers))}"


def _compare_version_needs(old: LibraryABI, new: LibraryABI, out: RawFindings) -> None:
    before, after = newest_needs(old), newest_needs(new)
    names = {VersionTag.parse(n.name): n.name for n in (*old.version_needs, *new.version_needs)}
    pulling: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    for imp in new.imports:
        if imp.version is not None:
            pulling[(imp.file, imp.version)].append(imp.name)
    for (file, prefix), tag in sorted(after.items()):
        was = before.get((file, prefix))
        if was is None or not was < tag:
            continue
        node, old_node = _node_name(tag, names), _node_name(was, names)
        symbols = sorted(set(pulling.get((file, node), ())))
        message = (
            f"needs {node} of {file}, was {old_node}: the new build does not load where "
            f"{file} is older, so the package's dependency on it must be raised"
        )
        if symbols:
            listed = ", ".join(f"{s}@{node}" for s in symbols[:MAX_NAMED])
            more = len(symbols) - MAX_NAMED
            message += f"; pulled in by {listed}" + (f" and {more} more" if more > 0 else "")
        out.add(Rule.VERSION_NEED_RAISED, None, message)

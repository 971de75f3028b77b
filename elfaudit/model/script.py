"""Parsed GNU ld version scripts, and places in text files (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a text file (1-based line and column)."""

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class ScriptEntry:
    """One pattern listed in a version-script node (``global:`` or ``local:``)."""

    pattern: str
    location: Location
    language: str | None = None  # None for plain, "C" or "C++" inside extern blocks
    exact: bool = False  # quoted inside an extern block: no wildcard matching

    @property
    def is_wildcard(self) -> bool:
        return not self.exact and any(c in self.pattern for c in "*?[")


@dataclass(frozen=True, slots=True)
class ScriptNode:
    """A version node of a GNU ld version script (``name`` is None for an anonymous node)."""

    name: str | None
    parents: tuple[str, ...]
    globals: tuple[ScriptEntry, ...]
    locals: tuple[ScriptEntry, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class VersionScript:
    """A parsed version script, or several merged (public + generated private node)."""

    paths: tuple[str, ...]
    nodes: tuple[ScriptNode, ...]

    def node(self, name: str) -> ScriptNode | None:
        for n in self.nodes:
            if n.name == name:
                return n
        return None

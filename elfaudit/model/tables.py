"""What the commands that are not audits return: tables, confirmations, symbols files.

Commands build these; only the renderers (:mod:`elfaudit.render`) turn them into text, JSON
or Markdown. Cells are plain strings and integers, so every format can show them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Cell = str | int


@dataclass(frozen=True)
class Table:
    """A titled table with notes: ``graph show``, ``graph introduced``, ``provides``, ``needs``.

    ``kind`` names the JSON document (``elfaudit-needs``...); ``ok`` is what the exit status
    reports (a symbol found, a program satisfied). ``text_notes`` are shown in text only
    (``graph show``'s heads, which its JSON gives as ``extra``); ``extra`` holds such data.
    """

    kind: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    title: str | None = None
    notes: tuple[str, ...] = ()
    text_notes: tuple[str, ...] = ()
    ok: bool = True
    extra: tuple[tuple[str, str | tuple[str, ...] | Mapping[str, Mapping[str, int]]], ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The headers as JSON keys: ``Newest node`` -> ``newest_node``."""
        return tuple(h.lower().replace(" ", "_") for h in self.headers)


@dataclass(frozen=True)
class Recorded:
    """A release added to a graph file (``graph record``, ``gate --record``)."""

    graph: str
    release: str
    parents: tuple[str, ...]
    sections: tuple[str, ...] = ()  # the support page's sections whose facts it stored


@dataclass(frozen=True)
class Written:
    """A file a command wrote besides its report (``graph plot``'s picture)."""

    path: str
    what: str


@dataclass(frozen=True)
class SymbolsLine:
    """One line of a generated symbols file: `` name@NODE minver`` or a
    ``(symver)NODE minver`` pattern standing for a whole private node."""

    name: str
    minver: str
    pattern: bool = False


@dataclass(frozen=True)
class SymbolsLibrary:
    soname: str
    package: str
    build_depends_package: str | None
    lines: tuple[SymbolsLine, ...] = field(default=())


@dataclass(frozen=True)
class GeneratedSymbols:
    """A Debian symbols file as ``symbols-file`` generates it, one block per SONAME."""

    libraries: tuple[SymbolsLibrary, ...]

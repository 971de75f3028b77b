"""A RELAX NG schema the way a document sees it (stdlib only).

:mod:`elfaudit.readers.relaxng` reads a schema (its includes, nested grammars, refs and
combines resolved) into a :class:`SchemaModel`: from each ``<start>``, every element path a
document can hold (``domain/devices/disk/driver``), each with its attributes, their
enumerated values, its child elements and its text. Names in a namespace carry a prefix
(``domain/qemu:commandline/qemu:arg``); :attr:`SchemaModel.namespaces` maps each prefix to
its URI. A wildcard name (``<anyName/>``) is ``*``, a namespace wildcard (``<nsName/>``)
``prefix:*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class DataType:
    """A ``<data>`` pattern (or ``<text/>``: name ``text``, library empty): its datatype
    library URI, type name and parameters (``pattern``, ``minInclusive``...), in order."""

    library: str
    name: str
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}[{', '.join(f'{k}={v}' for k, v in self.params)}]"

    @property
    def free(self) -> bool:
        """Accepts any string (``<text/>``, an unrestricted string or token)."""
        return not self.params and self.name in ("text", "string", "token")


TEXT = DataType("", "text")


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """An attribute of an element. ``values``: the enumerated values (``<choice><value>``);
    None when there is no enumeration (free text or a data type only). ``types``: the data
    types it also accepts (``<text/>`` is ``text``). ``optional``: a document may leave it
    out."""

    values: frozenset[str] | None = None
    types: frozenset[DataType] = frozenset()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class ElementInfo:
    """An element at one path. ``children``: the names of the elements it may hold (their
    paths are this path plus ``/name``; ``required``: those it must hold). ``text``: its
    enumerated text values (None: no enumeration); ``text_types``: the data types its text
    may also be (``text`` for free text; empty with ``text`` None: no text content).
    ``namespace``: its URI (empty: none). ``repeatable``: the pattern lets it occur more
    than once (``oneOrMore``/``zeroOrMore``)."""

    attributes: Mapping[str, AttributeInfo] = field(default_factory=dict)
    children: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()  # children every form of it must hold, in schema order
    text: frozenset[str] | None = None
    text_types: frozenset[DataType] = frozenset()
    namespace: str = ""
    repeatable: bool = False


@dataclass(frozen=True, slots=True)
class SchemaModel:
    """One schema file's documents. ``file``: the schema's name (``domain.rng``); ``path``:
    where it was read (inside the package); ``roots``: the root element names its
    ``<start>`` allows; ``elements``: path -> :class:`ElementInfo`, sorted by path;
    ``namespaces``: prefix -> URI of every namespaced name used; ``files``: every file read
    for it (itself and its includes)."""

    file: str
    path: str
    roots: tuple[str, ...]
    elements: Mapping[str, ElementInfo]
    namespaces: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()


def prefix_of(path: str) -> str | None:
    """The namespace prefix of the first namespaced name in an element path
    (``domain/qemu:commandline/qemu:arg`` -> ``qemu``), or None."""
    for part in path.split("/"):
        if ":" in part:
            return part.split(":", 1)[0]
    return None

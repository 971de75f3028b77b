"""What an ELF file offers and needs at the dynamic-linking level (stdlib only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class VersionDef:
    """One entry of ``.gnu.version_d``: a version node the library defines."""

    name: str
    index: int
    parents: tuple[str, ...] = ()
    base: bool = False  # VER_FLG_BASE: the entry naming the file itself (the soname)
    weak: bool = False  # VER_FLG_WEAK


@dataclass(frozen=True, slots=True)
class VersionNeed:
    """One version a library or program requires from a dependency (``.gnu.version_r``)."""

    file: str
    name: str
    index: int
    weak: bool = False


# Symbol types whose st_size is part of the ABI (a function's size is just code length).
DATA_TYPES = frozenset({"OBJECT", "TLS", "COMMON"})


@dataclass(frozen=True, slots=True)
class Symbol:
    """One exported (defined, non-local) dynamic symbol.

    ``version`` is the node name, or ``None`` when the symbol carries no version
    (version index 0 or 1 in a library that defines versions, or no version table).
    ``default`` is True for ``name@@NODE`` and for unversioned symbols, False for
    hidden ``name@NODE`` (the 0x8000 bit of ``.gnu.version``).
    """

    name: str
    version: str | None
    default: bool
    type: str  # FUNC, OBJECT, IFUNC, TLS, NOTYPE, COMMON, ...
    binding: str  # GLOBAL, WEAK, UNIQUE
    visibility: str  # DEFAULT, PROTECTED, ...
    size: int

    @property
    def label(self) -> str:
        if self.version is None:
            return self.name
        return f"{self.name}{'@@' if self.default else '@'}{self.version}"


def _symbol_builder() -> Callable[[str, str | None, bool, str, str, str, int], Symbol]:
    new: Callable[[type[Symbol]], Symbol] = object.__new__
    slots: dict[str, Any] = {f: Symbol.__dict__[f].__set__ for f in Symbol.__slots__}
    set_name, set_version, set_default = slots["name"], slots["version"], slots["default"]
    set_type, set_binding = slots["type"], slots["binding"]
    set_visibility, set_size = slots["visibility"], slots["size"]

    def new_symbol(
        name: str,
        version: str | None,
        default: bool,
        type: str,
        binding: str,
        visibility: str,
        size: int,
    ) -> Symbol:
        self = new(Symbol)
        set_name(self, name)
        set_version(self, version)
        set_default(self, default)
        set_type(self, type)
        set_binding(self, binding)
        set_visibility(self, visibility)
        set_size(self, size)
        return self

    return new_symbol


new_symbol = _symbol_builder()
"""``Symbol(...)`` for the ELF reader's loop over thousands of symbols: an equal object,
built in half the time.

A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (a
type lookup and a generic attribute store per field, ~1.2 us a symbol); this stores
straight through the slots' descriptors (~0.6 us). ``tests/test_model.py`` keeps the two
equal field for field.
"""


@dataclass(frozen=True, slots=True)
class ImportedSymbol:
    """An undefined dynamic symbol a binary expects from a dependency."""

    name: str
    version: str | None
    file: str | None  # the DT_NEEDED entry whose verneed carries the version, if known
    weak: bool = False


@dataclass(frozen=True, slots=True)
class LibraryABI:
    """What one ELF file offers (and needs) at the dynamic-linking level."""

    path: str
    soname: str | None
    needed: tuple[str, ...]
    machine: str  # e.g. EM_X86_64 as "x86_64"
    elf_class: int  # 32 or 64
    byte_order: str  # "little" or "big"
    versions: tuple[VersionDef, ...]  # includes the BASE entry
    symbols: tuple[Symbol, ...]  # exported API symbols, version markers excluded
    markers: tuple[str, ...] = ()  # ABS version-marker symbols GNU ld emits per node
    version_needs: tuple[VersionNeed, ...] = ()
    imports: tuple[ImportedSymbol, ...] = ()
    sha256: str | None = None

    @property
    def name(self) -> str:
        """How reports name this library: its SONAME, else its file name."""
        return self.soname or self.path.rsplit("/", 1)[-1]

    @property
    def node_names(self) -> tuple[str, ...]:
        """Version nodes defined by the library, BASE entry excluded, in index order."""
        return tuple(v.name for v in self.versions if not v.base)

    @property
    def versioned(self) -> bool:
        return any(not v.base for v in self.versions)

    def node(self, name: str) -> VersionDef | None:
        for v in self.versions:
            if v.name == name and not v.base:
                return v
        return None

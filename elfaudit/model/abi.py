"""What an ELF file offers and needs at the dynamic-linking level (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass


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

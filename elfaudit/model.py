"""The facts elfaudit reasons about, as frozen dataclasses (standard library only).

Everything above this module (readers, analysis, renderers, CLI) exchanges these
objects; nothing here knows about pyelftools, networkx, click or tabulate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from functools import total_ordering

# --------------------------------------------------------------------------- versions


_TAG_RE = re.compile(r"^(?P<prefix>.*?)_?(?P<numbers>\d+(?:\.\d+)*)$")


@total_ordering
@dataclass(frozen=True, slots=True)
class VersionTag:
    """A version node name split into prefix and numeric parts.

    ``LIBVIRT_QEMU_1.2.3`` -> prefix ``LIBVIRT_QEMU``, numbers ``(1, 2, 3)``.
    Names compare numerically within a prefix (``LIBVIRT_0.10.0`` > ``LIBVIRT_0.9.14``);
    a name without a numeric tail has ``numbers == ()``.
    """

    prefix: str
    numbers: tuple[int, ...]

    @classmethod
    def parse(cls, name: str) -> VersionTag:
        m = _TAG_RE.match(name)
        if m is None:
            return cls(name, ())
        return cls(m.group("prefix"), tuple(int(p) for p in m.group("numbers").split(".")))

    def _key(self) -> tuple[str, tuple[int, ...]]:
        return (self.prefix, self.numbers)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, VersionTag):
            return NotImplemented
        return self._key() < other._key()


def release_key(release: str) -> tuple[tuple[int, ...], str]:
    """Sort key for a release name such as ``9.0.0`` or ``debian/11.3.0-2~bpo12+1``."""
    m = re.search(r"(\d+(?:\.\d+)*)", release)
    nums = tuple(int(p) for p in m.group(1).split(".")) if m else ()
    return (nums, release)


# --------------------------------------------------------------------------- ELF facts


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


# --------------------------------------------------------------------------- version scripts


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


# --------------------------------------------------------------------------- findings


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


class NodeClass(str, Enum):
    """How a profile treats a version node."""

    PUBLIC = "public"  # stable forever: changes are errors
    WEAK = "weak"  # e.g. hypervisor-specific API: changes are warnings
    PRIVATE = "private"  # exempt, summarised only


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    library: str
    symbol: str | None
    version: str | None
    message: str
    location: Location | None = None
    waived: str | None = None  # the waiver's reason when a waiver matched


@dataclass(frozen=True, slots=True)
class PrivateSummary:
    """Churn in private nodes, summarised rather than listed."""

    library: str
    old_nodes: tuple[str, ...]
    new_nodes: tuple[str, ...]
    added: int
    removed: int
    symbols: tuple[str, ...] = ()  # listed only with --show-private


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be audited (a result, not a crash)."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of one command: findings plus what could not be audited."""

    command: str
    libraries: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    private: tuple[PrivateSummary, ...] = ()
    problems: tuple[Problem, ...] = ()
    unused_waivers: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waived is None)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        out["waived"] = 0
        for f in self.findings:
            if f.waived is not None:
                out["waived"] += 1
            else:
                out[f.severity.value] += 1
        return out


# Exit-code bits, exactly as libabigail's abidiff.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2 | EXIT_ERROR
EXIT_CHANGE = 4
EXIT_INCOMPATIBLE = 8 | EXIT_CHANGE


def exit_code(report: Report) -> int:
    """abidiff's bitmask: 1 could not audit, 4 findings, 12 error-severity findings."""
    code = EXIT_OK
    active = report.active
    if any(f.severity is Severity.ERROR for f in active):
        code |= EXIT_INCOMPATIBLE
    elif active:
        code |= EXIT_CHANGE
    if report.problems:
        code |= EXIT_ERROR
    return code

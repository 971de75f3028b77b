"""Exceptions that cross module boundaries. Each carries one user-facing line."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (whitespace runs collapsed), or its type's name
    when it has none: for messages that must stay a single line."""
    return " ".join(str(exc).split()) or type(exc).__name__


class ElfauditError(Exception):
    """Base class: ``message`` is a single line naming the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(ElfauditError):
    """A file given to elfaudit cannot be used."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NoLibrariesError(InputError):
    """A readable package or directory that holds no shared library."""


class ElfReadError(InputError):
    """Not an ELF file, truncated, or with corrupt dynamic tables."""


class ScriptSyntaxError(InputError):
    """A version script GNU ld would reject."""

    def __init__(self, path: str, line: int, column: int, reason: str) -> None:
        ElfauditError.__init__(self, f"{path}:{line}:{column}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column


class PackageError(InputError):
    """A .deb, .rpm or directory that cannot be read safely."""


class SnapshotError(InputError):
    """A JSON snapshot that is not an elfaudit dump."""


class ProfileError(InputError):
    """A profile or waivers file that fails validation."""


class GraphError(InputError):
    """A release-graph file that is corrupt, or an operation the graph refuses."""

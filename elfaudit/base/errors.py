"""Exceptions that cross module boundaries. Each carries one user-facing line."""

from __future__ import annotations


def one_line(what: BaseException | str, empty: str | None = None) -> str:
    """An exception's (or a string's) text on one line, whitespace runs collapsed: for
    messages that must stay a single line.

    When the text is empty: ``empty`` if given (``""`` keeps it empty), else the
    exception type's name (``""`` for a string).
    """
    text = " ".join(str(what).split())
    if text:
        return text
    if empty is not None:
        return empty
    return type(what).__name__ if isinstance(what, BaseException) else ""


class ElfauditError(Exception):
    """Base class: ``message`` is a single line naming the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(ElfauditError):
    """A file given to elfaudit cannot be used: ``<path>: <reason>``, or
    ``<path>:<line>: <reason>`` when the line is known."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        super().__init__(f"{path}: {reason}" if line is None else f"{path}:{line}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line


class OutputError(ElfauditError):
    """A file elfaudit was asked to write (``-o``, a lock) cannot be written."""

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

    line: int  # always known here

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

"""Exceptions that cross module boundaries. Each carries one user-facing line."""

from __future__ import annotations


def terminal_safe(text: str) -> str:
    """``text`` made safe to show on a terminal, on one line: every character that is not
    printable (control characters: ``\\n``, ``\\r``, ``\\t``, ESC, DEL, the C1 controls;
    lone surrogates; format and separator characters such as U+202E) is shown as an
    escape, ``\\xNN``, ``\\uXXXX`` or ``\\UXXXXXXXX``. Everything else, non-ASCII letters
    included, is kept. For names in text and Markdown output and in every error line;
    JSON output keeps names exact."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


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


class StdoutError(OutputError):
    """Standard output is closed, full, or a pipe whose reader has gone:
    ``stdout: cannot write: <why>``. Raised once, by the first write that failed."""

    def __init__(self, reason: str) -> None:
        super().__init__("stdout", reason)
        self.shown = False  # set once its line is on stderr


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

"""Turn what the user names (ELF file, JSON snapshot, .deb, .rpm, directory) into ABIs."""

from __future__ import annotations

import os
from collections.abc import Sequence

from elfaudit.base.errors import InputError, NoLibrariesError
from elfaudit.model.abi import LibraryABI

PACKAGE_SUFFIXES = (".deb", ".udeb", ".ddeb", ".rpm")
"""Names read as packages whatever their first bytes (``scan`` looks for these in a tree)."""


def _head(path: str, n: int = 64) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except IsADirectoryError:
        return b""
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from exc


def kind_of(path: str) -> str:
    """``dir``, ``package``, ``snapshot`` or ``elf`` (anything else is read as ELF)."""
    if not os.path.lexists(path):
        raise InputError(path, "no such file or directory")
    if os.path.isdir(path):
        return "dir"
    head = _head(path)
    if path.endswith(PACKAGE_SUFFIXES) or head.startswith((b"!<arch>\n", b"\xed\xab\xee\xdb")):
        return "package"
    from elfaudit.readers.snapshot import looks_like_snapshot

    if looks_like_snapshot(head):
        return "snapshot"
    return "elf"


def load_libraries(path: str | os.PathLike[str], *, digest: bool = True) -> list[LibraryABI]:
    """Every versioned shared library a path stands for, read into the model.

    ``digest=False``: no ``sha256`` of ELF files (see :func:`elfaudit.readers.elf.read_library`).

    Raises :class:`InputError` (one line naming the file) when nothing usable is there.
    """
    p = os.fspath(path)
    kind = kind_of(p)
    if kind == "snapshot":
        from elfaudit.readers.snapshot import read_snapshot

        return read_snapshot(p)
    if kind == "elf":
        from elfaudit.readers.elf import read_library

        return [read_library(p, digest=digest)]
    from elfaudit.readers.packages import find_libraries

    found = find_libraries(p)
    if not found:
        what = "directory" if kind == "dir" else "package"
        raise NoLibrariesError(p, f"no shared libraries found in this {what}")
    # Imported only now: when two packages load on two threads, one thread imports the
    # ELF reader (pyelftools) while the other is still decompressing without the GIL.
    from elfaudit.readers.elf import read_library_bytes

    libs = [read_library_bytes(item.data, item.origin, digest=digest) for item in found]
    return sorted(libs, key=lambda a: a.name)


def load_all(paths: Sequence[str]) -> list[LibraryABI]:
    """Every library of every path, in order (what ``dump`` shows)."""
    return [abi for p in paths for abi in load_libraries(p)]

"""Readers: one module per input format, each turning bytes into model objects.

:data:`ELF_MAGIC` lives here, not in :mod:`elfaudit.readers.elf`, so that the package reader
can recognise ELF members without importing the ELF reader (and pyelftools, ~10 ms): a
package comparison starts decompressing OLD on a worker thread while NEW's side, not an
import, keeps the main thread busy. :class:`BadElf` and :func:`bad_elf` are the two ELF
readers' (``elf``, ``elf_image``) internal signal, here for the same reason: each turns it
into an :class:`~elfaudit.base.errors.ElfReadError` naming the file.
"""

from __future__ import annotations

from typing import NoReturn

ELF_MAGIC = b"\x7fELF"


class BadElf(Exception):
    """A reason an ELF file cannot be read; the reader raises ElfReadError(path, reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bad_elf(reason: str) -> NoReturn:
    raise BadElf(reason)

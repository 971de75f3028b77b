"""Readers: one module per input format, each turning bytes into model objects.

:data:`ELF_MAGIC` lives here, not in :mod:`elfaudit.readers.elf`, so that the package reader
can recognise ELF members without importing the ELF reader (and pyelftools, ~10 ms): a
package comparison starts decompressing OLD on a worker thread while NEW's side, not an
import, keeps the main thread busy.
"""

ELF_MAGIC = b"\x7fELF"

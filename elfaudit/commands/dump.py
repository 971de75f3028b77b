"""``dump``: the libraries of every input, as model objects."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.model.abi import LibraryABI
from elfaudit.readers.inputs import load_all


def run_dump(paths: Sequence[str]) -> list[LibraryABI]:
    return load_all(paths)

"""``provides``: RPM-style capabilities a library provides or requires."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.commands.dump import run_dump
from elfaudit.model.tables import Table


def provides_table(lib_paths: Sequence[str], *, requires: bool) -> Table:
    from elfaudit.analysis import provides

    rows: list[tuple[str, str, str]] = []
    for abi in run_dump(lib_paths):
        rows.extend((abi.name, "Provides", cap) for cap in provides.provides(abi))
        if requires:
            rows.extend((abi.name, "Requires", cap) for cap in provides.requires(abi))
    return Table("elfaudit-provides", ("Library", "Kind", "Capability"), tuple(rows))

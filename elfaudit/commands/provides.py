"""``provides``: RPM-style capabilities a library provides or requires."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.commands.dump import run_dump


def provides_table(lib_paths: Sequence[str], *, requires: bool, fmt: str) -> str:
    from elfaudit.analysis import provides
    from elfaudit.render import render_table

    rows: list[tuple[str, str, str]] = []
    for abi in run_dump(lib_paths):
        rows.extend((abi.name, "Provides", cap) for cap in provides.provides(abi))
        if requires:
            rows.extend((abi.name, "Requires", cap) for cap in provides.requires(abi))
    return render_table(
        None, ("Library", "Kind", "Capability"), rows, fmt, kind="elfaudit-provides"
    )

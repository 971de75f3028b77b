"""A synthetic, libvirt-shaped release graph for the benchmark and the graph tests.

Benchmark data, not part of the shipped package: ``scripts/bench.py`` imports it from its own
folder, and the tests through ``tests/conftest.py``.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from elfaudit.graph.dag import ReleaseGraph
from elfaudit.model.abi import LibraryABI, Symbol, VersionDef

# --------------------------------------------------------------------------- synthetic data


def _synthetic_lib(
    soname: str,
    path: str,
    chain: list[tuple[str, list[str]]],
    private: str | None,
    private_count: int,
    needed: tuple[str, ...] = (),
) -> LibraryABI:
    versions = [VersionDef(soname, 1, (), base=True)]
    prev: str | None = None
    for node, _ in chain:
        versions.append(VersionDef(node, len(versions) + 1, (prev,) if prev else ()))
        prev = node
    syms = [
        Symbol(name, node, True, "FUNC", "GLOBAL", "DEFAULT", 0)
        for node, names in chain
        for name in names
    ]
    if private is not None:
        versions.append(VersionDef(private, len(versions) + 1, ()))
        syms.extend(
            Symbol(f"vir_private_{i}", private, True, "FUNC", "GLOBAL", "DEFAULT", 0)
            for i in range(private_count)
        )
    return LibraryABI(
        path=path,
        soname=soname,
        needed=needed,
        machine="x86_64",
        elf_class=64,
        byte_order="little",
        versions=tuple(versions),
        symbols=tuple(syms),
        sha256=f"{random.Random(path + str(len(syms))).getrandbits(256):064x}",
    )


def synthetic_graph(
    releases: int = 200,
    *,
    seed: int = 0,
    private_symbols: int = 50,
    branch_every: int = 12,
    branch_length: int = 3,
) -> ReleaseGraph:
    """A libvirt-shaped graph for benchmarks, tests and demos (deterministic per ``seed``).

    A main line ``M.m.0`` (ten minor releases per major) along which libvirt.so.0 grows
    from 280 to 520 public symbols (a new ``LIBVIRT_<release>`` node when a release adds
    API) and libvirt-qemu, libvirt-lxc and libvirt-admin grow a little; after every
    ``branch_every``-th main release a maintenance branch of ``branch_length`` point
    releases (same API, new private node). Exactly ``releases`` releases are recorded.
    """
    rng = random.Random(seed)
    n_branches = max(0, (releases - 1) // (branch_every + branch_length))
    n_main = releases - n_branches * branch_length
    span = max(1, n_main - 1)
    libs: dict[str, tuple[str, str | None, int, int]] = {
        # soname: (node prefix, private prefix, symbols at start, symbols at end)
        "libvirt.so.0": ("LIBVIRT_", "LIBVIRT_PRIVATE_", 280, 520),
        "libvirt-qemu.so.0": ("LIBVIRT_QEMU_", None, 1, 8),
        "libvirt-lxc.so.0": ("LIBVIRT_LXC_", None, 1, 5),
        "libvirt-admin.so.0": ("LIBVIRT_ADMIN_", "LIBVIRT_ADMIN_PRIVATE_", 20, 34),
    }
    chains = {
        so: [(f"{prefix}0.1.0", [f"{so.split('.')[0]}_base{k}" for k in range(start)])]
        for so, (prefix, _, start, _) in libs.items()
    }
    stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)
    graph = ReleaseGraph()

    def record(release: str, parent: str | None) -> None:
        abis = [
            _synthetic_lib(
                so,
                f"usr/lib/x86_64-linux-gnu/{so}",
                chains[so],
                f"{libs[so][1]}{release}" if libs[so][1] else None,
                private_symbols,
                () if so == "libvirt.so.0" else ("libvirt.so.0",),
            )
            for so in libs
        ]
        graph.add_release(
            release,
            abis,
            [parent] if parent else [],
            source=f"synthetic/{release}",
            recorded_at=stamp,
        )

    prev: str | None = None
    for i in range(n_main):
        release = f"{1 + i // 10}.{i % 10}.0"
        for so, (prefix, _, start, end) in libs.items():
            have = sum(len(names) for _, names in chains[so])
            due = start + round((end - start) * i / span) - have
            if i and due > 0 and (rng.random() < 0.7 or i == n_main - 1):
                names = [f"{so.split('.')[0]}_api{i}_{k}" for k in range(due)]
                chains[so].append((f"{prefix}{release}", names))
        record(release, prev)
        prev = release
        if i and i % branch_every == 0 and i // branch_every <= n_branches:
            parent = release
            for k in range(1, branch_length + 1):
                point = f"{1 + i // 10}.{i % 10}.{k}"
                record(point, parent)
                parent = point
    return graph

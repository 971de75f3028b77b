"""Every architecture: real libvirt0 packages of one suite for each Debian architecture.

For each architecture Debian builds libvirt0 for (``supported_architectures`` of
``data/debian-releases.json``: amd64, i386, arm64, armhf, ppc64el, s390x, riscv64), from ONE
suite (trixie carries all seven) to keep CI short:

* the ELF header as elfaudit reads it (machine, class, byte order) is the architecture's,
  and readelf agrees;
* elfaudit's reading equals binutils' for that architecture (``readelf``/``nm`` read any
  ELF file, whatever the host; Debian's ``binutils-multiarch`` replaces them with builds
  that know every target, which changes nothing here);
* the public ABI (every node but the private ones, with parents; every symbol of those
  nodes with version, default, type, binding and visibility) equals amd64's; object sizes
  are compared only between architectures of the same ELF class (a pointer such as
  ``virConnectAuthPtrDefault`` is 4 bytes on 32-bit ones).

An architecture the suite does not carry is skipped with the reason. All packages are
fetched with one run of the fetch script per session (``realdebs.fetch_arches``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import binutils
import pytest
import realdebs
from binutils import assert_matches_binutils, differences
from test_real import SONAMES, libvirt_profile

from elfaudit.model.abi import DATA_TYPES, LibraryABI
from elfaudit.readers.elf import read_library

SUITE = "trixie"
ARCHES: tuple[str, ...] = tuple(realdebs.releases()["supported_architectures"])
BASELINE = "amd64"

# Debian architecture -> (elfaudit's machine, readelf's "Machine:", ELF class, byte order)
EXPECTED: dict[str, tuple[str, str, int, str]] = {
    "amd64": ("x86_64", "Advanced Micro Devices X86-64", 64, "little"),
    "i386": ("i386", "Intel 80386", 32, "little"),
    "arm64": ("aarch64", "AArch64", 64, "little"),
    "armhf": ("arm", "ARM", 32, "little"),
    "ppc64el": ("ppc64", "PowerPC64", 64, "little"),
    "s390x": ("s390", "IBM S/390", 64, "big"),
    "riscv64": ("riscv", "RISC-V", 64, "little"),
}

Libs = dict[str, tuple[Path, LibraryABI]]


@pytest.fixture(scope="session")
def arch_libs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Libs]:
    """arch -> {soname: (extracted file, elfaudit's reading)}; skips a missing arch."""
    debs = realdebs.fetch_arches(SUITE, ARCHES)
    done: dict[str, Libs] = {}

    def get(arch: str) -> Libs:
        deb = debs[arch]
        if deb is None:
            realdebs.skip_unavailable(SUITE, arch)
        if arch not in done:
            files = realdebs.extract_libs(deb, tmp_path_factory.mktemp(f"{SUITE}-{arch}"))
            assert sorted(files) == sorted(SONAMES), f"{deb.name} holds {sorted(files)}"
            done[arch] = {so: (path, read_library(path)) for so, path in files.items()}
        return done[arch]

    return get


def test_every_supported_architecture_is_expected() -> None:
    assert set(ARCHES) == set(EXPECTED)


@pytest.mark.real
def test_the_suite_carries_every_architecture(arch_libs: Callable[[str], Libs]) -> None:
    """One suite is enough only if it has them all: its Release file says so."""
    arch_libs(BASELINE)  # fetched, so the apt lists of the suite are there
    lists = realdebs.cache_dir() / "apt" / SUITE / BASELINE / "lists"
    release = sorted(lists.glob(f"*_dists_{SUITE}_InRelease")) + sorted(
        lists.glob(f"*_dists_{SUITE}_Release")
    )
    if not release:
        pytest.skip(f"no Release file of {SUITE} under {lists}")
    m = re.search(r"^Architectures:(.*)$", release[0].read_text(errors="replace"), re.M)
    assert m is not None, f"{release[0]} has no Architectures field"
    assert set(ARCHES) - set(m.group(1).split()) == set()


@pytest.mark.real
@pytest.mark.parametrize("arch", ARCHES)
def test_header_is_the_architectures(arch: str, arch_libs: Callable[[str], Libs]) -> None:
    machine, readelf_machine, bits, order = EXPECTED[arch]
    for soname, (path, abi) in arch_libs(arch).items():
        assert (abi.machine, abi.elf_class, abi.byte_order) == (machine, bits, order), soname
        header = binutils.header(path)
        assert header["Machine"] == readelf_machine, soname
        assert header["Class"] == f"ELF{bits}", soname
        assert header["Data"] == f"2's complement, {order} endian", soname
        assert abi.soname == soname


@pytest.mark.real
@pytest.mark.parametrize("soname", SONAMES)
@pytest.mark.parametrize("arch", ARCHES)
def test_reader_equals_binutils(arch: str, soname: str, arch_libs: Callable[[str], Libs]) -> None:
    path, abi = arch_libs(arch)[soname]
    assert_matches_binutils(path, abi)


def public_view(abi: LibraryABI, with_sizes: bool) -> dict[str, set[tuple[object, ...]]]:
    profile = libvirt_profile()
    return {
        "nodes (name, parents)": {
            (v.name, frozenset(v.parents))
            for v in abi.versions
            if not v.base and not profile.is_private(v.name)
        },
        "symbols (name, version, default, type, binding, visibility)": {
            (s.name, s.version, s.default, s.type, s.binding, s.visibility)
            for s in abi.symbols
            if not profile.is_private(s.version)
        },
        "object sizes": {
            (s.name, s.version, s.size)
            for s in abi.symbols
            if with_sizes and s.type in DATA_TYPES and not profile.is_private(s.version)
        },
        "markers": {(m,) for m in abi.markers if not profile.is_private(m)},
    }


@pytest.mark.real
@pytest.mark.parametrize("arch", [a for a in ARCHES if a != BASELINE])
def test_public_abi_equals_amd64(arch: str, arch_libs: Callable[[str], Libs]) -> None:
    base, mine = arch_libs(BASELINE), arch_libs(arch)
    problems = []
    for soname in SONAMES:
        b, m = base[soname][1], mine[soname][1]
        same_class = b.elf_class == m.elf_class
        want, got = public_view(b, same_class), public_view(m, same_class)
        assert want["symbols (name, version, default, type, binding, visibility)"], soname
        for what in want:
            diff = differences(f"{soname} {what} ({arch} +, {BASELINE} -)", got[what], want[what])
            if diff:
                problems.append(diff)
        if not same_class:  # 32-bit objects are never larger than their 64-bit selves
            sizes = {(s.name, s.version): s.size for s in b.symbols if s.type in DATA_TYPES}
            problems += [
                f"{soname} {s.label}: {s.size} bytes on {arch}, "
                f"{sizes[(s.name, s.version)]} on {BASELINE}"
                for s in m.symbols
                if s.type in DATA_TYPES and s.size > sizes.get((s.name, s.version), s.size)
            ]
    assert not problems, f"{SUITE} {arch} vs {BASELINE}:\n" + "\n".join(problems)

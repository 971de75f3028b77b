"""The fuzz harness (scripts/fuzz.py) in CI: a short campaign over every input kind, property
tests that mutate ELF files, version scripts and packages with hypothesis, and proof that the
harness really catches a crash, a hang and a memory blow-up.

Every input must end in a clean result or a clean error (an ``ElfauditError``: one line, exit
1); any other exception is a bug. The long campaign (100,000 inputs and more) is run by hand,
its numbers are in the README.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fuzz
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("dpkg-deb") is None,
    reason="the seeds are built with gcc and dpkg-deb",
)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[bytes]]:
    return fuzz.build_seeds(tmp_path_factory.mktemp("seeds"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("inputs"))


def test_a_short_campaign_over_every_kind_finds_nothing() -> None:
    result = fuzz.campaign(1800, seed=1, jobs=2, timeout=20.0)
    assert result["bad"] == [], fuzz.table(result)
    assert result["inputs"] == 1800
    for kind, counts in result["per_kind"].items():
        # Both paths are exercised, or the campaign proves nothing about that kind.
        assert counts["ok"] > 0 and counts["refused"] > 0, (kind, counts)


def test_every_seed_reads(seeds: dict[str, list[bytes]], workdir: str) -> None:
    assert set(seeds) == set(fuzz.KINDS)
    for kind, datas in seeds.items():
        for data in datas:
            assert fuzz.run_one(kind, data, workdir, 20.0) == ("ok", ""), kind


# --------------------------------------------------------------------------- the harness itself


def test_the_harness_catches_a_crash_a_hang_and_memory(
    monkeypatch: pytest.MonkeyPatch, workdir: str
) -> None:
    def crash(_path: str) -> object:
        raise TypeError("a bug")

    def hang(_path: str) -> object:
        while True:
            time.sleep(0.01)

    def blow(_path: str) -> object:
        raise MemoryError

    for reader, outcome in ((crash, "crash"), (hang, "hang"), (blow, "memory")):
        monkeypatch.setitem(fuzz.READERS, "elf", reader)
        got, detail = fuzz.run_one("elf", b"\x7fELF", workdir, 0.2)
        assert got == outcome, detail
        if outcome == "crash":
            assert detail.startswith("TypeError: a bug at "), detail


def test_a_crash_is_saved_and_the_exit_status_says_so(
    monkeypatch: pytest.MonkeyPatch, seeds: dict[str, list[bytes]], tmp_path: Path
) -> None:
    def crash(_path: str) -> object:
        raise KeyError("planted")

    monkeypatch.setitem(fuzz.READERS, "waivers", crash)
    batch = fuzz.Batch("waivers", 0, 3, seeds["waivers"], str(tmp_path), 5.0, str(tmp_path / "bad"))
    result = fuzz.run_batch(batch)
    assert result["counts"] == {"crash": 3}
    assert [b["outcome"] for b in result["bad"]] == ["crash"] * 3
    assert all(Path(b["saved"]).is_file() for b in result["bad"])
    assert "KeyError: 'planted'" in result["bad"][0]["detail"]


def test_the_command_exits_1_on_an_unknown_kind() -> None:
    done = subprocess.run(
        [sys.executable, str(Path(fuzz.__file__)), "--kinds", "elf,nosuch", "--inputs", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "nosuch" in done.stderr


# --------------------------------------------------------------------------- property tests

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EDITS = st.lists(
    st.tuples(st.integers(0, 2**31), st.integers(0, 255), st.sampled_from(["set", "cut", "ins"])),
    min_size=1,
    max_size=12,
)


def _edit(data: bytes, edits: list[tuple[int, int, str]], hot: list[tuple[int, int]]) -> bytes:
    b = bytearray(data)
    for pos, value, op in edits:
        if not b:
            break
        if hot and pos % 2:
            lo, hi = hot[pos % len(hot)]
            i = min(lo + pos % max(1, hi - lo), len(b) - 1)
        else:
            i = pos % len(b)
        if op == "set":
            b[i] = value
        elif op == "cut":
            del b[i:]
        else:
            b[i:i] = bytes([value]) * (1 + value % 8)
    return bytes(b)


def _clean(kind: str, data: bytes, workdir: str) -> None:
    outcome, detail = fuzz.run_one(kind, data, workdir, 20.0)
    assert outcome in ("ok", "refused"), f"{kind}: {outcome}: {detail}"


@PROPERTY
@given(edits=EDITS)
def test_mutated_elf_is_read_or_refused(
    seeds: dict[str, list[bytes]], workdir: str, edits: list[tuple[int, int, str]]
) -> None:
    seed = seeds["elf"][0]
    _clean("elf", _edit(seed, edits, fuzz.HOT.get(seed, [])), workdir)


@PROPERTY
@given(edits=EDITS)
def test_mutated_deb_is_read_or_refused(
    seeds: dict[str, list[bytes]], workdir: str, edits: list[tuple[int, int, str]]
) -> None:
    for seed in seeds["deb"]:
        _clean("deb", _edit(seed, edits, []), workdir)


@PROPERTY
@given(
    inserts=st.lists(
        st.tuples(st.integers(0, 2**31), st.sampled_from(fuzz.TOKENS)), min_size=1, max_size=10
    )
)
def test_mutated_version_script_is_parsed_or_refused(
    seeds: dict[str, list[bytes]], workdir: str, inserts: list[tuple[int, str]]
) -> None:
    text = seeds["script"][1].decode()
    for pos, token in inserts:
        i = pos % (len(text) + 1)
        text = text[:i] + token + text[i:]
    _clean("script", text.encode("utf-8", "surrogatepass"), workdir)


@PROPERTY
@given(seed=st.integers(0, 2**32))
def test_mutated_json_inputs_are_read_or_refused(
    seeds: dict[str, list[bytes]], workdir: str, seed: int
) -> None:
    rng = random.Random(seed)
    for kind in ("snapshot", "graph", "profile", "waivers"):
        data: Any = fuzz.mutate_json(rng.choice(seeds[kind]), rng)
        _clean(kind, data, workdir)

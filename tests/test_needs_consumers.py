"""Issue 10: ``needs`` for real consumers: programs, packages of programs, trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from realdebs import extract_tree, require

from elfaudit.cli import main
from elfaudit.commands.needs import summarise


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def test_summarise_bounds_a_cell() -> None:
    assert summarise(["a", "b"]) == "a, b"
    assert summarise([str(i) for i in range(5000)]) == "0, 1, 2 and 4,997 more"


def test_a_package_of_programs(capsys) -> None:
    deb = require("trixie", package="libvirt-clients")
    rc, out, err = call(capsys, "needs", str(deb), "--format", "json")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    by = {(r["program"], r["library"]): r for r in rows}
    virsh = by[("virsh", "libvirt.so.0")]
    assert virsh["minimum_release"] == "11.3.0"  # libvirt's nodes carry releases
    gnutls = by[("virt-pki-validate", "libgnutls.so.30")]
    assert gnutls["newest_node"] == "GNUTLS_3_4" and gnutls["minimum_release"] == "-"
    # against an older libvirt: missing, in bounded cells
    old = require("bookworm")
    rc, out, _ = call(capsys, "needs", str(deb), "--library", str(old), "--format", "json")
    assert rc == 12
    cells = [str(c) for r in json.loads(out)["rows"] for c in r.values()]
    assert max(len(c) for c in cells) < 600
    assert any("more" in c for c in cells)


def test_a_tree_and_a_single_program(capsys, tmp_path: Path) -> None:
    deb = require("trixie", package="libvirt-clients")
    tree = extract_tree(deb, tmp_path / "tree")
    rc, out, err = call(capsys, "needs", str(tree))
    assert rc == 0, err
    assert "virsh" in out
    virsh = next(tree.rglob("bin/virsh"))
    rc, out, err = call(capsys, "needs", str(virsh), "--format", "json")
    assert rc == 0, err
    assert {r["program"] for r in json.loads(out)["rows"]} == {"virsh"}

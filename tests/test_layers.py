"""The layers stay visible: the folder tree is the architecture, data flows one way, and each
third-party library has one home module.

A module's layer is the package it lives in (``elfaudit/<layer>/<module>.py``), so the README's
layer table, this test and the tree cannot drift apart: a new module is placed by where it is
saved, and a new package fails here until it is given a place in ``ORDER``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "elfaudit"

# Lowest first: a module may import its own layer and the layers before it.
ORDER = ["model", "base", "readers", "policy", "analysis", "graph", "commands", "render", "cli"]
# The entry points beside the packages belong to the CLI.
TOP_LEVEL = {"__init__": "cli", "__main__": "cli"}
# Renderers format what commands return; they never call the command layer.
FORBIDDEN = {"render": {"commands"}}
HOMES = {
    "elftools": "readers.elf",
    "zstandard": "readers.packages",
    "networkx": "graph.dag",
    "tabulate": "render.text",
    "matplotlib": "render.plot",
    "click": "cli",
    "lxml": "readers.relaxng",
}


def layer_of(module: str) -> str:
    """``readers.elf`` -> ``readers``; ``__main__`` -> ``cli``."""
    top = module.split(".")[0]
    if top in TOP_LEVEL:
        return TOP_LEVEL[top]
    assert top in ORDER, f"elfaudit/{top} is no layer: add it to ORDER in tests/test_layers.py"
    return top


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            if node.module == "elfaudit":
                out.update(f"elfaudit.{a.name}" for a in node.names if a.name != "__version__")
    return out


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


MODULES = sorted(_module_name(p) for p in PKG.rglob("*.py"))
PATHS = {_module_name(p): p for p in PKG.rglob("*.py")}


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down(module: str) -> None:
    layer = layer_of(module)
    allowed = set(ORDER[: ORDER.index(layer) + 1]) - FORBIDDEN.get(layer, set())
    for name in _imports(PATHS[module]):
        if name.startswith("elfaudit."):
            target = layer_of(name.split(".", 1)[1])
            assert target in allowed, f"{module} ({layer}) imports {name} ({target})"
        top = name.split(".")[0]
        if top in HOMES:
            home = HOMES[top]
            # A home is a module, or a package (cli) and its modules.
            inside = module == home or module.startswith(f"{home}.")
            assert inside, f"{top} is imported by {module}; its home is {home}"


def test_model_uses_the_standard_library_only() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for module in MODULES:
        if layer_of(module) not in ("model", "base"):
            continue
        for name in _imports(PATHS[module]):
            top = name.split(".")[0]
            inside = name.startswith("elfaudit.") and layer_of(name.split(".", 1)[1]) in (
                "model",
                "base",
            )
            assert top in stdlib or inside, f"{module} imports {name}"


def test_every_package_is_a_layer_and_has_its_docstring() -> None:
    for pkg in sorted(p for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert pkg.name in ORDER, f"elfaudit/{pkg.name} is no layer"
        assert ast.get_docstring(ast.parse((pkg / "__init__.py").read_text())), pkg.name
    assert set(ORDER) <= {p.name for p in PKG.iterdir() if p.is_dir()}


def test_readme_layer_table_is_the_tree() -> None:
    """The README's table lists every module of every layer, in ``ORDER``."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- layers:begin", 1)[1].split("<!-- layers:end", 1)[0]
    rows = [r for r in block.splitlines() if r.startswith("| `")]
    listed = [re.findall(r"`([^`]+)`", r) for r in rows]
    assert [row[0].strip("/") for row in listed] == [f"elfaudit/{layer}" for layer in ORDER]
    for layer, row in zip(ORDER, listed, strict=True):
        have = {m.rsplit(".", 1)[-1] for m in MODULES if layer_of(m) == layer and "." in m}
        if layer == "cli":
            have = {m.rsplit(".", 1)[-1] for m in MODULES if m.startswith("cli.")}
        assert have == set(row[1:]), f"README row for {layer}: {sorted(have)}"


def test_third_party_homes_are_what_ruff_bans_elsewhere() -> None:
    toml = (ROOT / "pyproject.toml").read_text()
    banned = set(re.findall(r'^"([a-z_]+)"\.msg', toml, re.M))
    assert banned == set(HOMES), "keep pyproject's banned-api list and HOMES in step"

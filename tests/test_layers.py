"""The layers stay visible: data flows one way, each third-party library has one home."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "elfaudit"

LAYERS = {
    "model": {"model", "errors", "jsonio", "datafiles"},
    "readers": {"elf", "symfile", "packages", "snapshot", "apixml", "inputs", "profiles"},
    "analysis": {
        "rules",
        "check",
        "compare",
        "apicheck",
        "releases",
        "history",
        "waivers",
        "debsymbols",
        "provides",
        "needs",
        "scan",
    },
    "api": {"audit", "gate", "distro"},
    "render": {"render"},
    "cli": {"cli", "__main__"},
}
ORDER = ["model", "readers", "analysis", "api", "render", "cli"]
# What each layer may import from elfaudit (its own layer and those below it), with the
# exceptions that are part of the design.
ALLOWED = {
    layer: {m for lower in ORDER[: ORDER.index(layer) + 1] for m in LAYERS[lower]}
    for layer in ORDER
}
ALLOWED["readers"] |= {"rules"}  # profiles adjust a finding's severity by its rule
ALLOWED["render"] = ALLOWED["analysis"] | {"render"}  # renderers never call the API layer
ALLOWED["api"] |= {"render"}  # graph show and friends render plain tables
HOMES = {"elftools": "elf", "networkx": "releases", "tabulate": "render.text", "click": "cli"}


def _layer(module: str) -> str:
    top = module.split(".")[0]
    for name, members in LAYERS.items():
        if top in members:
            return name
    raise AssertionError(f"elfaudit.{module} belongs to no layer: add it to LAYERS")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


MODULES = sorted(
    str(p.relative_to(PKG).with_suffix("")).replace("/", ".")
    for p in PKG.rglob("*.py")
    if p.name != "__init__.py" or p.parent != PKG
)


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down(module: str) -> None:
    path = PKG / (module.replace(".", "/") + ".py")
    if module.endswith("__init__"):
        path = PKG / module.replace(".__init__", "").replace(".", "/") / "__init__.py"
        module = module.replace(".__init__", "")
    layer = _layer(module)
    for name in _imports(path):
        if name.startswith("elfaudit."):
            target = name.split(".")[1]
            if (
                target
                in LAYERS["model"]
                | LAYERS["readers"]
                | LAYERS["analysis"]
                | LAYERS["api"]
                | LAYERS["render"]
                | LAYERS["cli"]
            ):
                assert target in ALLOWED[layer], f"{module} ({layer}) imports {name}"
        top = name.split(".")[0]
        if top in HOMES:
            assert module == HOMES[top], f"{top} is imported by {module}, not {HOMES[top]}"


def test_model_uses_the_standard_library_only() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    files = [*sorted((PKG / "model").glob("*.py")), PKG / "errors.py", PKG / "jsonio.py"]
    files.append(PKG / "datafiles.py")
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            inside = name.startswith("elfaudit.") and name.split(".")[1] in LAYERS["model"]
            assert top in stdlib or inside, f"{path.name} imports {name}"

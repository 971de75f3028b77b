"""Sources for gcc-built libraries shaped like libvirt.so.0, shared by the graph tests.

A chain of public nodes (each inheriting the previous one) plus, optionally, a private
node ``LIBVIRT_PRIVATE_<release>`` renamed every release, as libvirt's build makes it.
"""

from __future__ import annotations

SONAME = "libvirt.so.0"

Nodes = dict[str, list[str]]

N100: Nodes = {"LIBVIRT_1.0.0": ["virConnectOpen", "virConnectClose"]}
N110: Nodes = {**N100, "LIBVIRT_1.1.0": ["virDomainCreate"]}
N120: Nodes = {**N110, "LIBVIRT_1.2.0": ["virDomainDestroy"]}


def version_script(nodes: Nodes, private: str | None) -> str:
    """A libvirt-style script: each public node inherits the previous one; the private
    node (``LIBVIRT_PRIVATE_<private>``) stands alone and hides everything else."""
    out: list[str] = []
    prev: str | None = None
    for node, names in nodes.items():
        body = "".join(f"        {s};\n" for s in names)
        out.append(f"{node} {{\n    global:\n{body}}}{' ' + prev if prev else ''};\n\n")
        prev = node
    if private is not None:
        out.append(
            f"LIBVIRT_PRIVATE_{private} {{\n    global:\n        virPrivateHelper;\n"
            "    local:\n        *;\n};\n"
        )
    return "".join(out)


def c_source(nodes: Nodes, private: str | None) -> str:
    """A definition for every listed name (plus one the script keeps local)."""
    names = [s for syms in nodes.values() for s in syms]
    if private is not None:
        names.append("virPrivateHelper")
    funcs = "".join(f"int {s}(void) {{ return {i}; }}\n" for i, s in enumerate(names))
    return funcs + "int notExported(void) { return -1; }\n"

"""Version-node chains: a binary's or a script's public nodes, oldest first, and the node
(hence release) that introduced a symbol, answered without a release graph."""

from __future__ import annotations

from elfaudit.graph.records import IsPrivate, NodeOrigin, default_is_private
from elfaudit.model.abi import LibraryABI
from elfaudit.model.script import VersionScript
from elfaudit.model.tags import VersionTag, node_key

# --------------------------------------------------------------------------- node chains


def _nodes_of(abi: LibraryABI | VersionScript) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(abi, VersionScript):
        return [(n.name, tuple(n.parents)) for n in abi.nodes if n.name is not None]
    return [(v.name, tuple(v.parents)) for v in abi.versions if not v.base]


def node_chain(
    abi: LibraryABI | VersionScript, is_private: IsPrivate = default_is_private
) -> list[str]:
    """The public version nodes on the parent chain of the newest one, oldest first.

    Works on a binary or a version script alone. The newest node is the public node no
    other public node names as parent with the longest chain (ties: highest VersionTag).
    The walk follows first parents and stops at a private or unknown parent or a loop.
    """
    nodes = [(n, ps) for n, ps in _nodes_of(abi) if not is_private(n)]
    parents = dict(nodes)
    referenced = {p for _, ps in nodes for p in ps}

    def walk(head: str) -> list[str]:
        chain = [head]
        seen = {head}
        cur = head
        while parents.get(cur) and len(chain) <= len(parents):
            nxt = parents[cur][0]
            if nxt not in parents or nxt in seen:
                break
            chain.append(nxt)
            seen.add(nxt)
            cur = nxt
        return chain

    heads = [n for n, _ in nodes if n not in referenced]
    if not heads:
        return []
    chains = [walk(h) for h in heads]
    best = max(chains, key=lambda c: (len(c), node_key(c[0])))
    return best[::-1]


def introduced_by_nodes(
    abi: LibraryABI | VersionScript, is_private: IsPrivate = default_is_private
) -> list[NodeOrigin]:
    """What the node names say about when each public versioned symbol was introduced.

    ``LIBVIRT_3.1.0`` -> release ``3.1.0`` (the numeric tail, via VersionTag); None for a
    node without one. Symbols of nodes on :func:`node_chain` come first in chain order,
    then other public nodes by VersionTag; within a node, by symbol name. Scripts
    contribute their non-wildcard ``global:`` entries.
    """
    chain = node_chain(abi, is_private)
    position = {n: i for i, n in enumerate(chain)}
    by_node: dict[str, set[str]] = {}
    if isinstance(abi, VersionScript):
        for sn in abi.nodes:
            if sn.name is None or is_private(sn.name):
                continue
            by_node.setdefault(sn.name, set()).update(
                e.pattern for e in sn.globals if not e.is_wildcard
            )
    else:
        for sym in abi.symbols:
            if sym.version is not None and not is_private(sym.version):
                by_node.setdefault(sym.version, set()).add(sym.name)
    out: list[NodeOrigin] = []
    order = sorted(by_node, key=lambda n: (n not in position, position.get(n, 0), node_key(n)))
    for node in order:
        nums = VersionTag.parse(node).numbers
        rel = ".".join(str(x) for x in nums) if nums else None
        out.extend(NodeOrigin(s, node, rel, node in position) for s in sorted(by_node[node]))
    return out

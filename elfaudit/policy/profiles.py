"""Profiles: which version nodes are stable, weaker or private, kept as validated data.

A profile is JSON (``elfaudit/data/profiles/*.json`` or any file given with
``--profile PATH``). It is checked on load; a bad file is a :class:`ProfileError`
naming the file, never a traceback.

Besides node classes, a profile may override the rule catalogue's per-class severities
(``"severities": {"rule-id": {"public"|"weak"|"private"|"hidden": "error"|"warning"|
"info"|"exempt"}}``), give API descriptions a class (``"apis": {"libvirt-qemu":
"weak"}``) and say that its node names carry the release that introduced them
(``"release_named_nodes": true``). A profile is data only: :mod:`elfaudit.policy.weigh`
applies it.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from elfaudit.base.datafiles import data_path, read_data
from elfaudit.base.errors import ProfileError
from elfaudit.base.fileio import read_json
from elfaudit.model.report import NodeClass, Severity
from elfaudit.policy.rules import BY_ID, SEVERITY_KEYS, spec

FORMAT = "elfaudit-profile"
BUILTIN = ("libvirt", "generic")
_KEYS = {
    "format",
    "format_version",
    "name",
    "description",
    "sonames",
    "nodes",
    "chain",
    "exact_listing",
    "release_named_nodes",
    "private_nodes",
    "waivers",
    "late_additions",
    "severities",
    "apis",
}
_SEVERITY_VALUES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}
_SEVERITY_VALUES_TEXT = "error, warning, info, exempt"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    sonames: tuple[str, ...]
    nodes: tuple[tuple[str, NodeClass], ...]  # (fnmatch pattern, class), first match wins
    chain: bool  # public nodes must form one numerically increasing chain per prefix
    exact_listing: bool  # a public symbol matched only by a wildcard counts as not listed
    private_nodes: tuple[tuple[str, str], ...]  # (soname, template with {release})
    waivers: str | None  # a file name under data/waivers, or a path
    source: str
    # (soname, symbol) -> the release that really added a symbol to an already-shipped
    # node: what a dependency on that symbol needs (Debian symbols files, needs).
    late_additions: tuple[tuple[tuple[str, str], str], ...] = ()
    # rule id -> ((class or "hidden", severity or None for exempt), ...): overrides of the
    # rule catalogue's per-class severities, applied by elfaudit.policy.weigh.
    severities: tuple[tuple[str, tuple[tuple[str, Severity | None], ...]], ...] = ()
    # API description name (e.g. "libvirt-qemu") -> its class; unnamed ones are public.
    apis: tuple[tuple[str, NodeClass], ...] = ()
    # Node names carry the release that introduced them (LIBVIRT_9.6.0 shipped in 9.6.0):
    # compare can then tell, without a graph, a node added for a release already shipped.
    release_named_nodes: bool = False

    def late_additions_map(self) -> dict[tuple[str, str], str]:
        return dict(self.late_additions)

    def node_class(self, node: str | None) -> NodeClass:
        """The class of a version node; unversioned symbols are public."""
        if node is None:
            return NodeClass.PUBLIC
        return _classify(self.nodes, node)

    def is_private(self, node: str | None) -> bool:
        return self.node_class(node) is NodeClass.PRIVATE

    def private_node_for(self, soname: str | None, release: str) -> str | None:
        for so, template in self.private_nodes:
            if so == soname:
                return template.replace("{release}", release)
        return None

    def api_class(self, api: str | None) -> NodeClass:
        """The class of an API description (``libvirt-qemu``); unnamed ones are public."""
        return dict(self.apis).get(api, NodeClass.PUBLIC) if api else NodeClass.PUBLIC

    def severity_table(self, rule_id: str) -> dict[str, Severity | None]:
        """The rule's catalogue table with this profile's overrides on top."""
        table = spec(rule_id).severities()
        for key, sev in dict(self.severities).get(rule_id, ()):
            table[key] = sev
        return table


@cache
def _classify(nodes: tuple[tuple[str, NodeClass], ...], node: str) -> NodeClass:
    """First matching pattern wins (cached: the same few hundred names recur constantly)."""
    for pattern, cls in nodes:
        if fnmatch.fnmatchcase(node, pattern):
            return cls
    return NodeClass.PUBLIC


def _fail(path: str, why: str) -> ProfileError:
    return ProfileError(path, f"invalid profile: {why}")


def parse_profile(doc: Any, source: str) -> Profile:
    if not isinstance(doc, dict):
        raise _fail(source, "not a JSON object")
    unknown = set(doc) - _KEYS
    if unknown:
        raise _fail(source, f"unknown key(s) {', '.join(sorted(unknown))}")
    if doc.get("format") != FORMAT or doc.get("format_version") != 1:
        raise _fail(source, f'expected "format": "{FORMAT}", "format_version": 1')
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(source, "'name' must be a non-empty string")
    sonames = doc.get("sonames", [])
    if not isinstance(sonames, list) or not all(isinstance(s, str) for s in sonames):
        raise _fail(source, "'sonames' must be a list of strings")
    nodes_raw = doc.get("nodes")
    if not isinstance(nodes_raw, list) or not nodes_raw:
        raise _fail(source, "'nodes' must be a non-empty list")
    nodes: list[tuple[str, NodeClass]] = []
    for i, n in enumerate(nodes_raw):
        if not isinstance(n, dict) or set(n) != {"pattern", "class"}:
            raise _fail(source, f"nodes[{i}] must have exactly 'pattern' and 'class'")
        if not isinstance(n["pattern"], str) or not n["pattern"]:
            raise _fail(source, f"nodes[{i}].pattern must be a non-empty string")
        try:
            cls = NodeClass(n["class"])
        except ValueError:
            raise _fail(source, f"nodes[{i}].class must be one of public, weak, private") from None
        nodes.append((n["pattern"], cls))
    for key in ("chain", "exact_listing", "release_named_nodes"):
        if not isinstance(doc.get(key, False), bool):
            raise _fail(source, f"'{key}' must be true or false")
    priv = doc.get("private_nodes", {})
    if not isinstance(priv, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "{release}" in v for k, v in priv.items()
    ):
        raise _fail(source, "'private_nodes' maps sonames to templates containing {release}")
    waivers = doc.get("waivers")
    if waivers is not None and not isinstance(waivers, str):
        raise _fail(source, "'waivers' must be a file name or null")
    late_raw = doc.get("late_additions", {})
    if not isinstance(late_raw, dict) or not all(
        isinstance(so, str)
        and isinstance(syms, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in syms.items())
        for so, syms in late_raw.items()
    ):
        raise _fail(source, "'late_additions' maps sonames to {symbol: release}")
    late = tuple(
        sorted(((so, sym), rel) for so, syms in late_raw.items() for sym, rel in syms.items())
    )
    severities = _parse_severities(doc.get("severities", {}), source)
    apis_raw = doc.get("apis", {})
    if not isinstance(apis_raw, dict) or not all(
        isinstance(k, str) and k and v in ("public", "weak", "private") for k, v in apis_raw.items()
    ):
        raise _fail(source, "'apis' maps API description names to public, weak or private")
    apis = tuple(sorted((k, NodeClass(v)) for k, v in apis_raw.items()))
    desc = doc.get("description", "")
    if not isinstance(desc, str):
        raise _fail(source, "'description' must be a string")
    return Profile(
        name=name,
        description=desc,
        sonames=tuple(sonames),
        nodes=tuple(nodes),
        chain=bool(doc.get("chain", False)),
        exact_listing=bool(doc.get("exact_listing", False)),
        private_nodes=tuple(sorted(priv.items())),
        waivers=waivers,
        source=source,
        late_additions=late,
        severities=severities,
        apis=apis,
        release_named_nodes=bool(doc.get("release_named_nodes", False)),
    )


def _parse_severities(
    raw: Any, source: str
) -> tuple[tuple[str, tuple[tuple[str, Severity | None], ...]], ...]:
    """``{"rule-id": {"public"|"weak"|"private"|"hidden": "error"|...|"exempt"}}``."""
    if not isinstance(raw, dict):
        raise _fail(source, "'severities' maps rule ids to {class: severity}")
    out = []
    for rule_id, table in sorted(raw.items()):
        if rule_id not in BY_ID:
            raise _fail(source, f"severities: unknown rule id {rule_id!r}")
        if not isinstance(table, dict) or not table:
            raise _fail(source, f"severities[{rule_id!r}] must be a non-empty object")
        entries: list[tuple[str, Severity | None]] = []
        for key, value in sorted(table.items()):
            if key not in SEVERITY_KEYS:
                raise _fail(
                    source,
                    f"severities[{rule_id!r}]: unknown key {key!r} "
                    f"(expected {', '.join(SEVERITY_KEYS)})",
                )
            if not isinstance(value, str) or (value != "exempt" and value not in _SEVERITY_VALUES):
                raise _fail(
                    source,
                    f"severities[{rule_id!r}][{key!r}] must be one of {_SEVERITY_VALUES_TEXT}",
                )
            entries.append((key, None if value == "exempt" else _SEVERITY_VALUES[value]))
        out.append((rule_id, tuple(entries)))
    return tuple(out)


def _load_file(path: str) -> Profile:
    return parse_profile(read_json(path, error=ProfileError), path)


@cache
def builtin(name: str) -> Profile:
    return parse_profile(json.loads(read_data("profiles", f"{name}.json")), f"<builtin:{name}>")


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name (``libvirt``, ``generic``) or a profile file by path."""
    if name_or_path in BUILTIN:
        return builtin(name_or_path)
    if "/" in name_or_path or name_or_path.endswith(".json"):
        return _load_file(name_or_path)
    raise ProfileError(
        name_or_path, f"unknown profile (built-in: {', '.join(BUILTIN)}; or give a .json path)"
    )


def profile_for(soname: str | None, override: str | None = None) -> Profile:
    """The profile to judge a library with: ``override`` if given, else by SONAME."""
    if override:
        return load_profile(override)
    for name in BUILTIN:
        prof = builtin(name)
        if soname is not None and soname in prof.sonames:
            return prof
    return builtin("generic")


def waivers_path(profile: Profile) -> str | None:
    """Filesystem path of the profile's shipped waivers file, if it has one."""
    if profile.waivers is None:
        return None
    if profile.source.startswith("<builtin:"):
        return data_path("waivers", profile.waivers)
    return os.path.join(os.path.dirname(profile.source), profile.waivers)

"""Configuration files and the augeas lenses that read them (stdlib only).

libvirt's support page promises that a parameter once readable stays readable by the
augeas lens of its file, even when it is dropped from the shipped file, and that the
shipped files leave every parameter commented out. :class:`Lens` is what a lens reads
(parameter name -> kind, and which files it covers); :class:`ConfigFile` what a shipped
file documents (``#name = value``) or sets (``name = value``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LensParameter:
    """One parameter a lens reads: ``kind`` is its helper less ``_entry`` (``str``,
    ``bool``, ``int``, ``str_array``, ``limits``...), ``forms`` the value lenses it accepts
    (``str_val``, ``int_val``...; a value in a form the new lens lacks no longer parses)."""

    name: str
    kind: str
    forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lens:
    """An augeas module: ``path`` of its ``.aug`` file, its ``module`` name, the files its
    ``transform`` covers (``incl`` globs, no leading slash; ``excl`` ones apart) and its
    parameters; ``patterns`` are keys given as regular expressions (``key /re/``)."""

    path: str
    module: str
    parameters: Mapping[str, LensParameter] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def covers(self, path: str) -> bool:
        """Whether ``path`` (no leading slash) is one of the files this lens loads."""
        p = "/" + path.lstrip("/")
        if not any(fnmatch.fnmatchcase(p, "/" + g) for g in self.includes):
            return False
        return not any(fnmatch.fnmatchcase(p, "/" + g) for g in self.excludes)


@dataclass(frozen=True, slots=True)
class ConfigParameter:
    """A parameter a shipped file mentions: ``active`` when it is set (not commented out)."""

    name: str
    line: int
    value: str
    active: bool = False


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A shipped configuration file: its parameters by name (first mention wins; an active
    setting wins over a commented one)."""

    path: str
    parameters: Mapping[str, ConfigParameter] = field(default_factory=dict)

    @property
    def active(self) -> tuple[ConfigParameter, ...]:
        return tuple(p for p in self.parameters.values() if p.active)

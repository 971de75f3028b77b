"""Version node names as ordered tags, and release names as sort keys (stdlib only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_TAG_RE = re.compile(r"^(?P<prefix>.*?)_?(?P<numbers>\d+(?:\.\d+)*)$")


@total_ordering
@dataclass(frozen=True, slots=True)
class VersionTag:
    """A version node name split into prefix and numeric parts.

    ``LIBVIRT_QEMU_1.2.3`` -> prefix ``LIBVIRT_QEMU``, numbers ``(1, 2, 3)``.
    Names compare numerically within a prefix (``LIBVIRT_0.10.0`` > ``LIBVIRT_0.9.14``);
    a name without a numeric tail has ``numbers == ()``.
    """

    prefix: str
    numbers: tuple[int, ...]

    @classmethod
    def parse(cls, name: str) -> VersionTag:
        m = _TAG_RE.match(name)
        if m is None:
            return cls(name, ())
        return cls(m.group("prefix"), tuple(int(p) for p in m.group("numbers").split(".")))

    def _key(self) -> tuple[str, tuple[int, ...]]:
        return (self.prefix, self.numbers)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, VersionTag):
            return NotImplemented
        return self._key() < other._key()


def node_key(node: str | None) -> tuple[VersionTag, str]:
    """Sort key for a version node name (``None``, a base/unversioned entry, sorts as "")."""
    n = node or ""
    return (VersionTag.parse(n), n)


def release_key(release: str) -> tuple[tuple[int, ...], str]:
    """Sort key for a release name such as ``9.0.0`` or ``debian/11.3.0-2~bpo12+1``."""
    m = re.search(r"(\d+(?:\.\d+)*)", release)
    nums = tuple(int(p) for p in m.group(1).split(".")) if m else ()
    return (nums, release)

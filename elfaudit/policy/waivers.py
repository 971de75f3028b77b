"""Waivers: reviewed, documented exceptions that turn matching findings into "waived" ones.

A waivers file is JSON kept in git::

    {
      "format": "elfaudit-waivers",
      "format_version": 1,
      "waivers": [
        {
          "rule": "symbol-added-to-released-node",
          "library": "libvirt.so.0",
          "node": "LIBVIRT_3.1.0",
          "symbol": "virDomainSetBlockThreshold",
          "reason": "why this is accepted, with the evidence"
        }
      ]
    }

Each waiver names the ``rule`` id and a ``reason`` (both required, non-empty), and at least
one of ``symbol``, ``node`` (the finding's version node) and ``library`` (SONAME); ``release``
optionally limits it to the judging of one release. A field that is absent matches
anything. Values are exact names, except that a value containing ``*``, ``?`` or ``[`` is an
fnmatch glob (case-sensitive: ``"virAdm*"``); symbol and node names never contain those
characters. Waived findings are still reported, with the waiver's reason; waivers that
matched nothing are returned so that stale ones can be reported and removed.

``expires`` (optional, ``"YYYY-MM-DD"``) is the last day a waiver is in force: from the
next day on it waives nothing and is returned with the unused ones, described as expired,
so that the report says once that it ran out (and the finding it waived is active again).
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from elfaudit.base.errors import ProfileError
from elfaudit.base.fileio import read_json
from elfaudit.base.jsonio import json_kind
from elfaudit.model.report import Finding

FORMAT = "elfaudit-waivers"
FORMAT_VERSION = 1
_MATCH_FIELDS = ("symbol", "node", "library", "release")
_KEYS = frozenset({"rule", "reason", "expires", *_MATCH_FIELDS})
_GLOB_CHARS = frozenset("*?[")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _matches(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    if value is None:
        return False
    if _GLOB_CHARS.intersection(pattern):
        return fnmatch.fnmatchcase(value, pattern)
    return pattern == value


@dataclass(frozen=True, slots=True)
class Waiver:
    """One accepted exception. ``origin`` says where it was read (``path#index``)."""

    rule: str
    reason: str
    symbol: str | None = None
    node: str | None = None
    library: str | None = None
    release: str | None = None
    expires: datetime.date | None = None  # the last day the waiver is in force
    origin: str = field(default="", compare=False)

    def expired(self, today: datetime.date | None = None) -> bool:
        """Whether the waiver ran out before ``today`` (default: the local date)."""
        if self.expires is None:
            return False
        return self.expires < (today or datetime.date.today())

    def applies_to(self, release: str | None) -> bool:
        """Whether the waiver is in force when judging ``release`` (None: no release known).

        A waiver scoped to a release applies only when the command judges that release.
        """
        return self.release is None or (release is not None and _matches(self.release, release))

    def matches(self, finding: Finding, release: str | None = None) -> bool:
        return (
            self.applies_to(release)
            and finding.rule == self.rule
            and _matches(self.symbol, finding.symbol)
            and _matches(self.node, finding.version)
            and _matches(self.library, finding.library)
        )


def describe(waiver: Waiver) -> str:
    """One line naming the waiver, for the report of unused (stale) waivers."""
    what = waiver.symbol or "*"
    if waiver.node is not None:
        what += f"@{waiver.node}"
    parts = [waiver.rule, what]
    if waiver.library is not None:
        parts.append(f"in {waiver.library}")
    if waiver.release is not None:
        parts.append(f"for release {waiver.release}")
    if waiver.expires is not None:
        parts.append(f"(expires {waiver.expires.isoformat()})")
    text = " ".join(parts)
    return f"{waiver.origin}: {text}" if waiver.origin else text


def describe_unused(waiver: Waiver, today: datetime.date | None = None) -> str:
    """:func:`describe`, saying so when the waiver is unused because it expired."""
    text = describe(waiver)
    if waiver.expired(today):
        assert waiver.expires is not None
        text += f": expired on {waiver.expires.isoformat()}, no longer waives"
    return text


def apply_waivers(
    findings: Sequence[Finding],
    waivers: Sequence[Waiver],
    release: str | None = None,
    *,
    today: datetime.date | None = None,
) -> tuple[tuple[Finding, ...], tuple[Waiver, ...]]:
    """Mark findings matched by a waiver (``waived`` = the first matching waiver's reason).

    Returns the findings in their original order and the waivers in force that matched
    nothing. A waiver scoped to another release (or to a release while none is judged) is
    not in force, so it is neither applied nor reported as unused. A finding that is
    already waived keeps its reason, but still counts as a match for the waivers here.
    An expired waiver (see :meth:`Waiver.expired`) matches nothing, and is returned with
    the unused ones, once (:func:`describe_unused` says it expired).
    """
    used: set[int] = set()
    expired = {i for i, w in enumerate(waivers) if w.expired(today)}
    out: list[Finding] = []
    for f in findings:
        first: Waiver | None = None
        for i, w in enumerate(waivers):
            if i not in expired and w.matches(f, release):
                used.add(i)
                if first is None:
                    first = w
        if first is not None and f.waived is None:
            f = replace(f, waived=first.reason)
        out.append(f)
    unused = tuple(w for i, w in enumerate(waivers) if i not in used and w.applies_to(release))
    return tuple(out), unused


def _fail(path: str, why: str) -> ProfileError:
    return ProfileError(path, f"invalid waivers file: {why}")


def parse_waivers(
    doc: Any, source: str, known_rules: Collection[str] | None = None
) -> tuple[Waiver, ...]:
    """Validate a parsed waivers document; ``source`` names it in errors.

    ``known_rules``, when given, makes an unknown rule id an error (a typo would otherwise
    waive nothing and only show up as an unused waiver).
    """
    if not isinstance(doc, dict):
        raise _fail(source, f"expected a JSON object, got {json_kind(doc)}")
    extra = sorted(doc.keys() - {"format", "format_version", "waivers"})
    if extra:
        raise _fail(source, f"unknown key {extra[0]!r}")
    if doc.get("format") != FORMAT:
        raise _fail(source, f"'format' must be {FORMAT!r}, got {json_kind(doc.get('format'))}")
    version = doc.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise _fail(source, f"unsupported format_version {json_kind(version)} (expected 1)")
    items = doc.get("waivers")
    if not isinstance(items, list):
        raise _fail(source, f"'waivers' must be a list, got {json_kind(items)}")
    out: list[Waiver] = []
    seen: dict[tuple[str | None, ...], int] = {}
    for i, item in enumerate(items):
        where = f"waivers[{i}]"
        if not isinstance(item, dict):
            raise _fail(source, f"{where}: expected an object, got {json_kind(item)}")
        unknown = sorted(item.keys() - _KEYS)
        if unknown:
            raise _fail(source, f"{where}: unknown key {unknown[0]!r}")
        values: dict[str, str | None] = {}
        for key in ("rule", "reason", *_MATCH_FIELDS):
            value = item.get(key)
            if value is None and key not in ("rule", "reason"):
                if key in item:
                    raise _fail(source, f"{where}.{key}: omit the key instead of null")
                values[key] = None
                continue
            if not isinstance(value, str) or not value.strip():
                raise _fail(
                    source, f"{where}.{key}: expected a non-empty string, got {json_kind(value)}"
                )
            if value != value.strip():
                raise _fail(source, f"{where}.{key}: leading or trailing blanks in {value!r}")
            values[key] = value
        if values["symbol"] is None and values["node"] is None and values["library"] is None:
            raise _fail(
                source,
                f"{where}: name a symbol, a node or a library "
                "(a waiver for a whole rule would hide every future finding)",
            )
        rule = values["rule"]
        assert rule is not None and values["reason"] is not None
        if known_rules is not None and rule not in known_rules:
            raise _fail(source, f"{where}.rule: unknown rule {rule!r}")
        expires = _expiry(item, source, where)
        waiver = Waiver(
            rule=rule,
            reason=values["reason"],
            symbol=values["symbol"],
            node=values["node"],
            library=values["library"],
            release=values["release"],
            expires=expires,
            origin=f"{source}#{i}",
        )
        match = (rule, waiver.symbol, waiver.node, waiver.library, waiver.release)
        if match in seen:
            raise _fail(source, f"{where}: matches the same findings as waivers[{seen[match]}]")
        seen[match] = i
        out.append(waiver)
    return tuple(out)


def _expiry(item: dict[str, Any], source: str, where: str) -> datetime.date | None:
    """The optional ``expires`` of a waiver: a real ``YYYY-MM-DD`` date."""
    if "expires" not in item:
        return None
    value = item["expires"]
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise _fail(
            source, f'{where}.expires: expected a date as "YYYY-MM-DD", got {json_kind(value)}'
        )
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise _fail(source, f"{where}.expires: not a valid date: {value!r}") from None


def load_waivers(
    path: str | os.PathLike[str], known_rules: Collection[str] | None = None
) -> tuple[Waiver, ...]:
    """Read and validate a waivers file; any problem is a :class:`ProfileError`."""
    p = os.fspath(path)
    return parse_waivers(read_json(p, error=ProfileError), p, known_rules)

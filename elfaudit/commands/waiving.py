"""Waivers as commands apply them: the profile's shipped waivers plus ``--waivers`` files,
and the weighing pass (:mod:`elfaudit.policy.weigh`) every command's findings go through."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from elfaudit.model.report import Finding
from elfaudit.policy.profiles import Profile, waivers_path
from elfaudit.policy.weigh import ProfileOf, weigh


@dataclass(frozen=True, slots=True)
class WaiverOptions:
    files: tuple[str, ...] = ()  # extra waivers files (--waivers)
    profile_defaults: bool = True  # apply the profile's shipped waivers
    release: str | None = None  # the release being judged, for release-scoped waivers


def apply_waivers(
    findings: list[Finding], profiles: Sequence[Profile], opts: WaiverOptions
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Mark waived findings; return them with the user's waivers that matched nothing.

    The profile's shipped waivers record history (a symbol misplaced years ago) and so
    match only when that history is judged: they are never reported as unused. Waivers
    from ``--waivers`` files are the project's own and are reported when stale.
    """
    from elfaudit.policy import waivers as wv

    own = [w for p in opts.files for w in wv.load_waivers(p)]
    shipped: list[wv.Waiver] = []
    if opts.profile_defaults:
        seen: set[str] = set()
        for prof in profiles:
            p = waivers_path(prof)
            if p is not None and p not in seen:
                seen.add(p)
                shipped.extend(wv.load_waivers(p))
    if not own and not shipped:
        return tuple(findings), ()
    applied, unused = wv.apply_waivers(findings, own + shipped, release=opts.release)
    stale = tuple(wv.describe_unused(w) for w in unused if w in own or w.expired())
    return tuple(applied), stale


def weigh_findings(
    raw: Iterable[Finding],
    profile_of: Profile | ProfileOf,
    profiles: Sequence[Profile],
    opts: WaiverOptions,
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """A command's raw findings through the whole pass: weighed by ``profile_of`` (each
    finding's library's profile), then waived by ``profiles``' shipped waivers and the
    ``--waivers`` files. Returns the findings and the stale user waivers."""
    return apply_waivers(weigh(raw, profile_of), profiles, opts)

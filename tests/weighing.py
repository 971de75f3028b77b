"""Tests that call an analyser directly weigh its raw findings as a command would."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from elfaudit.analysis.compare import Comparison, compare_abi
from elfaudit.analysis.conformance import check_library
from elfaudit.analysis.self_check import self_check
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding
from elfaudit.model.script import VersionScript
from elfaudit.policy.profiles import Profile, builtin
from elfaudit.policy.weigh import ProfileOf, Profiles, weigh


def weighed(
    findings: Iterable[Finding], profile: Profile | ProfileOf | str | None = None
) -> list[Finding]:
    """Raw findings through the weighing pass: with ``profile`` (a profile or a built-in
    name), else each finding's library's profile chosen by SONAME, as commands do."""
    if isinstance(profile, str):
        profile = builtin(profile)
    return weigh(findings, profile if profile is not None else Profiles())


def compared(old: LibraryABI, new: LibraryABI, profile: Profile, **kw: bool) -> Comparison:
    """``compare_abi`` with its findings weighed by ``profile``, as ``compare`` does."""
    result = compare_abi(old, new, profile, **kw)
    return replace(result, findings=tuple(weighed(result.findings, profile)))


def checked(abi: LibraryABI, script: VersionScript, profile: Profile) -> list[Finding]:
    """``check_library``'s findings weighed by ``profile``, as ``check`` does."""
    return weighed(check_library(abi, script, profile), profile)


def self_checked(abi: LibraryABI, profile: Profile) -> list[Finding]:
    """``self_check``'s findings weighed by ``profile``, as ``scan`` does."""
    return weighed(self_check(abi, profile), profile)

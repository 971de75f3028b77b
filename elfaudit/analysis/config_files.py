"""Configuration files and their augeas lenses, release to release (section ``configfiles``).

libvirt's support page: parameters may be dropped from a shipped configuration file, but the
augeas lens keeps reading them, "so that it is able to read & update historically modified
files"; the files are accompanied by lenses; the default files ship with every parameter
commented out. So, from OLD and NEW's ``etc/libvirt/**.conf`` and
``usr/share/augeas/lenses/*.aug`` (tests under ``tests/`` are not lenses):

- ``config-parameter-unreadable`` (error): a parameter OLD's lens read for a file, or OLD's
  (or NEW's) file documents, that NEW's lens for the file does not read, or no longer reads
  in every value form OLD's did (``int_val`` lost: ``x = 5`` no longer parses);
- ``config-parameter-active`` (warning): NEW's file sets a parameter (not commented out);
- ``config-lens-missing`` (warning): a file NEW ships that none of NEW's lenses covers;
- ``config-parameter-dropped`` (info): documented by OLD's file, not NEW's, still readable.

Findings name the file (``etc/libvirt/qemu.conf``) as the library and the parameter as the
symbol. Raw findings: the command weighs them.

Facts (issue 13): :func:`facts` gives what the section judges of a release as JSON items,
:func:`compare_facts` the verdict of :func:`check_config_files` from two releases' facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from elfaudit.base.errors import InputError
from elfaudit.model.config import ConfigFile, ConfigParameter, Lens, LensParameter
from elfaudit.model.guarantees import ReleaseFiles, SectionFacts, SectionResult, SectionStatus
from elfaudit.model.report import Finding
from elfaudit.model.script import Location
from elfaudit.policy.rules import Rule
from elfaudit.readers.augeas_lens import parse_lens
from elfaudit.readers.libvirt_conf import parse_conf

SECTION = "configfiles"
LENS_DIR = "usr/share/augeas/lenses/"
CONF_DIR = "etc/libvirt/"


def lenses_of(release: ReleaseFiles) -> dict[str, Lens]:
    """path -> :class:`Lens` of every lens the release ships (InputError on a bad one)."""
    return {
        path: parse_lens(data, path)
        for path, data in sorted(release.under(LENS_DIR).items())
        if path.endswith(".aug") and "/" not in path[len(LENS_DIR) :]
    }


def confs_of(release: ReleaseFiles) -> dict[str, ConfigFile]:
    """path -> :class:`ConfigFile` of every ``etc/libvirt/**.conf`` the release ships."""
    return {
        path: parse_conf(data, path)
        for path, data in sorted(release.under(CONF_DIR).items())
        if path.endswith(".conf")
    }


def _covering(lenses: Mapping[str, Lens], path: str) -> list[Lens]:
    return [lens for lens in lenses.values() if lens.covers(path)]


def _reads(lenses: list[Lens], name: str) -> LensParameter | None:
    for lens in lenses:
        if name in lens.parameters:
            return lens.parameters[name]
    return None


@dataclass(frozen=True, slots=True)
class _Side:
    """What the section judges of one release: its lenses and files by path, and the package
    each came from (None: not known, the release's label stands in)."""

    label: str
    lenses: Mapping[str, Lens]
    confs: Mapping[str, ConfigFile]
    packages: Mapping[str, str | None]

    @property
    def empty(self) -> bool:
        return not self.lenses and not self.confs

    def package(self, path: str, default: str) -> str:
        p = self.packages.get(path)
        return default if p is None else p


def _side(release: ReleaseFiles) -> _Side:
    lenses, confs = lenses_of(release), confs_of(release)
    packages = {p: release.origin.get(p) for p in (*lenses, *confs)}
    return _Side(release.label, lenses, confs, packages)


def _evidence(side: _Side) -> dict[str, object]:
    lenses, confs = side.lenses, side.confs
    return {
        "release": side.label,
        "lenses": {
            p: {
                "module": lens.module,
                "files": list(lens.includes),
                "parameters": len(lens.parameters),
                "package": side.package(p, ""),
            }
            for p, lens in lenses.items()
        },
        "files": {
            p: {
                "documented": sum(1 for x in c.parameters.values() if not x.active),
                "active": len(c.active),
                "lenses": [lens.module for lens in _covering(lenses, p)],
                "package": side.package(p, ""),
            }
            for p, c in confs.items()
        },
    }


# --------------------------------------------------------------------------- facts


def facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """The ``configfiles`` facts of a release (None: no lens and no configuration file).

    ``"lens <path>"``: ``module``, ``includes``, ``excludes``, ``patterns`` (lists, in the
    lens's order), ``parameters`` (name -> ``[kind, form...]``); ``"file <path>"``:
    ``parameters`` (the names it mentions, in order), ``active`` (name -> ``[line, value]``
    of those it sets); ``"packages"``: path -> the package it came from (one item, as the
    package names carry the release). The values of commented-out parameters and their
    lines are left out (nothing is judged on them), so an edit of a comment changes no item.
    InputError on a bad lens or file."""
    side = _side(rf)
    return None if side.empty else _facts_of(side)


def _facts_of(side: _Side) -> dict[str, object]:
    out: dict[str, object] = {}
    for path, lens in side.lenses.items():
        out[f"lens {path}"] = {
            "module": lens.module,
            "includes": list(lens.includes),
            "excludes": list(lens.excludes),
            "patterns": list(lens.patterns),
            "parameters": {n: [p.kind, *p.forms] for n, p in sorted(lens.parameters.items())},
        }
    for path, conf in side.confs.items():
        out[f"file {path}"] = {
            "parameters": list(conf.parameters),
            "active": {p.name: [p.line, p.value] for p in conf.active},
        }
    out["packages"] = {p: k for p, k in sorted(side.packages.items()) if k is not None}
    return out


def _side_of(facts: SectionFacts | None, label: str) -> _Side:
    """The lenses and files again from :func:`facts` (InputError naming the release when an
    item is not what :func:`facts` writes)."""
    lenses: dict[str, Lens] = {}
    confs: dict[str, ConfigFile] = {}
    packages: dict[str, str | None] = {}
    for key, value in sorted((facts or {}).items()):
        kind, _, path = key.partition(" ")
        try:
            if not isinstance(value, Mapping):
                raise TypeError(key)
            if key == "packages":
                if not all(isinstance(v, str) for v in value.values()):
                    raise TypeError(key)
                packages.update({str(p): v for p, v in value.items()})
            elif kind == "lens":
                params = {
                    str(n): LensParameter(str(n), str(k[0]), tuple(str(f) for f in k[1:]))
                    for n, k in value["parameters"].items()
                }
                lenses[path] = Lens(
                    path,
                    str(value["module"]),
                    params,
                    tuple(str(g) for g in value["includes"]),
                    tuple(str(g) for g in value["excludes"]),
                    tuple(str(g) for g in value["patterns"]),
                )
            elif kind == "file":
                active = value["active"]
                parameters = {}
                for n in value["parameters"]:
                    name = str(n)
                    hit = active.get(name)
                    parameters[name] = (
                        ConfigParameter(name, 0, "")
                        if hit is None
                        else ConfigParameter(name, int(hit[0]), str(hit[1]), True)
                    )
                confs[path] = ConfigFile(path, parameters)
            else:
                raise TypeError(key)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise InputError(f"{label} (configfiles facts)", f"bad item {key[:80]!r}") from None
    return _Side(label, lenses, confs, packages)


def compare_facts(
    old: SectionFacts | None,
    new: SectionFacts | None,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> SectionResult:
    """The ``configfiles`` verdict from both releases' :func:`facts`: what
    :func:`check_config_files` gives for their files."""
    return _compare(_side_of(old, old_label), _side_of(new, new_label))


def check_config_files(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``configfiles`` section's verdict for OLD -> NEW."""
    return _compare(_side(old), _side(new))


def _compare(o: _Side, n: _Side) -> SectionResult:
    old_lenses, new_lenses = o.lenses, n.lenses
    old_confs, new_confs = o.confs, n.confs
    evidence = {"old": _evidence(o), "new": _evidence(n)}
    missing = [side.label for side in (o, n) if side.empty]
    if missing:
        return SectionResult(
            SECTION,
            SectionStatus.NOT_CHECKED,
            reason="no configuration files or augeas lenses in " + " and ".join(missing),
            evidence=evidence,
        )
    findings: list[Finding] = []
    # What OLD promised per file: the parameters OLD's lens read, and those OLD's file
    # documented (name -> (parameter of OLD's lens or None, who says so)).
    files = sorted(
        set(old_confs) | set(new_confs) | {g for ls in old_lenses.values() for g in ls.includes}
    )
    for path in files:
        if "*" in path or "?" in path or "[" in path:
            continue  # a glob of a lens: its files are judged by their own names
        old_cover, new_cover = _covering(old_lenses, path), _covering(new_lenses, path)
        promised: dict[str, tuple[LensParameter | None, str]] = {}
        for lens in old_cover:
            for name, param in lens.parameters.items():
                promised.setdefault(name, (param, f"{o.label}'s lens {lens.module}"))
        old_conf, new_conf = old_confs.get(path), new_confs.get(path)
        if old_conf is not None and old_cover:
            for name in old_conf.parameters:
                promised.setdefault(name, (None, f"{o.label}'s {path}"))
        if new_conf is not None and new_cover:
            for name in new_conf.parameters:
                promised.setdefault(name, (None, f"{n.label}'s {path}"))
        lens_names = ", ".join(sorted(lens.module for lens in new_cover)) or "none"
        for name, (was, who) in sorted(promised.items()):
            now = _reads(new_cover, name)
            if now is None:
                findings.append(
                    Rule.CONFIG_PARAMETER_UNREADABLE.finding(
                        path,
                        None,
                        f"{name}: read by {who} but not by {n.label}'s lens "
                        f"for {path} ({lens_names})",
                        name,
                    )
                )
                continue
            lost = [f for f in (was.forms if was else ()) if f not in now.forms]
            if was is not None and lost:
                findings.append(
                    Rule.CONFIG_PARAMETER_UNREADABLE.finding(
                        path,
                        None,
                        f"{name}: {who} reads it as {was.kind} ({', '.join(was.forms)}), "
                        f"{n.label}'s as {now.kind} ({', '.join(now.forms)}): a value "
                        f"written as {', '.join(lost)} no longer parses",
                        name,
                    )
                )
            elif (
                old_conf is not None
                and name in old_conf.parameters
                and (new_conf is None or name not in new_conf.parameters)
            ):
                gone = "gone" if new_conf is None else f"no longer in {n.label}'s file"
                findings.append(
                    Rule.CONFIG_PARAMETER_DROPPED.finding(
                        path,
                        None,
                        f"{name}: documented by {o.label}'s {path}, {gone}; "
                        f"{n.label}'s lens {now_lens(new_cover, name)} still reads it",
                        name,
                    )
                )
        if new_conf is None:
            continue
        if not new_cover:
            findings.append(
                Rule.CONFIG_LENS_MISSING.finding(
                    path,
                    None,
                    f"{path} ({n.package(path, n.label)}) is covered by no augeas lens "
                    f"of {n.label} ({len(new_conf.parameters)} documented parameters)",
                )
            )
        findings.extend(
            Rule.CONFIG_PARAMETER_ACTIVE.finding(
                path,
                None,
                f"{name_value(setting.name, setting.value)} is set in {n.label}'s "
                f"{path}:{setting.line}, not commented out",
                setting.name,
                location=Location(path, setting.line),
            )
            for setting in new_conf.active
        )
    return SectionResult(
        SECTION, SectionStatus.CHECKED, evidence=evidence, findings=tuple(findings)
    )


def now_lens(lenses: list[Lens], name: str) -> str:
    return next((lens.module for lens in lenses if name in lens.parameters), "?")


def name_value(name: str, value: str) -> str:
    return f"{name} = {value if len(value) <= 60 else value[:57] + '...'}"

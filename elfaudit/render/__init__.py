"""Renderers: turn a :class:`~elfaudit.model.Report` (or dumped ABIs) into text.

One small interface: :func:`render_report` and :func:`render_dump`. Concrete renderers are
imported lazily, so importing this package pulls in neither tabulate nor an XML library.
The helpers below (ordering, verdict, rule lookup) are shared by every format so that all
of them list findings in the same order and agree on the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from importlib.resources import files
from typing import Any, Protocol

from elfaudit.model import Finding, LibraryABI, Report, Severity
from elfaudit.rules import BY_ID, RuleSpec

REPORT_FORMATS: tuple[str, ...] = ("text", "json", "junit", "sarif", "markdown")
DUMP_FORMATS: tuple[str, ...] = ("text", "json")

#: Rule families in the order reports list them (``RuleSpec.family``).
FAMILIES: tuple[str, ...] = ("script", "compare", "package", "graph", "api", "symbols-file")

#: The families a passing run of each command reports on (JUnit testcases).
COMMAND_FAMILIES: dict[str, tuple[str, ...]] = {
    "check": ("script",),
    "compare": ("compare", "package"),
    "graph-check": ("compare", "graph"),
    "gate": ("script", "compare", "graph"),
    "scan": ("script", "compare"),
    "symbols-file": ("symbols-file",),
    "api-compare": ("api",),
}


class Renderer(Protocol):
    def render(self, report: Report) -> str: ...


RendererFactory = Callable[[bool], Renderer]


def _text(verbose: bool) -> Renderer:
    from elfaudit.render.text import TextRenderer

    return TextRenderer(verbose=verbose)


def _json(verbose: bool) -> Renderer:
    from elfaudit.render.jsonfmt import JsonRenderer

    return JsonRenderer()


def _junit(verbose: bool) -> Renderer:
    from elfaudit.render.junit import JunitRenderer

    return JunitRenderer(verbose=verbose)


def _sarif(verbose: bool) -> Renderer:
    from elfaudit.render.sarif import SarifRenderer

    return SarifRenderer()


def _markdown(verbose: bool) -> Renderer:
    from elfaudit.render.markdown import MarkdownRenderer

    return MarkdownRenderer()


#: format name -> factory taking ``verbose``; each factory imports its module on first use.
RENDERERS: dict[str, RendererFactory] = {
    "text": _text,
    "json": _json,
    "junit": _junit,
    "sarif": _sarif,
    "markdown": _markdown,
}


def get_renderer(fmt: str, *, verbose: bool = False) -> Renderer:
    try:
        factory = RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r} (choose from {', '.join(REPORT_FORMATS)})"
        ) from None
    return factory(verbose)


def render_report(report: Report, fmt: str, *, verbose: bool = False) -> str:
    """Render ``report`` as ``fmt`` (one of :data:`REPORT_FORMATS`); ends with a newline.

    ``verbose`` lists info findings one by one in text and JUnit (otherwise counted).
    """
    return get_renderer(fmt, verbose=verbose).render(report)


def render_dump(abis: Sequence[LibraryABI], fmt: str, *, imports: bool = False) -> str:
    """Render what libraries export as ``fmt`` (one of :data:`DUMP_FORMATS`).

    ``json`` is the snapshot document (:func:`elfaudit.snapshot.dump_document`);
    ``imports`` adds the undefined symbols each library expects.
    """
    if fmt == "text":
        from elfaudit.render.text import render_dump_text

        return render_dump_text(abis, imports=imports)
    if fmt == "json":
        from elfaudit.render.jsonfmt import render_dump_json

        return render_dump_json(abis, imports=imports)
    raise ValueError(f"unknown dump format {fmt!r} (choose from {', '.join(DUMP_FORMATS)})")


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of an output document: ``"report"`` or ``"dump"``.

    ``name`` may also be the file name (``report-schema.json``).
    """
    stem = name.removesuffix(".json").removesuffix("-schema")
    if stem not in ("report", "dump"):
        raise ValueError(f"unknown schema {name!r} (choose from report, dump)")
    text = files("elfaudit").joinpath("data", f"{stem}-schema.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    if not isinstance(doc, dict):  # pragma: no cover - the shipped files are objects
        raise ValueError(f"schema {name!r} is not a JSON object")
    return doc


def dumps_json(doc: object) -> str:
    """Serialise a document the one way every JSON output uses: sorted keys, indented, one
    line per flat record (a symbol, a finding), ``\\n`` at the end."""
    from elfaudit.jsonio import dump_json

    return dump_json(doc, width=None, default=_json_default)


def _json_default(obj: object) -> object:
    """Make ``Report.extra`` values serialisable, deterministically."""
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    value = getattr(obj, "value", None)  # enums
    if isinstance(value, (str, int)):
        return value
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(obj, name) for name in fields}
    return str(obj)


# --------------------------------------------------------------------------- shared helpers


def rule_spec(rule_id: str) -> RuleSpec | None:
    """The catalogue entry of a rule id, or None for an id the catalogue does not know."""
    rule = BY_ID.get(rule_id)
    return rule.value if rule is not None else None


def rule_family(rule_id: str) -> str:
    spec = rule_spec(rule_id)
    return spec.family if spec is not None else "other"


def library_order(report: Report) -> list[str]:
    """Libraries as reports list them: ``report.libraries`` first, then any other named by a
    finding or a private summary, alphabetically."""
    seen = dict.fromkeys(report.libraries)
    others = {f.library for f in report.findings} | {p.library for p in report.private}
    return [*seen, *sorted(others - seen.keys())]


def finding_sort_key(report: Report) -> Callable[[Finding], tuple[Any, ...]]:
    """Key: library (report order), severity rank descending, rule, symbol, version, rest."""
    rank = {lib: i for i, lib in enumerate(library_order(report))}

    def key(f: Finding) -> tuple[Any, ...]:
        return (
            rank.get(f.library, len(rank)),
            f.library,
            -f.severity.rank,
            f.rule,
            f.symbol or "",
            f.version or "",
            f.message,
            str(f.location) if f.location is not None else "",
            f.waived or "",
        )

    return key


def sorted_findings(report: Report, findings: Iterable[Finding] | None = None) -> list[Finding]:
    return sorted(report.findings if findings is None else findings, key=finding_sort_key(report))


def subject(f: Finding) -> str:
    """What a finding is about: ``symbol@version``, ``symbol``, ``version``, or the library."""
    if f.symbol is not None and f.version is not None:
        return f"{f.symbol}@{f.version}"
    return f.symbol or f.version or f.library


def finding_line(f: Finding) -> str:
    """One line naming a finding: ``rule: subject: message [location]``."""
    where = f" [{f.location}]" if f.location is not None else ""
    return f"{f.rule}: {subject(f)}: {f.message}{where}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def count_phrase(report: Report) -> str:
    """``3 errors, 1 warning, 12 info, 1 waived, 1 problem`` (zeros left out)."""
    c = report.counts()
    parts = []
    if c["error"]:
        parts.append(_plural(c["error"], "error"))
    if c["warning"]:
        parts.append(_plural(c["warning"], "warning"))
    if c["info"]:
        parts.append(f"{c['info']} info")
    if c["waived"]:
        parts.append(f"{c['waived']} waived")
    if report.problems:
        parts.append(_plural(len(report.problems), "problem"))
    return ", ".join(parts)


def verdict(report: Report) -> str:
    """One word or phrase for the outcome, consistent with :func:`elfaudit.model.exit_code`.

    INCOMPATIBLE (an active error), COULD NOT AUDIT (a problem, no active error),
    COMPATIBLE WITH WARNINGS, COMPATIBLE (only info and/or waived findings),
    NO CHANGE (compare found nothing at all), CLEAN (other commands found nothing).
    """
    active = report.active
    if any(f.severity is Severity.ERROR for f in active):
        return "INCOMPATIBLE"
    if report.problems:
        return "COULD NOT AUDIT"
    if any(f.severity is Severity.WARNING for f in active):
        return "COMPATIBLE WITH WARNINGS"
    if report.findings:
        return "COMPATIBLE"
    return "NO CHANGE" if report.command == "compare" else "CLEAN"


def verdict_line(report: Report) -> str:
    """``verdict: INCOMPATIBLE (3 errors, 1 warning, 12 info, 1 waived)``."""
    counts = count_phrase(report)
    return f"verdict: {verdict(report)}" + (f" ({counts})" if counts else "")


def junit_families(report: Report, library: str) -> list[str]:
    """The families a library's JUnit testsuite has a testcase for."""
    wanted = set(COMMAND_FAMILIES.get(report.command, ()))
    wanted |= {rule_family(f.rule) for f in report.findings if f.library == library}
    return [*(f for f in FAMILIES if f in wanted), *sorted(wanted - set(FAMILIES))]


TABLE_FORMATS: tuple[str, ...] = ("text", "json")


def render_table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    fmt: str,
    *,
    footer: Sequence[str] = (),
    kind: str = "elfaudit-table",
) -> str:
    """A plain table (graph show, provides, needs...) as text or as JSON rows."""
    if fmt == "json":
        keys = [h.lower().replace(" ", "_") for h in headers]
        doc = {
            "schema_version": 1,
            "kind": kind,
            "title": title,
            "rows": [dict(zip(keys, row, strict=True)) for row in rows],
            "notes": list(footer),
        }
        return dumps_json(doc)
    if fmt != "text":
        raise ValueError(f"unknown table format {fmt!r} (choose from {', '.join(TABLE_FORMATS)})")
    from elfaudit.render.text import table

    parts = [title] if title else []
    parts.append(table(headers, rows) if rows else "(nothing)")
    parts.extend(footer)
    return "\n".join(parts) + "\n"

"""Renderers: turn a :class:`~elfaudit.model.report.Report` (or dumped ABIs) into text.

One small interface: :func:`render_report` and :func:`render_dump`. Concrete renderers are
imported lazily, so importing this package pulls in neither tabulate nor an XML library,
nor the rule catalogue: ``dump`` needs none of them. The helpers every report format shares
(ordering, verdict, rule lookup) are in :mod:`elfaudit.render.common`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from elfaudit.base.datafiles import read_data

if TYPE_CHECKING:
    from elfaudit.model.abi import LibraryABI
    from elfaudit.model.report import Report

REPORT_FORMATS: tuple[str, ...] = ("text", "json", "junit", "sarif", "markdown")
DUMP_FORMATS: tuple[str, ...] = ("text", "json")


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

    ``json`` is the snapshot document (:func:`elfaudit.readers.snapshot.dump_document`);
    ``imports`` adds the undefined symbols each library expects.
    """
    if fmt == "text":
        from elfaudit.render.text import render_dump_text

        return render_dump_text(abis, imports=imports)
    if fmt == "json":
        from elfaudit.readers.snapshot import dump_document

        return dumps_json(dump_document(abis, imports=imports))
    raise ValueError(f"unknown dump format {fmt!r} (choose from {', '.join(DUMP_FORMATS)})")


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of an output document: ``"report"`` or ``"dump"``.

    ``name`` may also be the file name (``report-schema.json``).
    """
    stem = name.removesuffix(".json").removesuffix("-schema")
    if stem not in ("report", "dump"):
        raise ValueError(f"unknown schema {name!r} (choose from report, dump)")
    text = read_data(f"{stem}-schema.json")
    doc = json.loads(text)
    if not isinstance(doc, dict):  # pragma: no cover - the shipped files are objects
        raise ValueError(f"schema {name!r} is not a JSON object")
    return doc


def dumps_json(doc: object) -> str:
    """Serialise a document the one way every JSON output uses: sorted keys, indented, one
    line per flat record (a symbol, a finding), ``\\n`` at the end."""
    from elfaudit.base.jsonio import dump_json

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

"""Renderers: turn a :class:`~elfaudit.model.report.Report` (or dumped ABIs) into text.

One small interface: :func:`render_report` and :func:`render_dump`; what the other commands
return (:mod:`elfaudit.model.tables`) has :func:`render_table`, :func:`render_recorded`,
:func:`render_written`, :func:`render_symbols` and :func:`render_graph_export`. Concrete
renderers are imported lazily, so importing this package pulls in neither tabulate nor an XML
library, nor the rule catalogue: ``dump`` needs none of them. The helpers every report format shares
(ordering, verdict, rule lookup) are in :mod:`elfaudit.render.common`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from elfaudit.base.datafiles import read_data

if TYPE_CHECKING:
    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.model.abi import LibraryABI
    from elfaudit.model.report import Report
    from elfaudit.model.tables import GeneratedSymbols, Recorded, Table, Written

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


#: The JSON documents elfaudit writes, each described by ``elfaudit/data/<name>-schema.json``:
#: reports, dumps (snapshots), tables (graph show, graph introduced, provides, needs), graph
#: record's confirmation, a written file's (graph plot), generated symbols files' entries, and
#: the release graph file (graph export --format json).
SCHEMAS: tuple[str, ...] = ("report", "dump", "table", "record", "written", "symbols", "graph")


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of an output document: one of :data:`SCHEMAS` (``"report"``,
    ``"dump"``, ``"table"``...).

    ``name`` may also be the file name (``report-schema.json``).
    """
    stem = name.removesuffix(".json").removesuffix("-schema")
    if stem not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r} (choose from {', '.join(SCHEMAS)})")
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


TABLE_FORMATS: tuple[str, ...] = ("text", "json", "markdown")
#: ``graph export``: the graph as data (dot, GraphML, its own JSON file), or its releases as a
#: table (text, markdown).
EXPORT_FORMATS: tuple[str, ...] = ("dot", "graphml", "json", "text", "markdown")


def _check_format(fmt: str, choices: Sequence[str], what: str) -> None:
    if fmt not in choices:
        raise ValueError(f"unknown {what} format {fmt!r} (choose from {', '.join(choices)})")


def render_table(table: Table, fmt: str) -> str:
    """A :class:`~elfaudit.model.tables.Table` (graph show, introduced, provides, needs) as
    text, JSON rows (``table-schema.json``) or a Markdown table."""
    _check_format(fmt, TABLE_FORMATS, "table")
    if fmt == "json":
        doc: dict[str, object] = {
            "schema_version": 1,
            "kind": table.kind,
            "title": table.title,
            "rows": [dict(zip(table.keys, row, strict=True)) for row in table.rows],
            "notes": list(table.notes),
        }
        doc.update((k, list(v) if isinstance(v, tuple) else v) for k, v in table.extra)
        return dumps_json(doc)
    if fmt == "markdown":
        from elfaudit.render.markdown import render_table_markdown

        return render_table_markdown(table)
    from elfaudit.render.text import table as text_table

    parts = [table.title] if table.title else []
    parts.append(text_table(table.headers, table.rows) if table.rows else "(nothing)")
    parts.extend(table.notes)
    parts.extend(table.text_notes)
    return "\n".join(parts) + "\n"


def render_recorded(recorded: Recorded, fmt: str) -> str:
    """``graph record``'s confirmation: text is the line it printed on stderr."""
    _check_format(fmt, TABLE_FORMATS, "confirmation")
    if fmt == "json":
        return dumps_json(
            {
                "schema_version": 1,
                "kind": "elfaudit-graph-record",
                "graph": recorded.graph,
                "release": recorded.release,
                "parents": list(recorded.parents),
                "sections": list(recorded.sections),
            }
        )
    after = f" after {', '.join(recorded.parents)}" if recorded.parents else " as a root"
    facts = f" with the facts of {', '.join(recorded.sections)}" if recorded.sections else ""
    if fmt == "markdown":
        from elfaudit.render.markdown import md_code

        after = (
            f" after {', '.join(md_code(p) for p in recorded.parents)}"
            if recorded.parents
            else " as a root"
        )
        return f"Recorded {md_code(recorded.release)}{after} in {md_code(recorded.graph)}{facts}.\n"
    return f"recorded {recorded.release}{after} in {recorded.graph}{facts}\n"


def render_written(written: Written, fmt: str) -> str:
    """A confirmation that a file was written (``graph plot``)."""
    _check_format(fmt, TABLE_FORMATS, "confirmation")
    if fmt == "json":
        return dumps_json(
            {
                "schema_version": 1,
                "kind": "elfaudit-written",
                "what": written.what,
                "path": written.path,
            }
        )
    if fmt == "markdown":
        from elfaudit.render.markdown import md_code

        return f"Wrote {md_code(written.path)}.\n"
    return f"wrote {written.path}\n"


def write_plot(graph: ReleaseGraph, output: str, *, title: str | None) -> Written:
    """Draw the release graph into ``output`` (needs matplotlib: an :class:`InputError`
    naming the file otherwise)."""
    from elfaudit.base.errors import InputError
    from elfaudit.model.tables import Written

    try:
        from elfaudit.render.plot import plot_release_graph

        plot_release_graph(graph, output, title=title)
    except ImportError as exc:
        raise InputError(output, f"plotting needs matplotlib ({exc})") from exc
    return Written(output, "plot")


def render_symbols(generated: GeneratedSymbols, fmt: str) -> str:
    """A generated symbols file: text is the file itself; JSON (``symbols-schema.json``) and
    Markdown give its entries."""
    _check_format(fmt, TABLE_FORMATS, "symbols file")
    if fmt == "text":
        from elfaudit.analysis.symbols_file import format_symbols_file

        return format_symbols_file(generated)
    if fmt == "json":
        return dumps_json(
            {
                "schema_version": 1,
                "kind": "elfaudit-symbols-file",
                "libraries": [
                    {
                        "soname": lib.soname,
                        "package": lib.package,
                        "build_depends_package": lib.build_depends_package,
                        "entries": [
                            {"name": e.name, "minver": e.minver, "pattern": e.pattern}
                            for e in lib.lines
                        ],
                    }
                    for lib in generated.libraries
                ],
            }
        )
    from elfaudit.render.markdown import render_symbols_markdown

    return render_symbols_markdown(generated)


def render_graph_export(graph: ReleaseGraph, fmt: str) -> str:
    """``graph export``: dot, GraphML or the graph's own JSON file (``graph-schema.json``),
    or its releases and edges as a text or Markdown table."""
    _check_format(fmt, EXPORT_FORMATS, "export")
    if fmt == "dot":
        return graph.to_dot()
    if fmt == "graphml":
        return graph.to_graphml()
    if fmt == "json":
        return graph.dumps()
    from elfaudit.model.tables import Table

    rows = tuple(
        (
            name,
            ", ".join(graph.parents(name)) or "-",
            ", ".join(graph.release(name).library_names) or "-",
        )
        for name in graph.releases()
    )
    table = Table(
        "elfaudit-graph-export",
        ("Release", "Parents", "Libraries"),
        rows,
        title=f"release graph {graph.path}: {len(graph)} releases",
        notes=(f"heads: {', '.join(graph.heads())}",),
    )
    return render_table(table, fmt)

"""The ``graph`` group: record, check, show, introduced, export and plot the release graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from elfaudit.cli.app import _Group, cli, confirm, emit, write_output
from elfaudit.cli.options import (
    format_option,
    graph_option,
    output_option,
    profile_option,
    release_options,
    waiver_options,
)
from elfaudit.model.exitcodes import EXIT_ERROR
from elfaudit.render import EXPORT_FORMATS, TABLE_FORMATS

if TYPE_CHECKING:
    from elfaudit.commands.waiving import WaiverOptions


@click.group(cls=_Group)
def graph() -> None:
    """Keep the history of releases and judge new builds against all of it."""


cli.add_command(graph)


@graph.lazy("record")
def _graph_record_command() -> click.Command:
    @click.command("record")
    @click.argument("libs", nargs=-1, required=True)
    @release_options
    @graph_option
    @profile_option
    @click.option("--replace", is_flag=True, help="Overwrite a release of the same name.")
    @click.option("--note", help="A note stored with the release.")
    @format_option(TABLE_FORMATS)
    def graph_record(
        libs: tuple[str, ...],
        release: str | None,
        parents: tuple[str, ...],
        graph_path: str | None,
        profile: str | None,
        replace: bool,
        note: str | None,
        fmt: str,
    ) -> int:
        """Add a release (libraries, snapshots, packages or trees) to the graph.

        A directory of one release's packages (or its unpacked root tree) is the whole
        release: its libvirt libraries, and every section of libvirt's support page
        (API descriptions, error codes, schemas, configuration files, drivers, RPC
        protocol, virsh) as facts, so later releases are judged against them."""
        from elfaudit.commands.graph import record_release
        from elfaudit.render import render_recorded

        recorded = record_release(
            libs,
            release=release,
            parents=parents,
            graph_path=graph_path,
            profile=profile,
            replace_existing=replace,
            note=note,
        )
        confirm(render_recorded(recorded, fmt), fmt)
        return 0

    return graph_record


@graph.lazy("check")
def _graph_check_command() -> click.Command:
    @click.command("check")
    @click.argument("libs", nargs=-1, required=True)
    @release_options
    @graph_option
    @profile_option
    @waiver_options
    @format_option()
    @output_option
    def graph_check_cmd(
        libs: tuple[str, ...],
        release: str | None,
        parents: tuple[str, ...],
        graph_path: str | None,
        profile: str | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Judge a new build against every earlier release in the graph (not only its parent).

        A directory of one release's packages (or its root tree) is judged section by
        section of libvirt's support page too, against every ancestor that recorded the
        section; a finding only an older ancestor gives says which release shipped it."""
        from elfaudit.commands.graph import run_graph_check

        report = run_graph_check(
            libs,
            release=release,
            parents=parents,
            graph_path=graph_path,
            profile=profile,
            waivers=waivers,
        )
        return emit(report, fmt, output)

    return graph_check_cmd


@graph.lazy("show")
def _graph_show_command() -> click.Command:
    @click.command("show")
    @graph_option
    @profile_option
    @format_option(TABLE_FORMATS)
    @output_option
    def graph_show(
        graph_path: str | None, profile: str | None, fmt: str, output: str | None
    ) -> int:
        """Releases in order: per library, public symbols and nodes, growth, breakage."""
        from elfaudit.commands.graph import graph_show_table
        from elfaudit.render import render_table

        write_output(render_table(graph_show_table(graph_path, profile=profile), fmt), output)
        return 0

    return graph_show


@graph.lazy("introduced")
def _graph_introduced_command() -> click.Command:
    @click.command("introduced")
    @click.argument("symbol")
    @graph_option
    @click.option("--library", help="Only this SONAME.")
    @click.option(
        "--from",
        "source",
        help="Answer from this library, package or version script's node chain instead of "
        "the graph (LIBVIRT_3.1.0 means 3.1.0, corrected by the profile's known late additions).",
    )
    @format_option(TABLE_FORMATS)
    def graph_introduced(
        symbol: str, graph_path: str | None, library: str | None, source: str | None, fmt: str
    ) -> int:
        """In which release (and node) a public symbol first shipped."""
        from elfaudit.commands.graph import introduced_from_nodes, introduced_table
        from elfaudit.render import render_table

        if source is not None:
            table = introduced_from_nodes(symbol, source, library=library)
        else:
            table = introduced_table(symbol, graph_path, library=library)
        write_output(render_table(table, fmt), None)
        return 0 if table.ok else EXIT_ERROR

    return graph_introduced


@graph.lazy("export")
def _graph_export_command() -> click.Command:
    @click.command("export")
    @graph_option
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(list(EXPORT_FORMATS)),
        default="dot",
        show_default=True,
        help="dot, graphml, json (the graph file): the DAG as data; "
        "text, markdown: its releases and edges as a table.",
    )
    @output_option
    def graph_export(graph_path: str | None, fmt: str, output: str | None) -> int:
        """Write the release DAG as Graphviz dot, GraphML or JSON."""
        from elfaudit.commands.graph import export_graph
        from elfaudit.render import render_graph_export

        write_output(render_graph_export(export_graph(graph_path), fmt), output)
        return 0

    return graph_export


@graph.lazy("plot")
def _graph_plot_command() -> click.Command:
    @click.command("plot")
    @graph_option
    @click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False, writable=True),
        help="Picture to write: .svg or .png.",
    )
    @click.option("--title", help="Title of the picture.")
    @format_option(TABLE_FORMATS)
    def graph_plot(graph_path: str | None, output: str, title: str | None, fmt: str) -> int:
        """Draw the release DAG and the public API size per release (needs matplotlib)."""
        from elfaudit.commands.graph import plot_graph
        from elfaudit.render import render_written, write_plot

        written = write_plot(plot_graph(graph_path, output), output, title=title)
        confirm(render_written(written, fmt), fmt)
        return 0

    return graph_plot

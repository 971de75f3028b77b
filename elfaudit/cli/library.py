"""Commands about one library or release: ``dump``, ``check``, ``compare`` and ``gate``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from elfaudit.cli.app import cli, emit, write_output
from elfaudit.cli.options import (
    format_option,
    graph_option,
    output_option,
    profile_option,
    release_options,
    script_option,
    show_private_option,
    waiver_options,
)
from elfaudit.model.exitcodes import EXIT_ERROR, EXIT_INCOMPATIBLE

if TYPE_CHECKING:
    from elfaudit.commands.waiving import WaiverOptions


@cli.lazy("dump")
def _dump_command() -> click.Command:
    @click.command("dump")
    @click.argument("paths", nargs=-1, required=True)
    @format_option(("text", "json"))
    @click.option("--imports", is_flag=True, help="Also list undefined (imported) symbols in JSON.")
    @output_option
    def dump(paths: tuple[str, ...], fmt: str, imports: bool, output: str | None) -> int:
        """Show what libraries export: SONAME, version nodes, symbols.

        `--format json` writes a snapshot that `compare` accepts in place of the library.
        """
        from elfaudit.readers.inputs import load_all
        from elfaudit.render import render_dump

        abis = load_all(paths)
        write_output(render_dump(abis, fmt, imports=imports), output)
        return 0

    return dump


@cli.lazy("check")
def _check_command() -> click.Command:
    @click.command("check")
    @click.argument("libs", nargs=-1, required=True)
    @script_option(
        "A version script the library was built from (repeatable). libvirt's private "
        "fragments (libvirt_private.syms) are merged into the generated private node."
    )
    @click.option(
        "--private-node",
        help="Name of the node private fragments are wrapped in "
        "(default: the library's own private node, e.g. LIBVIRT_PRIVATE_9.0.0).",
    )
    @profile_option
    @waiver_options
    @format_option()
    @output_option
    def check(
        libs: tuple[str, ...],
        scripts: tuple[str, ...],
        private_node: str | None,
        profile: str | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Check built libraries against the version scripts they were built from."""
        from elfaudit.commands.check import run_check

        report = run_check(
            libs,
            scripts,
            profile=profile,
            private_node=private_node,
            waivers=waivers,
        )
        return emit(report, fmt, output)

    return check


@cli.lazy("compare")
def _compare_command() -> click.Command:
    @click.command("compare")
    @click.argument("old")
    @click.argument("new")
    @show_private_option
    @profile_option
    @waiver_options
    @format_option()
    @output_option
    def compare(
        old: str,
        new: str,
        show_private: bool,
        profile: str | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Compare two releases: libraries, snapshots, packages or trees (paired by SONAME).

        When the SONAME changed, the symbol findings are counted in `soname-changed`;
        -v lists them."""
        from elfaudit.commands.compare import run_compare

        report = run_compare(
            old,
            new,
            profile=profile,
            show_private=show_private,
            waivers=waivers,
            list_all=bool(click.get_current_context().meta.get("elfaudit.verbose")),
        )
        return emit(report, fmt, output)

    return compare


@cli.lazy("gate")
def _gate_command() -> click.Command:
    @click.command("gate")
    @click.argument("libs", nargs=-1, required=True)
    @script_option("Version script the libraries were built from (repeatable).")
    @release_options
    @graph_option
    @click.option("--private-node", help="Node the private fragments are wrapped in.")
    @click.option(
        "--record",
        is_flag=True,
        help="When the verdict has no error, record the release in the graph.",
    )
    @profile_option
    @waiver_options
    @format_option()
    @output_option
    def gate(
        libs: tuple[str, ...],
        scripts: tuple[str, ...],
        release: str | None,
        parents: tuple[str, ...],
        graph_path: str | None,
        private_node: str | None,
        record: bool,
        profile: str | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """The release manager's one command: `check` against the scripts plus `graph check`
        against the whole history, one report, one exit code (a directory of the release's
        packages: every section of libvirt's support page too)."""
        from elfaudit.commands.gate import run_gate
        from elfaudit.commands.graph import record_release

        report = run_gate(
            libs,
            scripts,
            release=release,
            parents=parents,
            graph_path=graph_path,
            profile=profile,
            private_node=private_node,
            waivers=waivers,
        )
        rc = emit(report, fmt, output)
        if record:
            if rc & EXIT_INCOMPATIBLE == EXIT_INCOMPATIBLE or rc & EXIT_ERROR:
                click.echo("elfaudit: not recorded: the gate failed", err=True)
            else:
                recorded = record_release(
                    libs, release=release, parents=parents, graph_path=graph_path, profile=profile
                )
                after = ", ".join(recorded.parents) or "nothing"
                click.echo(
                    f"recorded {recorded.release} after {after} in {recorded.graph}", err=True
                )
        return rc

    return gate

"""Commands for packagers and people building against a library: ``scan``,
``symbols-file``, ``provides``, ``needs`` and ``api-compare``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from elfaudit.cli.app import cli, emit, write_output
from elfaudit.cli.options import (
    format_option,
    graph_option,
    output_option,
    profile_option,
    waiver_options,
)
from elfaudit.model.exitcodes import EXIT_INCOMPATIBLE
from elfaudit.render import TABLE_FORMATS

if TYPE_CHECKING:
    from elfaudit.commands.waiving import WaiverOptions


@cli.lazy("scan")
def _scan_command() -> click.Command:
    @click.command("scan")
    @click.argument("paths", nargs=-1, required=True)
    @click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        help="Worker processes (default: one per core).",
    )
    @waiver_options
    @format_option()
    @output_option
    def scan(
        paths: tuple[str, ...],
        jobs: int | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Audit many libraries or packages at once (folders expanded), on all cores.

        Each library is checked on its own: no unversioned or hidden-only exports, and (libvirt)
        an unbroken node chain. An input that cannot be read is reported, not fatal.
        """
        from elfaudit.commands.scan import run_scan

        bar = _progress_bar() if sys.stderr.isatty() else None
        report = run_scan(paths, jobs=jobs, progress=bar, waivers=waivers)
        if bar is not None:
            click.echo("", err=True)
        return emit(report, fmt, output)

    return scan


def _progress_bar() -> Callable[[int, int, str], None]:
    def show(done: int, total: int, path: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        name = os.path.basename(path)[-40:]
        click.echo(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name:<40}",
            err=True,
            nl=False,
        )

    return show


@cli.lazy("symbols-file")
def _symbols_file_command() -> click.Command:
    @click.command("symbols-file")
    @click.argument("libs", nargs=-1, required=True)
    @click.option("--package", help="Binary package name for the header (default: from the .deb).")
    @click.option(
        "--check",
        "check",
        is_flag=True,
        help="Compare an existing symbols file with the binaries instead of writing one.",
    )
    @click.option(
        "--symbols",
        "check_file",
        type=click.Path(dir_okay=False),
        help="The symbols file to --check (default: the .deb's own DEBIAN/symbols).",
    )
    @click.option("--build-depends-package", help="Value of the * Build-Depends-Package: field.")
    @click.option(
        "--minver-fallback",
        help="Minimal version for private nodes (default: the .deb's upstream version).",
    )
    @graph_option
    @profile_option
    @waiver_options
    @format_option()
    @output_option
    def symbols_file(
        libs: tuple[str, ...],
        package: str | None,
        check: bool,
        check_file: str | None,
        build_depends_package: str | None,
        minver_fallback: str | None,
        graph_path: str | None,
        profile: str | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Write (or --check) a Debian symbols file.

        Minimal versions come from the version nodes, corrected for symbols added to a node
        after it shipped (known to the profile, or seen in the release graph).
        """
        from elfaudit.commands.symbols_file import run_symbols_check, run_symbols_file

        if check_file is not None and not check:
            # Without --check the file was silently ignored and a new one written: exit 0, as if
            # the check had passed.
            raise click.UsageError("--symbols FILE is only read with --check")
        if check:
            report = run_symbols_check(
                libs,
                check_file,
                graph_path=graph_path,
                profile=profile,
                waivers=waivers,
            )
            return emit(report, fmt, output)
        from elfaudit.render import render_symbols

        if fmt not in TABLE_FORMATS:
            raise click.UsageError(f"--format {fmt} is for --check reports only")
        name = package or _deb_package(libs)
        generated = run_symbols_file(
            libs,
            package=name,
            graph_path=graph_path,
            profile=profile,
            build_depends_package=build_depends_package,
            minver_fallback=minver_fallback,
        )
        write_output(render_symbols(generated, fmt), output)
        return 0

    return symbols_file


def _deb_package(paths: Sequence[str]) -> str:
    debs = [p for p in paths if p.endswith(".deb")]
    if len(debs) == 1:
        from elfaudit.readers.packages import deb_metadata

        name = deb_metadata(debs[0]).get("Package")
        if name:
            return name
    raise click.UsageError("--package is needed unless a single .deb is given")


@cli.lazy("provides")
def _provides_command() -> click.Command:
    @click.command("provides")
    @click.argument("libs", nargs=-1, required=True)
    @click.option("--requires", is_flag=True, help="Also list what the libraries require.")
    @format_option(TABLE_FORMATS)
    @output_option
    def provides(libs: tuple[str, ...], requires: bool, fmt: str, output: str | None) -> int:
        """The RPM-style capabilities libraries offer: soname()(64bit), soname(NODE)(64bit)."""
        from elfaudit.commands.provides import provides_table
        from elfaudit.render import render_table

        write_output(render_table(provides_table(libs, requires=requires), fmt), output)
        return 0

    return provides


@cli.lazy("needs")
def _needs_command() -> click.Command:
    @click.command("needs")
    @click.argument("programs", nargs=-1, required=True)
    @click.option(
        "--library", help="A library, package or tree: does it satisfy the programs' needs?"
    )
    @click.option("--release", help="A release of the graph: does it satisfy them?")
    @graph_option
    @format_option(TABLE_FORMATS)
    def needs(
        programs: tuple[str, ...],
        library: str | None,
        release: str | None,
        graph_path: str | None,
        fmt: str,
    ) -> int:
        """Which release a program or library needs at least (its newest referenced node),
        and whether a given library or release has everything it binds to.

        Exit status: 0 satisfied (or nothing to check against), 12 something is missing.
        """
        from elfaudit.commands.needs import run_needs
        from elfaudit.render import render_table

        table = run_needs(programs, library=library, release=release, graph_path=graph_path)
        write_output(render_table(table, fmt), None)
        return 0 if table.ok else EXIT_INCOMPATIBLE

    return needs


@cli.lazy("api-compare")
def _api_compare_command() -> click.Command:
    @click.command("api-compare")
    @click.argument("old")
    @click.argument("new")
    @click.option(
        "--library",
        "libraries",
        multiple=True,
        help="Also check the NEW description against these libraries or packages (repeatable).",
    )
    @waiver_options
    @format_option()
    @output_option
    def api_compare(
        old: str,
        new: str,
        libraries: tuple[str, ...],
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Compare libvirt's API descriptions (libvirt-api.xml files or libvirt-dev packages):
        functions, signatures, structs, enums and constants, per the support guarantees."""
        from elfaudit.commands.api_compare import run_api_compare

        report = run_api_compare(old, new, libraries=libraries, waivers=waivers)
        return emit(report, fmt, output)

    return api_compare

"""The command line: parse, call the API, render, exit with abidiff's bitmask.

Exit status: 0 no finding; 1 could not audit (bad input); 3 usage error;
4 findings of warning or info severity only; 12 at least one error finding.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from elfaudit import __version__
from elfaudit.base.errors import ElfauditError
from elfaudit.model.exitcodes import EXIT_ERROR, EXIT_INCOMPATIBLE, EXIT_USAGE

if TYPE_CHECKING:
    from elfaudit.commands.waiving import WaiverOptions
    from elfaudit.model.report import Report

F = TypeVar("F", bound=Callable[..., Any])

REPORT_FORMATS: tuple[str, ...] = ("text", "json", "junit", "sarif", "markdown")


def _fail(message: str) -> NoReturn:
    click.echo(f"elfaudit: error: {message}", err=True)
    raise SystemExit(EXIT_ERROR)


def write_output(text: str, output: str | None) -> None:
    """Write to stdout, or atomically to a file (never a half-written file)."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    import tempfile

    directory = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".elfaudit-", suffix=".tmp")
    except OSError as exc:
        _fail(f"{output}: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        os.unlink(tmp)
        _fail(f"{output}: {exc.strerror or exc}")


def emit(report: Report, fmt: str, output: str | None) -> int:
    from elfaudit.model.report import exit_code
    from elfaudit.render import render_report

    verbose = bool(click.get_current_context().meta.get("elfaudit.verbose"))
    write_output(render_report(report, fmt, verbose=verbose), output)
    for problem in report.problems:
        click.echo(f"elfaudit: error: {problem.path}: {problem.message}", err=True)
    return exit_code(report)


def _remember_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["elfaudit.verbose"] = value


def format_option(choices: Sequence[str] = REPORT_FORMATS) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        f = click.option(
            "--format",
            "fmt",
            type=click.Choice(list(choices)),
            default="text",
            show_default=True,
            help="Output format.",
        )(f)
        if tuple(choices) == REPORT_FORMATS:
            f = click.option(
                "-v",
                "--verbose",
                is_flag=True,
                expose_value=False,
                callback=_remember_verbose,
                help="List info findings one by one (text and JUnit).",
            )(f)
        return f

    return decorate


def output_option(f: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, writable=True),
        help="Write the report to this file (atomically) instead of stdout.",
    )(f)


def profile_option(f: F) -> F:
    return click.option(
        "--profile",
        help="Profile name (libvirt, generic) or path to a profile JSON. "
        "Default: chosen from each library's SONAME.",
    )(f)


def script_option(help_text: str) -> Callable[[F], F]:
    """``--script FILE`` (repeatable, required), the version scripts of ``check`` and
    ``gate``; each command says in its own words what they are."""
    return click.option(
        "--script",
        "scripts",
        multiple=True,
        required=True,
        type=click.Path(dir_okay=False),
        help=help_text,
    )


def waiver_options(f: F) -> F:
    """``--waivers FILE...`` and ``--no-default-waivers``, handed to the command as one
    ``waivers: WaiverOptions`` argument."""

    @functools.wraps(f)
    def command(
        *args: Any, waivers: tuple[str, ...], no_default_waivers: bool, **kwargs: Any
    ) -> Any:
        from elfaudit.commands.waiving import WaiverOptions

        return f(*args, waivers=WaiverOptions(tuple(waivers), not no_default_waivers), **kwargs)

    wrapped = click.option(
        "--waivers",
        "waivers",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="A waivers file (repeatable). Waived findings are still reported.",
    )(command)
    wrapped = click.option(
        "--no-default-waivers",
        is_flag=True,
        help="Do not apply the waivers shipped with the profile.",
    )(wrapped)
    return cast(F, wrapped)


class _Group(click.Group):
    """A group whose subcommands are built on first use.

    Building a command builds its options; building all of elfaudit's (over 90 options)
    on every start cost 11 M instructions (~2 ms) more than building the one being run.
    Each command is registered as a function that builds it (``@cli.lazy(name)``);
    ``--help`` builds them all to list them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builders: dict[str, Callable[[], click.Command]] = {}

    def lazy(
        self, name: str
    ) -> Callable[[Callable[[], click.Command]], Callable[[], click.Command]]:
        def register(build: Callable[[], click.Command]) -> Callable[[], click.Command]:
            self.builders[name] = build
            return build

        return register

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.builders})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        build = self.builders.pop(cmd_name, None)
        if build is not None:
            self.add_command(build(), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="elfaudit")
def cli() -> None:
    """Audit the versioned ABI of ELF shared libraries (libvirt first).

    Inputs may be ELF files, JSON snapshots from `elfaudit dump --format json`,
    .deb or .rpm packages, or directory trees.

    \b
    Exit status (abidiff's bitmask):
      0  no finding          4  warnings or info only
      1  could not audit     12 at least one error-severity finding
      3  usage error
    """


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
    @click.option("--show-private", is_flag=True, help="List private-node churn symbol by symbol.")
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
        """Compare two releases: libraries, snapshots, packages or trees (paired by SONAME)."""
        from elfaudit.commands.compare import run_compare

        report = run_compare(
            old,
            new,
            profile=profile,
            show_private=show_private,
            waivers=waivers,
        )
        return emit(report, fmt, output)

    return compare


# ---------------------------------------------------------------------------- release graph


def graph_option(f: F) -> F:
    return click.option(
        "--graph",
        "graph_path",
        type=click.Path(dir_okay=False),
        help="Release graph file. Default: $ELFAUDIT_GRAPH, else ./elfaudit-graph.json if it "
        "exists, else the libvirt graph shipped with elfaudit.",
    )(f)


def release_options(f: F) -> F:
    f = click.option(
        "--parent",
        "parents",
        multiple=True,
        help="Release this one follows (repeatable). Default: the newest recorded release "
        "that sorts before it.",
    )(f)
    return click.option(
        "--release",
        help="Name of the release being judged or recorded (e.g. 12.9.0). "
        "Default: the upstream version of a single .deb given as input.",
    )(f)


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
    def graph_record(
        libs: tuple[str, ...],
        release: str | None,
        parents: tuple[str, ...],
        graph_path: str | None,
        profile: str | None,
        replace: bool,
        note: str | None,
    ) -> int:
        """Add a release (libraries, snapshots, packages or trees) to the graph."""
        from elfaudit.commands.graph import record_release

        path, rel, chosen = record_release(
            libs,
            release=release,
            parents=parents,
            graph_path=graph_path,
            profile=profile,
            replace_existing=replace,
            note=note,
        )
        after = f" after {', '.join(chosen)}" if chosen else " as a root"
        click.echo(f"recorded {rel}{after} in {path}", err=True)
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
        """Judge a new build against every earlier release in the graph (not only its parent)."""
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
    @format_option(("text", "json"))
    @output_option
    def graph_show(
        graph_path: str | None, profile: str | None, fmt: str, output: str | None
    ) -> int:
        """Releases in order: per library, public symbols and nodes, growth, breakage."""
        from elfaudit.commands.graph import graph_show_table

        write_output(graph_show_table(graph_path, profile=profile, fmt=fmt), output)
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
    @format_option(("text", "json"))
    def graph_introduced(
        symbol: str, graph_path: str | None, library: str | None, source: str | None, fmt: str
    ) -> int:
        """In which release (and node) a public symbol first shipped."""
        from elfaudit.commands.graph import introduced_from_nodes, introduced_table

        if source is not None:
            text, found = introduced_from_nodes(symbol, source, library=library, fmt=fmt)
        else:
            text, found = introduced_table(symbol, graph_path, library=library, fmt=fmt)
        write_output(text, None)
        return 0 if found else EXIT_ERROR

    return graph_introduced


@graph.lazy("export")
def _graph_export_command() -> click.Command:
    @click.command("export")
    @graph_option
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["dot", "graphml", "json"]),
        default="dot",
        show_default=True,
    )
    @output_option
    def graph_export(graph_path: str | None, fmt: str, output: str | None) -> int:
        """Write the release DAG as Graphviz dot, GraphML or JSON."""
        from elfaudit.commands.graph import export_graph

        write_output(export_graph(graph_path, fmt), output)
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
    def graph_plot(graph_path: str | None, output: str, title: str | None) -> int:
        """Draw the release DAG and the public API size per release (needs matplotlib)."""
        from elfaudit.commands.graph import plot_graph

        plot_graph(graph_path, output, title=title)
        click.echo(f"wrote {output}", err=True)
        return 0

    return graph_plot


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
        against the whole history, one report, one exit code."""
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
                path, rel, chosen = record_release(
                    libs, release=release, parents=parents, graph_path=graph_path, profile=profile
                )
                click.echo(
                    f"recorded {rel} after {', '.join(chosen) or 'nothing'} in {path}", err=True
                )
        return rc

    return gate


# ---------------------------------------------------------------------------- packagers


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
        name = package or _deb_package(libs)
        text = run_symbols_file(
            libs,
            package=name,
            graph_path=graph_path,
            profile=profile,
            build_depends_package=build_depends_package,
            minver_fallback=minver_fallback,
        )
        write_output(text, output)
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
    @format_option(("text", "json"))
    @output_option
    def provides(libs: tuple[str, ...], requires: bool, fmt: str, output: str | None) -> int:
        """The RPM-style capabilities libraries offer: soname()(64bit), soname(NODE)(64bit)."""
        from elfaudit.commands.provides import provides_table

        write_output(provides_table(libs, requires=requires, fmt=fmt), output)
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
    @format_option(("text", "json"))
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

        text, ok = run_needs(
            programs, library=library, release=release, graph_path=graph_path, fmt=fmt
        )
        write_output(text, None)
        return 0 if ok else EXIT_INCOMPATIBLE

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


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console entry point: map every outcome onto the documented exit codes."""
    try:
        rc = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="elfaudit",
            standalone_mode=False,
        )
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        click.echo("elfaudit: aborted", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except ElfauditError as exc:
        click.echo(f"elfaudit: error: {exc.message}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("elfaudit: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug: still one line and exit 1, traceback on request
        if os.environ.get("ELFAUDIT_DEBUG"):
            raise
        click.echo(
            f"elfaudit: internal error: {type(exc).__name__}: {exc} "
            "(set ELFAUDIT_DEBUG=1 for a traceback, and please report it)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(rc if isinstance(rc, int) else 0)


def run() -> NoReturn:
    """The ``elfaudit`` command and ``python -m elfaudit``: :func:`main`, then leave at once.

    When :func:`main` returns, everything elfaudit writes is complete: files were replaced
    atomically and closed, and worker threads and processes joined. The interpreter's
    teardown would only free every module and object one by one (~8 ms after a libvirt
    dump, 5% of the process), so this flushes stdout and stderr and ends the process with
    ``os._exit``. A flush that fails (the reader closed the pipe) turns a 0 into 1, quietly.
    ``ELFAUDIT_DEBUG=1`` keeps the normal exit, so a traceback still prints.

    The collector's youngest generation is also collected every 50,000 allocations
    instead of 700: a libvirt dump allocates ~60,000 objects that all live until the
    end, none in a cycle, and traversing them over and over cost 2% of the process.
    Cycles are still collected.
    """
    gc.set_threshold(50_000)
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    if os.environ.get("ELFAUDIT_DEBUG"):
        sys.exit(code)
    status = code if isinstance(code, int) else EXIT_ERROR if code else 0
    if not all([_flushed(sys.stdout), _flushed(sys.stderr)]):  # both, even if one fails
        status = status or EXIT_ERROR
    os._exit(status)


def _flushed(stream: Any) -> bool:
    try:
        stream.flush()
    except (OSError, ValueError):  # a closed pipe, or a stream already closed
        return False
    return True

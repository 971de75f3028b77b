"""The top-level ``elfaudit`` group and the process around it: the lazy group (only the
invoked command is built), writing output, emitting a report, and mapping every outcome onto
abidiff's exit codes.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from elfaudit import __version__
from elfaudit.base.errors import ElfauditError
from elfaudit.model.exitcodes import EXIT_ERROR, EXIT_USAGE

if TYPE_CHECKING:
    from elfaudit.model.report import Report


def _fail(message: str) -> NoReturn:
    click.echo(f"elfaudit: error: {message}", err=True)
    raise SystemExit(EXIT_ERROR)


def write_output(text: str, output: str | None) -> None:
    """Write to stdout (``None`` or ``-``), or to a file through
    :func:`elfaudit.base.fileio.atomic_write`: replaced atomically or not at all, the
    umask respected for a new file, a FIFO or device (``/dev/null``) written into."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    from elfaudit.base.errors import OutputError
    from elfaudit.base.fileio import atomic_write

    try:
        atomic_write(output, text)
    except OutputError as exc:
        _fail(exc.message)


def emit(report: Report, fmt: str, output: str | None) -> int:
    from elfaudit.model.report import exit_code
    from elfaudit.render import render_report

    verbose = bool(click.get_current_context().meta.get("elfaudit.verbose"))
    write_output(render_report(report, fmt, verbose=verbose), output)
    for problem in report.problems:
        click.echo(f"elfaudit: error: {problem.path}: {problem.message}", err=True)
    return exit_code(report)


def confirm(text: str, fmt: str) -> None:
    """A confirmation (a release recorded, a picture written): a line on stderr in text, as
    it always was; JSON or Markdown on stdout, where a script reads it."""
    click.echo(text, nl=False, err=fmt == "text")


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
    """The ``elfaudit`` command and ``python -m elfaudit``: :func:`main`, then a normal exit.

    The collector's youngest generation is collected every 50,000 allocations instead of
    700: a libvirt dump allocates ~60,000 objects that all live until the end, none in a
    cycle, and traversing them over and over cost 2% of the process. Cycles are still
    collected.

    When :func:`main` returns, stdout and stderr are flushed here; a flush that fails
    (the reader closed the pipe) turns a 0 into 1, quietly (see :func:`_flushed`). Then
    the process exits through ``sys.exit``, so the interpreter's whole shutdown runs:
    non-daemon threads are joined, ``atexit`` handlers (and ``weakref.finalize``
    callbacks) run, modules are cleared and what they hold is freed.

    Just before that, :func:`gc.freeze` moves every object still tracked by the collector
    (by then nearly all of them are modules, classes and functions, ~15,000 after a
    libvirt dump) into the permanent generation, which the shutdown's own collections do
    not traverse: they cost 20 M instructions, 3% of a libvirt dump (the whole shutdown
    cost 26 M, now 6 M). What that gives up: an object that is *already* part of a
    reference cycle when ``run`` ends is not collected at shutdown, so a ``__del__`` on
    it does not run, which Python never promises for objects still alive at exit
    (reference-counted objects are still freed, with their ``__del__``, as modules are
    cleared). Objects created after the freeze, by ``atexit`` handlers for instance,
    are collected as usual. :func:`main`, elfaudit's in-process entry point, does neither
    the threshold nor the freeze.
    """
    gc.set_threshold(50_000)
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    status = code if isinstance(code, int) else EXIT_ERROR if code else 0
    if not all([_flushed(sys.stdout), _flushed(sys.stderr)]):  # both, even if one fails
        status = status or EXIT_ERROR
    gc.freeze()
    sys.exit(status)


def _flushed(stream: Any) -> bool:
    """Flush ``stream``; False if that failed (the reader closed the pipe, or the stream
    was closed). After a failed flush the stream's file descriptor is pointed at
    ``/dev/null``, as the :mod:`signal` documentation recommends for ``SIGPIPE``: the
    interpreter's own flush at exit then drops the unwritable rest quietly instead of
    printing "Exception ignored" and exiting 120."""
    try:
        stream.flush()
    except (OSError, ValueError):  # a closed pipe, or a stream already closed
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return False
    return True

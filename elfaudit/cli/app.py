"""The top-level ``elfaudit`` group and the process around it: the lazy group (only the
invoked command is built), writing output, emitting a report, and mapping every outcome onto
abidiff's exit codes.
"""

from __future__ import annotations

import errno
import gc
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from elfaudit import __version__
from elfaudit.base.errors import ElfauditError, StdoutError, one_line, terminal_safe
from elfaudit.model.exitcodes import EXIT_ERROR, EXIT_USAGE

if TYPE_CHECKING:
    from elfaudit.model.report import Report


def say_error(message: str) -> None:
    """``elfaudit: error: MESSAGE`` on stderr, on one line, escaped for a terminal."""
    click.echo(f"elfaudit: error: {terminal_safe(message)}", err=True)


def _fail(message: str) -> NoReturn:
    say_error(message)
    raise SystemExit(EXIT_ERROR)


def write_output(text: str, output: str | None) -> None:
    """Write to stdout (``None`` or ``-``), or to a file through
    :func:`elfaudit.base.fileio.atomic_write`: replaced atomically or not at all, the
    umask respected for a new file, a FIFO or device (``/dev/null``) written into. Both
    get the same bytes: the text, ending with one newline."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None or output == "-":
        click.echo(text, nl=False)
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
        say_error(f"{problem.path}: {problem.message}")
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
        say_error(exc.message)
        if isinstance(exc, StdoutError):
            exc.shown = True
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
            f"elfaudit: internal error: {type(exc).__name__}: {terminal_safe(one_line(exc))} "
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

    Standard output is written through :class:`_Stdout` (see :func:`_guard_stdout`): the
    first write that fails (stdout closed, full, or a pipe whose reader has gone; Python
    ignores ``SIGPIPE``, so that is ``EPIPE``) raises :class:`StdoutError`, which
    :func:`main` reports as the one line ``elfaudit: error: stdout: cannot write: ...``,
    exit status 1; whatever is written after that is dropped.

    When :func:`main` returns, stdout and stderr are flushed here; a flush that fails
    turns a 0 into 1 (see :func:`_flushed`), with that one line if it is the first
    failure. Then the process exits through ``sys.exit``, so the interpreter's whole
    shutdown runs: non-daemon threads are joined, ``atexit`` handlers (and
    ``weakref.finalize`` callbacks) run, modules are cleared and what they hold is freed.

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
    the threshold, the stdout guard nor the freeze.
    """
    gc.set_threshold(50_000)
    raw = _guard_stdout()
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    status = code if isinstance(code, int) else EXIT_ERROR if code else 0
    if not all([_flushed(sys.stdout), _flushed(sys.stderr)]):  # both, even if one fails
        status = status or EXIT_ERROR
    failed = raw.error
    if failed is not None:
        if not failed.shown:
            failed.shown = True
            _flushed_line(f"elfaudit: error: {failed.message}\n")
        status = status or EXIT_ERROR
    gc.freeze()
    sys.exit(status)


class _Stdout(io.RawIOBase):
    """File descriptor 1 (``None``: it was closed when the process started) under
    ``sys.stdout``. The first write that fails raises :class:`StdoutError` (not an
    OSError: neither click's ``EPIPE`` handler nor the io module's buffering can swallow
    it; with ``PYTHONUNBUFFERED=1`` CPython 3.11 loses the ``EPIPE`` of a write that
    was partly done), and is kept in :attr:`error`; every write after it is dropped."""

    def __init__(self, fd: int | None) -> None:
        super().__init__()
        self.fd = fd
        self.error: StdoutError | None = None

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.fd is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return self.fd

    def isatty(self) -> bool:
        return self.fd is not None and os.isatty(self.fd)

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.error is not None:
            return size
        try:
            return os.write(self.fileno(), data)
        except OSError as exc:
            self.error = StdoutError(f"cannot write: {one_line(exc.strerror or exc)}")
            raise self.error from None


def _guard_stdout() -> _Stdout:
    """Put ``sys.stdout`` on a :class:`_Stdout`, keeping its encoding, error handler and
    buffering (``PYTHONUNBUFFERED``, a terminal's line buffering)."""
    old = sys.stdout
    if old is None:  # closed: Python starts with no sys.stdout at all
        raw = _Stdout(None)
        encoding, errors, line_buffering, write_through = "utf-8", "strict", False, False
    else:
        try:
            raw = _Stdout(old.fileno())
        except (OSError, ValueError, AttributeError):  # already replaced by a non-file
            return _Stdout(None)
        encoding, errors = old.encoding, old.errors or "strict"
        line_buffering = bool(getattr(old, "line_buffering", False))
        write_through = bool(getattr(old, "write_through", False))
        old.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=encoding,
        errors=errors,
        line_buffering=line_buffering,
        write_through=write_through,
    )
    return raw


def _flushed_line(line: str) -> None:
    """Write a line to stderr at the very end, if stderr can take it."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _flushed(stream: Any) -> bool:
    """Flush ``stream``; False if that failed (the reader closed the pipe, or the stream
    was closed). After a failed flush the stream's file descriptor is pointed at
    ``/dev/null``, as the :mod:`signal` documentation recommends for ``SIGPIPE``: the
    interpreter's own flush at exit then drops the unwritable rest quietly instead of
    printing "Exception ignored" and exiting 120."""
    if stream is None:  # closed when the process started: nothing was written to it
        return True
    try:
        stream.flush()
    except (OSError, ValueError, StdoutError):  # a closed pipe, or a stream already closed
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return False
    return True

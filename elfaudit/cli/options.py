"""The click options several commands share, each declared once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import click

from elfaudit.render import REPORT_FORMATS

F = TypeVar("F", bound=Callable[..., Any])


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


def show_private_option(f: F) -> F:
    """``--show-private`` of ``compare`` and ``guarantees``."""
    return click.option(
        "--show-private", is_flag=True, help="List private-node churn symbol by symbol."
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
        "Default: the upstream version of a single .deb given as input, or of a directory "
        "of one version's .debs.",
    )(f)

"""``guarantees``: two releases judged section by section of libvirt's support page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from elfaudit.cli.app import cli, emit
from elfaudit.cli.options import (
    format_option,
    output_option,
    profile_option,
    show_private_option,
    waiver_options,
)

if TYPE_CHECKING:
    from elfaudit.commands.waiving import WaiverOptions


@cli.lazy("guarantees")
def _guarantees_command() -> click.Command:
    @click.command("guarantees")
    @click.argument("old")
    @click.argument("new")
    @show_private_option
    @profile_option
    @waiver_options
    @format_option()
    @output_option
    def guarantees(
        old: str,
        new: str,
        show_private: bool,
        profile: str | None,
        waivers: WaiverOptions,
        fmt: str,
        output: str | None,
    ) -> int:
        """Judge two releases per section of libvirt's support page (publicAPI, hvAPI,
        apierrors, xmlschema, configfiles, hvdrivers, rpcproto, virsh).

        OLD and NEW are each a directory of one release's packages (.deb, .rpm), an unpacked
        root tree (usr/, etc/) or a single package. Each section says checked, not-checked
        (and why) or no-promise, with its evidence and findings."""
        from elfaudit.commands.guarantees import run_guarantees

        report = run_guarantees(
            old, new, profile=profile, show_private=show_private, waivers=waivers
        )
        return emit(report, fmt, output)

    return guarantees

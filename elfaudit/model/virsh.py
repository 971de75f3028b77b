"""virsh's command and option tables as semantic facts (stdlib only).

:func:`elfaudit.readers.virsh_tables.read_virsh` decodes them from ``/usr/bin/virsh``;
:mod:`elfaudit.analysis.virsh_commands` compares two releases' tables. Everything here is
what a command line can observe, not how a release's structs spell it: an option's *kind*
(``bool``, ``string``, ``int``, ``argv``, ``alias``; libvirt's old ``VSH_OT_DATA`` is a
``string`` given positionally), whether it is required, and its place among the arguments
that may be given without their ``--name`` (``positional``, 0-based; None when the option
must be named).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The kinds of option, in the order reports list them.
KINDS = ("bool", "string", "int", "argv", "alias")


@dataclass(frozen=True, slots=True)
class VirshOption:
    """One entry of a command's option table.

    ``alias_of`` is, for an ``alias`` option, what virsh substitutes for its name: another
    option's name (``"mode"``), or ``"name=value"`` (``"mode=shareable"``: the alias is a
    flag that sets that option to that value).
    """

    name: str
    kind: str
    required: bool = False
    positional: int | None = None
    empty_ok: bool = False
    alias_of: str | None = None


@dataclass(frozen=True, slots=True)
class VirshCommand:
    """One entry of a group's command table: ``alias_of`` names the command an alias entry
    stands for (virsh runs that one); ``hidden`` commands (and aliases) are left out of
    ``virsh help``."""

    name: str
    group: str
    options: tuple[VirshOption, ...] = ()
    alias_of: str | None = None
    hidden: bool = False

    def option(self, name: str) -> VirshOption | None:
        for opt in self.options:
            if opt.name == name:
                return opt
        return None


@dataclass(frozen=True, slots=True)
class VirshTables:
    """Every command of a virsh binary, in table order, and the layout detected to read
    them (strides, field offsets, the option-type enumeration): evidence, not facts."""

    path: str
    commands: tuple[VirshCommand, ...]
    groups: tuple[str, ...] = ()
    layout: Mapping[str, object] = field(default_factory=dict)

    def command(self, name: str) -> VirshCommand | None:
        for cmd in self.commands:
            if cmd.name == name:
                return cmd
        return None

    @property
    def option_count(self) -> int:
        return sum(len(c.options) for c in self.commands)

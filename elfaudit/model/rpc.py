"""libvirt's RPC protocol as shipped binaries describe it (stdlib only).

Two files tell it: the systemtap tapset ``libvirt_functions.stp`` (program numbers and names,
and each procedure's number and name per program and version) and the wireshark dissector
plugin ``libvirt.so`` (the same, plus every message's fields in declaration order with their
wireshark field types). :mod:`elfaudit.readers.rpc_tapset` and
:mod:`elfaudit.readers.wireshark_plugin` read them into a :class:`RpcProtocol`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class RpcProcedure:
    """Procedure ``number`` of ``program`` (its name: ``remote``, ``qemu``...) at protocol
    ``version`` is ``name`` (``domain_get_info``, without the program prefix)."""

    program: str
    version: int
    number: int
    name: str


@dataclass(frozen=True, slots=True)
class RpcField:
    """One field of a message: its name (the last part of the wireshark abbreviation:
    ``libvirt.remote_domain_get_info_args.dom`` -> ``dom``) and its wireshark field type
    without the ``FT_`` prefix (``INT32``, ``UINT64``, ``STRING``, ``BYTES``, ``BOOLEAN``,
    ``NONE`` for a structure, union or array). ``refers``: what a structure, union or
    array field refers to (a type name) when the binary tells, else empty. ``element``: for
    an array, the element's field type (its ``name.name`` child), else empty."""

    name: str
    type: str
    refers: str = ""
    element: str = ""


@dataclass(frozen=True, slots=True)
class RpcMessage:
    """A message (an XDR structure or union of the protocol, ``remote_domain_get_info_args``)
    and its fields in declaration order."""

    name: str
    fields: tuple[RpcField, ...]


@dataclass(frozen=True, slots=True)
class RpcProtocol:
    """What one file tells of the protocol. ``programs``: name -> program number;
    ``procedures``: sorted; ``messages``: by name, None when the source has none (a tapset);
    ``source``: the file read; ``abi``: what produced it (``tapset``, ``wireshark 4.4``)."""

    source: str
    abi: str
    programs: dict[str, int]
    procedures: tuple[RpcProcedure, ...]
    messages: dict[str, RpcMessage] | None = None

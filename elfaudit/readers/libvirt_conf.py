"""libvirt's shipped configuration files (``/etc/libvirt/*.conf``): the parameters they
document and the ones they set.

A documented parameter is a commented-out setting at the start of a line, ``#name = value``
(``# name = value`` too, one space at most after the ``#``), whose value looks like a value
of libvirt's format: a quoted string, a ``[`` list, a number. Prose (``# type=address but
...``, ``#   audit_level == 0 -> ...``) and indented examples inside prose
(``#       user = "qemu"``) are not. An active parameter is an uncommented ``name = ...``
line. A file that is not UTF-8 raises :class:`~elfaudit.base.errors.InputError`.
"""

from __future__ import annotations

import re

from elfaudit.base.errors import InputError
from elfaudit.model.config import ConfigFile, ConfigParameter

MAX_CONF_BYTES = 4 << 20  # qemu.conf is 46 KB

_DOCUMENTED = re.compile(r"#[ \t]?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)[ \t]*([\"\[0-9-].*)$")
_ACTIVE = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)[ \t]*(.*)$")


def parse_conf(data: bytes, path: str) -> ConfigFile:
    """The :class:`ConfigFile` of a shipped file's bytes; ``path`` names it."""
    if len(data) > MAX_CONF_BYTES:
        raise InputError(path, f"too large ({len(data)} bytes) for a configuration file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line) from None
    params: dict[str, ConfigParameter] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.rstrip()
        m = _ACTIVE.match(stripped)
        if m is not None:
            name = m.group(1)
            old = params.get(name)
            if old is None or not old.active:
                params[name] = ConfigParameter(name, number, m.group(2), active=True)
            continue
        m = _DOCUMENTED.match(stripped)
        if m is not None and m.group(1) not in params:
            params[m.group(1)] = ConfigParameter(m.group(1), number, m.group(2))
    return ConfigFile(path=path, parameters=params)

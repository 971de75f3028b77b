"""The facts elfaudit reasons about, as frozen dataclasses (standard library only).

One submodule per subject, so that a command imports only the classes it uses (each
dataclass costs its creation at import time):

- :mod:`~elfaudit.model.abi`: libraries, version definitions and needs, symbols;
- :mod:`~elfaudit.model.tags`: version node names and release names as sort keys;
- :mod:`~elfaudit.model.script`: parsed version scripts and text locations;
- :mod:`~elfaudit.model.report`: findings, reports and their exit code;
- :mod:`~elfaudit.model.exitcodes`: the exit-code bits (abidiff's bitmask);
- :mod:`~elfaudit.model.tables`: tables, confirmations and generated symbols files, what
  the commands that are not audits return.

Everything above this module (readers, analysis, renderers, CLI) exchanges these
objects; nothing here knows about pyelftools, networkx, click or tabulate.
"""

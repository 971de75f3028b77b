"""The command line: parse, call the API, render, exit with abidiff's bitmask.

Exit status: 0 no finding; 1 could not audit (bad input); 3 usage error;
4 findings of warning or info severity only; 12 at least one error finding.

:mod:`~elfaudit.cli.app` holds the top-level group, :func:`main` and :func:`run`;
:mod:`~elfaudit.cli.options` the options commands share; one module per command group
registers its commands (built only when invoked): :mod:`~elfaudit.cli.library` (dump, check,
compare, gate), :mod:`~elfaudit.cli.graph` (the ``graph`` group), :mod:`~elfaudit.cli.distro`
(scan, symbols-file, provides, needs, api-compare), :mod:`~elfaudit.cli.guarantees`
(guarantees).
"""

from elfaudit.cli import distro, graph, guarantees, library  # noqa: F401  (registers the commands)
from elfaudit.cli.app import cli, main, run

__all__ = ["cli", "main", "run"]

"""Exit-code bits, exactly as libabigail's abidiff sets them (stdlib only)."""

from __future__ import annotations

EXIT_OK = 0  # nothing found
EXIT_ERROR = 1  # could not audit (bad input, unreadable file)
EXIT_USAGE = 2 | EXIT_ERROR  # wrong command line
EXIT_CHANGE = 4  # findings (warning or info severity)
EXIT_INCOMPATIBLE = 8 | EXIT_CHANGE  # at least one error-severity finding

"""The foundation every layer stands on: errors, file I/O, JSON, shipped data (stdlib only)."""

"""Where the package's own data files are (standard library only).

The data files (profiles, waivers, the shipped release graph, JSON Schemas) are plain
files inside the installed package, so a path next to this module finds them.
``importlib.resources`` would do the same at a price every process pays: it imports
pathlib, urllib.parse and zipfile (about 10 ms here) before the first byte is read.
"""

from __future__ import annotations

import os

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def data_path(*parts: str) -> str:
    """``data_path("profiles", "libvirt.json")``: the file's path inside the package."""
    return os.path.join(DATA_DIR, *parts)


def read_data(*parts: str) -> str:
    """A shipped data file's text (UTF-8)."""
    with open(data_path(*parts), encoding="utf-8") as fh:
        return fh.read()

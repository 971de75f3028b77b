"""How error messages name a JSON value that has the wrong type (stdlib only)."""

from __future__ import annotations

from typing import Any


def json_kind(x: Any) -> str:
    """``null``, ``a boolean``, ``string 'abc'``, ``number 3``, ``a list``, ``an object``."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, str):
        return f"string {x[:40]!r}"
    if isinstance(x, (int, float)):
        return f"number {x!r}"
    if isinstance(x, list):
        return "a list"
    if isinstance(x, dict):
        return "an object"
    return type(x).__name__

"""JSON as elfaudit writes it, and how error messages name a JSON value (stdlib only).

Every JSON document elfaudit writes (dumps, reports, the release graph) goes through
:func:`dump_json`: sorted keys, two-space indent, and short records (scalars, lists of
scalars, flat objects) on one line each, so that a diff shows one changed symbol as one
changed line. Records are encoded by the C encoder, which keeps a 7,000-symbol dump fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_SCALARS = (str, int, float, bool, type(None))
Default = Callable[[Any], Any] | None


def _scalar_list(x: object) -> bool:
    return isinstance(x, list) and all(isinstance(i, _SCALARS) for i in x)


_SCALAR_TYPES = frozenset(_SCALARS)


def _flat(record: dict[Any, Any]) -> bool:
    """Every value a scalar or a list of scalars. The common case (exact scalar types) is
    checked by type in one C-level pass; anything else the slow way."""
    if set(map(type, record.values())) <= _SCALAR_TYPES:
        return True
    return all(isinstance(v, _SCALARS) or _scalar_list(v) for v in record.values())


def _record_encoder(default: Default) -> Callable[[Any], str]:
    """Encode one flat record, sorted keys, compact: the C encoder made once per document.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which is most of the cost
    of writing thousands of small records (a dump's symbols).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=default).encode
    fallback = json.JSONEncoder(default=default).default
    encode = make(
        None, fallback, json.encoder.encode_basestring, None, ": ", ", ", True, False, True
    )
    return lambda obj: "".join(encode(obj, 0))


class _Writer:
    """One document's worth of state: the encoders are built once, not per record."""

    def __init__(self, width: int | None, default: Default) -> None:
        self.width = width
        self.default = default
        self.plain = json.JSONEncoder(ensure_ascii=False).encode
        self.record = _record_encoder(default)
        self.out: list[str] = []

    def inline(self, x: object) -> str | None:
        if isinstance(x, _SCALARS) or _scalar_list(x):
            return self.plain(x)
        if isinstance(x, dict) and _flat(x):
            text = self.record(x)
            if self.width is None or len(text) <= self.width:
                return text
        return None

    def emit(self, x: object, depth: int) -> None:
        out = self.out
        text = self.inline(x)
        if text is not None:
            out.append(text)
            return
        if self.default is not None and not isinstance(x, (list, tuple, dict)):
            x = self.default(x)
            if isinstance(x, _SCALARS):
                out.append(self.plain(x))
                return
        pad = "  " * (depth + 1)
        if isinstance(x, (list, tuple)):
            if not x:
                out.append("[]")
                return
            out.append("[\n")
            for i, item in enumerate(x):
                out.append(pad)
                self.emit(item, depth + 1)
                out.append(",\n" if i < len(x) - 1 else "\n")
            out.append("  " * depth + "]")
            return
        if isinstance(x, dict):
            if not x:
                out.append("{}")
                return
            out.append("{\n")
            keys = sorted(x)
            for i, k in enumerate(keys):
                out.append(pad + self.plain(k) + ": ")
                self.emit(x[k], depth + 1)
                out.append(",\n" if i < len(keys) - 1 else "\n")
            out.append("  " * depth + "}")
            return
        raise TypeError(f"cannot write {type(x).__name__} to JSON")


def dump_json(doc: object, *, width: int | None = 100, default: Default = None) -> str:
    """Deterministic, review-friendly JSON ending in a newline.

    Flat records longer than ``width`` characters are spread over several lines
    (``None``: never). ``default`` converts values JSON has no type for.
    """
    writer = _Writer(width, default)
    writer.emit(doc, 0)
    return "".join(writer.out) + "\n"


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

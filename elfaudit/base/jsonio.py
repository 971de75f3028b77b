"""JSON as elfaudit writes it, and how error messages name a JSON value (stdlib only).

Every JSON document elfaudit writes (dumps, reports, the release graph) goes through
:func:`dump_json`: sorted keys, two-space indent, and short records (scalars, lists of
scalars, flat objects) on one line each, so that a diff shows one changed symbol as one
changed line.

Speed matters here (a libvirt dump is 7,000 symbol records): a list whose items are all
flat records with the same keys is encoded column by column, each column by one C-level
``map`` (``encode_basestring`` for strings, ``int.__repr__`` for integers), and the lines
are filled into one ``%`` template. The output is byte-identical to encoding each record
with the json module's C encoder (``sort_keys``, ``", "``/``": "`` separators), which is
what any other record goes through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

_SCALARS = (str, int, float, bool, type(None))
Default = Callable[[Any], Any] | None


def _scalar_list(x: object) -> bool:
    return isinstance(x, list) and all(isinstance(i, _SCALARS) for i in x)


_SCALAR_TYPES = frozenset(_SCALARS)
_ESCAPE: Callable[[str], str] = json.encoder.encode_basestring
_LITERALS: dict[Any, str] = {None: "null", True: "true", False: "false"}
_LITERAL_TYPES = frozenset({bool, type(None)})
_OPTIONAL_STR = frozenset({str, type(None)})


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

    def records(self, items: Sequence[Any]) -> list[str | None] | None:
        """Each item of a list of flat records with the same string keys, encoded on one
        line (``None`` for a record longer than ``width``); ``None`` if the list is not
        of that shape. Column by column: see the module docstring."""
        first = items[0]
        if type(first) is not dict or not first or set(map(type, items)) != {dict}:
            return None
        keys = first.keys()
        if not all(type(k) is str for k in keys):
            return None
        if not all(map(keys.__eq__, map(dict.keys, items))):
            return None
        names = sorted(keys)
        columns: list[list[str]] = []
        for name in names:
            column = self.column(list(map(itemgetter(name), items)))
            if column is None:
                return None
            columns.append(column)
        fields = ", ".join(_ESCAPE(k).replace("%", "%%") + ": %s" for k in names)
        template = "{" + fields + "}"
        lines: list[str | None] = list(map(template.__mod__, zip(*columns, strict=True)))
        if self.width is not None:
            width = self.width
            lines = [line if line is not None and len(line) <= width else None for line in lines]
        return lines

    def column(self, values: list[Any]) -> list[str] | None:
        """One key's values across the records, each encoded; ``None`` if one is not a
        scalar or a list of scalars (the record is not flat)."""
        kinds = set(map(type, values))
        if kinds == {str}:
            return list(map(_ESCAPE, values))
        if kinds == {int}:
            return list(map(int.__repr__, values))
        if kinds <= _LITERAL_TYPES:
            return list(map(_LITERALS.__getitem__, values))
        if kinds == _OPTIONAL_STR:
            return ["null" if v is None else _ESCAPE(v) for v in values]
        out: list[str] = []
        add = out.append
        for v in values:
            kind = type(v)
            if kind is str:
                add(_ESCAPE(v))
            elif v is None or kind is bool:
                add(_LITERALS[v])
            elif kind is int:
                add(int.__repr__(v))
            elif isinstance(v, _SCALARS) or _scalar_list(v):
                add(self.plain(v))  # floats, str/int subclasses (enums), lists of scalars
            else:
                return None
        return out

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
            lines = self.records(x)
            if lines is not None and None not in lines:
                out.append(pad + (",\n" + pad).join(lines) + "\n")  # type: ignore[arg-type]
                out.append("  " * depth + "]")
                return
            for i, item in enumerate(x):
                out.append(pad)
                line = None if lines is None else lines[i]
                if line is None:
                    self.emit(item, depth + 1)
                else:
                    out.append(line)
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

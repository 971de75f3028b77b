"""The JSON writer: its fast column-by-column path for lists of records must write exactly
what encoding each record with the json module would (the reference below)."""

from __future__ import annotations

import json
import math
import random
from enum import Enum, IntEnum
from typing import Any

import pytest

from elfaudit.base.jsonio import dump_json


class Colour(str, Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def reference(doc: Any, width: int | None = None, depth: int = 0) -> str:
    """The layout spelled out the slow way: scalars and flat records inline, via json."""

    def flat(d: dict[str, Any]) -> bool:
        return all(
            isinstance(v, (str, int, float, bool, type(None)))
            or (
                isinstance(v, list)
                and all(isinstance(i, (str, int, float, bool, type(None))) for i in v)
            )
            for v in d.values()
        )

    pad = "  " * (depth + 1)
    if isinstance(doc, dict) and doc and flat(doc):
        line = json.dumps(doc, sort_keys=True, ensure_ascii=False)
        if width is None or len(line) <= width:
            return line
    if (
        isinstance(doc, list)
        and doc
        and not all(isinstance(i, (str, int, float, bool, type(None))) for i in doc)
    ):
        items = [pad + reference(i, width, depth + 1) for i in doc]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    if isinstance(doc, dict) and doc:
        items = [
            pad + json.dumps(k, ensure_ascii=False) + ": " + reference(doc[k], width, depth + 1)
            for k in sorted(doc)
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    return json.dumps(doc, ensure_ascii=False)


ODD_VALUES: list[Any] = [
    "plain",
    "",
    'quote " backslash \\ slash / tab \t newline \n',
    "percent %s %% %(x)s",
    "ünïcödé ☃ \u2028 \x7f \x00",
    0,
    -1,
    2**70,
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    True,
    False,
    None,
    Colour.RED,
    Level.HIGH,
    [],
    ["a", 1, None, True, 2.5],
]


def test_records_of_every_scalar_kind_match_the_reference() -> None:
    rng = random.Random(7)
    records = [
        {"name": f"sym{i}", "odd": rng.choice(ODD_VALUES), "size": i, "flag": i % 2 == 0}
        for i in range(300)
    ]
    doc = {"symbols": records, "empty": [], "scalars": [1, "two", None]}
    assert dump_json(doc, width=None) == reference(doc) + "\n"


def test_a_key_needing_escapes_or_a_percent_sign() -> None:
    doc = {"rows": [{'k"%s': 1, "%": "x", "é": None}, {'k"%s': 2, "%": "y", "é": True}]}
    assert dump_json(doc, width=None) == reference(doc) + "\n"


@pytest.mark.parametrize(
    "rows",
    [
        [{"a": 1}, {"b": 1}],  # different keys
        [{"a": 1}, {"a": 1, "b": 2}],  # different key counts
        [{"a": 1}, ["not", "a", "record"]],
        [{"a": {"nested": 1}}, {"a": 2}],  # not flat
        [{}, {}],
        [{"a": 1}, {}],
    ],
)
def test_lists_that_are_not_uniform_flat_records_take_the_general_path(rows: list[Any]) -> None:
    doc = {"rows": rows}
    assert dump_json(doc, width=None) == reference(doc) + "\n"


def test_a_tuple_value_is_written_as_the_general_path_writes_it() -> None:
    one_by_one = dump_json({"rows": [{"a": (1, 2)}]}, width=None)
    assert dump_json({"rows": [{"a": (1, 2)}, {"a": [3]}]}, width=None) == one_by_one.replace(
        "\n  ]\n}", ',\n    {"a": [3]}\n  ]\n}'
    )


def test_width_spreads_only_the_long_records() -> None:
    rows = [{"name": "x" * n, "size": n} for n in (1, 5, 60, 2)]
    out = dump_json({"rows": rows}, width=40)
    assert out == reference({"rows": rows}, width=40) + "\n"
    assert '"name": "' + "x" * 60 in out and '{"name": "x", "size": 1}' in out


def test_non_string_keys_and_default_conversion_still_work() -> None:
    class Tag:
        def __repr__(self) -> str:
            return "Tag"

    doc = {"rows": [{1: "a"}, {1: "b"}], "tags": [Tag(), Tag()]}
    out = dump_json(doc, width=None, default=repr)
    assert json.loads(out) == {"rows": [{"1": "a"}, {"1": "b"}], "tags": ["Tag", "Tag"]}


def test_nan_is_written_as_json_module_does() -> None:
    out = dump_json({"rows": [{"v": math.nan}, {"v": 1.0}]}, width=None)
    assert '{"v": NaN}' in out and '{"v": 1.0}' in out

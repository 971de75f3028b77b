"""The model's hand-tuned constructors build exactly what the dataclasses build."""

from __future__ import annotations

import dataclasses

import pytest

from elfaudit.model.abi import Symbol, new_symbol

CASES = [
    ("virConnectOpen", "LIBVIRT_0.0.3", True, "FUNC", "GLOBAL", "DEFAULT", 0),
    ("virConnectAuthPtrDefault", "LIBVIRT_0.4.1", True, "OBJECT", "GLOBAL", "DEFAULT", 8),
    ("compat", "V1", False, "IFUNC", "WEAK", "PROTECTED", 16),
    ("unversioned", None, True, "NOTYPE", "UNIQUE", "DEFAULT", 0),
    ("caf\\xc3", None, True, "TLS", "GLOBAL", "DEFAULT", 1 << 40),
]


@pytest.mark.parametrize("values", CASES, ids=lambda v: v[0])
def test_new_symbol_equals_the_dataclass_constructor(values: tuple[object, ...]) -> None:
    built = new_symbol(*values)  # type: ignore[arg-type]
    expected = Symbol(*values)  # type: ignore[arg-type]
    assert type(built) is Symbol
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)
    assert dataclasses.astuple(built) == values


def test_new_symbol_takes_every_field_in_order() -> None:
    names = [f.name for f in dataclasses.fields(Symbol)]
    assert list(Symbol.__slots__) == names
    assert new_symbol.__code__.co_varnames[: new_symbol.__code__.co_argcount] == tuple(names)


def test_new_symbol_result_is_still_frozen() -> None:
    built = new_symbol(*CASES[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.name = "other"  # type: ignore[misc]

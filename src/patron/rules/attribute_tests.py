"""The test of an event or member attribute in a rule's ``when``.

Attributes are free-form, so a comparison is loose (``rules.compare``): a
number sent as text still compares as a number, and a dotted name digs into
nested mappings. A plain top-level value of exactly the operands' class takes a
fast path that compares the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from patron.rules.compare import compare

if TYPE_CHECKING:
    from patron.rules.conditions import Context

Pred = Callable[["Context"], Any]  # truthy when the condition holds


def attribute_test(owner: str, name: str, ops: list[tuple[str, Any]]) -> Pred:
    """Loose comparison of an attribute (a dotted name digs into nested mappings).

    Fast path: a top-level key of a plain dict whose value has exactly the class
    of every operand (int or str) compares the same loosely and plainly.
    """
    path = tuple(name.split("."))
    loose = compare(ops)
    kind = operand_class(ops)
    plain = compare(ops, loose=False) if kind is not None else loose
    key = path[0] if len(path) == 1 and kind is not None else None
    of_event = owner == "event"

    def test(ctx: Context) -> bool:
        attrs = ctx.event.attributes if of_event else ctx.member.attributes
        if key is not None and attrs.__class__ is dict:
            value = attrs.get(key)
            if value.__class__ is kind:
                return plain(value)
        return loose(_dig(attrs, path))

    return test


def operand_class(ops: list[tuple[str, Any]]) -> type | None:
    """``int`` or ``str`` if every operand (list items included) is exactly that class."""
    values: list[Any] = []
    for _, operand in ops:
        values += operand if isinstance(operand, list) else [operand]
    for kind in (int, str):
        if values and all(v.__class__ is kind for v in values):
            return kind
    return None


def _dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return Decimal(repr(value)) if isinstance(value, float) else value

"""Comparison operators (eq, ne, gt, gte, lt, lte, in, not_in) as closures.

Money amounts compare plainly (ints in minor units). Attribute values compare
"loosely": numbers as numbers even when one side is a numeric string, strings
as strings, and anything incomparable (None, NaN, a list) is simply false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def compare(ops: list[tuple[str, Any]], *, loose: bool = True) -> Callable[[Any], bool]:
    """A test for a value against every operator given (a missing value is None).

    ``loose``: numbers compare as numbers even when one side is a numeric string
    (``"4.5"`` in YAML vs ``4.5`` sent by the shop); two strings compare as strings.
    """
    tests = [(_loose_op if loose else _plain_op)(op, operand) for op, operand in ops]
    if len(tests) == 1:
        return tests[0]
    return lambda v: all(t(v) for t in tests)


def _plain_op(op: str, x: Any) -> Callable[[Any], bool]:
    if op in ("in", "not_in"):
        pool = frozenset(x)
        return (lambda v: v in pool) if op == "in" else (lambda v: v not in pool)
    return _PLAIN[op](x)


_PLAIN: dict[str, Callable[[Any], Callable[[Any], bool]]] = {
    "eq": lambda x: lambda v: v == x,
    "ne": lambda x: lambda v: v != x,
    "gt": lambda x: lambda v: v > x,
    "gte": lambda x: lambda v: v >= x,
    "lt": lambda x: lambda v: v < x,
    "lte": lambda x: lambda v: v <= x,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | Decimal) and not isinstance(v, bool)


def _as_number(v: Any) -> Decimal | int | None:
    if _is_number(v):
        return None if isinstance(v, Decimal) and not v.is_finite() else v
    if isinstance(v, str):
        try:
            parsed = Decimal(v.strip())
        except ArithmeticError:
            return None
        return parsed if parsed.is_finite() else None
    return None


def _same(v: Any, x: Any) -> bool:
    if v == x:
        return True
    if _is_number(v) and isinstance(x, str) or _is_number(x) and isinstance(v, str):
        a, b = _as_number(v), _as_number(x)
        return a is not None and a == b
    return False


def _loose_op(op: str, x: Any) -> Callable[[Any], bool]:
    if op in ("eq", "ne"):
        return (lambda v: _same(v, x)) if op == "eq" else (lambda v: not _same(v, x))
    if op in ("in", "not_in"):
        pool = tuple(x)
        if op == "in":
            return lambda v: any(_same(v, p) for p in pool)
        return lambda v: not any(_same(v, p) for p in pool)
    compare = _ORDER[op]
    x_number = _as_number(x)

    def ordered(v: Any) -> bool:
        if x_number is not None and (_is_number(v) or _is_number(x)):
            v_number = _as_number(v)
            return v_number is not None and bool(compare(v_number, x_number))
        try:
            return bool(compare(v, x))
        except (TypeError, ArithmeticError):  # None, a list against a string, NaN
            return False

    return ordered

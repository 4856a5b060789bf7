"""Plain-language pieces shared by explanations and skipped reasons."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cache

from patron.core.money import exponent


def pts(points: int) -> str:
    """``1 pt``, ``12 pts``."""
    return f"{points} pt" if points == 1 else f"{points} pts"


def pts_ratio(num: int, den: int) -> str:
    """Points as an exact ratio: ``10 pts``, or two decimals (``3.33 pts``).

    The decimals are what ``Decimal(num) / Decimal(den)`` quantized to 0.01 gives
    (default context: 28 digits, half-even). Below ``_RATIO_EXACT`` that is the
    exact ratio rounded half-even once, done here in integers; larger numbers go
    through Decimal as before.
    """
    if num % den == 0:
        return pts(num // den)
    if 0 < num < _RATIO_EXACT and 0 < den < _RATIO_EXACT:
        q, r = divmod(num * 100, den)
        if 2 * r > den or (2 * r == den and q & 1):
            q += 1
        whole, cents = divmod(q, 100)
        return f"{whole}.{_TWO_DIGITS[cents]} pts"
    shown = (Decimal(num) / Decimal(den)).quantize(Decimal("0.01"))
    return f"{shown} pts"


# Both terms below 10**12: the ratio has at most 12 integer digits, so Decimal's
# 28-digit quotient keeps 16 decimals, and a ratio that is not a hundredths tie
# lies at least 1/(200 * den) > 5e-15 from one: rounding to 28 digits first
# cannot move it onto or across a tie, so one half-even rounding is the same.
_RATIO_EXACT = 10**12
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(100))


def number(value: Decimal) -> str:
    """``Decimal("1.50")`` -> ``1.5``; ``Decimal("10")`` -> ``10`` (never ``1E+1``)."""
    text = format(value.normalize(), "f")
    return text


def money(minor: int, currency: str) -> str:
    """``1050`` -> ``10.50 USD`` (same text as ``core.money.format_money``, faster)."""
    return money_formatter(currency)(minor)


@cache
def money_formatter(currency: str) -> Callable[[int], str]:
    """A fast ``minor units -> "10.50 USD"`` function for one currency."""
    e = exponent(currency)
    if e == 0:
        return lambda minor: f"{minor} {currency}"
    scale, pattern, suffix = 10**e, f"%s%d.%0{e}d {currency}", f" {currency}"
    if e == 2:
        digits = _TWO_DIGITS

        def show2(minor: int) -> str:
            if minor >= 0:
                whole, part = divmod(minor, 100)
                return f"{whole}.{digits[part]}{suffix}"
            whole, part = divmod(-minor, 100)
            return f"-{whole}.{digits[part]}{suffix}"

        return show2

    def show(minor: int) -> str:
        whole, part = divmod(abs(minor), scale)
        return pattern % ("-" if minor < 0 else "", whole, part)

    return show


def either(values: Iterable[object], word: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def lines_text(skus: Iterable[str] | None, categories: Iterable[str] | None) -> str:
    """``sku ESP-01, LAT-01``, ``category coffee``, ``sku X or category Y, Z``."""
    parts = []
    if skus:
        parts.append(f"sku {', '.join(skus)}")
    if categories:
        parts.append(f"category {', '.join(categories)}")
    return " or ".join(parts)

"""Small arithmetic shared by the metrics: rates and exact money averages."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from patron.core.money import exponent, to_decimal


def share(part: float, whole: float) -> float | None:
    """``part / whole`` as a float, None when ``whole`` is 0."""
    return float(part) / float(whole) if whole else None


def money(minor: int, currency: str) -> Decimal:
    """Integer minor units as a Decimal amount in ``currency``."""
    return to_decimal(int(minor), currency)


def mean_money(total_minor: int, count: int, currency: str) -> Decimal | None:
    """``total / count`` as money, rounded half-even to the currency's minor unit."""
    if not count:
        return None
    unit = Decimal(1).scaleb(-exponent(currency))
    return (to_decimal(int(total_minor), currency) / count).quantize(unit, ROUND_HALF_EVEN)


def points_value(points: int, value_per_point: Decimal, currency: str) -> Decimal:
    """What ``points`` are worth, exactly, shown to the minor unit (half-even)."""
    unit = Decimal(1).scaleb(-exponent(currency))
    return (Decimal(int(points)) * value_per_point).quantize(unit, ROUND_HALF_EVEN)

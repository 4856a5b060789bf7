"""Pure refund arithmetic: what may be refunded, and how many points go back.

A purchase with lines is refunded by lines (sku + quantity) or in full; one
without lines by an amount or in full. Points come back in proportion to what
the refunded lines contributed to each award's basis; fixed awards (a
first-purchase bonus) come back only when the whole purchase is refunded.
Targets are computed on the *cumulative* refund, so several partial refunds
never take back more, or less, than one full refund would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import floor
from typing import Any

from patron.core.errors import InvalidInput
from patron.core.money import format_money


@dataclass
class RefundState:
    """How much of a purchase has been refunded so far."""

    amount: int  # purchase total, minor units
    quantities: list[int]  # bought per line
    unit_prices: list[int]
    refunded_amount: int = 0
    refunded_quantities: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.refunded_quantities:
            self.refunded_quantities = [0] * len(self.quantities)

    @property
    def full(self) -> bool:
        return self.refunded_amount >= self.amount

    def copy(self) -> RefundState:
        return RefundState(
            self.amount,
            list(self.quantities),
            list(self.unit_prices),
            self.refunded_amount,
            list(self.refunded_quantities),
        )


def apply_refund(
    state: RefundState,
    skus: Sequence[str],
    lines: Sequence[tuple[str, int]] | None,
    amount: int | None,
    currency: str,
) -> tuple[int, list[dict[str, Any]]]:
    """Record a refund on ``state``; returns (amount refunded, resolved lines).

    Raises InvalidInput naming the field when the refund exceeds what is left
    (amounts said in ``currency``, as the caller wrote them).
    """
    left_amount = state.amount - state.refunded_amount
    if left_amount <= 0:
        raise InvalidInput("this purchase has already been refunded in full", field="refund_of")
    if lines:
        resolved: list[dict[str, Any]] = []
        total = 0
        for i, (sku, qty) in enumerate(lines):
            want = qty
            for idx, line_sku in enumerate(skus):
                if line_sku != sku or want == 0:
                    continue
                room = state.quantities[idx] - state.refunded_quantities[idx]
                n = min(room, want)
                if n > 0:
                    state.refunded_quantities[idx] += n
                    resolved.append({"sku": sku, "quantity": n, "line": idx})
                    total += n * state.unit_prices[idx]
                    want -= n
            if want:
                if sku not in skus:
                    raise InvalidInput(
                        f"the purchase has no line with sku {sku}", field=f"lines[{i}].sku"
                    )
                raise InvalidInput(
                    f"refunds {qty} x {sku} but only {qty - want} remain unrefunded",
                    field=f"lines[{i}].quantity",
                )
        refunded = min(total, left_amount)
    elif amount is not None:
        if skus:
            raise InvalidInput(
                "this purchase has lines: refund it by lines or in full", field="lines"
            )
        if amount > left_amount:
            raise InvalidInput(
                f"refund of {format_money(amount, currency)} exceeds the "
                f"{format_money(left_amount, currency)} left to refund",
                field="amount",
            )
        refunded, resolved = amount, []
    else:  # full refund of whatever is left
        resolved = [
            {"sku": sku, "quantity": q - r, "line": idx}
            for idx, (sku, q, r) in enumerate(
                zip(skus, state.quantities, state.refunded_quantities, strict=True)
            )
            if q - r > 0
        ]
        state.refunded_quantities = list(state.quantities)
        refunded = left_amount
    state.refunded_amount += refunded
    if state.refunded_amount >= state.amount:
        state.refunded_quantities = list(state.quantities)
    return refunded, resolved


def _fraction_refunded(basis: Mapping[str, int], state: RefundState) -> Fraction:
    total = sum(basis.values())
    if total <= 0:
        return Fraction(0)
    taken = Fraction(0)
    for key, counted in basis.items():
        idx = int(key)
        if idx < 0 or idx >= len(state.quantities):
            share = Fraction(state.refunded_amount, state.amount) if state.amount else Fraction(0)
        else:
            share = Fraction(state.refunded_quantities[idx], state.quantities[idx])
        taken += counted * share
    return taken / total


def points_to_take_back(
    awards: Sequence[tuple[int, Mapping[str, int] | None]], state: RefundState
) -> int:
    """Points the awards owe back once ``state`` has been refunded (cumulative)."""
    owed = 0
    for points, basis in awards:
        if state.full:
            owed += points
        elif basis is not None:
            owed += floor(points * _fraction_refunded(basis, state))
    return owed

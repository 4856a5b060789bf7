"""Pure lot arithmetic: which lots a spend, a reversal or an expiry takes from.

No database here. Lots are spent first-to-expire first (lots that never
expire last), ties broken by when they became available, then by id. A lot is
*spendable* at ``t`` when ``available_at <= t`` and it has not expired
(``expires_at`` is ``None`` or later than ``t``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from patron.core.errors import InsufficientPoints

Allocation = tuple[int, int]  # (lot id, points taken)


@dataclass(slots=True)
class OpenLot:
    id: int
    remaining: int
    available_at: datetime
    expires_at: datetime | None
    event_id: int | None = None

    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at

    def pending(self, at: datetime) -> bool:
        return self.available_at > at and not self.expired(at)

    def spendable(self, at: datetime) -> bool:
        return self.available_at <= at and not self.expired(at)


def _expiry_order(lot: OpenLot) -> tuple[int, datetime, datetime, int]:
    # Lots without an expiry sort after every dated lot.
    never = lot.expires_at is None
    return (1 if never else 0, lot.expires_at or lot.available_at, lot.available_at, lot.id)


def spend_order(lots: Iterable[OpenLot], at: datetime) -> list[OpenLot]:
    """Spendable lots with points left, in the order a spend consumes them."""
    return sorted(
        (lot for lot in lots if lot.remaining > 0 and lot.spendable(at)), key=_expiry_order
    )


def available_points(lots: Iterable[OpenLot], at: datetime, debt: int = 0) -> int:
    return sum(lot.remaining for lot in lots if lot.spendable(at)) - debt


def take(ordered: Sequence[OpenLot], points: int) -> tuple[list[Allocation], int]:
    """Take up to ``points`` from ``ordered`` lots; returns allocations and the shortfall."""
    allocations: list[Allocation] = []
    left = points
    for lot in ordered:
        if left == 0:
            break
        n = min(lot.remaining, left)
        if n > 0:
            lot.remaining -= n
            allocations.append((lot.id, n))
            left -= n
    return allocations, left


def take_for_spend(
    lots: Iterable[OpenLot], points: int, at: datetime, debt: int = 0
) -> list[Allocation]:
    """First-to-expire first; refuses (changing nothing) if not enough is spendable."""
    ordered = spend_order(lots, at)
    have = sum(lot.remaining for lot in ordered) - debt
    if points > have:
        raise InsufficientPoints(
            f"{points} points requested but only {max(have, 0)} are available",
            field="points",
            available=max(have, 0),
        )
    allocations, _ = take(ordered, points)
    return allocations


def take_for_reversal(
    lots: Iterable[OpenLot], points: int, at: datetime, event_id: int | None
) -> tuple[list[Allocation], int]:
    """Take back points a refunded purchase earned.

    Order: the purchase's own unexpired lots first, then other pending lots
    (points not yet spendable), then spendable lots first-to-expire. What
    cannot be found is returned as a shortfall: the member's debt, repaid by
    later earnings before they become spendable.
    """
    live = [lot for lot in lots if lot.remaining > 0 and not lot.expired(at)]
    own = sorted(
        (lot for lot in live if event_id is not None and lot.event_id == event_id),
        key=lambda lot: lot.id,
    )
    own_ids = {lot.id for lot in own}
    others = [lot for lot in live if lot.id not in own_ids]
    pending = sorted((lot for lot in others if lot.pending(at)), key=_expiry_order)
    spendable = spend_order(others, at)
    return take([*own, *pending, *spendable], points)


def take_expired(lots: Iterable[OpenLot], at: datetime) -> list[Allocation]:
    """Everything left in lots whose expiry has passed."""
    allocations: list[Allocation] = []
    for lot in lots:
        if lot.remaining > 0 and lot.expired(at):
            allocations.append((lot.id, lot.remaining))
            lot.remaining = 0
    return allocations


def idle_expiry(
    expires_at: datetime | None, last_active: datetime, earned_at: datetime, days: int
) -> datetime:
    """A lot's expiry under an inactivity policy: ``days`` after the member's last
    activity, but never sooner than ``days`` after the lot itself was earned (a
    goodwill grant to a lapsed member is not expired on arrival), and never later
    than a date the lot already has (``ledger.posting.pin_idle_expiry``)."""
    deadline = max(last_active, earned_at) + timedelta(days=days)
    return deadline if expires_at is None or deadline < expires_at else expires_at

"""Pure stamp arithmetic: how many stamps a purchase gives, and how they fill cards.

No database. A purchase's stamps depend only on its lines (or, without lines,
its amount), so a refund recomputes them on what is left of the purchase and
takes back the difference: several partial refunds take back exactly what one
full refund would.

- **Matching lines**: those the card's ``lines:`` filter selects (sku or category
  listed), every line without a filter.
- **Spend**: the matching lines' total; without a filter, the purchase amount.
- **Minimum spend**: below it the purchase gives no stamp at all.
- ``per: purchase``: one stamp when something matches and the spend is above 0;
  ``per: item``: a stamp per matching item (quantity), so a purchase without lines
  gives none. At most ``max_per_purchase`` (and never more than 1,000).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from patron.core.money import format_money
from patron.stamps.definition import StampCardDefinition


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    category: str | None
    quantity: int
    unit_price: int  # minor units


@dataclass(frozen=True, slots=True)
class Earned:
    """What a purchase gives one card, and why (for the explanation)."""

    stamps: int
    items: int  # matching items
    spend: int  # minor units counted against min_spend
    reason: str


def matching(card: StampCardDefinition, lines: Sequence[Line]) -> list[Line]:
    if card.lines is None:
        return list(lines)
    skus, categories = set(card.lines.sku or ()), set(card.lines.category or ())
    return [li for li in lines if li.sku in skus or li.category in categories]


def stamps_earned(
    card: StampCardDefinition,
    lines: Sequence[Line],
    amount: int,
    *,
    currency: str,
    min_spend: int = 0,
) -> Earned:
    """The stamps ``card`` gives a purchase of ``lines`` totalling ``amount`` (minor units)."""
    chosen = matching(card, lines)
    items = sum(li.quantity for li in chosen)
    spend = sum(li.quantity * li.unit_price for li in chosen) if card.lines else amount
    what = f"{items} matching item{'s' if items != 1 else ''}"
    if card.lines is not None and items == 0:
        return Earned(0, 0, spend, "no matching items")
    if spend < min_spend:
        short = (
            f"{format_money(spend, currency)} spent, less than {format_money(min_spend, currency)}"
        )
        return Earned(0, items, spend, short)
    if card.per == "item":
        count = min(items, card.stamp_cap)
        capped = f" (at most {card.stamp_cap} per purchase)" if items > card.stamp_cap else ""
        return Earned(count, items, spend, what + capped)
    if spend <= 0:
        return Earned(0, items, spend, "nothing paid")
    return Earned(1, items, spend, f"a purchase of {format_money(spend, currency)}")


def remaining_lines(lines: Sequence[Line], refunded: Sequence[int]) -> list[Line]:
    """The purchase's lines less the refunded quantities (per line, in order)."""
    return [
        Line(li.sku, li.category, li.quantity - r, li.unit_price)
        for li, r in zip(lines, refunded, strict=True)
        if li.quantity - r > 0
    ]


@dataclass(frozen=True, slots=True)
class Fill:
    """Stamps going to one card: the open one first, then new cards."""

    card: int  # 0: the open card; 1, 2, ...: cards started by this purchase
    added: int
    count: int  # the card's count after
    complete: bool


def fill_cards(count: int, goal: int, stamps: int) -> list[Fill]:
    """Put ``stamps`` on a card holding ``count`` (negative: stamps owed), ``goal`` to fill.

    Every full card completes; the surplus carries to a new card, and so on. A
    card that owes stamps repays them first. A card already holding ``goal`` or
    more (stamps merged back after a refund) completes with ``stamps`` = 0, and
    what it holds above the goal carries over. No empty new card is started.
    """
    out: list[Fill] = []
    card, left = 0, stamps
    while True:
        added = max(0, min(goal - count, left))
        count, left = count + added, left - added
        if count >= goal:
            out.append(Fill(card, added, goal, True))
            card, left, count = card + 1, left + count - goal, 0
            continue
        if added:
            out.append(Fill(card, added, count, False))
        return out


def expires_at(card: StampCardDefinition, started_at: datetime) -> datetime | None:
    if card.expires_after_days is None:
        return None
    return started_at + timedelta(days=card.expires_after_days)


def is_expired(expires: datetime | None, at: datetime) -> bool:
    """A card is expired from ``expires_at`` on (the instant itself included)."""
    return expires is not None and expires <= at

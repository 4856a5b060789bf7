"""The ``stamp_cards:`` section of the program file, and the pure checks on it.

Pure: no database. See docs/program.md, "Stamp cards", for the YAML::

    stamp_cards:
      - id: coffee
        name: Coffee card
        goal: 9                      # stamps to fill the card
        per: item                    # a stamp per matching item, or per purchase
        lines: {category: [coffee]}  # which lines match (the rules' line filter); all if absent
        min_spend: "2.50"            # spend on matching lines (whole purchase without lines:)
        reward: free-coffee          # a reward of rewards:, given as a free coupon
        expires_after_days: 180      # from the card's first stamp; never if absent
        valid_from: 2026-01-01       # stamps only for purchases in this window
        valid_until: 2026-12-31
        max_per_purchase: 5          # at most this many stamps from one purchase
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from patron.rules.syntax import LineFilter, Moment, Money, ProgramModel

if TYPE_CHECKING:
    from patron.program.schema import Program

MAX_GOAL = 1_000
MAX_CARDS = 50
# A purchase never gives more than this many stamps to one card (quantities go up to 10^9).
HARD_MAX_PER_PURCHASE = 1_000


class StampCardDefinition(ProgramModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=100)
    goal: int = Field(ge=1, le=MAX_GOAL)
    per: Literal["purchase", "item"] = "purchase"
    lines: LineFilter | None = None
    min_spend: Money | None = Field(None, gt=0)
    reward: str = Field(min_length=1, max_length=64)
    expires_after_days: int | None = Field(None, ge=1, le=3_650)
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    max_per_purchase: int | None = Field(None, ge=1, le=HARD_MAX_PER_PURCHASE)

    @property
    def stamp_cap(self) -> int:
        return self.max_per_purchase or HARD_MAX_PER_PURCHASE


def min_spend_minor(card: StampCardDefinition, currency: str) -> int:
    """The card's minimum spend in minor units (0 without one)."""
    from patron.rules.checks import money_minor

    return 0 if card.min_spend is None else money_minor(card.min_spend, currency)


def stamp_card_problems(program: Program) -> list[tuple[str, str]]:
    """Whole-program checks: unique ids, the reward exists, money precision, windows."""
    from patron.rules.checks import moment_utc

    cards = program.stamp_cards
    problems: list[tuple[str, str]] = []
    if len(cards) > MAX_CARDS:
        problems.append(("stamp_cards", f"at most {MAX_CARDS} stamp cards"))
    seen: dict[str, int] = {}
    rewards = [r.id for r in program.rewards]
    for i, card in enumerate(cards):
        at = f"stamp_cards[{i}]"
        if card.id in seen:
            problems.append(
                (
                    f"{at}.id",
                    f"duplicate stamp card id '{card.id}' (also stamp_cards[{seen[card.id]}])",
                )
            )
        seen.setdefault(card.id, i)
        if card.reward not in rewards:
            known = ", ".join(rewards) if rewards else "none"
            problems.append(
                (f"{at}.reward", f"no reward '{card.reward}' in rewards (rewards: {known})")
            )
        if card.min_spend is not None:
            try:
                min_spend_minor(card, program.currency)
            except Exception as exc:  # InvalidInput: too many decimals for the currency
                problems.append((f"{at}.min_spend", getattr(exc, "detail", str(exc))))
        if card.valid_from is not None and card.valid_until is not None:
            start = moment_utc(card.valid_from, program.zone, end=False)
            if moment_utc(card.valid_until, program.zone, end=True) <= start:
                problems.append((f"{at}.valid_until", "must be after valid_from"))
    return problems


def describe(card: StampCardDefinition, currency: str) -> str:
    """``a stamp per item of category coffee (at least 2.50 GBP)``, for people."""
    from patron.rules.explain import lines_text

    what = "purchase" if card.per == "purchase" else "item"
    text = f"a stamp per {what}"
    if card.lines is not None:
        text += f" with {lines_text(card.lines.sku, card.lines.category)}"
    if card.min_spend is not None:
        text += f" (at least {card.min_spend:f} {currency})"
    return text

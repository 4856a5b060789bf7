"""What the rule engine sees and what it answers: plain dataclasses, used as values.

This is the contract between the pure engine (``rules/``) and the services
that feed it (``events/``) and apply its answers (``ledger/``). No database,
no web framework. Money is ``int`` minor units of the program currency.

Treat every instance as immutable: nothing assigns to a field after creation.
They are not ``frozen=True`` only because a frozen dataclass's ``__init__``
sets each field through ``object.__setattr__``, which made building one about
four times slower (the importer builds an EventFacts, a MemberFacts and a few
AwardPoints per event). ``unsafe_hash=True`` keeps the hash a frozen dataclass
had (by value, over all fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(slots=True, unsafe_hash=True)
class LineItem:
    sku: str
    quantity: int
    unit_price: int  # minor units
    category: str | None = None

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


@dataclass(slots=True, unsafe_hash=True)
class EventFacts:
    """An event as the engine sees it.

    ``type`` is ``purchase``, ``refund``, ``signup`` or ``custom`` (then ``name``
    says which custom event). ``amount`` is the purchase total in minor units
    (0 for events without one). ``occurred_at`` is timezone-aware UTC.
    """

    type: str
    occurred_at: datetime
    amount: int = 0
    currency: str = "USD"
    name: str | None = None
    channel: str | None = None
    store: str | None = None
    lines: tuple[LineItem, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True, unsafe_hash=True)
class MemberFacts:
    """The member's state before the event.

    ``purchase_count`` counts earlier purchases (0 means this is the first).
    ``rule_usage`` maps (rule_id, period_key) to points that rule already gave
    this member in that cap period; ``period_key`` comes from
    ``rules.periods.period_key``. ``tier`` and ``tier_multiplier`` are filled
    in once tiers exist.
    """

    member_id: int
    status: str = "active"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    purchase_count: int = 0
    tier: str | None = None
    tier_multiplier: Decimal | None = None
    rule_usage: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass(slots=True, unsafe_hash=True)
class AwardPoints:
    """Give ``points`` (> 0) to the member, explained in plain language.

    ``basis`` maps line index -> minor units the award was computed on (for
    per-unit and multiplier awards; ``None`` for fixed awards, which belong to
    the whole event). Refunds use it to take back exactly what the refunded
    lines earned. The key ``-1`` means "the event amount" and is used by awards
    not tied to lines (a rule without a ``lines`` filter earns on
    ``EventFacts.amount`` even when the event has lines): ``{-1: amount}``;
    a refund takes such an award back in proportion to the amount refunded.
    A multiplier's (or tier bonus's) basis is the part of the event its bonus
    came from: ``{-1: amount}`` if any per-unit award it multiplied was on the
    whole event, else the lines it counted. ``period_key`` is the cap period
    this award counts toward (``None`` when the rule has no cap).
    ``rule_id`` is the rule's id, or ``tier:<tier>`` for a tier-multiplier bonus.
    """

    rule_id: str
    points: int
    explanation: str
    basis: Mapping[int, int] | None = None
    period_key: str | None = None


Effect = AwardPoints


@dataclass(slots=True, unsafe_hash=True)
class Evaluation:
    """The engine's answer: effects to apply and, for simulate, why others did not apply."""

    effects: tuple[Effect, ...]
    skipped: tuple[str, ...] = ()  # e.g. "rule weekend-bonus: not on Saturday or Sunday"

    @property
    def points(self) -> int:
        return sum(e.points for e in self.effects if isinstance(e, AwardPoints))

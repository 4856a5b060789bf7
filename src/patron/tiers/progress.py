"""Pure tier logic: windows, thresholds, review outcomes and progress in words.

No database. Every figure is an integer in the measure's unit: minor units of
the program currency (``spend``), points (``points``) or purchases (``visits``).

The qualifying measure at a moment ``t`` counts what happened at or after
``window_start(t)``: ``t - days`` for a rolling window, local midnight of
1 January for a calendar year. Events later than ``t`` that are already known
count too (a late event is measured with what came after it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from patron.core.money import format_money
from patron.tiers.definition import Level, TiersDefinition, TierWindow

NO_LEVEL = -1


def window_start(window: TierWindow, at: datetime, zone: tzinfo) -> datetime:
    """The first moment that still counts for the measure at ``at`` (UTC)."""
    if window.type == "rolling":
        return at - timedelta(days=window.days or 0)
    local = at.astimezone(zone)
    return datetime(local.year, 1, 1, tzinfo=zone).astimezone(UTC)


def window_end(window: TierWindow, start_of: datetime, zone: tzinfo) -> datetime:
    """Until when something that happened at ``start_of`` still counts (inclusive)."""
    if window.type == "rolling":
        return start_of + timedelta(days=window.days or 0)
    local = start_of.astimezone(zone)
    return datetime(local.year + 1, 1, 1, tzinfo=zone).astimezone(UTC) - timedelta(microseconds=1)


def level_index(levels: Sequence[Level], tier: str | None) -> int:
    """Position of ``tier`` among the levels; NO_LEVEL for none or a level the program dropped."""
    if tier is None:
        return NO_LEVEL
    return next((lv.index for lv in levels if lv.id == tier), NO_LEVEL)


def qualified_index(levels: Sequence[Level], measure: int) -> int:
    """The highest level whose threshold ``measure`` reaches; NO_LEVEL if none."""
    reached = NO_LEVEL
    for lv in levels:
        if measure >= lv.threshold:
            reached = lv.index
    return reached


def after_review(levels: Sequence[Level], current: int, measure: int, max_down: int) -> int:
    """The level after a review: kept (or higher) if earned, else down by at most ``max_down``."""
    earned = qualified_index(levels, measure)
    if earned >= current:
        return max(earned, current)
    return max(earned, current - max_down)


@dataclass
class MeasureTracker:
    """Each member's measure during a batch, as contributions with the time they count from.

    ``settled`` is what counts for every event of the batch (it is at or after
    the window start of the batch's latest event); ``recent`` holds the
    contributions that may fall out of the window while the batch goes on (few:
    only those between the window starts of its first and last events) and
    those the batch itself adds. A refund is a negative contribution dated like
    the purchase it refunds, so it leaves the window with it.
    """

    window: TierWindow
    zone: tzinfo
    settled: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    recent: dict[int, list[tuple[datetime, int]]] = field(default_factory=lambda: defaultdict(list))
    gains: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, member_id: int, at: datetime, value: int) -> None:
        if value:
            self.recent[member_id].append((at, value))
            if value > 0:
                self.gains[member_id] += value

    def ceiling(self, member_id: int) -> int:
        """At least the measure at any moment of the batch: a cheap test before measuring."""
        return self.settled.get(member_id, 0) + self.gains.get(member_id, 0)

    def measure(self, member_id: int, at: datetime) -> int:
        start = window_start(self.window, at, self.zone)
        total = self.settled.get(member_id, 0)
        for counted_from, value in self.recent.get(member_id, ()):
            if counted_from >= start:
                total += value
        return total


# -- progress ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    tier: str
    name: str
    needed: int  # in the measure's unit
    by: datetime | None  # the last moment the figure holds (None: no deadline)


@dataclass(frozen=True)
class Progress:
    level: Level | None
    measure: int
    next: Target | None
    keep: Target | None
    text: str


_VERBS = {
    "spend": ("spend {n} more", "spending {n}"),
    "points": ("earn {n}", "earning {n}"),
    "visits": ("make {n}", "making {n}"),
}


def amount_words(tiers: TiersDefinition, value: int, currency: str) -> str:
    """A figure in the measure's words: ``120.00 GBP``, ``40 points``, ``3 visits``."""
    if tiers.qualify_on == "spend":
        return format_money(value, currency)
    unit = "point" if tiers.qualify_on == "points" else "visit"
    return f"{value} {unit}{'' if value == 1 else 's'}"


def _more(tiers: TiersDefinition, value: int, currency: str) -> str:
    """``40.00 GBP`` for spend; ``40 more points``, ``1 more visit`` otherwise."""
    words = amount_words(tiers, value, currency)
    return words if tiers.qualify_on == "spend" else words.replace(" ", " more ", 1)


def progress(
    tiers: TiersDefinition,
    levels: Sequence[Level],
    *,
    current: int,
    measure: int,
    reach_by: datetime | None,
    decision_at: datetime | None,
    measure_at_decision: int,
    currency: str,
    zone: tzinfo,
    paid_until: datetime | None = None,
) -> Progress:
    """What the member needs for the next level and to keep this one, in numbers and words.

    ``reach_by``: until when ``measure`` holds (the earliest counted event's
    window end); ``decision_at``: review date plus grace; ``measure_at_decision``:
    what the events known now will still count then.
    """
    level = levels[current] if current != NO_LEVEL else None
    nxt = None
    if current + 1 < len(levels):
        target = levels[current + 1]
        nxt = Target(target.id, target.name, max(target.threshold - measure, 0), reach_by)
    keep = None
    if level is not None and decision_at is not None:
        short = level.threshold - measure_at_decision
        if short > 0:
            keep = Target(level.id, level.name, short, decision_at)
    parts = []
    reach_verb, keep_verb = _VERBS[tiers.qualify_on]
    if nxt is not None:
        words = reach_verb.format(n=_more(tiers, nxt.needed, currency))
        by = f" by {_date(nxt.by, zone)}" if nxt.by is not None else ""
        parts.append(f"{words}{by} to reach {nxt.name}")
    if keep is not None:
        words = keep_verb.format(n=_more(tiers, keep.needed, currency))
        parts.append(f"keep {keep.name} by {words} by {_date(keep.by, zone)}")
    elif level is not None:
        parts.append(
            f"{level.name} is kept at the review on {_date(decision_at, zone)}"
            if decision_at is not None
            else f"{level.name} held"
        )
    if paid_until is not None and tiers.membership is not None:
        paid = next((lv for lv in levels if lv.id == tiers.membership.tier), None)
        if paid is not None:
            parts.append(f"{paid.name} membership paid until {_date(paid_until, zone)}")
    text = "; ".join(parts)
    return Progress(level, measure, nxt, keep, text[:1].upper() + text[1:])


def _date(moment: datetime | None, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d}" if moment is not None else ""

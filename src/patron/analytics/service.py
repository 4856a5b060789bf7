"""Analytics use cases: load what a question needs once, answer with plain dataclasses.

:func:`open_shop` opens a read-only snapshot (see ``readers``) and returns a
:class:`ShopData`, which loads each input (purchases, members, ledger, ...) the first
time a use case asks for it, only up to the end of the period asked about. The use
cases hand the arrays to the pure modules (``retention``, ``cohorts``, ``rfm``, ...).

"Now"-style figures (RFM, lifecycle, profiles, loyalty) are taken *as of* the end of
the period, or the present moment if that is sooner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

import numpy as np

from patron.analytics import readers
from patron.analytics.cohorts import CohortMatrix, cohort_matrix
from patron.analytics.economics import (
    LEDGER_KINDS,
    LedgerFlows,
    ProgramEconomics,
    incremental_revenue,
    program_economics,
)
from patron.analytics.history import Bools, Floats, Ints, PurchaseHistory, positions
from patron.analytics.lifecycle import Lifecycle, LifecycleRules, lifecycle_stages
from patron.analytics.loyalty import (
    REFERRAL_EVENT,
    REVIEW_EVENT,
    SURVEY_EVENT,
    LoyaltyInputs,
    loyalty_scores,
    score_bands,
)
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.profiles import Profiles, shopping_profiles
from patron.analytics.retention import PeriodFigures, period_figures
from patron.analytics.rfm import SEGMENTS, RFMTable, rfm_table
from patron.analytics.splits import (
    NONE_LABEL,
    member_dimension_codes,
    membership_codes,
    split_history,
)
from patron.core.clock import now
from patron.core.db import Database
from patron.core.errors import InvalidInput

DEFAULT_CURRENCY, DEFAULT_VALUE_PER_POINT = "USD", Decimal("0.01")
MAX_COHORT_MONTHS = 120
# Customers without a purchase before the period, split by segment.
NEW_IN_PERIOD = "(no purchase before the period)"
DIMENSION = re.compile(r"^(status|tier|segment|membership|attribute:[A-Za-z0-9_\-. ]{1,100})$")


class ShopData:
    """Everything analytics reads, loaded from one snapshot up to ``end``: each input
    the first time it is asked for, or all at once, in parallel, by :meth:`preload`."""

    SOURCES = (
        "purchases",
        "members",
        "custom_events",
        "redemptions",
        "referrals",
        "stamp_cards",
        "ledger",
        "terms",
    )

    def __init__(
        self, database: Database, snap: readers.Snapshot, end: datetime, as_of: datetime
    ) -> None:
        self.database, self.snap, self.end, self.as_of = database, snap, end, as_of
        self.as_of_s = int(as_of.timestamp())
        self._loaded: dict[str, Any] = {}

    def _get(self, name: str) -> Any:
        if name not in self._loaded:
            self._loaded[name] = read_source(name, self.snap, self.end, self.as_of, self.database)
        return self._loaded[name]

    # Read by another connection during preload: aggregations the database does on its
    # own while this thread reads the purchases.
    ASIDE = ("ledger", "redemptions", "custom_events", "referrals", "stamp_cards")

    def preload(self) -> None:
        """Read every input. The aggregations run on a second connection while this one
        reads the purchases, so that on two cores they overlap: on PostgreSQL in a
        thread, reading the same snapshot; on a large SQLite file in a process of its
        own (see ``aside``), which sees the file as of its own first read. Should that
        process fail, this one reads them after all."""
        aside = [n for n in self.ASIDE if n not in self._loaded]
        here = [n for n in self.SOURCES if n not in self.ASIDE]
        if aside and self.database.is_postgres:
            shared = self.snap.export()

            def read_aside() -> dict[str, Any]:
                with readers.snapshot(self.database, shared=shared) as snap:
                    return {n: read_source(n, snap, self.end, self.as_of) for n in aside}

            with ThreadPoolExecutor(max_workers=1) as threads:
                side = threads.submit(read_aside)
                for name in here:
                    self._get(name)
                self._loaded.update(side.result())
        elif aside and self._large_sqlite_file():
            from patron.analytics import aside as child_process  # not at import: it runs as -m

            child = child_process.start(self.database.url, aside, self.end, self.as_of)
            for name in here:
                self._get(name)
            self._loaded.update(child_process.finish(child) or {})
        for name in self.SOURCES:
            self._get(name)

    def _large_sqlite_file(self) -> bool:
        if self.database.engine.url.database in (None, "", ":memory:"):
            return False  # an in-memory database is not shared between connections
        return readers.last_event_id(self.snap) >= ASIDE_PROCESS_FROM

    @property
    def purchases(self) -> PurchaseHistory:
        history: PurchaseHistory = self._get("purchases")
        return history

    @property
    def members(self) -> tuple[Ints, Ints]:
        """Member ids (ascending) and join times (epoch seconds)."""
        members: tuple[Ints, Ints] = self._get("members")
        return members

    @property
    def ledger(self) -> LedgerFlows:
        flows: LedgerFlows = self._get("ledger")
        return flows

    @property
    def terms(self) -> tuple[str, Decimal]:
        """The program's currency and value per point (defaults before any program)."""
        terms: tuple[str, Decimal] = self._get("terms")
        return terms

    @property
    def currency(self) -> str:
        return self.terms[0]

    @cached_property
    def engagement(self) -> LoyaltyInputs:
        ids, _ = self.members
        customers = self.purchases.before(self.as_of_s).customers
        counts = self._get("custom_events")
        spenders, spends = self._get("redemptions")
        referrers, referred = self._get("referrals")
        card_holders, cards = self._get("stamp_cards")

        def aligned(member: Ints, values: Ints) -> Ints:
            out = np.zeros(ids.size, dtype=np.int64)
            where, found = positions(ids, member)
            np.add.at(out, where[found], values[found])
            return out

        return LoyaltyInputs(
            member=ids,
            purchases=aligned(customers.ids, customers.count),
            referrals=aligned(*counts[REFERRAL_EVENT]) + aligned(referrers, referred),
            reviews=aligned(*counts[REVIEW_EVENT]),
            survey_answers=aligned(*counts[SURVEY_EVENT]),
            redemptions=aligned(spenders, spends),
            stamp_cards=aligned(card_holders, cards),
        )


ASIDE_PROCESS_FROM = 1_000_000  # events: below this a second process costs more than it saves


def read_source(
    name: str,
    snap: readers.Snapshot,
    end: datetime,
    as_of: datetime,
    database: Database | None = None,
) -> Any:
    """One input of :class:`ShopData`, read from ``snap`` (and, given ``database``,
    from more connections to it where that is faster)."""
    if name == "purchases":
        return _read_purchases(snap, end, database)
    if name == "members":
        return readers.member_join_times(snap)
    if name == "custom_events":
        return readers.custom_event_counts(
            snap, (REFERRAL_EVENT, REVIEW_EVENT, SURVEY_EVENT), as_of
        )
    if name == "redemptions":
        return readers.redemption_counts(snap, as_of)
    if name == "referrals":
        return readers.program_referral_counts(snap, as_of)
    if name == "stamp_cards":
        return readers.stamp_card_counts(snap, as_of)
    if name == "ledger":
        return LedgerFlows(*readers.ledger_days(snap, LEDGER_KINDS))
    return readers.program_terms(snap) or (DEFAULT_CURRENCY, DEFAULT_VALUE_PER_POINT)


def read_elsewhere(url: str, names: list[str], end: datetime, as_of: datetime) -> dict[str, Any]:
    """Read ``names`` through a connection of this process's own (a worker process)."""
    database = Database(url)
    try:
        with readers.snapshot(database) as snap:
            return {name: read_source(name, snap, end, as_of) for name in names}
    finally:
        database.dispose()


def _read_purchases(
    snap: readers.Snapshot, end: datetime, database: Database | None = None
) -> PurchaseHistory:
    """Venues are named from the latest purchases first; should an older purchase
    name one they do not (rare), all of them are looked at and the read repeated."""
    names = readers.venues(snap, end)
    member, at, net, discounted, venue = _purchase_columns(snap, end, names, database)
    if venue.size and venue.min() < 0:
        every = readers.venues(snap, end, everything=True)
        if every != names:
            columns = _purchase_columns(snap, end, every, database)
            member, at, net, discounted, venue = columns
    else:
        every = names
    channels, stores = _codes([c for c, _ in every]), _codes([s for _, s in every])
    known = venue >= 0
    channel = np.where(known, channels[np.maximum(venue, 0)] if every else -1, -1)
    store = np.where(known, stores[np.maximum(venue, 0)] if every else -1, -1)
    return PurchaseHistory.build(member, at, net, discounted.astype(np.bool_), channel, store)


def _purchase_columns(
    snap: readers.Snapshot, end: datetime, names: list[readers.Venue], database: Database | None
) -> list[Ints]:
    """On PostgreSQL with ``database``, a second connection (same snapshot) reads the
    later half of the events in a thread: each connection is a server process, so the
    halves are assembled on both cores at once."""
    if database is None or not snap.is_postgres:
        return readers.purchase_columns(snap, end, names)
    last = readers.last_event_id(snap)
    middle = last // 2
    shared = snap.export()

    def later_half() -> list[Ints]:
        with readers.snapshot(database, shared=shared) as other:
            return readers.purchase_columns(other, end, names, (middle + 1, last))

    with ThreadPoolExecutor(max_workers=1) as threads:
        later = threads.submit(later_half)
        first = readers.purchase_columns(snap, end, names, (0, middle))
        second = later.result()
    return [np.concatenate([a, b]) for a, b in zip(first, second, strict=True)]


def _codes(labels: list[str]) -> Ints:
    """A code per label, equal labels equal codes."""
    seen: dict[str, int] = {}
    return np.array([seen.setdefault(v, len(seen)) for v in labels], dtype=np.int64)


@contextmanager
def open_shop(database: Database, end: datetime) -> Iterator[ShopData]:
    as_of = min(end, now())
    with readers.snapshot(database) as snap:
        yield ShopData(database, snap, end, as_of)


# -- use cases ------------------------------------------------------------------------


def period_summary(data: ShopData, period: Period, rules: ActivityRules) -> PeriodFigures:
    return period_figures(data.purchases, period, rules)


def check_dimension(dimension: str) -> str:
    if not DIMENSION.match(dimension):
        raise InvalidInput(
            "split by 'status', 'tier', 'segment', 'membership' or 'attribute:<key>' "
            f"(key: letters, digits, space, _ - .), not '{dimension}'",
            field="by",
        )
    return dimension


def period_summary_by(
    data: ShopData, period: Period, rules: ActivityRules, dimension: str
) -> list[tuple[str, PeriodFigures]]:
    """The period figures per group of a dimension (see ``splits``). A new member
    dimension only needs a reader of member labels."""
    history = data.purchases
    if check_dimension(dimension) == "membership":
        codes, names = membership_codes(history, *data.members)
    elif dimension == "segment":
        # The RFM segment each customer was in when the period began: how did the
        # champions of January do over the year? (Segmenting by the segment at the
        # end would be circular: recency at the end is part of what is measured.)
        rfm = rfm_table(history, period.start_s)
        segments = [SEGMENTS[s] for s in rfm.segment.tolist()]
        codes, names = member_dimension_codes(history, rfm.member, segments)
        names = [NEW_IN_PERIOD if n == NONE_LABEL else n for n in names]
    else:
        ids, labels = readers.member_labels(data.snap, dimension)
        codes, names = member_dimension_codes(history, ids, labels)
    return [
        (label, period_figures(group, period, rules))
        for label, group in split_history(history, codes, names)
    ]


def cohort_table(data: ShopData, period: Period) -> CohortMatrix:
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    if months > MAX_COHORT_MONTHS:
        raise InvalidInput(
            f"a cohort matrix covers at most {MAX_COHORT_MONTHS} months; shorten the period",
            field="start",
        )
    return cohort_matrix(data.purchases, period)


def rfm_scores(data: ShopData) -> RFMTable:
    return rfm_table(data.purchases, data.as_of_s)


def member_stages(data: ShopData, rules: ActivityRules) -> Lifecycle:
    ids, joined = data.members
    return lifecycle_stages(
        data.purchases, ids, joined, data.as_of_s, LifecycleRules(active_days=rules.active_days)
    )


def member_profiles(data: ShopData) -> Profiles:
    return shopping_profiles(data.purchases, data.as_of_s)


@dataclass(frozen=True)
class LoyaltyTable:
    inputs: LoyaltyInputs
    scores: Ints

    def mean(self) -> float | None:
        return float(self.scores.mean()) if self.scores.size else None


def loyalty_table(data: ShopData) -> LoyaltyTable:
    inputs = data.engagement
    return LoyaltyTable(inputs, loyalty_scores(inputs))


def program_figures(
    data: ShopData, period: Period, *, window_days: int = 90, margin: Decimal = Decimal(1)
) -> ProgramEconomics:
    currency, value_per_point = data.terms
    ids, joined = data.members
    incremental = incremental_revenue(data.purchases, ids, joined, period, window_days)
    used = readers.rewards_used(data.snap, period.start, period.end)
    return program_economics(
        data.ledger, period, value_per_point, currency, incremental, margin, used
    )


@dataclass(frozen=True)
class Report:
    """The main figures together: what ``patron report`` prints and the bench times."""

    period: Period
    as_of: datetime
    currency: str
    summary: PeriodFigures
    by_status: list[tuple[str, PeriodFigures]]
    by_segment: list[tuple[str, PeriodFigures]]  # RFM segment at the start of the period
    cohorts: CohortMatrix
    rfm_segments: dict[str, int]
    lifecycle: Lifecycle
    profiles: dict[str, int]
    loyalty_mean: float | None
    loyalty_bands: dict[str, int]
    economics: ProgramEconomics


def full_report(data: ShopData, period: Period, rules: ActivityRules) -> Report:
    data.preload()
    scores = loyalty_table(data)
    return Report(
        period=period,
        as_of=data.as_of,
        currency=data.currency,
        summary=period_summary(data, period, rules),
        by_status=period_summary_by(data, period, rules, "status"),
        by_segment=period_summary_by(data, period, rules, "segment"),
        cohorts=cohort_table(data, period),
        rfm_segments=rfm_scores(data).segment_counts(),
        lifecycle=member_stages(data, rules),
        profiles=member_profiles(data).counts(),
        loyalty_mean=scores.mean(),
        loyalty_bands=score_bands(scores.scores),
        economics=program_figures(data, period),
    )


@dataclass(frozen=True)
class MemberScores:
    """Every member (ascending id) with their scores; NaN / 0 / -1 where they have not
    bought (no recency, no RFM scores, no segment)."""

    member: Ints
    joined_at: Ints
    purchases: Ints
    spent_minor: Ints
    recency_days: Floats
    r: Ints
    f: Ints
    m: Ints
    segment: Ints  # index into rfm.SEGMENTS, -1 without purchases
    stage: Ints  # index into lifecycle.STAGES
    p_alive: Floats
    discount_share: Floats
    place_share: Floats
    interval_cv: Floats
    price_driven: Bools
    convenience_driven: Bools
    loyalty: Ints
    loyalty_inputs: LoyaltyInputs


def member_scores(data: ShopData, rules: ActivityRules) -> MemberScores:
    data.preload()
    ids, joined = data.members
    table, shop = rfm_scores(data), member_profiles(data)
    where, bought = positions(table.member, ids)

    def spread(values: np.ndarray, missing: float | int | bool) -> np.ndarray:
        if not values.size:
            return np.full(ids.size, missing, dtype=np.asarray(missing).dtype)
        return np.where(bought, values[where], missing)

    life, points = member_stages(data, rules), loyalty_table(data)
    return MemberScores(
        member=ids,
        joined_at=joined,
        purchases=spread(table.frequency, 0),
        spent_minor=spread(table.monetary_minor, 0),
        recency_days=spread(table.recency_days, np.nan),
        r=spread(table.r, 0),
        f=spread(table.f, 0),
        m=spread(table.m, 0),
        segment=spread(table.segment, -1),
        stage=life.stage,
        p_alive=life.p_alive,
        discount_share=spread(shop.discount_share, np.nan),
        place_share=spread(shop.place_share, np.nan),
        interval_cv=spread(shop.interval_cv, np.nan),
        price_driven=spread(shop.price_driven, False),
        convenience_driven=spread(shop.convenience_driven, False),
        loyalty=points.scores,
        loyalty_inputs=points.inputs,
    )

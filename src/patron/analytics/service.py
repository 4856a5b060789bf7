"""Analytics use cases: load what a question needs once, answer with plain dataclasses.

:func:`open_shop` opens a read-only snapshot (see ``readers``) and returns a
:class:`ShopData`, which loads each input (purchases, members, ledger, ...) the first
time a use case asks for it, only up to the end of the period asked about. The use
cases hand the arrays to the pure modules (``retention``, ``cohorts``, ``rfm``, ...).

"Now"-style figures (RFM, lifecycle, profiles, loyalty) are taken *as of* the end of
the period, or the present moment if that is sooner.

This module holds :class:`ShopData` and :func:`open_shop`; the inputs are read in
``service_sources`` and the use cases live by topic in ``service_retention``
(period figures, splits, cohorts), ``service_members`` (RFM, lifecycle, profiles,
loyalty, member scores), ``service_economics`` (program economics) and
``service_report`` (all of them together). Every name is importable from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

import numpy as np

from patron.analytics import readers
from patron.analytics.economics import LedgerFlows
from patron.analytics.history import Ints, PurchaseHistory, positions
from patron.analytics.loyalty import REFERRAL_EVENT, REVIEW_EVENT, SURVEY_EVENT, LoyaltyInputs
from patron.analytics.service_economics import program_figures
from patron.analytics.service_members import (
    LoyaltyTable,
    MemberScores,
    loyalty_table,
    member_profiles,
    member_scores,
    member_stages,
    rfm_scores,
)
from patron.analytics.service_report import Report, full_report
from patron.analytics.service_retention import (
    DIMENSION,
    MAX_COHORT_MONTHS,
    NEW_IN_PERIOD,
    check_dimension,
    cohort_table,
    period_summary,
    period_summary_by,
)
from patron.analytics.service_sources import (
    DEFAULT_CURRENCY,
    DEFAULT_VALUE_PER_POINT,
    read_elsewhere,
    read_source,
)
from patron.core.clock import now
from patron.core.db import Database

__all__ = [
    "ASIDE_PROCESS_FROM",
    "DEFAULT_CURRENCY",
    "DEFAULT_VALUE_PER_POINT",
    "DIMENSION",
    "MAX_COHORT_MONTHS",
    "NEW_IN_PERIOD",
    "LoyaltyTable",
    "MemberScores",
    "Report",
    "ShopData",
    "check_dimension",
    "cohort_table",
    "full_report",
    "loyalty_table",
    "member_profiles",
    "member_scores",
    "member_stages",
    "open_shop",
    "period_summary",
    "period_summary_by",
    "program_figures",
    "read_elsewhere",
    "read_source",
    "rfm_scores",
]


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


@contextmanager
def open_shop(database: Database, end: datetime) -> Iterator[ShopData]:
    as_of = min(end, now())
    with readers.snapshot(database) as snap:
        yield ShopData(database, snap, end, as_of)

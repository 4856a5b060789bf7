"""The inputs :class:`~patron.analytics.service.ShopData` loads, one by name: the
purchase history (assembled from the purchase columns and their venues, split over
two connections on PostgreSQL), the members and their join times, the engagement
counts behind the loyalty score, the points ledger per day and the program's terms
(currency and value per point, with defaults before any program is loaded). Also
reads them through a connection of its own, for the worker process of ``aside``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from patron.analytics import readers
from patron.analytics.economics import LEDGER_KINDS, LedgerFlows
from patron.analytics.history import Ints, PurchaseHistory
from patron.analytics.loyalty import REFERRAL_EVENT, REVIEW_EVENT, SURVEY_EVENT
from patron.core.db import Database

DEFAULT_CURRENCY, DEFAULT_VALUE_PER_POINT = "USD", Decimal("0.01")


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

"""Reading how engaged each member is, the inputs of the loyalty score: per member,
how many of some custom events (referrals, reviews, survey answers) they sent, how
many redemptions (``spend`` ledger entries) they made, how many of their program
referrals qualified, and how many stamp cards they started, each before a moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from patron.analytics.history import Ints
from patron.analytics.readers_snapshot import Snapshot


def custom_event_counts(
    s: Snapshot, names: Sequence[str], end: datetime
) -> dict[str, tuple[Ints, Ints]]:
    """Per custom event name: member ids and how many such events each sent."""
    marks = ", ".join(f":n{i}" for i in range(len(names)))
    params: dict[str, Any] = {f"n{i}": name for i, name in enumerate(names)}
    params["end"] = s.param(end)
    rows = s.rows(
        "SELECT name, member_id, count(*) FROM events WHERE type = 'custom' "
        f"AND name IN ({marks}) AND occurred_at < :end GROUP BY name, member_id",
        params,
    )
    out: dict[str, tuple[Ints, Ints]] = {}
    for name in names:
        mine = [(r[1], r[2]) for r in rows if r[0] == name]
        out[name] = (
            np.array([m for m, _ in mine], dtype=np.int64),
            np.array([c for _, c in mine], dtype=np.int64),
        )
    return out


def redemption_counts(s: Snapshot, end: datetime) -> tuple[Ints, Ints]:
    """Member ids and how many ``spend`` entries (redemptions) each has."""
    table = "ledger_entries" if s.is_postgres else "ledger_entries NOT INDEXED"
    return _counts_before(
        s,
        f"SELECT member_id, count(*) FROM {table} "
        "WHERE kind = 'spend' AND created_at < :end GROUP BY member_id",
        end,
    )


def program_referral_counts(s: Snapshot, end: datetime) -> tuple[Ints, Ints]:
    """Referrer ids and how many of their referrals qualified (or were rewarded)."""
    return _counts_before(
        s,
        "SELECT referrer_id, count(*) FROM referrals WHERE referrer_id IS NOT NULL "
        "AND status IN ('qualified', 'rewarded') AND referred_at < :end "
        "GROUP BY referrer_id",
        end,
    )


def stamp_card_counts(s: Snapshot, end: datetime) -> tuple[Ints, Ints]:
    """Member ids and how many stamp cards each has started."""
    return _counts_before(
        s,
        "SELECT member_id, count(*) FROM stamp_cards WHERE started_at < :end GROUP BY member_id",
        end,
    )


def _counts_before(s: Snapshot, sql: str, end: datetime) -> tuple[Ints, Ints]:
    """Ids and their counts from a ``GROUP BY`` query with an ``:end`` parameter."""
    ids, counts = s.int_columns(sql, {"end": s.param(end)}, 2)
    return ids, counts

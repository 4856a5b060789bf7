"""Reading the purchases analytics counts: their venues (channel, store) and, per
counted purchase, the member, the time, the net amount, the discount flag and the
venue, as integer columns. A purchase is *counted* unless refunded in full
(``refunded_amount > 0`` and ``>= amount``); its net amount is ``amount -
refunded_amount``. It is *discounted* when ``attributes.coupon`` is set to anything
but null, false or "" (the demo shop's tills send ``{"coupon": "WELCOME20"}``), or
``attributes.discount`` is a number above zero or true.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron.analytics.history import Ints
from patron.analytics.readers_snapshot import Snapshot, batched_columns, epoch

_COUNTED = (
    "type = 'purchase' AND occurred_at < :end AND (refunded_amount = 0 OR refunded_amount < amount)"
)
_SQLITE_DISCOUNTED = (  # one JSON parse settles the usual case: neither is set
    "CASE WHEN json_extract(attributes, '$.coupon', '$.discount') = '[null,null]' THEN 0 "
    "WHEN coalesce(json_extract(attributes, '$.coupon'), '') NOT IN ('', 0) "
    "OR coalesce(json_extract(attributes, '$.discount'), 0) NOT IN (0, '') THEN 1 ELSE 0 END"
)
_PG_DISCOUNTED = (
    "CASE WHEN coalesce(attributes->>'coupon', '') NOT IN ('', 'false') "
    "OR (coalesce(attributes->>'discount', '') NOT IN ('', 'false') "
    "AND attributes->>'discount' !~ '^[-+]?[0.]+$') THEN 1 ELSE 0 END"
)


Venue = tuple[str, str]  # (channel, store); "" for none


def venues(s: Snapshot, end: datetime, *, everything: bool = False) -> list[Venue]:
    """The venues (channel, store) of counted purchases: those of the latest
    ``VENUE_SAMPLE`` purchases (an index range: cheap), or of all of them."""
    source = (
        "SELECT coalesce(channel, '') AS channel, coalesce(store, '') AS store "
        f"FROM events WHERE {_COUNTED}"
    )
    if not everything:
        source += f" ORDER BY occurred_at DESC LIMIT {s.sizes.venue_sample}"
    sql = f"SELECT DISTINCT channel, store FROM ({source}) AS recent ORDER BY channel, store"
    return [(str(r[0]), str(r[1])) for r in s.rows(sql, {"end": s.param(end)})]


def _venue_code(names: list[Venue], params: dict[str, Any]) -> str:
    """SQL for a purchase's index in ``names`` (-1 if absent): by channel, then store."""
    by_channel: dict[str, list[tuple[str, int]]] = {}
    for i, (channel, store) in enumerate(names):
        by_channel.setdefault(channel, []).append((store, i))
    outer = []
    for j, (channel, stores) in enumerate(by_channel.items()):
        params[f"c{j}"] = channel
        inner = []
        for store, i in stores:
            params[f"s{i}"] = store
            inner.append(f"WHEN :s{i} THEN {i}")
        outer.append(f"WHEN :c{j} THEN CASE coalesce(store, '') {' '.join(inner)} ELSE -1 END")
    return f"CASE coalesce(channel, '') {' '.join(outer)} ELSE -1 END" if outer else "-1"


def purchase_columns(
    s: Snapshot, end: datetime, names: list[Venue], ids: tuple[int, int] | None = None
) -> list[Ints]:
    """member, epoch seconds, net minor units, discounted (0/1) and venue (index in
    ``names``, -1 for others; at most ``MAX_VENUES`` are told apart) of every counted
    purchase (with ``ids``: of the events with ids in that closed range)."""
    params: dict[str, Any] = {"end": s.param(end)}
    # Fewer values to hand to Python: the time, the venue and the discount travel as
    # one number, seconds << 16 | (venue + 1) << 1 | discounted (seconds < 2^47).
    venue = _venue_code(names[: s.sizes.max_venues], params)
    discounted = _PG_DISCOUNTED if s.is_postgres else _SQLITE_DISCOUNTED
    packed = f"({epoch(s, 'occurred_at')} << 16) | ((({venue}) + 1) << 1) | ({discounted})"
    columns = ["member_id", packed, "amount - refunded_amount"]
    member, packed_values, net = batched_columns(s, columns, _COUNTED, params, ids)
    flags = packed_values & 0xFFFF
    return [member, packed_values >> 16, net, flags & 1, (flags >> 1) - 1]

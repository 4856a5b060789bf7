"""Reading what the program's economics need: the points booked in the ledger per
UTC day and kind (ledger flows are dated by ``ledger_entries.created_at``, when they
were booked), the rewards used at the till in a period and the money they took off
orders, and the currency and value per point of the program in force.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np

from patron.analytics.history import Ints
from patron.analytics.readers_snapshot import Snapshot, epoch
from patron.program.loader import program_from_dict


def ledger_days(s: Snapshot, kinds: Sequence[str]) -> tuple[Ints, Ints, Ints]:
    """Points booked per UTC day (days since 1970-01-01) and kind (index in ``kinds``)."""
    kind = "CASE kind " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(kinds))
    if s.is_postgres:
        day = "((created_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01')::bigint"
        sql = (
            f"SELECT {day}, ({kind} ELSE -1 END)::bigint, sum(points)::bigint "
            "FROM ledger_entries GROUP BY 1, 2"
        )
        days, codes, points = s.int_columns(sql, {}, 3)
    else:  # many small sorts, one per range of ids, beat one big one by half
        key = f"{epoch(s, 'created_at')} / 86400 * 8 + ({kind} ELSE 7 END)"
        sql = (
            f"SELECT {key} AS k, sum(points) FROM ledger_entries NOT INDEXED "
            "WHERE id BETWEEN :first_id AND :last_id GROUP BY k"
        )
        last = int(s.rows("SELECT coalesce(max(id), 0) FROM ledger_entries")[0][0])
        sums: dict[int, int] = {}
        chunk = s.sizes.id_chunk
        for first in range(0, last + 1, chunk):
            for k, v in s.rows(sql, {"first_id": first, "last_id": first + chunk - 1}):
                sums[k] = sums.get(k, 0) + v
        keys = np.array(sorted(sums), dtype=np.int64)
        days, codes = keys // 8, keys % 8
        points = np.array([sums[k] for k in keys.tolist()], dtype=np.int64)
        codes = np.where(codes == 7, -1, codes)
    known = codes >= 0
    return days[known], codes[known], points[known]


def rewards_used(s: Snapshot, start: datetime, end: datetime) -> tuple[int, int]:
    """How many rewards were used at the till in ``[start, end)``, and the money they
    took off those orders (minor units)."""
    rows = s.rows(
        "SELECT count(*), coalesce(sum(discount), 0) FROM redemptions "
        "WHERE status = 'used' AND used_at >= :start AND used_at < :end",
        {"start": s.param(start), "end": s.param(end)},
    )
    return int(rows[0][0]), int(rows[0][1])


def program_terms(s: Snapshot) -> tuple[str, Decimal] | None:
    """The currency and value per point of the program in force, if one is loaded."""
    rows = s.rows("SELECT definition FROM program_versions ORDER BY version DESC LIMIT 1")
    if not rows:
        return None
    definition = rows[0][0]
    if isinstance(definition, str):
        definition = json.loads(definition)
    program = program_from_dict(definition, "the program in force")
    return program.currency, program.points.value_per_point

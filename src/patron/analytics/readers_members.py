"""Reading the members analytics sees: every member's id and when they joined, and
each member's label in a member dimension (``status``, ``tier`` or
``attribute:<key>``) for splitting figures by group. A member *joined* at the
earlier of ``members.enrolled_at`` and their first ``signup`` event (a member record
can be created after the signup it records).
"""

from __future__ import annotations

import numpy as np

from patron.analytics.history import Ints
from patron.analytics.readers_snapshot import Snapshot, epoch, sqlite_texts


def member_join_times(s: Snapshot) -> tuple[Ints, Ints]:
    """Every member id (ascending) and when they joined, epoch seconds."""
    if s.is_postgres:
        ids, enrolled = s.int_columns(
            f"SELECT id, {epoch(s, 'enrolled_at')} FROM members ORDER BY id", {}, 2
        )
        signup_ids, signed_up = s.int_columns(
            f"SELECT member_id, {epoch(s, 'min(occurred_at)')} FROM events "
            "WHERE type = 'signup' GROUP BY member_id",
            {},
            2,
        )
    else:
        ids, enrolled = sqlite_texts(
            s, ["id", epoch(s, "enrolled_at")], "1 = 1", {}, table="members"
        )
        order = np.argsort(ids)
        ids, enrolled = ids[order], enrolled[order]
        signup_ids, signed_up = sqlite_texts(  # by the type index
            s, ["member_id", epoch(s, "occurred_at")], "type = 'signup'", {}, by_ids=False
        )
    joined = enrolled.copy()
    where = np.searchsorted(ids, signup_ids)
    ok = (where < ids.size) & (ids[np.minimum(where, max(ids.size - 1, 0))] == signup_ids)
    np.minimum.at(joined, where[ok], signed_up[ok])
    return ids, joined


def member_labels(s: Snapshot, dimension: str) -> tuple[Ints, list[str | None]]:
    """Member ids (ascending) and their label in a member dimension: ``status``,
    ``tier`` or ``attribute:<key>`` (booleans read ``true``/``false``, numbers as
    written)."""
    if dimension == "status":
        rows = s.rows("SELECT id, status FROM members ORDER BY id")
    elif dimension == "tier":  # the level held now (none: below the first level)
        rows = s.rows(
            "SELECT m.id, t.tier FROM members m "
            "LEFT JOIN member_tiers t ON t.member_id = m.id ORDER BY m.id"
        )
    else:
        key = dimension.removeprefix("attribute:")
        if s.is_postgres:
            sql = "SELECT id, attributes->>:key FROM members ORDER BY id"
            rows = s.rows(sql, {"key": key})
        else:
            sql = (
                "SELECT id, CASE json_type(attributes, :path) WHEN 'true' THEN 'true' "
                "WHEN 'false' THEN 'false' ELSE json_extract(attributes, :path) END "
                "FROM members ORDER BY id"
            )
            rows = s.rows(sql, {"path": f'$."{key}"'})
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, [None if r[1] is None else str(r[1]) for r in rows]

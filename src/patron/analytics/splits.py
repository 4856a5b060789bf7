"""Splitting the metrics by a dimension: every purchase gets a group label.

A *member* dimension (status, tier, an attribute; segments when they exist) labels a
member, and each purchase takes its buyer's label: the label the member has *now*
(a member who moved from Silver to Gold counts all their purchases as Gold). The
*membership* dimension labels each purchase by itself: ``member`` when it was made
once the buyer had joined, ``before joining`` when it predates their join time. In
Patron every event belongs to a member, so "non-member" purchases are exactly those
made before joining (imported history, or a till that knew the customer before they
enrolled); the "before joining" group describes those same people as non-members.

Groups are computed as separate purchase histories, so every metric of
``retention.period_figures`` works per group unchanged. At most ``MAX_GROUPS``
groups are kept (the largest by purchases); the rest are pooled as ``(other)``.
Members without the attribute are ``(none)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from patron.analytics.history import Ints, PurchaseHistory, positions

MAX_GROUPS = 20
NONE_LABEL = "(none)"
OTHER_LABEL = "(other)"
MEMBER_LABEL = "member"
BEFORE_JOINING_LABEL = "before joining"


def member_dimension_codes(
    history: PurchaseHistory, member_ids: Ints, labels: Sequence[str | None]
) -> tuple[Ints, list[str]]:
    """Per purchase: the code of its buyer's label; and the label of each code.

    ``member_ids`` must be sorted; members missing from it (or labelled None) get
    ``(none)``.
    """
    names: dict[str, int] = {}
    member_code = np.fromiter(
        (names.setdefault(NONE_LABEL if v is None else str(v), len(names)) for v in labels),
        dtype=np.int64,
        count=len(labels),
    )
    none = names.setdefault(NONE_LABEL, len(names))
    where, found = positions(member_ids, history.member)
    codes = np.where(found, member_code[where] if member_code.size else none, none)
    return np.asarray(codes, dtype=np.int64), list(names)


def membership_codes(
    history: PurchaseHistory, member_ids: Ints, joined_at: Ints
) -> tuple[Ints, list[str]]:
    """Per purchase: 0 made as a member, 1 made before the buyer joined."""
    where, found = positions(member_ids, history.member)
    joined = np.where(found, joined_at[where] if joined_at.size else 0, 0)
    codes = (history.at < joined).astype(np.int64)
    return codes, [MEMBER_LABEL, BEFORE_JOINING_LABEL]


def split_history(
    history: PurchaseHistory, codes: Ints, names: Sequence[str], max_groups: int = MAX_GROUPS
) -> list[tuple[str, PurchaseHistory]]:
    """One history per label present, largest first (ties by label), at most
    ``max_groups`` of them plus ``(other)``."""
    counts = np.bincount(codes, minlength=len(names)) if codes.size else np.zeros(len(names))
    present = [int(c) for c in np.flatnonzero(counts)]
    present.sort(key=lambda c: (-int(counts[c]), names[c]))
    keep, pooled = present[:max_groups], present[max_groups:]
    groups = [(names[c], history.select(codes == c)) for c in keep]
    if pooled:
        groups.append((OTHER_LABEL, history.select(np.isin(codes, pooled))))
    return groups

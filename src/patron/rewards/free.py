"""Coupons given, not bought: a full stamp card, a referral. Services never commit.

A free coupon is a redemption with ``points = 0`` and no spend entry; ``actor``
says where it came from (``stamp_card:coffee``, ``referral:...``). Such a coupon
is *owed* to the member, so it is never refused for stock: it still counts in
the reward's ``issued`` (redemptions with points stop first when a stock runs
low), and cancelling it gives the count back like any other cancellation.

:func:`issue_free_coupons` writes many at once (ingestion: a batch completes
many cards); :func:`issue_free_coupon` is the one-off form.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows
from patron.core.db import table_of
from patron.core.ids import reserve_ids
from patron.rewards.catalogue import get_reward
from patron.rewards.models import Redemption, Reward
from patron.rewards.service import coupon_values, program_reward

if TYPE_CHECKING:
    from patron.program.schema import Program

REDEMPTIONS = table_of(Redemption)
REWARDS = table_of(Reward)


def free_coupon_values(
    program: Program,
    reward_key: str,
    member_id: int,
    *,
    at: datetime,
    actor: str,
    reward_row_id: int,
) -> dict[str, Any]:
    """Every column of a free coupon but its id (``code`` included, so it can be shown
    before it is written). NotFound naming ``reward`` for a reward not in the program;
    ``reward_row_id`` is its row in ``rewards`` (``get_reward(session, key).id``)."""
    reward = program_reward(program, reward_key)
    values = coupon_values(
        reward_row_id, reward, member_id, currency=program.currency, at=at, actor=actor
    )
    values["spend_entry_id"] = None
    return values


def issue_free_coupons(session: Session, coupons: Sequence[dict[str, Any]]) -> list[int]:
    """Write the coupons (values from :func:`free_coupon_values`; a ``status`` of
    ``cancelled`` is written as such and not counted); returns their ids, in order."""
    if not coupons:
        return []
    ids = reserve_ids(session, REDEMPTIONS, len(coupons))
    rows = [{**values, "id": i} for values, i in zip(coupons, ids, strict=True)]
    insert_rows(session, REDEMPTIONS, rows)
    counted = Counter(v["reward_id"] for v in coupons if v["status"] != "cancelled")
    if counted:
        session.execute(
            update(REWARDS)
            .where(REWARDS.c.id == bindparam("rid"))
            .values(issued=REWARDS.c.issued + bindparam("n")),
            [{"rid": rid, "n": n} for rid, n in sorted(counted.items())],
            execution_options={"synchronize_session": False},
        )
    return ids


def issue_free_coupon(
    session: Session, program: Program, reward_key: str, member_id: int, *, at: datetime, actor: str
) -> Redemption:
    """Give ``member_id`` a coupon for ``reward_key`` without spending points."""
    program_reward(program, reward_key)  # NotFound first, naming the reward
    row_id = get_reward(session, reward_key, field="reward").id
    values = free_coupon_values(
        program, reward_key, member_id, at=at, actor=actor, reward_row_id=row_id
    )
    (redemption_id,) = issue_free_coupons(session, [values])
    found = session.scalar(select(Redemption).where(Redemption.id == redemption_id))
    assert found is not None
    return found


def cancel_free_coupons(session: Session, redemption_ids: Sequence[int], at: datetime) -> list[int]:
    """Cancel the still-unused coupons among ``redemption_ids`` (stock given back);
    returns the ids actually cancelled. Callers lock the rows first when a till may
    be using them (``lock_coupons``)."""
    if not redemption_ids:
        return []
    rows = session.execute(
        select(Redemption.id, Redemption.reward_id).where(
            Redemption.id.in_(list(redemption_ids)), Redemption.status == "issued"
        )
    ).all()
    if not rows:
        return []
    session.execute(
        update(REDEMPTIONS)
        .where(REDEMPTIONS.c.id.in_([r.id for r in rows]), REDEMPTIONS.c.status == "issued")
        .values(status="cancelled", cancelled_at=at),
        execution_options={"synchronize_session": False},
    )
    back = Counter(r.reward_id for r in rows)
    session.execute(
        update(REWARDS)
        .where(REWARDS.c.id == bindparam("rid"))
        .values(issued=REWARDS.c.issued - bindparam("n")),
        [{"rid": rid, "n": n} for rid, n in sorted(back.items())],
        execution_options={"synchronize_session": False},
    )
    return [r.id for r in rows]


def lock_coupons(session: Session, redemption_ids: Sequence[int]) -> dict[int, str]:
    """Each coupon's status, read under a row lock on PostgreSQL (a till using one of
    them waits for our commit); SQLite writers are already serialised."""
    if not redemption_ids:
        return {}
    query = select(Redemption.id, Redemption.status).where(
        Redemption.id.in_(sorted(set(redemption_ids)))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.order_by(Redemption.id).with_for_update()
    return {rid: status for rid, status in session.execute(query)}

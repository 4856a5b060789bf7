"""The demo shop redeems, uses and cancels rewards and gives birthday treats, consistently."""

from __future__ import annotations

from sqlalchemy import func, select

from patron.core.db import Database
from patron.ledger.models import LedgerEntry, PointAccount
from patron.rewards.models import Redemption, Reward
from tests.integration.conftest import build_small_demo


def test_the_demo_uses_the_rewards_catalogue(database: Database) -> None:
    build_small_demo(database)
    with database.unit_of_work() as session:
        states = dict(
            session.execute(
                select(Redemption.status, func.count()).group_by(Redemption.status)
            ).all()
        )
        birthdays = session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.birthday_year.is_not(None))
        )
        for row in session.scalars(select(Reward)):
            live = session.scalar(
                select(func.count())
                .select_from(Redemption)
                .where(Redemption.reward_id == row.id, Redemption.status != "cancelled")
            )
            assert row.issued == live and (row.stock is None or row.issued <= row.stock)
        for account in session.scalars(select(PointAccount)):
            total = session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
                    LedgerEntry.member_id == account.member_id
                )
            )
            assert account.balance == total
    assert states.get("used", 0) > states.get("issued", 0) > 0
    assert states.get("cancelled", 0) > 0 and birthdays

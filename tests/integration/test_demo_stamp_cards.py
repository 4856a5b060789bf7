"""The demo shop fills coffee cards: open and completed cards, their coupons mostly used."""

from __future__ import annotations

from sqlalchemy import func, select

from patron.core.db import Database
from patron.rewards.models import Redemption
from patron.stamps.models import Stamp, StampCard
from tests.integration.conftest import build_small_demo


def test_the_demo_fills_stamp_cards(database: Database) -> None:
    build_small_demo(database)
    with database.unit_of_work() as session:
        cards = dict(
            session.execute(select(StampCard.status, func.count()).group_by(StampCard.status)).all()
        )
        coupons = dict(
            session.execute(
                select(Redemption.status, func.count())
                .where(Redemption.actor == "stamp_card:coffee-card")
                .group_by(Redemption.status)
            ).all()
        )
        complete_without_coupon = session.scalar(
            select(func.count())
            .select_from(StampCard)
            .where(StampCard.status == "complete", StampCard.redemption_id.is_(None))
        )
        open_per_member = session.execute(
            select(StampCard.member_id, func.count())
            .where(StampCard.status == "open")
            .group_by(StampCard.member_id)
            .having(func.count() > 1)
        ).all()
        for card in session.scalars(select(StampCard)):  # every card's count is its stamps
            total = session.scalar(
                select(func.coalesce(func.sum(Stamp.count), 0)).where(Stamp.card_id == card.id)
            )
            assert total == card.stamps, card.id
    assert cards.get("complete", 0) > 0 and cards.get("open", 0) > 0
    # One live coupon per complete card; a cancelled one belongs to a card a refund reopened.
    assert cards["complete"] == coupons.get("issued", 0) + coupons.get("used", 0)
    assert coupons.get("used", 0) > coupons.get("issued", 0)
    assert complete_without_coupon == 0 and open_per_member == []

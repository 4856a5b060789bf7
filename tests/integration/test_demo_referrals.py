"""The demo shop's signups bring referral codes: rewarded, rejected (with reasons) and
every rewarded referral paid on both sides."""

from __future__ import annotations

from sqlalchemy import select

from patron.core.db import Database
from patron.ledger.models import LedgerEntry
from patron.referrals.models import Referral
from patron.rewards.models import Redemption
from tests.integration.conftest import build_small_demo


def test_the_demo_shows_referrals(database: Database) -> None:
    summary = build_small_demo(database)
    with database.unit_of_work() as session:
        referrals = list(session.scalars(select(Referral)))
        statuses = {r.status for r in referrals}
        reasons = {r.reason.split(":")[0] for r in referrals if r.reason}
        for ref in referrals:
            if ref.status != "rewarded":
                assert ref.referrer_entry_id is None and ref.referee_coupon_id is None
                continue
            entry = session.get(LedgerEntry, ref.referrer_entry_id)
            coupon = session.get(Redemption, ref.referee_coupon_id)
            assert entry is not None and coupon is not None
            assert (entry.member_id, entry.points) == (ref.referrer_id, 250)
            assert "referral bonus" in entry.explanation
            assert (coupon.member_id, coupon.points, coupon.terms["reward"]) == (
                ref.referee_id,
                0,
                "free-latte",
            )
    assert {"rewarded", "rejected"} <= statuses
    # The summary a newcomer reads counts what each mechanic did, as stored.
    assert summary.mechanics["referrals"] == {
        s: sum(r.status == s for r in referrals) for s in statuses
    }
    assert set(summary.mechanics) == {"tiers", "coupons", "stamp cards", "referrals"}
    assert summary.mechanics["stamp cards"].get("complete", 0) > 0
    assert "self-referral" in reasons
    assert any(r.startswith("first purchase") for r in reasons)

"""``patron rewards ...``, ``patron member show`` coupons, and birthdays in ``patron jobs run``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from patron.core.clock import FrozenClock, now
from patron.core.db import Database
from patron.core.errors import InvalidInput, NotFound
from patron.ledger.service import adjust
from patron.members.schemas import MemberCreate
from patron.members.service import create_member
from patron.program.service import require_program
from patron.rewards import codes
from patron.rewards.errors import NotAvailable
from patron.rewards.models import Redemption
from tests.integration.test_cli import EXAMPLE, Run, database, patron  # noqa: F401


@pytest.fixture
def member(patron: Run, database: Database) -> int:  # noqa: F811
    patron("program", "load", str(EXAMPLE))
    with database.unit_of_work() as session:
        m = create_member(session, MemberCreate(external_id="ann", birthday=date(1990, 3, 9)))
        adjust(
            session,
            m.id,
            2000,
            reason="test",
            actor="t",
            at=now(),
            program=require_program(session)[1],
        )
        return m.id


def test_list_redeem_use_cancel_and_show(
    patron: Run,  # noqa: F811
    database: Database,  # noqa: F811
    member: int,
) -> None:
    listed = patron("rewards", "list").output
    assert "free-flat-white" in listed and "250 of 250" in listed and "birthday" in listed
    redeemed = patron("rewards", "redeem", str(member), "two-pounds-off").output
    code = redeemed.strip().splitlines()[-1]
    assert "Redeemed £2 off any order for 200 pts" in redeemed
    assert codes.is_valid(codes.normalize(code))
    assert "issued" in patron("rewards", "coupon", code.lower()).output
    used = patron("rewards", "use", code, "--order", "till-9", "--amount", "7.50").output
    assert used.startswith("Used:") and "used" in used
    assert (
        "Already used for this order" in patron("rewards", "use", code, "--order", "till-9").output
    )
    tote = patron("rewards", "redeem", str(member), "bean-there-tote").output
    assert "for 1200 pts" in tote and "249 of 250" in patron("rewards", "list").output
    with database.unit_of_work() as session:
        tote_id = session.scalar(select(Redemption.id).where(Redemption.points == 1200))
    cancelled = patron("rewards", "cancel", str(tote_id)).output
    assert f"Redemption {tote_id} is cancelled; 1200 pts returned." in cancelled
    assert "250 of 250" in patron("rewards", "list").output
    shown = patron("member", "show", str(member)).output
    assert "Coupons" in shown and codes.display(codes.normalize(code)) in shown
    assert "Redeemed £2 off any order" in shown  # the statement explains the spend


def test_errors(patron: Run, database: Database, member: int) -> None:  # noqa: F811
    poor = patron("rewards", "redeem", str(member), "cupping-class", ok=False)
    assert poor.exit_code != 0
    unknown = patron("rewards", "redeem", str(member), "nope", ok=False)
    assert isinstance(unknown.exception, NotFound) and unknown.exception.field == "reward"
    typo = patron("rewards", "coupon", "7KQ2-M9XD-4TRB-HW3C", ok=False)
    assert isinstance(typo.exception, InvalidInput) and typo.exception.field == "code"
    bad = patron("rewards", "redeem", "0", "two-pounds-off", ok=False)
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "member_id"
    assert isinstance(poor.exception, NotAvailable) and poor.exception.field == "reward"
    assert "opens on 2026-09-01 00:00 (Europe/London)" in poor.exception.detail


def test_jobs_run_gives_birthday_rewards_once(
    patron: Run,  # noqa: F811
    database: Database,  # noqa: F811
    member: int,
    clock: FrozenClock,
) -> None:
    assert "Birthday rewards: 1 issued." in patron("jobs", "run").output  # 2026-03-02
    assert "Birthday rewards: 0 issued." in patron("jobs", "run").output
    shown = patron("member", "show", str(member)).output
    assert "A pastry on us for your birthday" in shown

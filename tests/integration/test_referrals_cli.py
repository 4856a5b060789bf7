"""``patron member show`` prints the referral code, who referred the member and the
referrals made with the code."""

from __future__ import annotations

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.referrals.codes import display
from patron.referrals.service import referral_code
from tests.integration.conftest import load_program, send
from tests.integration.test_cli import (  # noqa: F401  (fixtures)
    Run,
    database,
    member_id,
    patron,
)
from tests.integration.test_referrals import buy, program, signup


def referrer(patron: Run, database: Database, clock: FrozenClock) -> tuple[int, str]:  # noqa: F811
    """The referral program loaded, and anna created through the CLI with her code."""
    load_program(database, program(), clock)
    patron("member", "create", "--external-id", "anna")
    anna = member_id(database, "anna")
    with database.unit_of_work() as session:
        return anna, referral_code(session, anna, clock.now())


def test_member_show_prints_code_and_referrals(
    patron: Run,  # noqa: F811
    database: Database,  # noqa: F811
    clock: FrozenClock,
) -> None:
    anna, code = referrer(patron, database, clock)
    send(database, signup("s1", "bob", code), signup("s2", "carl", code))
    send(database, buy("o1", "25.00", "bob"), buy("o2", "5.00", "carl"))
    out = patron("member", "show", str(anna)).output
    assert f"Referral code: {display(code)}" in out
    bob, carl = member_id(database, "bob"), member_id(database, "carl")
    assert f"2026-03-02 member {bob}: rewarded on 2026-03-02" in out
    assert (
        f"2026-03-02 member {carl}: rejected: first purchase 5.00 USD below the minimum "
        "20.00 USD" in out
    )
    theirs = patron("member", "show", str(bob)).output
    assert f"Referred by member {anna}: rewarded on 2026-03-02" in theirs
    assert "No referrals made yet." in theirs
    assert "referral bonus: you joined with" not in theirs  # a coupon, not points
    assert "+200 pts: referral bonus" in out


def test_jobs_run_closes_referrals_whose_window_passed(
    patron: Run,  # noqa: F811
    database: Database,  # noqa: F811
    clock: FrozenClock,
) -> None:
    anna, code = referrer(patron, database, clock)
    send(database, signup("s1", "dora", code))
    assert "Referrals: 0 lapsed" in patron("jobs", "run").output
    clock.advance(days=31)  # the program allows 30 days for the first purchase
    assert "Referrals: 1 lapsed without a purchase in their window." in patron("jobs", "run").output
    dora = member_id(database, "dora")
    out = patron("member", "show", str(anna)).output
    assert f"member {dora}: rejected: no purchase within 30 days of signing up" in out

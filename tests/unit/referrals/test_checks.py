"""The referral fraud checks and codes, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.referrals import checks
from patron.referrals.codes import LENGTH, canonical, display, new_referral_code
from patron.rewards.codes import ALPHABET, check_character

T = datetime(2026, 3, 2, 12, tzinfo=UTC)
ANNA = checks.Person(1, "anna@example.com", "+4915123456789")


def test_new_codes_are_canonical_and_forgiving_to_read() -> None:
    code = new_referral_code()
    assert len(code) == LENGTH and canonical(code) == code
    typed = display(code).lower().replace("0", "o").replace("1", "l")
    assert canonical(f" {typed} ") == code


@given(
    st.text(alphabet=ALPHABET, min_size=7, max_size=7), st.integers(0, 7), st.sampled_from(ALPHABET)
)
def test_any_single_wrong_character_is_caught(body: str, at: int, wrong: str) -> None:
    code = body + check_character(body)
    mistyped = code[:at] + wrong + code[at + 1 :]
    assert (canonical(mistyped) is None) == (mistyped != code)


def test_codes_of_the_wrong_shape_are_not_codes() -> None:
    assert canonical("ABC") is None
    assert canonical("ÄBCD-EFGH") is None


def test_code_problems() -> None:
    assert checks.code_problem("x", None, None) == (
        "'x' is not a valid referral code (a character is probably mistyped)"
    )
    assert checks.code_problem("k7qm2xd9", "K7QM2XD9", None) == (
        "no member has the referral code K7QM-2XD9"
    )
    blocked = checks.Person(1, status="blocked")
    assert checks.code_problem("c", "K7QM2XD9", blocked) == "the referrer's membership is blocked"
    assert checks.code_problem("c", "K7QM2XD9", ANNA) is None


@pytest.mark.parametrize(
    ("referee", "reason"),
    [
        (checks.Person(1), "self-referral: members cannot use their own referral code"),
        (
            checks.Person(2, " Anna@Example.com"),
            "self-referral: the referee has the referrer's email address",
        ),
        (
            checks.Person(2, None, "+49 151 2345 6789"),
            "self-referral: the referee has the referrer's phone number",
        ),
        (checks.Person(2, "bob@example.com", "+4915199999999"), None),
        (checks.Person(2, "", ""), None),  # empty contacts never match
    ],
)
def test_self_referral(referee: checks.Person, reason: str | None) -> None:
    assert checks.self_referral(ANNA, referee) == reason


def test_already_known_in_order() -> None:
    assert checks.already_known(0, False, False) is None
    assert checks.already_known(2, True, False) == (
        "referee already known: they had made purchases before signing up"
    )
    assert checks.already_known(0, True, False) == (
        "referee already known: they had signed up before"
    )
    assert checks.already_known(3, True, True) == "referee already known: they were referred before"


def test_weekly_limit_is_a_rolling_seven_days() -> None:
    earlier = [T - timedelta(days=7), T - timedelta(days=6, hours=23), T - timedelta(hours=1)]
    # the one exactly 7 days before has left the window
    assert checks.over_weekly_limit(earlier, T, 3) is None
    assert checks.over_weekly_limit(earlier, T, 2) == (
        "the referrer already referred 2 members in the 7 days before (at most 2 a week)"
    )


def test_first_purchase() -> None:
    def problem(amount: int, days: float, shares: bool = False) -> str | None:
        return checks.first_purchase_problem(
            amount,
            T + timedelta(days=days),
            T,
            min_amount=2000,
            within_days=30,
            currency="USD",
            shares_payment=shares,
        )

    assert problem(2000, 30) is None  # the minimum, on the last day
    assert problem(1999, 1) == "first purchase 19.99 USD below the minimum 20.00 USD"
    assert problem(5000, 30.5) == (
        "first purchase 30 days after signing up, later than the 30 allowed"
    )
    assert problem(5000, 1, shares=True) == (
        "self-referral: the first purchase was paid with a payment method the referrer uses"
    )


def test_refunds() -> None:
    assert checks.refund_problem(5000, 5000, 2000, "USD") == "qualifying purchase refunded"
    assert checks.refund_problem(5000, 3000, 2000, "USD") is None
    assert checks.refund_problem(5000, 3001, 2000, "USD") == (
        "qualifying purchase refunded down to 19.99 USD, below the minimum 20.00 USD"
    )

"""The fraud checks and the qualifying test, as pure functions. No database.

Each returns None when the referral may go on, or the reason, in words a
member can read, why it is rejected. Order matters: the first reason that
applies is the one recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from patron.core.money import format_money
from patron.referrals.codes import display

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Person:
    """What the checks compare between referrer and referee."""

    member_id: int
    email: str | None = None
    phone: str | None = None
    status: str = "active"


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.strip().casefold() == b.strip().casefold())


def _same_phone(a: str | None, b: str | None) -> bool:
    """Digits only: ``+49 151 2345`` and ``+491512345`` are the same number."""
    digits_a = "".join(ch for ch in a or "" if ch.isdigit())
    return bool(digits_a) and digits_a == "".join(ch for ch in b or "" if ch.isdigit())


def code_problem(typed: str, canonical: str | None, referrer: Person | None) -> str | None:
    """The code must be well formed and belong to an active member."""
    if canonical is None:
        return f"'{typed}' is not a valid referral code (a character is probably mistyped)"
    if referrer is None:
        return f"no member has the referral code {display(canonical)}"
    if referrer.status != "active":
        return "the referrer's membership is blocked"
    return None


def self_referral(referrer: Person, referee: Person) -> str | None:
    """Same member, or the same email or phone on both sides."""
    if referrer.member_id == referee.member_id:
        return "self-referral: members cannot use their own referral code"
    if _same(referrer.email, referee.email):
        return "self-referral: the referee has the referrer's email address"
    if _same_phone(referrer.phone, referee.phone):
        return "self-referral: the referee has the referrer's phone number"
    return None


def already_known(purchases: int, signed_up_before: bool, referred_before: bool) -> str | None:
    """A referral is for a new customer: no purchase, signup or referral before this one."""
    if referred_before:
        return "referee already known: they were referred before"
    if purchases > 0:
        return "referee already known: they had made purchases before signing up"
    if signed_up_before:
        return "referee already known: they had signed up before"
    return None


def over_weekly_limit(earlier: list[datetime], at: datetime, max_per_week: int) -> str | None:
    """At most ``max_per_week`` referrals per referrer in any 7 days (rejected ones not counted)."""
    recent = sum(at - WEEK < t <= at for t in earlier)
    if recent >= max_per_week:
        return (
            f"the referrer already referred {recent} members in the 7 days before "
            f"(at most {max_per_week} a week)"
        )
    return None


def first_purchase_problem(
    amount: int,
    at: datetime,
    referred_at: datetime,
    *,
    min_amount: int,
    within_days: int,
    currency: str,
    shares_payment: bool,
) -> str | None:
    """Only the referee's first purchase after signing up counts; this says why it does not."""
    if shares_payment:
        return "self-referral: the first purchase was paid with a payment method the referrer uses"
    if at - referred_at > timedelta(days=within_days):
        days = (at - referred_at).days
        return f"first purchase {days} days after signing up, later than the {within_days} allowed"
    if amount < min_amount:
        return (
            f"first purchase {format_money(amount, currency)} below the minimum "
            f"{format_money(min_amount, currency)}"
        )
    return None


def refund_problem(amount: int, refunded: int, min_amount: int, currency: str) -> str | None:
    """A refund of the qualifying purchase, in full or below the minimum, undoes the referral."""
    left = amount - refunded
    if left <= 0:
        return "qualifying purchase refunded"
    if left < min_amount:
        return (
            f"qualifying purchase refunded down to {format_money(left, currency)}, "
            f"below the minimum {format_money(min_amount, currency)}"
        )
    return None

"""Referrals during event ingestion, in the batch's own transaction.

``referral_batch_loading`` (in ``batch_reads``) gives None when the program has
no ``referrals:`` section: then ingestion does not touch these tables at all.
Otherwise it reads, once per batch and only for the members concerned:

- the referrals of the batch's purchasers and of members signing up with a code
  (one query; most members have none);
- for signups with a code: the codes' owners, both sides' email and phone,
  earlier signups, and the referrers' referrals of the last 7 days;
- for refunds: the referrals their purchases qualified;
- for purchases carrying a ``payment_fingerprint``: whether a referrer paid
  with the same one.

Scoring then decides in memory, event by event in the batch's order:

- ``signup`` with attribute ``referral_code``: a referral, ``pending`` or
  ``rejected`` with the reason (bad or unknown code, self-referral, referee
  already known, referrer over the weekly limit). The signup itself always lands.
- the referee's first ``purchase`` after signing up decides a pending referral:
  at least ``min_amount`` within ``within_days`` (and not paid with a payment
  method the referrer uses) -> both sides rewarded; otherwise ``rejected``
  saying why. Only the first purchase counts: a referral asks for a new
  customer's first order, and one rule is easier to explain than a window.
- a ``refund`` of the qualifying purchase that leaves less than ``min_amount``
  (or nothing) -> ``rejected`` ("qualifying purchase refunded") and both rewards
  taken back.

``batch_writes.save_referrals`` writes it all after the events, before the
batch's refund reversals (so bulk point postings come before the ORM ones, as in
the rest of ingestion). The referrers a batch may touch are known before scoring
(``batch_reads.referrers_involved``): ingestion locks their point accounts with
its own members', so concurrent batches take turns per referrer and the weekly limit
holds under concurrency (tested with racing signups on PostgreSQL).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from patron.core.errors import InvalidInput
from patron.program.schema import Program
from patron.referrals import checks
from patron.referrals.codes import canonical
from patron.referrals.definition import ReferralsDefinition

if TYPE_CHECKING:
    from patron.events.rows import MemberState, Row

CODE_ATTRIBUTE = "referral_code"
FINGERPRINT_ATTRIBUTE = "payment_fingerprint"
MAX_CODE_TEXT = 32  # stored as typed, cut to this (a code is 8 characters)
MAX_ATTRIBUTE_TEXT = 200
SETTLED = ("qualified", "rewarded")  # what a refund of the qualifying purchase undoes


@dataclass
class _Referral:
    referee_id: int
    referrer_id: int | None
    code: str
    status: str
    reason: str | None
    referred_at: datetime
    id: int | None = None  # None until written
    signup_row: Row | None = None
    signup_event_id: int | None = None
    qualifying_row: Row | None = None
    qualifying_event_id: int | None = None
    qualifying_ext: str | None = None
    referrer_entry_id: int | None = None
    referee_entry_id: int | None = None
    referrer_coupon_id: int | None = None
    referee_coupon_id: int | None = None
    qualified_at: datetime | None = None
    rewarded_at: datetime | None = None
    rejected_at: datetime | None = None
    to_reward: bool = False
    take_back_for: Row | None = None  # the refund that undoes it
    changed: bool = False


@dataclass
class ReferralBatch:
    program: Program
    rules: ReferralsDefinition
    members: Mapping[int, MemberState]
    min_amount: int
    by_referee: dict[int, list[_Referral]] = field(default_factory=lambda: defaultdict(list))
    by_purchase: dict[str, _Referral] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)  # canonical code -> member id
    people: dict[int, checks.Person] = field(default_factory=dict)
    signed_up: set[int] = field(default_factory=set)
    recent: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    referrer_payments: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    touched: list[_Referral] = field(default_factory=list)

    # -- scoring --------------------------------------------------------------
    def check(self, row: Row) -> None:
        """Refuse attributes Patron cannot read, before the event is scored."""
        attrs = row.event.attributes
        for key, kind in ((CODE_ATTRIBUTE, "signup"), (FINGERPRINT_ATTRIBUTE, "purchase")):
            if key in attrs and row.event.type == kind:
                value = attrs[key]
                if not isinstance(value, str) or not value.strip():
                    raise InvalidInput(f"{key} must be a non-empty text", field=f"attributes.{key}")
                if len(value) > MAX_ATTRIBUTE_TEXT:
                    raise InvalidInput(
                        f"{key} has at most {MAX_ATTRIBUTE_TEXT} characters",
                        field=f"attributes.{key}",
                    )

    def after_event(self, row: Row) -> None:
        if row.event.type == "signup":
            self._signed_up(row)
        elif row.event.type == "purchase":
            fingerprint = _fingerprint(row)
            if fingerprint is not None:
                self.referrer_payments[row.member_id].add(fingerprint)
            self._first_purchase(row)

    def _signed_up(self, row: Row) -> None:
        typed = _code_text(row)
        mid = row.member_id
        if typed is None:
            self.signed_up.add(mid)
            return
        code = canonical(typed)
        referrer_id = self.owners.get(code) if code else None
        referrer = self.people.get(referrer_id) if referrer_id is not None else None
        referee = _as_given(self.people.get(mid) or checks.Person(mid), row.event.attributes)
        earlier = self.by_referee[mid]
        reason = (
            checks.code_problem(typed, code, referrer)
            or (checks.self_referral(referrer, referee) if referrer else None)
            or checks.already_known(
                self.members[mid].purchase_count, mid in self.signed_up, bool(earlier)
            )
            or checks.over_weekly_limit(
                self.recent[referrer_id] if referrer_id else [],
                row.occurred_at,
                self.rules.max_per_week,
            )
        )
        ref = _Referral(
            referee_id=mid,
            referrer_id=referrer_id,
            code=(code or typed.strip())[:MAX_CODE_TEXT],
            status="rejected" if reason else "pending",
            reason=reason,
            referred_at=row.occurred_at,
            signup_row=row,
            rejected_at=row.occurred_at if reason else None,
            changed=True,
        )
        earlier.append(ref)
        self.touched.append(ref)
        self.signed_up.add(mid)
        if reason is None and referrer_id is not None:
            self.recent[referrer_id].append(row.occurred_at)

    def _first_purchase(self, row: Row) -> None:
        ref = next(
            (x for x in self.by_referee.get(row.member_id, ()) if x.status == "pending"), None
        )
        if ref is None or row.occurred_at < ref.referred_at or row.facts is None:
            return
        fingerprint = _fingerprint(row)
        shared = (
            fingerprint is not None
            and ref.referrer_id is not None
            and fingerprint in self.referrer_payments[ref.referrer_id]
        )
        reason = checks.first_purchase_problem(
            row.facts.amount,
            row.occurred_at,
            ref.referred_at,
            min_amount=self.min_amount,
            within_days=self.rules.within_days,
            currency=self.program.currency,
            shares_payment=shared,
        )
        ref.qualifying_row, ref.qualifying_ext = row, row.event.external_id
        if reason is None:
            ref.status, ref.qualified_at, ref.to_reward = "qualified", row.occurred_at, True
            self.by_purchase[row.event.external_id] = ref
        else:
            ref.status, ref.reason, ref.rejected_at = "rejected", reason, row.occurred_at
        self._touch(ref)

    def after_refund(self, row: Row) -> None:
        refund = row.refund or {}
        purchase = refund.get("ref")
        ref = self.by_purchase.get(purchase.external_id) if purchase is not None else None
        if ref is None or ref.status not in SETTLED:
            return
        after = refund["after"]
        reason = checks.refund_problem(
            after.amount, after.refunded_amount, self.min_amount, self.program.currency
        )
        if reason is None:
            return
        ref.status, ref.reason, ref.rejected_at = "rejected", reason, row.occurred_at
        ref.take_back_for = row
        self._touch(ref)

    def _touch(self, ref: _Referral) -> None:
        if not ref.changed:
            ref.changed = True
            self.touched.append(ref)


def _as_given(person: checks.Person, attributes: dict[str, Any]) -> checks.Person:
    """The referee as the signup describes them: an ``email`` or ``phone`` attribute
    of the event counts as well as the member's own (a shop may send them there)."""
    email, phone = attributes.get("email"), attributes.get("phone")
    return checks.Person(
        person.member_id,
        email if isinstance(email, str) and email else person.email,
        phone if isinstance(phone, str) and phone else person.phone,
        person.status,
    )


def _code_text(row: Row) -> str | None:
    value = row.event.attributes.get(CODE_ATTRIBUTE)
    return value if isinstance(value, str) and value.strip() else None


def _fingerprint(row: Row) -> str | None:
    value = row.event.attributes.get(FINGERPRINT_ATTRIBUTE)
    return value if isinstance(value, str) and value else None

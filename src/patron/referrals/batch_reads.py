"""What a batch reads of referrals, as loaders for ``core.raw.gather``.

The reads ride with the batch's other reads: on PostgreSQL those of one step
share a round trip, so the referrals of the batch's purchasers travel with the
account locks instead of costing round trips of their own after them (with
the demo program, a batch of four purchases made three more round trips and
spent about a millisecond in the ORM for them). Statements are built once.
What the reads mean is described in :mod:`patron.referrals.batch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, or_, select

from patron.core.money import to_minor
from patron.core.raw import Ask, Loading, keys_in, unindexed
from patron.events.models import Event
from patron.members.models import Member
from patron.program.schema import Program
from patron.referrals import checks
from patron.referrals.batch import (
    FINGERPRINT_ATTRIBUTE,
    SETTLED,
    ReferralBatch,
    _code_text,
    _fingerprint,
    _Referral,
)
from patron.referrals.codes import canonical
from patron.referrals.models import Referral, ReferralCode

if TYPE_CHECKING:
    from patron.events.rows import MemberState, Row

# Not IN (...): SQLAlchemy renders a list as a parameter expanded per execution.
_SETTLED = or_(*(Referral.status == status for status in SETTLED))
# In the order of _Referral's first fields, so a row builds one directly.
_COLUMNS = (
    Referral.referee_id,
    Referral.referrer_id,
    Referral.code,
    Referral.status,
    Referral.reason,
    Referral.referred_at,
    Referral.id,
)
_IDS = (
    Referral.signup_event_id,
    Referral.qualifying_event_id,
    Referral.referrer_entry_id,
    Referral.referee_entry_id,
    Referral.referrer_coupon_id,
    Referral.referee_coupon_id,
    Referral.qualified_at,
    Referral.rewarded_at,
    Referral.rejected_at,
)
_OF_REFEREES = (
    select(*_COLUMNS, *_IDS).where(keys_in(Referral.referee_id, "keys")).order_by(Referral.id)
)
_QUALIFIED_BY = (
    select(*_COLUMNS, *_IDS, Event.external_id)
    .join(Event, Event.id == Referral.qualifying_event_id)
    .where(keys_in(Event.external_id, "keys"), _SETTLED)
)
_OWNERS = select(ReferralCode.code, ReferralCode.member_id).where(
    keys_in(ReferralCode.code, "keys")
)
_PENDING_REFERRERS = select(Referral.referrer_id).where(
    keys_in(Referral.referee_id, "keys"), Referral.status == "pending"
)
_SETTLED_REFERRERS = (
    select(Referral.referrer_id)
    .join(Event, Event.id == Referral.qualifying_event_id)
    .where(keys_in(Event.external_id, "keys"), _SETTLED)
)
_PEOPLE = select(Member.id, Member.email, Member.phone, Member.status).where(
    keys_in(Member.id, "keys")
)
# unindexed: SQLite must take the member index, not the type one
_SIGNED_UP = (
    select(Event.member_id)
    .where(keys_in(Event.member_id, "keys"), unindexed(Event.type) == "signup")
    .distinct()
)
_RECENT = select(Referral.referrer_id, Referral.referred_at).where(
    keys_in(Referral.referrer_id, "keys"),
    Referral.referred_at > bindparam("since"),
    Referral.status != "rejected",
)
_USED = Event.attributes[FINGERPRINT_ATTRIBUTE].as_string()
_PAYMENTS = select(Event.member_id, _USED).where(
    keys_in(Event.member_id, "keys"),
    unindexed(Event.type) == "purchase",
    keys_in(_USED, "paid"),
)


def _ask(statement: Any, keys: Any, **params: Any) -> Ask:
    return Ask(statement, {"keys": sorted(keys), **params}, keys=("keys", *params))


def _referral(row: Sequence[Any]) -> _Referral:
    ref = _Referral(*row[: len(_COLUMNS)])
    (
        ref.signup_event_id,
        ref.qualifying_event_id,
        ref.referrer_entry_id,
        ref.referee_entry_id,
        ref.referrer_coupon_id,
        ref.referee_coupon_id,
        ref.qualified_at,
        ref.rewarded_at,
        ref.rejected_at,
    ) = row[len(_COLUMNS) : len(_COLUMNS) + len(_IDS)]
    return ref


def _codes(rows: Sequence[Row]) -> set[str]:
    typed = (_code_text(r) for r in rows if r.event.type == "signup")
    return {c for c in (canonical(t) for t in typed if t is not None) if c}


def referrers_involved(program: Program, rows: Sequence[Row]) -> Loading[set[int]]:
    """The referrers whose points a batch may credit or take back (see
    ``ReferralBatch``: ingestion locks their accounts with its own members')."""
    if program.referrals is None:
        return set()
    codes = _codes(rows)
    purchasers = {r.member_id for r in rows if r.event.type == "purchase"}
    refunded = {r.event.refund_of for r in rows if r.event.type == "refund" and r.event.refund_of}
    asks = [
        _ask(statement, keys)
        for statement, keys in (
            (_OWNERS, codes),
            (_PENDING_REFERRERS, purchasers),
            (_SETTLED_REFERRERS, refunded),
        )
        if keys
    ]
    if not asks:
        return set()
    found = yield asks
    # The member is each row's last column (the owners' rows lead with the code).
    return {row[-1] for rows_of in found for row in rows_of if row[-1] is not None}


def referral_batch_loading(
    program: Program, rows: Sequence[Row], members: Mapping[int, MemberState]
) -> Loading[ReferralBatch | None]:
    """A :class:`ReferralBatch` with what the batch's rows need; None without a
    referrals section. Two steps at most: the second only for signups with a code
    and purchases carrying a payment fingerprint."""
    rules = program.referrals
    if rules is None:
        return None
    batch = ReferralBatch(program, rules, members, to_minor(rules.min_amount, program.currency))
    signups = [r for r in rows if r.event.type == "signup" and _code_text(r) is not None]
    purchases = [r for r in rows if r.event.type == "purchase"]
    referees = {r.member_id for r in signups} | {r.member_id for r in purchases}
    refunded = {r.event.refund_of for r in rows if r.event.type == "refund" and r.event.refund_of}
    codes = _codes(signups)
    signup_members = {r.member_id for r in signups}
    first: dict[str, Ask] = {}
    if referees:
        first["referrals"] = _ask(_OF_REFEREES, referees)
    if refunded:
        first["qualified"] = _ask(_QUALIFIED_BY, refunded)
    if codes:
        first["owners"] = _ask(_OWNERS, codes)
    if signups:
        first["people"] = _ask(_PEOPLE, signup_members)
        first["signed_up"] = _ask(_SIGNED_UP, signup_members)
    got = dict(zip(first, (yield list(first.values())) if first else [], strict=True))
    for row in got.get("referrals", ()):
        ref = _referral(row)
        batch.by_referee[ref.referee_id].append(ref)
    for row in got.get("qualified", ()):
        ref, ext = _referral(row), row[-1]
        known = next((x for x in batch.by_referee[ref.referee_id] if x.id == ref.id), None)
        if known is None:
            known = ref
            batch.by_referee[ref.referee_id].append(known)
        known.qualifying_ext = ext
        batch.by_purchase[ext] = known
    batch.owners = {code: mid for code, mid in got.get("owners", ())}
    for mid, email, phone, status in got.get("people", ()):
        batch.people[mid] = checks.Person(mid, email, phone, status)
    batch.signed_up = {mid for (mid,) in got.get("signed_up", ())}

    second: dict[str, Ask] = {}
    owners = set(batch.owners.values())
    if owners - batch.people.keys():
        second["people"] = _ask(_PEOPLE, owners - batch.people.keys())
    if owners:
        since = min(r.occurred_at for r in signups) - checks.WEEK
        second["recent"] = Ask(_RECENT, {"keys": sorted(owners), "since": since}, keys=("keys",))
    paid = {f for f in (_fingerprint(r) for r in purchases) if f is not None}
    referrers = {x.referrer_id for refs in batch.by_referee.values() for x in refs} | owners
    referrers.discard(None)
    if paid and referrers:
        second["payments"] = _ask(_PAYMENTS, referrers, paid=sorted(paid))
    if not second:
        return batch
    got = dict(zip(second, (yield list(second.values())), strict=True))
    for mid, email, phone, status in got.get("people", ()):
        batch.people[mid] = checks.Person(mid, email, phone, status)
    for referrer, at in got.get("recent", ()):
        batch.recent[referrer or 0].append(at)
    for mid, fingerprint in got.get("payments", ()):
        batch.referrer_payments[mid].add(fingerprint)
    return batch

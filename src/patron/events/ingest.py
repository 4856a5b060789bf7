"""Batch ingestion: event -> rules -> effects -> ledger, in one transaction.

Batch-first by design: a single ``POST /v1/events`` is a batch of one. Each
row is validated on its own (a bad row is rejected with its reason and the
good rows still land); everything a batch writes is written with a handful
of bulk statements, which is what lets an import score thousands of events
a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, pipelined, update_rows
from patron.core.clock import now
from patron.core.db import table_of
from patron.core.driver import is_postgres
from patron.core.errors import InvalidInput, PatronError
from patron.core.ids import reserving_ids
from patron.core.raw import Loading, gather
from patron.events.batch_state import BatchState
from patron.events.budget_claims import BudgetContention
from patron.events.models import Event
from patron.events.named_members import member_of, members_with_enrolled
from patron.events.reads import (
    MemberRow,
    lock_accounts_with_members,
    members_named,
    stored_events,
)
from patron.events.retries import answer_repeats, sort_out_retries
from patron.events.rows import MemberState, Row, event_record
from patron.events.schemas import BatchResult, EventIn, Outcome
from patron.events.validation import check_shape, parse_row, payload_hash, to_facts
from patron.ledger.posting import (
    ENTRIES,
    AccountState,
    Earning,
    IdleGap,
    idle_gap,
    locking_accounts,
    pin_idle_expiry,
    post_earnings,
)
from patron.ledger.schemas import MAX_POINTS
from patron.members.models import Member
from patron.program.schema import Program
from patron.program.service import program_in_force, program_required
from patron.referrals.batch_reads import referral_batch_loading, referrers_involved
from patron.referrals.batch_writes import save_referrals
from patron.rules.engine import evaluate
from patron.rules.types import MemberFacts
from patron.stamps.batch_reads import stamp_batch_loading
from patron.stamps.batch_writes import STAMPS, save_stamps, stamp_ids_wanted, writes_only_rows
from patron.tiers.batch import TierBatch, member_tier_facts

EVENTS = table_of(Event)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MEMBERS = table_of(Member)


def ingest(session: Session, raw_rows: Sequence[Any], *, at: datetime | None = None) -> BatchResult:
    """Ingest ``raw_rows`` (dicts or EventIn); returns one result per row, in order."""
    return BatchResult.of(ingest_outcomes(session, raw_rows, at=at))


def ingest_outcomes(
    session: Session, raw_rows: Sequence[Any], *, at: datetime | None = None
) -> list[Outcome]:
    """:func:`ingest` for callers that read a few fields of each result (the importer):
    plain outcomes, with no response model built for each row."""
    at = at or now()
    try:
        return _Batch(session, at).run(raw_rows)
    except BudgetContention:  # the batch's writes but enrolments were rolled back
        return _Batch(session, at, lock_budgets=True).run(raw_rows)


class _Batch:
    program: Program
    version: int

    def __init__(self, session: Session, at: datetime, lock_budgets: bool = False) -> None:
        self.session, self.at = session, at
        self.lock_budgets = lock_budgets
        self.results: list[Outcome] = []
        self.rows: list[Row] = []

    # -- the pipeline -------------------------------------------------------
    def run(self, raw_rows: Sequence[Any]) -> list[Outcome]:
        self.results = [Outcome(i) for i in range(len(raw_rows))]
        events = self._parse(raw_rows)
        # The program, retries and members in one round trip (the members of every
        # row: one that turns out a duplicate or malformed costs a key, not a read).
        found, known, named = gather(
            self.session,
            program_in_force(self.session),
            stored_events({event.external_id for _, event in events}),
            members_named(
                {e.member_id for _, e in events if e.member_id is not None},
                {e.member_external_id for _, e in events if e.member_external_id},
            ),
        )
        self.version, self.program = program_required(found)
        parsed = self._check(events)
        fresh, self._first_rows = sort_out_retries(
            self.session, self.program, parsed, known, self.results
        )
        self._resolve_members(fresh, named)
        self._score(fresh)
        self._write()
        return self.results

    def _reject(self, index: int, error: PatronError) -> None:
        result = self.results[index]
        result.status, result.error = "rejected", error.to_problem()

    def _parse(self, raw_rows: Sequence[Any]) -> list[tuple[int, EventIn]]:
        """Each row as an EventIn (what needs no program); a bad row is rejected."""
        events = []
        for i, raw in enumerate(raw_rows):
            if isinstance(raw, dict) and isinstance(raw.get("external_id"), str):
                self.results[i].external_id = raw["external_id"]
            try:
                event = parse_row(raw)
            except PatronError as exc:
                self._reject(i, exc)
                continue
            self.results[i].external_id = event.external_id
            events.append((i, event))
        return events

    def _check(self, events: list[tuple[int, EventIn]]) -> list[Row]:
        """What the program decides (currency, amounts); the rows that pass."""
        rows = []
        for i, event in events:
            try:
                lines = check_shape(event, self.program.currency, self.at)
            except PatronError as exc:
                self._reject(i, exc)
                continue
            # In UTC from here on (pydantic's own UTC zone is not datetime.UTC, and every
            # write and period key would otherwise convert it again).
            at = self.at if event.occurred_at is None else event.occurred_at.astimezone(UTC)
            rows.append(Row(i, event, payload_hash(event), at, lines=lines))
        return rows

    def _resolve_members(self, rows: list[Row], found: list[MemberRow]) -> None:
        self.members, ext_to_id = members_with_enrolled(
            self.session, self.program, rows, found, self.at
        )
        for row in rows:
            try:
                row.member_id = member_of(row, ext_to_id, self.members)
            except PatronError as exc:
                self._reject(row.index, exc)
        live = {r.member_id for r in rows if r.member_id}
        # Referrers this batch may pay are locked now too: one lock order, and their
        # week of referrals is read only once no other batch can add to it.
        (referrers,) = gather(
            self.session, referrers_involved(self.program, [r for r in rows if r.member_id])
        )
        live |= referrers
        self._to_lock, self._found = sorted(live), {m.id for m in found}

    def _locking(self, member_ids: list[int], known: set[int]) -> Loading[dict[int, AccountState]]:
        """Lock the accounts, and on PostgreSQL re-read what scoring depends on.

        On PostgreSQL another transaction may have scored an event for the same
        member between our first read and the lock (its commit released the lock
        we waited on); without this re-read its purchase would be invisible here:
        a second first-purchase bonus, a lost purchase count. The members' rows
        come with the locking statement itself, one round trip, and are locked
        too: a statement that waited for a lock reads the committed versions of
        the rows it locks, and only of those (the batch updates these member
        rows anyway). SQLite writers are already serialised by ``BEGIN IMMEDIATE``.
        """
        if not is_postgres(self.session):
            return (yield from locking_accounts(member_ids))
        if not member_ids:
            return {}
        (locked,) = yield [lock_accounts_with_members(member_ids)]
        accounts = {}
        for mid, balance, debt, status, attributes, purchases, last_activity in locked:
            accounts[mid] = AccountState(balance, debt)
            if mid in known:
                state = self.members[mid]
                state.status, state.attributes = status, dict(attributes or {})
                state.purchase_count, state.last_activity_at = purchases, last_activity
        return accounts

    # -- scoring ------------------------------------------------------------
    def _score(self, rows: list[Row]) -> None:
        live = [r for r in rows if r.member_id]
        # One round trip on PostgreSQL (core.raw.gather). The lock first: the reads
        # sent behind it run once it is held. Ids for as many events and entries as
        # the batch may write; the unused ones are gaps in the sequences (core.ids).
        self.accounts, self.state, self.tiers, self.ids, self.stamps, self.referrals = gather(
            self.session,
            self._locking(self._to_lock, self._found),
            BatchState.loading(self.session, self.program, live, lock_budgets=self.lock_budgets),
            TierBatch.loading(self.program, live),  # None without tiers
            reserving_ids(
                self.session,
                {
                    EVENTS: len(live),
                    ENTRIES: len(live),
                    STAMPS: stamp_ids_wanted(self.program, live),
                },
            ),
            # None without stamp cards, or without a referrals section
            stamp_batch_loading(self.session, self.program, live, self.members),
            referral_batch_loading(self.program, live, self.members),
        )
        if self.stamps is not None:
            self.stamps.stamp_ids = self.ids[STAMPS]
        self.accepted: list[Row] = []
        self.idle_gaps: list[IdleGap] = []
        for row in live:
            try:
                if self.referrals is not None:
                    self.referrals.check(row)
                if row.event.type == "refund":
                    self.state.check_refund(row)
                    if self.tiers is not None:
                        self.tiers.after_refund(row)
                    if self.stamps is not None:  # None without stamp cards
                        self.stamps.after_refund(row)
                    if self.referrals is not None:
                        self.referrals.after_refund(row)
                else:
                    self._evaluate(row)
            except PatronError as exc:
                self._reject(row.index, exc)
                continue
            member = self.members[row.member_id]
            if member.last_activity_at is None or row.occurred_at > member.last_activity_at:
                self._note_idle_gap(member, row.occurred_at)
                member.last_activity_at, member.changed = row.occurred_at, True
            self.accepted.append(row)

    def _note_idle_gap(self, member: MemberState, back_at: datetime) -> None:
        """Under an inactivity policy, a member back after longer away than it
        allows: what they held expired on the way (``ledger.posting.pin_idle_expiry``).
        Without any activity yet, each lot's own date counts (no lot is older than
        the enrolment it follows)."""
        gap = idle_gap(self.program, member.id, member.last_activity_at or EPOCH, back_at)
        if gap is not None:
            self.idle_gaps.append(gap)

    def _evaluate(self, row: Row) -> None:
        member = self.members[row.member_id]
        row.facts = to_facts(row.event, self.program.currency, row.occurred_at, row.lines)
        # The level held before this event: one that crosses a threshold earns at the old level.
        tier, multiplier = (
            self.tiers.facts(member.id)
            if self.tiers is not None
            else (member_tier_facts(member.attributes), None)
        )
        facts = MemberFacts(
            member_id=member.id,
            status=member.status,
            attributes=member.attributes,
            purchase_count=member.purchase_count,
            tier=tier,
            tier_multiplier=multiplier,
            rule_usage=self.state.usage_view(member.id),
        )
        evaluation = evaluate(self.program, row.facts, facts, budgets_used=self.state.budgets)
        awards = [a for a in evaluation.effects if a.points > 0]
        total = sum(a.points for a in awards)
        if total > MAX_POINTS:
            raise InvalidInput(
                f"this event would earn {total} points, more than the {MAX_POINTS} "
                "one event may earn",
                field="amount",
            )
        for award in awards:
            self.state.record_award(member.id, award)
        row.awards = awards  # AwardOut only if a response is built (Outcome.result)
        row.points = total
        if awards:
            # One entry and one lot per event; the awards it is made of travel with it.
            row.earning = Earning(
                member_id=member.id,
                points=row.points,
                explanation="; ".join(a.explanation for a in awards),
                earned_at=row.occurred_at,
                available_at=self.program.available_at(row.occurred_at),
                expires_at=self.program.expires_at(row.occurred_at),
                rule_id=awards[0].rule_id if len(awards) == 1 else None,
                awards=[
                    {
                        "rule_id": a.rule_id,
                        "points": a.points,
                        "explanation": a.explanation,
                        "basis": None
                        if a.basis is None
                        else {str(k): v for k, v in a.basis.items()},
                    }
                    for a in awards
                ],
            )
        if row.event.type == "purchase":
            member.purchase_count += 1
            member.changed = True
        self.state.remember_purchase(row)
        if self.tiers is not None:
            self.tiers.after_event(row)  # upgrade at once when a threshold is crossed
        if self.stamps is not None:
            self.stamps.after_event(row)  # stamps, full cards, their coupons
        if self.referrals is not None:
            self.referrals.after_event(row)  # a signup with a code, a referee's first purchase

    # -- writing ------------------------------------------------------------
    def _write(self) -> None:
        rows = self.accepted
        if not rows:
            return
        self.state.create_missing_budgets(self.session)
        entries_wanted = sum(row.earning is not None for row in rows)
        event_ids, entry_ids = self.ids[EVENTS][: len(rows)], self.ids[ENTRIES][:entries_wanted]
        earnings = []
        for row, event_id in zip(rows, event_ids, strict=True):
            row.event_id = event_id
            if row.earning is not None:
                row.earning.event_id = event_id
                earnings.append(row.earning)
        with pipelined(self.session, len(rows)):
            claims = self.state.claim_budgets(self.session)
            insert_rows(
                self.session,
                EVENTS,
                [event_record(r, self.at, self.program.currency, self.version) for r in rows],
            )
            post_earnings(self.session, earnings, self.accounts, self.at, entry_ids=entry_ids)
            self.state.save(self.session)
            self._save_members()
            if self.tiers is not None:
                self.tiers.save(self.session, self.members, self.at)
            stamped = self.stamps is not None and writes_only_rows(self.stamps)
            if stamped:
                save_stamps(self.stamps, self.session, self.at)
        if claims is not None:
            claims.settle()  # a budget overshot: all of the above undone, BudgetContention
        pin_idle_expiry(self.session, self.idle_gaps)  # before refunds take from lots
        if self.stamps is not None and not stamped:
            save_stamps(self.stamps, self.session, self.at)
        if self.referrals is not None:  # before the refunds' own (ORM) reversals
            save_referrals(self.referrals, self.session, self.accounts, self.at)
        for row in rows:
            if row.event.type == "refund":
                self.state.reverse(self.session, row, self.at)
        for row in rows:
            res = self.results[row.index]
            res.status, res.event_id, res.member_id = "accepted", row.event_id, row.member_id
            res.points, res.awards, res.program_version = row.points, row.awards, self.version
            res.occurred_at = row.occurred_at
            if self.stamps is not None:
                res.stamp_cards = self.stamps.explanations(row)
        answer_repeats(self.results, self._first_rows)

    def _save_members(self) -> None:
        changed = [m for m in self.members.values() if m.changed]
        if changed:
            update_rows(
                self.session,
                MEMBERS,
                "id",
                [
                    {
                        "id": m.id,
                        "purchase_count": m.purchase_count,
                        "last_activity_at": m.last_activity_at,
                    }
                    for m in sorted(changed, key=lambda m: m.id)
                ],
            )

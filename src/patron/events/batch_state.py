"""What a batch needs to know beyond the event: cap usage, rule budgets and
the purchases its refunds refer to. Loaded in bulk, updated in memory while
the batch is scored, saved in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import table_of
from patron.core.driver import array_literal, is_postgres
from patron.core.errors import InvalidInput, NotFound
from patron.core.money import format_money, to_minor
from patron.core.raw import Ask, Loading, keys_in
from patron.events.budget_claims import BudgetClaims
from patron.events.models import Event
from patron.events.refunds import RefundState, apply_refund, points_to_take_back
from patron.ledger.models import LedgerEntry, RuleBudget, RuleUsage
from patron.ledger.service import ensure_budget_rows, reverse_points
from patron.program.schema import Program
from patron.rules.compiled import compiled_program
from patron.rules.types import AwardPoints

if TYPE_CHECKING:
    from patron.events.rows import Row


@dataclass
class PurchaseRef:
    external_id: str
    member_id: int
    event_id: int | None  # None while the purchase is in this same batch
    occurred_at: datetime
    skus: list[str]
    state: RefundState
    row: Row | None = None


def _stored_usage(session: Session, wanted: list[tuple[int, str, str]]) -> Ask:
    """The read of (member, rule, period, points) of the stored usage among ``wanted``.

    The triples travel as one parameter (arrays on PostgreSQL, a JSON array on
    SQLite) and are joined to the primary key: a row-value IN list would be
    planned as an OR of thousands of conditions on PostgreSQL, and compiling
    its thousands of parameters cost more than the query on SQLite.
    """
    if is_postgres(session):
        return Ask(
            _USAGE_BY_ARRAYS,
            {
                "m": array_literal(w[0] for w in wanted),
                "r": array_literal(w[1] for w in wanted),
                "k": array_literal(w[2] for w in wanted),
            },
        )
    return Ask(_USAGE_BY_JSON, {"w": orjson.dumps(wanted).decode()})


_USAGE_BY_ARRAYS = (
    "SELECT u.member_id, u.rule_id, u.period_key, u.points FROM rule_usage AS u "
    "JOIN unnest(CAST(%(m)s AS bigint[]), CAST(%(r)s AS text[]), CAST(%(k)s AS text[])) "
    "AS w(m, r, k) ON u.rule_id = w.r AND u.member_id = w.m AND u.period_key = w.k"
)
# CROSS JOIN keeps the wanted triples as the outer loop: one primary-key probe each.
_USAGE_BY_JSON = text(
    "SELECT u.member_id, u.rule_id, u.period_key, u.points FROM json_each(:w) AS w "
    "CROSS JOIN rule_usage AS u ON u.rule_id = json_extract(w.value, '$[1]') "
    "AND u.member_id = json_extract(w.value, '$[0]') "
    "AND u.period_key = json_extract(w.value, '$[2]')"
)


_BUDGETS = select(RuleBudget.rule_id, RuleBudget.awarded).where(keys_in(RuleBudget.rule_id, "keys"))
_BUDGETS_LOCKED = _BUDGETS.with_for_update()


class BatchState:
    """Budgets are read optimistically: the batch adds what it gave with one atomic
    ``UPDATE ... RETURNING`` as the first of its writes, and only if that
    overshoots a budget is the batch rerun holding the budget rows
    (``lock_budgets``, see ``events.budget_claims``). Batches far from a budget
    never rerun; two that award from the same budget wait for each other only
    from that claim to commit."""

    def __init__(self, program: Program, lock_budgets: bool = False) -> None:
        self.program = program
        self.lock_budgets = lock_budgets
        self.budget_limits = {r.id: r.budget for r in program.rules if r.budget is not None}
        self.budget_given: dict[str, int] = defaultdict(int)
        self.usage: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
        self.usage_stored: set[tuple[int, str, str]] = set()
        self.usage_changed: set[tuple[int, str, str]] = set()
        self.budgets: dict[str, int] = {}
        self.budgets_stored: set[str] = set()
        self.budgeted = {r.id for r in program.rules if r.budget is not None}
        self.purchases: dict[str, PurchaseRef] = {}  # read, or scored and then refunded
        self.scored_purchases: dict[str, Row] = {}  # this batch's, by external id
        self.touched_purchases: dict[int, PurchaseRef] = {}
        self.not_purchases: dict[str, str] = {}  # external id -> type, of what refunds name

    @classmethod
    def loading(
        cls,
        session: Session,
        program: Program,
        rows: list[Row],
        *,
        lock_budgets: bool = False,
    ) -> Loading[BatchState]:
        """The batch's cap usage and budgets, read together (see core.raw.gather)."""
        state = cls(program, lock_budgets)
        usage, budgets = state._usage_ask(session, rows), state._budgets_ask()
        asks = [a for a in (usage, budgets) if a is not None]
        found = iter((yield asks) if asks else [])
        if usage is not None:
            for member_id, rule_id, key, points in next(found):
                state.usage[member_id][(rule_id, key)] = points
                state.usage_stored.add((member_id, rule_id, key))
        if budgets is not None:
            for rule_id, awarded in next(found):
                state.budgets[rule_id] = awarded
                state.budgets_stored.add(rule_id)
        state.load_purchases(session, rows)
        return state

    # -- caps and budgets ---------------------------------------------------
    def _usage_ask(self, session: Session, rows: list[Row]) -> Ask | None:
        if not rows or not any(r.cap is not None for r in self.program.rules):
            return None
        compiled = compiled_program(self.program)
        zone = compiled.zone
        # Exactly the (member, rule, period) triples the batch can touch: separate IN
        # lists per column would make the database probe their whole product.
        triples: set[tuple[int, str, str]] = set()
        for row in rows:
            capped = compiled.capped(row.event.type)
            if not capped:
                continue
            at = row.occurred_at
            # Once per row, not per rule; a naive time is UTC, as in period_key.
            local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone)
            triples.update((row.member_id, r.id, r.period(local)) for r in capped)
        return _stored_usage(session, sorted(triples)) if triples else None

    def _budgets_ask(self) -> Ask | None:
        if not self.budgeted:
            return None
        query = _BUDGETS_LOCKED if self.lock_budgets else _BUDGETS
        return Ask(query, {"keys": self.budgeted}, keys=("keys",))

    def usage_view(self, member_id: int) -> Mapping[tuple[str, str], int]:
        return self.usage.get(member_id, {})

    def record_award(self, member_id: int, award: AwardPoints) -> None:
        if award.period_key is not None:
            key = (award.rule_id, award.period_key)
            mine = self.usage[member_id]
            mine[key] = mine.get(key, 0) + award.points
            self.usage_changed.add((member_id, award.rule_id, award.period_key))
        if award.rule_id in self.budgeted:
            self.budgets[award.rule_id] = self.budgets.get(award.rule_id, 0) + award.points
            self.budget_given[award.rule_id] += award.points

    def save(self, session: Session) -> None:
        new: list[dict[str, Any]] = []
        old: list[dict[str, Any]] = []
        for member_id, usage in self.usage.items():
            for (rule, key), points in usage.items():
                if (member_id, rule, key) not in self.usage_changed:
                    continue
                row = {"rule_id": rule, "member_id": member_id, "period_key": key, "points": points}
                (old if (member_id, rule, key) in self.usage_stored else new).append(row)
        insert_rows(session, table_of(RuleUsage), new)
        update_rows(session, table_of(RuleUsage), ("rule_id", "member_id", "period_key"), old)

    def create_missing_budgets(self, session: Session) -> None:
        """Create a missing budget counter row (programs saved by an older version);
        before the write pipeline, as it goes through the ORM."""
        missing = sorted(r for r in self.budget_given if r not in self.budgets_stored)
        if missing:
            ensure_budget_rows(session, missing)

    def claim_budgets(self, session: Session) -> BudgetClaims | None:
        """Add what this batch gave to each rule budget: the first of its writes
        (see ``events.budget_claims``); settle the claims once the writes have run."""
        if not self.budget_given:
            return None
        return BudgetClaims(session, self.budget_given, self.budget_limits)

    # -- refunds ------------------------------------------------------------
    def load_purchases(self, session: Session, rows: list[Row]) -> None:
        """The stored purchases ``rows``' refunds name, with what is refunded of each."""
        wanted = {r.event.refund_of for r in rows if r.event.type == "refund" and r.event.refund_of}
        if not wanted:
            return
        named = list(session.scalars(select(Event).where(Event.external_id.in_(wanted))))
        found = {e.id: e for e in named if e.type == "purchase"}
        # What a refund names that is no purchase, to say so (not "no purchase with ...").
        self.not_purchases = {e.external_id: e.type for e in named if e.type != "purchase"}
        earlier: dict[int, list[Any]] = defaultdict(list)
        for refund in session.scalars(select(Event).where(Event.refund_of_id.in_(found))):
            earlier[refund.refund_of_id or 0].append(refund)
        for e in found.values():
            lines = e.lines or []
            state = RefundState(
                e.amount, [li["quantity"] for li in lines], [li["unit_price"] for li in lines]
            )
            for refund in earlier[e.id]:
                state.refunded_amount += refund.amount
                for li in refund.lines or []:
                    state.refunded_quantities[li["line"]] += li["quantity"]
            self.purchases[e.external_id] = PurchaseRef(
                e.external_id, e.member_id, e.id, e.occurred_at, [li["sku"] for li in lines], state
            )

    def remember_purchase(self, row: Row) -> None:
        """A purchase a later refund in the batch may name; its refund state is
        built only if one does (most batches have no refunds)."""
        if row.event.type == "purchase" and row.facts is not None:
            self.scored_purchases[row.event.external_id] = row

    def _purchase(self, external_id: str) -> PurchaseRef | None:
        ref = self.purchases.get(external_id)
        row = self.scored_purchases.get(external_id) if ref is None else None
        if row is not None and row.facts is not None:
            lines = row.facts.lines
            ref = self.purchases[external_id] = PurchaseRef(
                external_id,
                row.member_id,
                None,
                row.occurred_at,
                [li.sku for li in lines],
                RefundState(
                    row.facts.amount,
                    [li.quantity for li in lines],
                    [li.unit_price for li in lines],
                ),
                row=row,
            )
        return ref

    def check_refund(self, row: Row) -> None:
        ev = row.event
        ref = self._purchase(ev.refund_of or "")
        if ref is None:
            kind = self.not_purchases.get(ev.refund_of or "")
            if kind is not None:
                raise InvalidInput(
                    f"{ev.refund_of} is a {kind} event, not a purchase: only purchases are "
                    "refunded",
                    field="refund_of",
                )
            raise NotFound(f"no purchase with external_id {ev.refund_of}", field="refund_of")
        if ref.member_id != row.member_id:
            raise InvalidInput("the refunded purchase belongs to another member", field="refund_of")
        if row.occurred_at < ref.occurred_at:
            raise InvalidInput("a refund cannot happen before its purchase", field="occurred_at")
        before = ref.state.copy()
        amount = to_minor(ev.amount, self.program.currency) if ev.amount is not None else None
        trial = ref.state.copy()
        refunded, lines = apply_refund(
            trial,
            ref.skus,
            [(li.sku, li.quantity) for li in ev.lines] or None,
            amount,
            self.program.currency,
        )
        ref.state = trial
        row.refund = {
            "amount": refunded,
            "lines": lines,
            "purchase_id": ref.event_id,
            "ref": ref,
            "before": before,
            "after": trial.copy(),
        }

    def take_back(self, session: Session, row: Row) -> tuple[int, str, int]:
        """What a checked refund (:meth:`check_refund`) takes back: the points its
        refunded part earned, their explanation, and the purchase's event id.
        Reads only: ingestion posts it (:meth:`reverse`), simulation shows it."""
        assert row.refund is not None
        ref: PurchaseRef = row.refund["ref"]
        purchase_id = (
            ref.event_id if ref.event_id is not None else (ref.row.event_id if ref.row else None)
        )
        assert purchase_id is not None
        awards = [
            (a["points"], a["basis"])
            for entry_awards in session.scalars(
                select(LedgerEntry.awards).where(
                    LedgerEntry.event_id == purchase_id, LedgerEntry.kind == "earn"
                )
            )
            for a in entry_awards or []
        ]
        owed = points_to_take_back(awards, row.refund["after"]) - points_to_take_back(
            awards, row.refund["before"]
        )
        what = _refund_words(row.refund, self.program.currency)
        explanation = (
            f"-{owed} pts: {what} of {ref.external_id}"
            if owed
            else f"0 pts: {what} of {ref.external_id} (no points to take back)"
        )
        return owed, explanation, purchase_id

    def reverse(self, session: Session, row: Row, at: datetime) -> None:
        """Take back the points the refunded part of the purchase earned."""
        assert row.refund is not None and row.event_id is not None
        owed, explanation, purchase_id = self.take_back(session, row)
        reverse_points(
            session,
            row.member_id,
            owed,
            refund_event_id=row.event_id,
            purchase_event_id=purchase_id,
            explanation=explanation,
            at=at,
            program=self.program,
            as_of=row.occurred_at,
        )
        row.points = -owed
        from patron.events.schemas import AwardOut

        row.awards = [AwardOut(rule_id=None, points=-owed, explanation=explanation)]
        session.execute(
            update(Event)
            .where(Event.id == row.event_id)
            .values(points=-owed, refund_of_id=purchase_id)
        )
        session.execute(
            update(Event)
            .where(Event.id == purchase_id)
            .values(refunded_amount=row.refund["after"].refunded_amount)
        )


def _refund_words(refund: dict[str, Any], currency: str) -> str:
    after: RefundState = refund["after"]
    if refund["lines"] and not after.full:
        items = ", ".join(f"{li['quantity']} x {li['sku']}" for li in refund["lines"])
        return f"refund of {items}"
    if after.full and refund["before"].refunded_amount == 0:
        return "full refund"
    return f"refund of {format_money(refund['amount'], currency)}"

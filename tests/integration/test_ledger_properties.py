"""Property test: any sequence of earns, refunds, spends, adjustments, expiry
runs and clock moves keeps the ledger consistent, on every backend.

balance = sum of entries = sum of remaining lots - debt; no lot below zero or
above what it was earned with; no spend ever took pending or expired points.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from patron.core import clock as clock_module
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import PatronError
from patron.events.ingest import ingest
from patron.events.models import Event
from patron.ledger.jobs import run_jobs
from patron.ledger.models import LedgerEntry, LotAllocation, PointAccount, PointLot
from patron.ledger.service import adjust, debit, get_balance
from patron.members.models import Member
from patron.program.service import require_program
from tests.conftest import BACKENDS, _truncate_all
from tests.integration.conftest import load_program

PROGRAM = {
    "name": "Property shop",
    "currency": "USD",
    "points": {"pending_days": 3, "expiry": {"policy": "rolling", "days": 30}},
    "rules": [
        {
            "id": "base",
            "when": {"event": "purchase"},
            "effect": {"points_per": {"points": 1, "per": "1.00"}},
        },
        {
            "id": "welcome",
            "when": {"event": "purchase", "first_purchase": True},
            "effect": {"fixed": 25},
        },
    ],
}
MEMBERS = ["ann", "ann", "ann", "bob"]  # mostly one member, so paths cross

# Weighted so that interesting paths (spend, then refund, then earn again: debt
# and its repayment; expiry of partly spent lots) come up often.
ops = st.one_of(
    st.tuples(st.just("earn"), st.sampled_from(MEMBERS), st.integers(100, 8_000)),
    st.tuples(st.just("earn"), st.sampled_from(MEMBERS), st.integers(1, 20_000)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.one_of(st.none(), st.integers(1, 5_000))),
    st.tuples(st.just("refund"), st.integers(0, 50), st.none()),
    st.tuples(st.just("spend"), st.sampled_from(MEMBERS), st.integers(1, 80)),
    st.tuples(st.just("spend_all"), st.sampled_from(MEMBERS)),
    st.tuples(st.just("adjust"), st.sampled_from(MEMBERS), st.integers(-200, 200)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("move"), st.integers(1, 12)),
    st.tuples(st.just("move"), st.floats(0.1, 40).map(lambda d: round(d, 2))),
)


@pytest.fixture(params=BACKENDS, scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def fresh_database(backend: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp())
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "p.db")
        database = Database(f"sqlite:///{folder / 'p.db'}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(database)
    try:
        yield database
    finally:
        database.dispose()
        if backend == "sqlite":
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def shop(
    backend: str, request: pytest.FixtureRequest, program: dict[str, Any]
) -> Iterator[tuple[Database, FrozenClock]]:
    """A fresh database with ``program`` loaded, and the frozen clock the steps move."""
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    previous = clock_module.set_clock(clock)
    try:
        with fresh_database(backend, request) as database:
            load_program(database, program, clock)
            yield database, clock
    finally:
        clock_module.set_clock(previous)


def check_invariants(database: Database, clock: FrozenClock) -> None:
    with database.unit_of_work() as session:
        for account in session.scalars(select(PointAccount)):
            m = account.member_id
            entries = session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
                    LedgerEntry.member_id == m
                )
            )
            remaining = session.scalar(
                select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                    PointLot.member_id == m
                )
            )
            assert account.balance == entries == remaining - account.debt
            assert account.debt >= 0
            b = get_balance(session, m, clock.now())
            assert b.available + b.pending <= remaining
        for lot in session.scalars(select(PointLot)):
            assert 0 <= lot.remaining <= lot.points
        spent = session.execute(
            select(LedgerEntry.created_at, PointLot.available_at, PointLot.expires_at)
            .join(LotAllocation, LotAllocation.entry_id == LedgerEntry.id)
            .join(PointLot, PointLot.id == LotAllocation.lot_id)
            .where(LedgerEntry.kind == "spend")
        )
        for at, available_at, expires_at in spent:
            assert available_at <= at, "spent pending points"
            assert expires_at is None or at < expires_at, "spent expired points"


def apply(
    database: Database, clock: FrozenClock, op: tuple[Any, ...], purchases: list[str]
) -> None:
    kind = op[0]
    with database.unit_of_work() as session:
        program = require_program(session)[1]
        member_id = None
        if kind in ("spend", "spend_all", "adjust"):
            member_id = session.scalar(select(Member.id).where(Member.external_id == op[1]))
        try:
            with session.begin_nested():
                if kind == "earn":
                    ext = f"p{len(purchases)}"
                    cents = op[2]
                    res = ingest(
                        session,
                        [
                            {
                                "external_id": ext,
                                "type": "purchase",
                                "member_external_id": op[1],
                                "amount": f"{cents // 100}.{cents % 100:02d}",
                            }
                        ],
                        at=clock.now(),
                    )
                    if res.accepted:
                        purchases.append(ext)
                elif kind == "refund" and purchases:
                    ext = purchases[op[1] % len(purchases)]
                    body: dict[str, Any] = {
                        "external_id": f"r{ext}-{clock.now().timestamp()}",
                        "type": "refund",
                        "refund_of": ext,
                        "member_external_id": _owner(session, ext),
                    }
                    if op[2] is not None:
                        body["amount"] = f"{op[2] // 100}.{op[2] % 100:02d}"
                    ingest(session, [body], at=clock.now())
                elif kind == "spend" and member_id:
                    debit(
                        session,
                        member_id,
                        op[2],
                        reason="prop",
                        actor="t",
                        at=clock.now(),
                        program=program,
                    )
                elif kind == "spend_all" and member_id:
                    available = get_balance(session, member_id, clock.now(), program).available
                    if available > 0:
                        debit(
                            session,
                            member_id,
                            available,
                            reason="all",
                            actor="t",
                            at=clock.now(),
                            program=program,
                        )
                elif kind == "adjust" and member_id and op[2] != 0:
                    adjust(
                        session,
                        member_id,
                        op[2],
                        reason="prop",
                        actor="t",
                        at=clock.now(),
                        program=program,
                    )
                elif kind == "expire":
                    run_jobs(session, clock.now(), program)
                elif kind == "move":
                    clock.advance(days=op[1])
        except PatronError:
            pass  # refused operations (not enough points, refund too large) change nothing


def _owner(session: Any, purchase_ext: str) -> str:
    return str(
        session.scalar(
            select(Member.external_id)
            .join(Event, Event.member_id == Member.id)
            .where(Event.external_id == purchase_ext)
        )
    )


@example(
    steps=[  # debt: spend everything, refund the purchase, earn again
        ("earn", "ann", 5000),
        ("move", 5),
        ("spend_all", "ann"),
        ("refund", 0, None),
        ("earn", "ann", 3000),
        ("move", 4),
        ("spend", "ann", 10),
        ("move", 40),
        ("expire",),
    ]
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(ops, min_size=8, max_size=40))
def test_ledger_stays_consistent(
    backend: str, request: pytest.FixtureRequest, steps: list[tuple[Any, ...]]
) -> None:
    with shop(backend, request, PROGRAM) as (database, clock):
        purchases: list[str] = []
        for op in steps:
            apply(database, clock, op, purchases)
            check_invariants(database, clock)
        with database.unit_of_work() as session:
            run_jobs(session, clock.now(), require_program(session)[1])
            stale = session.scalar(
                select(func.count())
                .select_from(PointLot)
                .where(PointLot.remaining > 0, PointLot.expires_at <= clock.now())
            )
        assert stale == 0, "expiry job left expired points in lots"
        check_invariants(database, clock)


IDLE = {**PROGRAM, "points": {"pending_days": 3, "expiry": {"policy": "inactivity", "days": 20}}}


def _outcome(
    backend: str, request: pytest.FixtureRequest, program: dict[str, Any], steps: list[Any]
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int]]]:
    """Each member's (balance, debt) and the points of each entry kind, once every
    step has run and then the jobs, as of the last step's time."""
    with shop(backend, request, program) as (database, clock):
        purchases: list[str] = []
        for op in steps:
            apply(database, clock, op, purchases)
        with database.unit_of_work() as session:
            run_jobs(session, clock.now(), require_program(session)[1])
        check_invariants(database, clock)
        with database.unit_of_work() as session:
            accounts = session.execute(
                select(Member.external_id, PointAccount.balance, PointAccount.debt)
                .join(PointAccount, PointAccount.member_id == Member.id)
                .order_by(Member.external_id)
            )
            kinds = session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.points))
                .group_by(LedgerEntry.kind)
                .order_by(LedgerEntry.kind)
            )
            return (
                [(str(m), int(b), int(d)) for m, b, d in accounts],
                [(str(k), int(p)) for k, p in kinds],
            )


@example(  # away 25 days under a 20-day inactivity policy, back before any job ran
    steps=[("earn", "ann", 5000), ("move", 25), ("earn", "ann", 1000), ("spend_all", "ann")]
)
@example(  # back exactly on the day the points expire, by spending a goodwill grant
    steps=[("earn", "ann", 100), ("earn", "ann", 100), ("move", 20.0), ("adjust", "ann", 1)]
    + [("spend", "ann", 1)]
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(ops, min_size=8, max_size=30))
@pytest.mark.parametrize("program", [PROGRAM, IDLE], ids=["rolling", "inactivity"])
def test_when_the_expiry_job_runs_changes_nothing(
    backend: str, request: pytest.FixtureRequest, program: dict[str, Any], steps: list[Any]
) -> None:
    """The same history with the job run whenever the steps say, and with it run
    after every step: the same balances, debts and entries. (Under an inactivity
    policy a member back from a long absence before the job ran used to get their
    expired points back.)"""
    eager = [s for op in steps for s in (op, ("expire",))]
    lazy = _outcome(backend, request, program, steps)
    assert lazy == _outcome(backend, request, program, eager), steps

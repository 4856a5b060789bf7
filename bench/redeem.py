"""Redemption benchmark: rewards redeemed per second on PostgreSQL, and no oversell.

16 concurrent clients (each its own connection and its own members, one
transaction per redemption through ``patron.rewards.service.redeem``, reading
the program in force each time as the API does), served by 2 processes of 8
threads, as two API workers would serve them on this 2-core machine (16 client
processes measure mostly their own context switches; ``--processes``):

1. **many rewards**: the clients spread over 64 rewards (little contention);
2. **one reward**: every client redeems the same reward, whose stock row every
   transaction must lock (contention); its stock is 90% of the attempts, so the
   run also ends in clear out-of-stock refusals;

each beside baselines measured in the same run, by the same clients, on the same
members and database:

- **plain debit**: the same points spent through ``patron.ledger.service.debit``
  (what a redemption costs beyond the ledger's own spend);
- **core ingest**: one purchase event per transaction through
  ``patron.events.ingest`` (scored and posted: the engine's own unit of work);
- **bare UPDATE**: ``UPDATE rewards SET issued = issued + 1 WHERE issued < stock``
  on one row, one transaction each (the ceiling for any design that counts stock
  in one row).

At the end every reward is checked: ``issued`` equals the coupons issued and never
exceeds the stock, and the members' points went down by exactly what was redeemed.

Run:  .venv/bin/python bench/redeem.py [--redemptions 8000 --clients 16]
PostgreSQL: PATRON_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
a database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from patron.core.db import Database  # noqa: E402
from patron.core.errors import PatronError  # noqa: E402
from patron.core.heap import settle_startup_heap  # noqa: E402
from patron.core.migrate import upgrade  # noqa: E402
from patron.events.ingest import ingest  # noqa: E402
from patron.ledger.models import PointAccount  # noqa: E402
from patron.ledger.posting import Earning, load_accounts, post_earnings  # noqa: E402
from patron.ledger.service import debit  # noqa: E402
from patron.members.bulk import enrol_many  # noqa: E402
from patron.program.loader import program_from_dict  # noqa: E402
from patron.program.service import require_program, save_program  # noqa: E402
from patron.rewards.models import Redemption, Reward  # noqa: E402
from patron.rewards.service import redeem  # noqa: E402

PG_URL = os.environ.get(
    "PATRON_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MANY = 64
COST = 10
GRANT = 10**9
AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def program(n: int) -> dict[str, Any]:
    rewards = [
        {"id": f"r{i:03d}", "name": f"Reward {i}", "kind": "experience", "cost": COST, "stock": n}
        for i in range(MANY)
    ]
    rewards.append(
        {
            "id": "hot",
            "name": "Hot reward",
            "kind": "experience",
            "cost": COST,
            "stock": n * 9 // 10,
        }
    )
    rewards.append({"id": "bare", "name": "Bare", "kind": "experience", "cost": 1, "stock": 10**12})
    earn = {
        "id": "base-earn",
        "when": {"event": "purchase"},
        "effect": {"points_per": {"points": 1, "per": "1.00"}},
    }
    return {"name": "Bench", "currency": "USD", "rules": [earn], "rewards": rewards}


EXTERNAL_IDS: dict[int, str] = {}  # member id -> external id, inherited by the clients


def prepare(database: Database, n: int, members: int) -> list[int]:
    upgrade(database)
    with database.unit_of_work() as session:
        save_program(session, program_from_dict(program(n)), source="bench", actor="bench", at=AT)
        enrolled = enrol_many(session, {f"m{i}": AT for i in range(members)}, AT)
        EXTERNAL_IDS.update({member_id: ext for ext, member_id in enrolled.items()})
        ids = list(enrolled.values())
        accounts = load_accounts(session, ids)
        grants = [
            Earning(m, GRANT, "bench points", AT, AT, None, kind="adjust", actor="bench")
            for m in ids
        ]
        post_earnings(session, grants, accounts, AT)
    return ids


Op = Callable[[Session, int, int], None]


def redeem_many(session: Session, member_id: int, i: int) -> None:
    redeem(session, member_id, f"r{i % MANY:03d}", at=AT, program=require_program(session)[1])


def redeem_hot(session: Session, member_id: int, _: int) -> None:
    redeem(session, member_id, "hot", at=AT, program=require_program(session)[1])


def plain_debit(session: Session, member_id: int, _: int) -> None:
    debit(
        session,
        member_id,
        COST,
        reason="bench",
        actor=None,
        at=AT,
        program=require_program(session)[1],
    )


def ingest_purchase(session: Session, member_id: int, i: int) -> None:
    event = {
        "external_id": f"bench-{i}",
        "type": "purchase",
        "member_external_id": EXTERNAL_IDS[member_id],
        "amount": "12.50",
        "occurred_at": AT.isoformat(),
    }
    ingest(session, [event], at=AT)


def bare_update(session: Session, _member: int, _i: int) -> None:
    session.execute(
        text("UPDATE rewards SET issued = issued + 1 WHERE key = 'bare' AND issued < stock")
    )


OPS: dict[str, Op] = {
    "redeem_many": redeem_many,
    "redeem_hot": redeem_hot,
    "plain_debit": plain_debit,
    "ingest_purchase": ingest_purchase,
    "bare_update": bare_update,
}


Client = tuple[list[int], int, int]  # its members, first operation number, how many


def _worker(url: str, op_name: str, clients: list[Client], start: Any, out: Any) -> None:
    """One process serving some of the clients, a thread each, one engine for all;
    each client runs one transaction at a time."""
    database = Database(url)
    op = OPS[op_name]
    with database.unit_of_work() as session:  # connect before the clock starts
        require_program(session)
    settle_startup_heap()  # as each API worker does once started (patron.api.app.serve_app)
    latencies: list[float] = []
    refused: dict[str, int] = {}
    lock = threading.Lock()

    def client(mine: list[int], first: int, n: int) -> None:
        own: list[float] = []
        errors: dict[str, int] = {}
        for k in range(n):
            t0 = time.perf_counter()
            try:
                with database.unit_of_work() as session:
                    op(session, mine[k % len(mine)], first + k)
            except PatronError as exc:
                errors[exc.code] = errors.get(exc.code, 0) + 1
            own.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(own)
            for code, count in errors.items():
                refused[code] = refused.get(code, 0) + count

    threads = [threading.Thread(target=client, args=c) for c in clients]
    start.wait()
    began, cpu = time.time(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((began, time.time(), latencies, refused, time.process_time() - cpu))
    database.dispose()


def run(
    url: str, members: list[int], clients: int, n: int, op_name: str, processes: int
) -> dict[str, Any]:
    """``n`` operations by ``clients`` concurrent clients (client i uses
    members[i::clients]), served by ``processes`` processes."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes)
    out = context.Queue()
    per_client = n // clients
    specs = [(members[c::clients], c * per_client, per_client) for c in range(clients)]
    procs = [
        context.Process(target=_worker, args=(url, op_name, specs[p::processes], start, out))
        for p in range(processes)
    ]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    lat = sorted(x for r in results for x in r[2])
    refused: dict[str, int] = {}
    for r in results:
        for code, count in r[3].items():
            refused[code] = refused.get(code, 0) + count
    ok = len(lat) - sum(refused.values())
    return {
        "cpu_ms": sum(r[4] for r in results) / len(lat) * 1000,
        "ok": ok,
        "rate": ok / elapsed,
        "p50": statistics.median(lat) * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
        "refused": refused,
    }


def report(label: str, r: dict[str, Any], unit: str = "redemptions/s") -> None:
    refused = ", ".join(f"{n} {code}" for code, n in sorted(r["refused"].items()))
    print(
        f"  {label:<34} {r['rate']:>8,.0f} {unit:<14} p50 {r['p50']:5.1f} ms  "
        f"p99 {r['p99']:6.1f} ms  client CPU {r['cpu_ms']:.1f} ms/op"
        + (f"   ({refused})" if refused else "")
    )


def verify(database: Database, members: list[int], spent_by_debits: int, earned: int) -> None:
    with database.unit_of_work() as session:
        issued = dict(
            session.execute(
                select(Redemption.reward_id, func.count())
                .where(Redemption.status != "cancelled")
                .group_by(Redemption.reward_id)
            ).all()
        )
        oversold = []
        for row in session.scalars(select(Reward).where(Reward.key != "bare")):
            if row.issued != issued.get(row.id, 0) or (
                row.stock is not None and row.issued > row.stock
            ):
                oversold.append(row.key)
        total = session.scalar(
            select(func.sum(PointAccount.balance)).where(PointAccount.member_id.in_(members))
        )
        coupons = sum(issued.values())
    expected = GRANT * len(members) - COST * coupons - spent_by_debits + earned
    assert not oversold, f"OVERSOLD or miscounted: {oversold}"
    assert total == expected, f"points: {total} != {expected}"
    print(f"  verified: {coupons:,} coupons, no reward oversold, points debited exactly once each")


def postgres_database() -> tuple[str, Callable[[], None]]:
    admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"patron_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redemptions", type=int, default=8_000, help="per scenario")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--members", type=int, default=1_600)
    parser.add_argument(
        "--processes", type=int, default=2, help="processes serving the clients (threads each)"
    )
    args = parser.parse_args()
    n, clients, procs = args.redemptions, args.clients, args.processes
    print(
        f"Patron redemption benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"PostgreSQL, {clients} clients in {procs} processes, {n:,} attempts per scenario"
    )
    url, drop = postgres_database()
    try:
        database = Database(url)
        members = prepare(database, n, args.members)
        database.dispose()  # the clients are forked: no connection may cross
        warm = run(url, members, clients, min(n, 800), "plain_debit", procs)
        print("Without contention (64 rewards):")
        debits = run(url, members, clients, n, "plain_debit", procs)
        report("baseline: plain points debit", debits, "debits/s")
        events = run(url, members, clients, n, "ingest_purchase", procs)
        report("baseline: core ingest, 1 event per tx", events, "events/s")
        many = run(url, members, clients, n, "redeem_many", procs)
        report("redeem", many)
        print(f"With contention (one reward, stock {n * 9 // 10:,} for {n:,} attempts):")
        bare = run(url, members, clients, n, "bare_update", procs)
        report("baseline: bare conditional UPDATE", bare, "updates/s")
        hot = run(url, members, clients, n, "redeem_hot", procs)
        report("redeem", hot)
        verify(database, members, COST * (debits["ok"] + warm["ok"]), 12 * events["ok"])
        sold_out = hot["refused"].get("out-of-stock", 0)
        assert hot["ok"] == n * 9 // 10 and hot["ok"] + sold_out == n // clients * clients
        print(f"  one reward: exactly its stock issued, {sold_out:,} clear out-of-stock refusals")
        database.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()

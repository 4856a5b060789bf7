"""Redemption benchmark: rewards redeemed per second on PostgreSQL, and no oversell.

16 concurrent clients (threads, each with its own session and its own members,
one transaction per redemption through ``patron.rewards.service.redeem``):

1. **many rewards**: the clients spread over 64 rewards (little contention);
2. **one reward**: every client redeems the same reward, whose stock row every
   transaction must lock (contention); its stock is 90% of the attempts, so the
   run also ends in clear out-of-stock refusals;

each beside baselines measured in the same run, by the same clients, on the same
members and database:

- **plain debit**: the same points spent through ``patron.ledger.service.debit``
  (what a redemption costs beyond the ledger's own spend);
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
from patron.core.migrate import upgrade  # noqa: E402
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
    return {"name": "Bench", "currency": "USD", "rewards": rewards}


def prepare(database: Database, n: int, members: int) -> list[int]:
    upgrade(database)
    with database.unit_of_work() as session:
        save_program(session, program_from_dict(program(n)), source="bench", actor="bench", at=AT)
        ids = list(enrol_many(session, {f"m{i}": AT for i in range(members)}, AT).values())
        accounts = load_accounts(session, ids)
        grants = [
            Earning(m, GRANT, "bench points", AT, AT, None, kind="adjust", actor="bench")
            for m in ids
        ]
        post_earnings(session, grants, accounts, AT)
    return ids


Op = Callable[[Session, int, int], None]


def run(database: Database, members: list[int], clients: int, n: int, op: Op) -> dict[str, Any]:
    """``n`` operations by ``clients`` threads, one transaction each; client i uses
    members[i::clients] in turn. Returns the rate, latencies and refusals."""
    per_client = n // clients
    latencies: list[float] = []
    refused: dict[str, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(c: int) -> None:
        mine = members[c::clients]
        local: list[float] = []
        errors: dict[str, int] = {}
        start.wait()
        for k in range(per_client):
            t0 = time.perf_counter()
            try:
                with database.unit_of_work() as session:
                    op(session, mine[k % len(mine)], c * per_client + k)
            except PatronError as exc:
                errors[exc.code] = errors.get(exc.code, 0) + 1
            local.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(local)
            for code, count in errors.items():
                refused[code] = refused.get(code, 0) + count

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    done = per_client * clients
    ok = done - sum(refused.values())
    lat = sorted(latencies)
    return {
        "ok": ok,
        "rate": ok / elapsed,
        "attempts_rate": done / elapsed,
        "p50": statistics.median(lat) * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
        "refused": refused,
    }


def redeem_op(pick: Callable[[int], str]) -> Op:
    def op(session: Session, member_id: int, i: int) -> None:
        redeem(session, member_id, pick(i), at=AT, program=require_program(session)[1])

    return op


def debit_op(session: Session, member_id: int, _: int) -> None:
    debit(
        session,
        member_id,
        COST,
        reason="bench",
        actor=None,
        at=AT,
        program=require_program(session)[1],
    )


def bare_update_op(session: Session, _member: int, _i: int) -> None:
    session.execute(
        text("UPDATE rewards SET issued = issued + 1 WHERE key = 'bare' AND issued < stock")
    )


def report(label: str, r: dict[str, Any], unit: str = "redemptions/s") -> None:
    refused = ", ".join(f"{n} {code}" for code, n in sorted(r["refused"].items()))
    print(
        f"  {label:<34} {r['rate']:>8,.0f} {unit:<14} p50 {r['p50']:5.1f} ms  "
        f"p99 {r['p99']:6.1f} ms" + (f"   ({refused})" if refused else "")
    )


def verify(database: Database, members: list[int], spent_by_debits: int) -> None:
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
    expected = GRANT * len(members) - COST * coupons - spent_by_debits
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
    args = parser.parse_args()
    n, clients = args.redemptions, args.clients
    print(
        f"Patron redemption benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"PostgreSQL, {clients} clients, {n:,} attempts per scenario"
    )
    url, drop = postgres_database()
    try:
        database = Database(url)
        members = prepare(database, n, args.members)
        warm = run(database, members, clients, min(n, 800), debit_op)  # warm up
        print("Without contention (64 rewards):")
        debits = run(database, members, clients, n, debit_op)
        report("baseline: plain points debit", debits, "debits/s")
        many = run(database, members, clients, n, redeem_op(lambda i: f"r{i % MANY:03d}"))
        report("redeem", many)
        print(f"With contention (one reward, stock {n * 9 // 10:,} for {n:,} attempts):")
        bare = run(database, members, clients, n, bare_update_op)
        report("baseline: bare conditional UPDATE", bare, "updates/s")
        hot = run(database, members, clients, n, redeem_op(lambda i: "hot"))
        report("redeem", hot)
        verify(database, members, COST * (debits["ok"] + warm["ok"]))
        sold_out = hot["refused"].get("out-of-stock", 0)
        assert hot["ok"] == n * 9 // 10 and hot["ok"] + sold_out == n // clients * clients
        print(f"  one reward: exactly its stock issued, {sold_out:,} clear out-of-stock refusals")
        database.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()

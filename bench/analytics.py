"""Analytics benchmark: the full metrics set over millions of purchases.

Builds a shop from the demo generator's distributions (``generate_purchase_columns``:
personas, seasons, baskets, coupons, refunds) and bulk-inserts it with
``patron.core.bulk.insert_rows`` (COPY on PostgreSQL), not through the engine (which
would take hours at this size): members (with a signup event each), purchase events
in time order with their real attributes and a basket of the right number of lines,
reviews on 5% of purchases, a survey answer from 20% of buyers, and the ledger: one
earn entry per purchase (1 point per 1.00), a refund reversal per refunded purchase
and a 500-point redemption each time a member's earnings pass another 500.

Then, on SQLite and on PostgreSQL (a database created for the run and dropped):

- the full metrics set: ``patron.analytics.full_report`` over the last 365 days
  (retention and habits, split by status, cohorts, RFM, lifecycle with a BG/NBD fit,
  profiles, loyalty, economics), from a cold start (nothing cached);
- beside a baseline measured in the same run on the same tables: a plain
  ``SELECT member_id, count(*), sum(amount) FROM events WHERE type = 'purchase'
  GROUP BY member_id`` full scan, fetched.

Run:  .venv/bin/python bench/analytics.py [--members 1000000 --events 10000000]
      [--skip sqlite,postgres]; PostgreSQL at PATRON_BENCH_POSTGRES_URL
      (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import JSON, Column, Index, MetaData, Table, Text, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from patron.analytics import ActivityRules, Period, full_report, open_shop  # noqa: E402
from patron.core.bulk import insert_rows  # noqa: E402
from patron.core.clock import FrozenClock, set_clock  # noqa: E402
from patron.core.db import Database, UTCDateTime, table_of  # noqa: E402
from patron.core.migrate import upgrade  # noqa: E402
from patron.demo import catalog as cat  # noqa: E402
from patron.demo.build import PROGRAM_FILE  # noqa: E402
from patron.demo.columns import generate_member_columns, generate_purchase_columns  # noqa: E402
from patron.events.models import Event  # noqa: E402
from patron.ledger.models import LedgerEntry  # noqa: E402
from patron.members.models import Member  # noqa: E402
from patron.program.loader import load_program_file  # noqa: E402
from patron.program.service import save_program  # noqa: E402

PG_URL = os.environ.get(
    "PATRON_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=730)
CHUNK = 200_000
REWARD = 500
EVENTS, LEDGER, MEMBERS = table_of(Event), table_of(LedgerEntry), table_of(Member)
EMPTY_LIST, EMPTY_DICT = "[]", "{}"


# -- the shop -------------------------------------------------------------------------


def shop_columns(members: int, events: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Member and purchase columns; purchases trimmed at random to ``events``, then put
    in time order (the order a live shop stores them in)."""
    people = generate_member_columns(members, seed, START, END)
    cols = generate_purchase_columns(members, seed, START, END, currency="GBP")
    n = cols["member"].size
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(n, size=events, replace=False)) if n > events else np.arange(n)
    order = keep[np.argsort(cols["occurred_at"][keep], kind="stable")]
    purchases = {k: v[order] for k, v in cols.items()}
    return people, purchases


def _times(at: np.ndarray, postgres: bool) -> list[str]:
    """Timestamps as the columns store them (``UTCDateTime``): text on SQLite, and text
    COPY reads as timestamptz on PostgreSQL; formatted once per distinct second."""
    seconds, where = np.unique(at.astype("datetime64[s]"), return_inverse=True)
    text = np.datetime_as_string(seconds).tolist()
    suffix = "+00" if postgres else ".000000"
    formatted = np.array([f"{t[:10]} {t[11:]}{suffix}" for t in text], dtype=object)
    return list(formatted[where])


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def stored(table: Table) -> Table:
    """``table`` with its JSON and time columns typed as text, so that insert_rows takes
    values already in their stored form (formatted once, not per row)."""
    columns = []
    for column in table.columns:
        kind = column.type
        plain = isinstance(kind, JSON | UTCDateTime)
        columns.append(Column(column.name, Text if plain else kind))
    return Table(table.name, MetaData(), *columns)


STORED_EVENTS, STORED_LEDGER, STORED_MEMBERS = stored(EVENTS), stored(LEDGER), stored(MEMBERS)


def _chunks(n: int) -> Iterator[slice]:
    for lo in range(0, n, CHUNK):
        yield slice(lo, min(n, lo + CHUNK))


def insert_members(db: Database, people: dict[str, Any], rng: np.random.Generator) -> None:
    n = people["joined_at"].size
    blocked = rng.random(n) < 0.01
    home_attributes = [_json({"city": s.city, "favourite_store": s.code}) for s in cat.STORES]
    for part in _chunks(n):
        joined = _times(people["joined_at"][part], db.is_postgres)
        homes = people["home_store"][part].tolist()
        rows = [
            {
                "id": i + 1,
                "external_id": f"cust-{i + 1:07d}",
                "status": "blocked" if blocked[i] else "active",
                "consents": EMPTY_DICT,
                "attributes": home_attributes[h],
                "enrolled_at": t,
                "updated_at": t,
                "purchase_count": 0,
            }
            for i, t, h in zip(range(part.start, part.stop), joined, homes, strict=True)
        ]
        signups = [
            {
                "id": i + 1,
                "external_id": f"sig-{i + 1:07d}",
                "type": "signup",
                "member_id": i + 1,
                "occurred_at": t,
                "received_at": t,
                "amount": 0,
                "currency": "GBP",
                "lines": EMPTY_LIST,
                "attributes": EMPTY_DICT,
                "refunded_amount": 0,
                "payload_hash": "0" * 64,
                "program_version": 1,
                "points": 50,
            }
            for i, t in zip(range(part.start, part.stop), joined, strict=True)
        ]
        with db.unit_of_work() as session:
            insert_rows(session, STORED_MEMBERS, rows)
            insert_rows(session, STORED_EVENTS, signups)


def _baskets() -> list[str]:
    """A basket of ``k`` lines for each ``k``: the JSON a real event stores."""
    line = {"sku": "LATTE-M", "category": "coffee", "quantity": 1, "unit_price": "3.50"}
    return [_json([line] * k) for k in range(64)]


def insert_purchases(db: Database, p: dict[str, Any], first_id: int) -> None:
    n = p["member"].size
    baskets = _baskets()
    stores = [s.code for s in cat.STORES]
    tills = [
        [_json({"payment": pay, "coupon": coupon}) for coupon in cat.COUPONS]
        for pay in cat.PAYMENTS
    ]
    for part in _chunks(n):
        at = _times(p["occurred_at"][part], db.is_postgres)
        columns = zip(
            range(first_id + part.start, first_id + part.stop),
            (p["member"][part] + 1).tolist(),
            at,
            p["amount_minor"][part].tolist(),
            p["refunded_minor"][part].tolist(),
            p["channel"][part].tolist(),
            p["store"][part].tolist(),
            np.minimum(p["line_count"][part], 63).tolist(),
            p["coupon"][part].tolist(),
            p["payment"][part].tolist(),
            strict=True,
        )
        rows = [
            {
                "id": i,
                "external_id": f"ord-{i:09d}",
                "type": "purchase",
                "member_id": m,
                "occurred_at": t,
                "received_at": t,
                "amount": a,
                "currency": "GBP",
                "channel": cat.CHANNELS[ch],
                "store": stores[st] if st >= 0 else None,
                "lines": baskets[k],
                "attributes": tills[pay][c],
                "refunded_amount": r,
                "payload_hash": "0" * 64,
                "program_version": 1,
                "points": (a - r) // 100,
            }
            for i, m, t, a, r, ch, st, k, c, pay in columns
        ]
        with db.unit_of_work() as session:
            insert_rows(session, STORED_EVENTS, rows)


def insert_feedback(
    db: Database, p: dict[str, Any], first_id: int, rng: np.random.Generator
) -> int:
    """Reviews after 5% of purchases, one survey answer from 20% of buyers."""
    review = np.flatnonzero(rng.random(p["member"].size) < 0.05)
    buyers = np.unique(p["member"])
    surveyed = buyers[rng.random(buyers.size) < 0.2]
    last = np.zeros(int(p["member"].max()) + 1 if p["member"].size else 0, dtype="datetime64[s]")
    last[p["member"]] = p["occurred_at"]  # time order: the last write is the last purchase
    member = np.concatenate([p["member"][review], surveyed]) + 1
    at = np.concatenate(
        [p["occurred_at"][review] + np.timedelta64(3600, "s"), last[surveyed] + 86400]
    )
    names = ["review"] * review.size + ["survey_answer"] * surveyed.size
    times = _times(at, db.is_postgres)
    rows = [
        {
            "id": first_id + j,
            "external_id": f"fb-{first_id + j}",
            "type": "custom",
            "name": name,
            "member_id": m,
            "occurred_at": t,
            "received_at": t,
            "amount": 0,
            "currency": "GBP",
            "lines": EMPTY_LIST,
            "attributes": '{"rating":5}' if name == "review" else '{"nps":9}',
            "refunded_amount": 0,
            "payload_hash": "0" * 64,
            "program_version": 1,
            "points": 0,
        }
        for j, (name, m, t) in enumerate(zip(names, member.tolist(), times, strict=True))
    ]
    for part in _chunks(len(rows)):
        with db.unit_of_work() as session:
            insert_rows(session, STORED_EVENTS, rows[part])
    return len(rows)


def ledger_columns(people: dict[str, Any], p: dict[str, Any], first_event: int) -> dict[str, Any]:
    """Entries as columns: welcome and earn entries, refund reversals, redemptions."""
    members = people["joined_at"].size
    earned = p["amount_minor"] // 100
    kept = (p["amount_minor"] - p["refunded_minor"]) // 100
    refunded = np.flatnonzero(earned > kept)
    by_member = np.lexsort((p["occurred_at"], p["member"]))
    member, points = p["member"][by_member], kept[by_member]
    total = np.cumsum(points)
    start = np.searchsorted(member, member, side="left")
    before = np.where(start > 0, total[np.maximum(start - 1, 0)], 0)
    running = total - before  # each member's own running total of points kept
    passes = running // REWARD - (running - points) // REWARD
    spend_at = np.repeat(by_member, passes)
    hour, day = np.timedelta64(3600, "s"), np.timedelta64(86400, "s")
    parts = [
        (
            "earn",
            np.arange(members),
            np.full(members, 50),
            -np.ones(members, np.int64),
            people["joined_at"],
        ),
        ("earn", p["member"], earned, first_event + np.arange(earned.size), p["occurred_at"]),
        (
            "reverse",
            p["member"][refunded],
            kept[refunded] - earned[refunded],
            first_event + refunded,
            p["occurred_at"][refunded] + day,
        ),
        (
            "spend",
            p["member"][spend_at],
            np.full(spend_at.size, -REWARD),
            -np.ones(spend_at.size, np.int64),
            p["occurred_at"][spend_at] + hour,
        ),
    ]
    at = np.concatenate([x[4] for x in parts])
    order = np.argsort(at, kind="stable")
    return {
        "kind": np.concatenate([np.full(x[1].size, i) for i, x in enumerate(parts)])[order],
        "names": [x[0] for x in parts],
        "member": np.concatenate([x[1] for x in parts])[order] + 1,
        "points": np.concatenate([x[2] for x in parts])[order],
        "event": np.concatenate([x[3] for x in parts])[order],
        "at": at[order],
    }


def insert_ledger(db: Database, entries: dict[str, Any]) -> None:
    names, n = entries["names"], entries["points"].size
    for part in _chunks(n):
        columns = zip(
            range(part.start + 1, part.stop + 1),
            entries["member"][part].tolist(),
            entries["kind"][part].tolist(),
            entries["points"][part].tolist(),
            entries["event"][part].tolist(),
            _times(entries["at"][part], db.is_postgres),
            strict=True,
        )
        rows = [
            {
                "id": i,
                "member_id": m,
                "kind": names[k],
                "points": pts,
                "event_id": e if e >= 0 else None,
                "rule_id": "base-earn" if k == 1 else None,
                "explanation": f"{pts} pts: {names[k]}",
                "actor": None,
                "reason": None,
                "created_at": t,
            }
            for i, m, k, pts, e, t in columns
        ]
        with db.unit_of_work() as session:
            insert_rows(session, STORED_LEDGER, rows)


def without_indexes(db: Database, tables: list[Table], load: Callable[[], None]) -> None:
    """Load with the secondary indexes dropped, then build them again (as a restore
    would): the same schema at the end, much faster to fill."""
    indexes: list[Index] = [i for t in tables for i in t.indexes]
    with db.engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    load()
    with db.engine.begin() as conn:
        for index in indexes:
            index.create(conn)
        conn.execute(text("ANALYZE"))


def build(db: Database, members: int, events: int, seed: int) -> dict[str, int]:
    started = time.perf_counter()
    upgrade(db)
    with db.unit_of_work() as session:
        program = load_program_file(PROGRAM_FILE)
        save_program(session, program, source="bench", actor="bench", at=START)
    people, purchases = shop_columns(members, events, seed)
    rng = np.random.default_rng(seed + 1)
    entries = ledger_columns(people, purchases, members + 1)
    sizes = {"members": members, "purchases": int(purchases["member"].size)}

    def load() -> None:
        insert_members(db, people, rng)
        insert_purchases(db, purchases, members + 1)
        sizes["feedback"] = insert_feedback(db, purchases, members + 1 + sizes["purchases"], rng)
        insert_ledger(db, entries)

    without_indexes(db, [EVENTS, LEDGER, MEMBERS], load)
    sizes["ledger_entries"] = int(entries["points"].size)
    print(
        f"  built {sizes['members']:,} members, {sizes['purchases']:,} purchases, "
        f"{sizes['feedback']:,} reviews and survey answers, {sizes['ledger_entries']:,} "
        f"ledger entries in {time.perf_counter() - started:,.0f} s"
    )
    return sizes


def baseline(db: Database) -> float:
    """The plain per-member scan, fetched (a full table scan on both backends)."""
    source = "events" if db.is_postgres else "events NOT INDEXED"
    sql = (
        f"SELECT member_id, count(*), sum(amount) FROM {source} "
        "WHERE type = 'purchase' GROUP BY member_id"
    )
    started = time.perf_counter()
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(sql).fetchall()
    assert rows
    return time.perf_counter() - started


def metrics(db: Database) -> tuple[float, float, Any]:
    """Seconds for the full metrics set, of which reading the database, and the report."""
    period = Period(END - timedelta(days=365), END)
    started = time.perf_counter()
    with open_shop(db, period.end) as data:
        data.preload()  # full_report would do it first; timed apart here
        read = time.perf_counter() - started
        report = full_report(data, period, ActivityRules())
    return time.perf_counter() - started, read, report


def bench(label: str, db: Database, members: int, events: int, seed: int) -> None:
    print(f"{label}:")
    build(db, members, events, seed)
    base = [baseline(db) for _ in range(2)]
    runs = [metrics(db) for _ in range(2)]
    took, read, report = min(runs, key=lambda run: run[0])
    s = report.summary
    print(
        f"  full metrics set {took:>6.1f} s (runs {runs[0][0]:.1f}, {runs[1][0]:.1f}; reading "
        f"{read:.1f} s)   baseline GROUP BY member_id scan {min(base):>5.1f} s   "
        f"ratio {took / min(base):.1f}x   (target 30 s)"
    )
    print(
        f"  last 365 days: retention (E-N)/S {s.retention_rate:.3f}, churn {s.churn_rate:.3f}, "
        f"repeat rate {s.repeat_purchase_rate:.3f}, AOV {s.average_order_value(report.currency)}"
        f" {report.currency}; lifecycle by {report.lifecycle.method}: "
        f"{report.lifecycle.stage_counts()}"
    )


def postgres_database() -> tuple[str, Callable[[], None]]:
    admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"patron_bench_analytics_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", default="", help="comma list of sqlite,postgres")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    set_clock(FrozenClock(END))
    print(
        f"Patron analytics benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{args.members:,} members, up to {args.events:,} purchases"
    )
    if "sqlite" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            try:
                bench("SQLite", db, args.members, args.events, args.seed)
            finally:
                db.dispose()
    if "postgres" not in skip:
        url, drop = postgres_database()
        try:
            db = Database(url)
            bench("PostgreSQL", db, args.members, args.events, args.seed)
            db.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()

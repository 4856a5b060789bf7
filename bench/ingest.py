"""Ingest benchmark: purchase events scored and posted per second.

Three figures, each beside a baseline measured in the same run on the same
machine:

1. batch import through the engine (``patron import events FILE``'s
   ``import_file`` on a JSON Lines file, 1,000 events per transaction) on
   SQLite and on PostgreSQL, beside a plain bulk insert
   of exactly the rows the engine wrote (events, ledger entries, lots) into
   the same tables of the same database, with the same batch size;
2. HTTP ``POST /v1/events`` with several concurrent clients against
   ``patron serve`` on PostgreSQL, in a shop that already has a history
   (``--history`` purchases imported first): throughput and p50/p99 latency,
   beside ``GET /health`` through the same server and clients (the cost of
   HTTP alone).

Run:  .venv/bin/python bench/ingest.py [--events 50000] [--http-events 10000]
PostgreSQL: PATRON_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
a database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from patron.access.service import create_api_key  # noqa: E402
from patron.core.bulk import insert_rows  # noqa: E402
from patron.core.db import Base, Database, table_of  # noqa: E402
from patron.core.heap import settle_startup_heap  # noqa: E402
from patron.core.migrate import upgrade  # noqa: E402
from patron.events.importer import import_file  # noqa: E402
from patron.events.models import Event  # noqa: E402
from patron.ledger.models import LedgerEntry, PointLot  # noqa: E402
from patron.members.bulk import enrol_many  # noqa: E402
from patron.program.loader import load_program_file  # noqa: E402
from patron.program.service import save_program  # noqa: E402
from patron.tiers.models import MemberTier, OutboxMessage, TierChange  # noqa: E402

PROGRAM = ROOT / "examples" / "program.yaml"
PG_URL = os.environ.get(
    "PATRON_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BATCH = 1000
MEASURED = [table_of(m) for m in (Event, LedgerEntry, PointLot)]
TIER_TABLES = [table_of(m) for m in (MemberTier, TierChange, OutboxMessage)]
CATALOG = [
    ("LATTE-M", "coffee", "3.40"),
    ("FLAT-WHITE", "coffee", "3.20"),
    ("ESPRESSO", "coffee", "2.10"),
    ("CROISSANT", "bakery", "2.60"),
    ("BANANA-BREAD", "bakery", "3.10"),
    ("TEA-EARL", "tea", "2.50"),
    ("SANDWICH-HAM", "sandwiches", "5.90"),
    ("BEANS-1KG", "beans", "24.00"),
    ("MUG", "merchandise", "12.00"),
]


def make_events(n: int, members: int, seed: int, end: datetime) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        lines = []
        for sku, cat, price in rng.sample(CATALOG, rng.randint(1, 3)):
            lines.append(
                {"sku": sku, "category": cat, "quantity": rng.randint(1, 2), "unit_price": price}
            )
        occurred = end - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        events.append(
            {
                "external_id": f"bench-{seed}-{i}",
                "type": "purchase",
                "member_external_id": f"m{rng.randrange(members)}",
                "occurred_at": occurred.isoformat(),
                "channel": rng.choice(["store", "online", "app"]),
                "store": rng.choice(["soho", "camden", None]),
                "lines": lines,
            }
        )
    return events


def prepare(database: Database, members: int) -> None:
    upgrade(database)
    with database.unit_of_work() as session:
        program = load_program_file(PROGRAM)
        save_program(
            session,
            program,
            source=PROGRAM.read_text(),
            actor="bench",
            at=datetime.now(UTC) - timedelta(days=400),
        )
        enrol_many(
            session,
            {f"m{i}": datetime.now(UTC) - timedelta(days=400) for i in range(members)},
            datetime.now(UTC),
        )


def engine_import(database: Database, events: list[dict[str, Any]]) -> float:
    """``patron import events FILE`` without its progress bar: the events as a JSON
    Lines file, read, scored and posted 1,000 per transaction by ``import_file``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        n = len(events)
        events.clear()  # a real import streams the file: nothing of it stays alive
        settle_startup_heap()  # as the CLI does when it starts
        started = time.perf_counter()
        report = import_file(database, path, batch_size=BATCH)
        elapsed = time.perf_counter() - started
    assert report.accepted == n, report.errors[:3]
    return elapsed


def plain_insert(database: Database, n_events: int) -> float:
    """Insert the very rows the engine wrote, again, with no scoring or checks.

    Same database, same tables and indexes, same batch size, same bulk-write
    mechanism as the engine (COPY on PostgreSQL, executemany on SQLite).
    """
    rows = written_rows(database)
    started = time.perf_counter()
    insert_again(database, rows, n_events)
    return time.perf_counter() - started


def written_rows(database: Database) -> dict[str, list[dict[str, Any]]]:
    """What the engine wrote to the measured tables, read back; the tables emptied."""
    tables = MEASURED + TIER_TABLES
    with database.engine.connect() as conn:
        rows = {
            t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key))]
            for t in tables
        }
    with database.engine.begin() as conn:
        # What refers to these rows goes first (stamps, coupons, referrals: a program
        # with stamp cards or referrals); only the measured tables are inserted again.
        for t in reversed(Base.metadata.sorted_tables):
            if t in tables or _refers_to(t, tables):
                conn.execute(t.delete())
    return rows


def insert_again(
    database: Database, rows: dict[str, list[dict[str, Any]]], n_events: int, batch: int = BATCH
) -> None:
    """The plain insert itself: ``rows`` in as many transactions as the engine used."""
    per_batch = {t.name: max(1, len(rows[t.name]) * batch // max(n_events, 1)) for t in MEASURED}
    offsets = {t.name: 0 for t in MEASURED}
    while any(offsets[t.name] < len(rows[t.name]) for t in MEASURED):
        with database.unit_of_work() as session:
            for t in MEASURED:
                chunk = rows[t.name][offsets[t.name] : offsets[t.name] + per_batch[t.name]]
                offsets[t.name] += len(chunk)
                insert_rows(session, t, chunk)
    # Tier rows (few: only changes) go in at the end, after the events they refer to.
    with database.unit_of_work() as session:
        for t in TIER_TABLES:
            insert_rows(session, t, rows[t.name])


def _refers_to(table: Table, targets: list[Table]) -> bool:
    """Whether ``table`` refers, through foreign keys, to any of ``targets``."""
    seen: set[str] = set()
    stack = [table]
    while stack:
        current = stack.pop()
        for fk in current.foreign_keys:
            parent = fk.column.table
            if parent in targets:
                return True
            if parent.name not in seen:
                seen.add(parent.name)
                stack.append(parent)
    return False


def bench_batch(label: str, database: Database, n: int, members: int) -> dict[str, float]:
    prepare(database, members)
    events = make_events(n, members, seed=1, end=datetime.now(UTC) - timedelta(minutes=10))
    engine_s = engine_import(database, events)
    plain_s = plain_insert(database, n)
    res = {"engine": n / engine_s, "plain": n / plain_s}
    print(
        f"{label:<10} batch import  {res['engine']:>9,.0f} events/s   "
        f"plain insert of the same rows {res['plain']:>9,.0f} events/s   "
        f"ratio {res['plain'] / res['engine']:.2f}x"
    )
    return res


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, tries: int = 100) -> None:
    """Until a server accepts connections on ``port`` (0.1 s between tries)."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"no server came up on port {port}")


async def _load(
    url: str, key: str, bodies: list[dict[str, Any]] | None, count: int, clients: int
) -> tuple[float, list[float]]:
    """Closed-loop load: ``clients`` keep-alive connections, each sending its next
    request as soon as the previous answer is in. A bare asyncio HTTP/1.1 client,
    so the load generator costs little CPU next to the server it measures."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    queue = list(range(count))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue:
                i = queue.pop()
                if bodies is None:
                    request = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
                else:
                    body = json.dumps(bodies[i]).encode()
                    request = (
                        f"POST /v1/events HTTP/1.1\r\nHost: {host}\r\n"
                        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
                t0 = time.perf_counter()
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                payload = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if status >= 300:
                    raise RuntimeError(f"{status}: {payload[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def bench_http(url: str, n: int, clients: int, workers: int, members: int, history: int) -> None:
    database = Database(url)
    prepare(database, members)
    # A shop with a past, as a server meets it: ``history`` purchases imported first
    # (the import leaves the planner statistics of the loaded tables, see
    # Database.refresh_statistics).
    engine_import(database, make_events(history, members, seed=3, end=datetime.now(UTC)))
    with database.unit_of_work() as session:
        _, key = create_api_key(session, "bench", ["pos"])
    database.dispose()
    port = free_port()
    env = {**os.environ, "PATRON_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "patron.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(port)
        end = datetime.now(UTC) - timedelta(minutes=10)
        events = make_events(n, members, seed=2, end=end)
        # Warm up both routes before timing: a worker's first POST makes its
        # connections and prepares its statements (90-140 ms), which is start-up,
        # not the steady state measured here. Other events: nothing is a retry.
        asyncio.run(_load(base, key, None, 500, clients))
        asyncio.run(_load(base, key, make_events(500, members, seed=4, end=end), 500, clients))
        health_s, health_lat = asyncio.run(_load(base, key, None, n, clients))
        post_s, post_lat = asyncio.run(_load(base, key, events, n, clients))
    finally:
        server.terminate()
        server.wait(timeout=10)

    def pct(lat: list[float], q: float) -> float:
        return statistics.quantiles(lat, n=100)[int(q) - 1] * 1000

    print(
        f"{'HTTP pg':<10} POST /v1/events {n / post_s:>7,.0f} events/s   "
        f"p50 {pct(post_lat, 50):.1f} ms  p99 {pct(post_lat, 99):.1f} ms   "
        f"({clients} clients, {workers} workers)"
    )
    print(
        f"{'':<10} GET /health     {n / health_s:>7,.0f} req/s      "
        f"p50 {pct(health_lat, 50):.1f} ms  p99 {pct(health_lat, 99):.1f} ms   (HTTP alone)"
    )


def postgres_database() -> tuple[str, Any]:
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
    global PROGRAM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--http-events", type=int, default=10_000)
    parser.add_argument(
        "--history", type=int, default=20_000, help="purchases imported before the HTTP run"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma list of sqlite,postgres,http")
    parser.add_argument("--program", type=Path, default=PROGRAM, help="the program file")
    args = parser.parse_args()
    PROGRAM = args.program
    skip = set(filter(None, args.skip.split(",")))
    print(f"Patron ingest benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if "sqlite" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            bench_batch("SQLite", db, args.events, args.members)
            db.dispose()
    if "postgres" not in skip:
        url, drop = postgres_database()
        try:
            db = Database(url)
            bench_batch("PostgreSQL", db, args.events, args.members)
            db.dispose()
        finally:
            drop()
    if "http" not in skip:
        url, drop = postgres_database()
        try:
            bench_http(
                url, args.http_events, args.clients, args.workers, args.members, args.history
            )
        finally:
            drop()


if __name__ == "__main__":
    main()

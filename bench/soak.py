"""Soak: mixed, contended traffic against ``patron serve`` on PostgreSQL (or, with
``--sqlite``, on the embedded default), then the ledger's invariants checked in
the database.

Where ``bench/ingest.py`` measures a clean stream of new purchases, this sends
what a busy shop's tills and back office send at once, on purpose colliding:

- purchases, mostly for a few hot members, some backdated past their pending days;
- purchases from people not yet enrolled, the same new person from several
  clients at once (concurrent enrolment of one external id);
- retries of earlier events (must answer ``duplicate``), and the same external id
  with a different payload (must be a 409);
- refunds of earlier purchases, full, per line, and larger than the purchase
  (must be refused, naming the field);
- batches of several events for members in random order (lock ordering);
- points debits with ``Idempotency-Key``, some retried with the same key, and
  manual adjustments up and down;
- all the while, ``patron jobs run`` (release pending points, expire lots) every
  second, on purchases some of which are backdated to the edge of their expiry.

Every answer is checked against what that request may answer: a 5xx, or a status
its kind never gives, is reported with its body. After the run the database must
hold: each account's balance equal to the sum of its ledger entries and to its
lots' remaining points less its debt; no lot below zero or above its points; no
spend taken from a pending or expired lot; one event per accepted external id;
one debit per idempotency key; after a last run of the jobs, no expired lot still
holding points. Exits 1 on any violation.

Run:  .venv/bin/python bench/soak.py [--requests 6000] [--clients 8] [--workers 2] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import ingest  # noqa: E402
from ingest import CATALOG, free_port, postgres_database, prepare, wait_for  # noqa: E402

from patron.access.service import create_api_key  # noqa: E402
from patron.core.db import Database  # noqa: E402
from patron.ledger.models import PointLot  # noqa: E402

HOT = 20  # members most traffic goes to
NEW_PEOPLE = 60  # external ids not enrolled at the start, shared by all clients

# What each kind of request may answer; anything else is a finding.
ALLOWED = {
    "purchase": {201},
    "new-person": {201},
    "retry": {200},
    "conflict": {409},
    "refund": {201, 409, 422},
    "over-refund": {409, 422},
    "batch": {200},
    "debit": {201, 409, 422},
    "debit-retry": {201, 409, 422},
    "adjust": {201, 409, 422},  # 422: zero points
}


@dataclass
class Shop:
    """What the clients have sent so far (shared: one event loop, no locks needed)."""

    rng: random.Random
    members: int
    sent: list[dict[str, Any]] = field(default_factory=list)
    debits: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    debited: set[str] = field(default_factory=set)  # keys some answer took points for
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    examples: dict[tuple[str, int], str] = field(default_factory=dict)  # a refusal's detail
    findings: list[str] = field(default_factory=list)
    serial: int = 0
    last_jobs_run: datetime = datetime.min.replace(tzinfo=UTC)  # when the last one started

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def purchase(self, member: str, backdate: bool) -> dict[str, Any]:
        lines = []
        for _ in range(self.rng.randint(1, 3)):
            sku, category, price = self.rng.choice(CATALOG)
            lines.append(
                {
                    "sku": sku,
                    "category": category,
                    "quantity": self.rng.randint(1, 3),
                    "unit_price": price,
                }
            )
        if not backdate:
            days = self.rng.uniform(0, 2)
        elif self.rng.random() < 0.2:  # at the edge of the rolling 365 days' expiry
            days = self.rng.uniform(364.99, 365.01)
        else:
            days = self.rng.uniform(20, 300)
        return {
            "external_id": self.next_id("p"),
            "type": "purchase",
            "member_external_id": member,
            "occurred_at": (datetime.now(UTC) - timedelta(days=days)).isoformat(),
            "channel": self.rng.choice(["app", "online", "till"]),
            "lines": lines,
        }

    def member(self) -> str:
        if self.rng.random() < 0.7:
            return f"m{self.rng.randrange(HOT)}"
        return f"m{self.rng.randrange(self.members)}"


def request_for(shop: Shop) -> tuple[str, str, str, dict[str, Any] | None, dict[str, str]]:
    """(kind, method, path, body, headers) of the next request."""
    rng = shop.rng
    roll = rng.random()
    bought = [e for e in shop.sent[-400:] if e["type"] == "purchase"]
    if roll < 0.40 or not bought:
        return (
            "purchase",
            "POST",
            "/v1/events",
            shop.purchase(shop.member(), rng.random() < 0.5),
            {},
        )
    if roll < 0.50:
        body = shop.purchase(f"new-{rng.randrange(NEW_PEOPLE)}", True)
        return "new-person", "POST", "/v1/events", body, {}
    if roll < 0.58:
        return "retry", "POST", "/v1/events", rng.choice(shop.sent), {}
    if roll < 0.62:
        body = dict(rng.choice(bought))
        body["lines"] = [dict(body["lines"][0], quantity=body["lines"][0]["quantity"] + 1)]
        return "conflict", "POST", "/v1/events", body, {}
    if roll < 0.74:
        original = rng.choice(bought)
        body = {
            "external_id": shop.next_id("r"),
            "type": "refund",
            "member_external_id": original["member_external_id"],
            "refund_of": original["external_id"],
        }
        if rng.random() < 0.3:
            sku = original["lines"][0]["sku"]  # it may be on several lines: all of them
            bought = sum(line["quantity"] for line in original["lines"] if line["sku"] == sku)
            body["lines"] = [{"sku": sku, "quantity": bought + rng.randint(1, 5)}]
            return "over-refund", "POST", "/v1/events", body, {}
        if rng.random() < 0.5:
            line = original["lines"][0]
            body["lines"] = [{"sku": line["sku"], "quantity": 1}]
        return "refund", "POST", "/v1/events", body, {}
    if roll < 0.86:
        events = [
            shop.purchase(shop.member(), rng.random() < 0.5) for _ in range(rng.randint(2, 8))
        ]
        rng.shuffle(events)
        return "batch", "POST", "/v1/events/batch", {"events": events}, {}
    if rng.random() < 0.15:
        body = {"points": rng.randint(-80, 120), "reason": "soak"}
        return "adjust", "POST", f"/v1/members/{rng.randint(1, HOT)}/points/adjust", body, {}
    if shop.debits and rng.random() < 0.25:
        member_id, key, body = rng.choice(shop.debits)
        path = f"/v1/members/{member_id}/points/debit"
        return "debit-retry", "POST", path, body, {"Idempotency-Key": key}
    member_id = rng.randint(1, HOT)
    key = shop.next_id("debit")
    body = {"points": rng.randint(1, 60), "reason": "soak"}
    shop.debits.append((member_id, key, body))
    path = f"/v1/members/{member_id}/points/debit"
    return "debit", "POST", path, body, {"Idempotency-Key": key}


async def client(shop: Shop, base: str, keys: dict[str, str], remaining: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while remaining[0] > 0:
            remaining[0] -= 1
            kind, method, path, body, extra = request_for(shop)
            key = keys["admin" if kind == "adjust" else "pos"]
            extra = {**extra, "Authorization": f"Bearer {key}"}
            answer = await http.request(method, path, json=body, headers=extra)
            shop.statuses[(kind, answer.status_code)] += 1
            if answer.status_code >= 400:
                detail = answer.json().get("detail", "") if answer.content else ""
                shop.examples.setdefault((kind, answer.status_code), str(detail)[:90])
            if answer.status_code not in ALLOWED[kind]:
                shop.findings.append(f"{kind} {path} -> {answer.status_code}: {answer.text[:400]}")
                continue
            if answer.status_code == 201 and kind in ("purchase", "new-person", "refund"):
                shop.sent.append(body)  # type: ignore[arg-type]
            elif answer.status_code == 201 and kind != "adjust":  # a debit, first or retried
                shop.debited.add(extra["Idempotency-Key"])
            elif kind == "retry" and answer.json()["status"] != "duplicate":
                shop.findings.append(f"retry not answered duplicate: {answer.text[:300]}")
            elif kind == "batch":
                for result in answer.json()["results"]:
                    if result["status"] != "accepted":
                        shop.findings.append(f"batch row not accepted: {result}")
                shop.sent.extend(body["events"])  # type: ignore[index]


def check_database(database: Database, shop: Shop) -> list[str]:
    """The ledger's invariants, each violation as a sentence."""
    problems: list[str] = []
    queries = {
        "balance differs from the sum of entries": """
            SELECT a.member_id FROM point_accounts a
            LEFT JOIN (SELECT member_id, SUM(points) s FROM ledger_entries GROUP BY member_id) e
              ON e.member_id = a.member_id
            WHERE a.balance <> COALESCE(e.s, 0)""",
        "balance differs from lots' remaining less debt": """
            SELECT a.member_id FROM point_accounts a
            LEFT JOIN (SELECT member_id, SUM(remaining) r FROM point_lots GROUP BY member_id) l
              ON l.member_id = a.member_id
            WHERE a.balance <> COALESCE(l.r, 0) - a.debt OR a.debt < 0""",
        "lot outside 0..points": """
            SELECT id FROM point_lots WHERE remaining < 0 OR remaining > points""",
        "spent a pending or expired lot": """
            SELECT e.id FROM ledger_entries e
            JOIN lot_allocations x ON x.entry_id = e.id JOIN point_lots l ON l.id = x.lot_id
            WHERE e.kind = 'spend' AND (l.available_at > e.created_at
                  OR (l.expires_at IS NOT NULL AND l.expires_at <= e.created_at))""",
        "two events with one external id": """
            SELECT external_id FROM events GROUP BY external_id HAVING COUNT(*) > 1""",
        "two members with one external id": """
            SELECT external_id FROM members WHERE external_id IS NOT NULL
            GROUP BY external_id HAVING COUNT(*) > 1""",
    }
    with database.engine.connect() as conn:
        for what, sql in queries.items():
            found = conn.execute(text(sql)).scalars().all()
            if found:
                problems.append(f"{what}: {found[:10]}")
        overdue = select(PointLot.id).where(
            PointLot.remaining > 0, PointLot.expires_at <= shop.last_jobs_run
        )
        found = conn.execute(overdue).scalars().all()
        if found:
            problems.append(f"expired lots still holding points after the jobs ran: {found[:10]}")
        stored = set(conn.execute(text("SELECT external_id FROM events")).scalars())
        spends = conn.execute(text("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'spend'"))
        spend_count = spends.scalar_one()
    missing = {e["external_id"] for e in shop.sent} - stored
    if missing:
        problems.append(f"accepted events missing from the database: {sorted(missing)[:10]}")
    if spend_count != len(shop.debited):
        problems.append(f"{spend_count} spend entries for {len(shop.debited)} debits taken")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--program", type=Path, default=ingest.PROGRAM, help="the program file")
    parser.add_argument(
        "--sqlite", action="store_true", help="a SQLite file instead (the embedded default)"
    )
    args = parser.parse_args()
    ingest.PROGRAM = args.program  # what prepare() loads
    shop = Shop(random.Random(args.seed), args.members)
    url, drop = sqlite_database() if args.sqlite else postgres_database()
    try:
        database = Database(url)
        prepare(database, args.members)
        with database.unit_of_work() as session:
            keys = {
                scope: create_api_key(session, "soak", [scope])[1] for scope in ("pos", "admin")
            }
        elapsed = soak(url, keys, shop, args)
        problems = shop.findings + check_database(database, shop)
        database.dispose()
    finally:
        drop()
    print(
        f"{args.requests:,} requests from {args.clients} clients in {elapsed:.1f} s "
        f"({args.requests / elapsed:,.0f} req/s), {args.workers} workers, "
        + ("SQLite" if args.sqlite else "PostgreSQL")
    )
    for (kind, status), count in sorted(shop.statuses.items()):
        print(f"  {kind:<14} {status:>3}  {count:>6,}  {shop.examples.get((kind, status), '')}")
    if problems:
        print(f"{len(problems)} problems:")
        for p in problems[:40]:
            print("  " + p)
        sys.exit(1)
    print("no 5xx, every answer as its kind allows, the ledger's invariants hold")


def sqlite_database() -> tuple[str, Callable[[], None]]:
    """A SQLite file in a temporary directory, and how to remove it."""
    folder = tempfile.TemporaryDirectory()
    return f"sqlite:///{folder.name}/soak.db", folder.cleanup


def soak(url: str, keys: dict[str, str], shop: Shop, args: argparse.Namespace) -> float:
    """Serve ``url``, send the requests with the jobs running beside them, stop the
    server; the seconds the requests took. A traceback in the server's log is a finding."""
    port = free_port()
    command = [sys.executable, "-m", "patron.cli", "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [*command, "--workers", str(args.workers)],
            env={**os.environ, "PATRON_DATABASE_URL": url},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for(port, tries=200)
            remaining = [args.requests]

            async def run() -> None:
                base = f"http://127.0.0.1:{port}"
                jobs = asyncio.create_task(_jobs_every_second(url, shop, remaining))
                clients = (client(shop, base, keys, remaining) for _ in range(args.clients))
                await asyncio.gather(*clients, jobs)

            started = time.perf_counter()
            asyncio.run(run())
            elapsed = time.perf_counter() - started
            shop.last_jobs_run = datetime.now(UTC)  # the last run: nothing due by now left
            asyncio.run(_run_jobs(url, shop))
        finally:
            server.terminate()
            server.wait(timeout=10)
        log.seek(0)
        logged = log.read().decode(errors="replace")
    if "Traceback" in logged or "ERROR" in logged:
        shop.findings.append(f"the server logged an error: {logged[-1500:]}")
    return elapsed


async def _run_jobs(url: str, shop: Shop) -> None:
    """``patron jobs run`` once, as cron would; a failure is a finding."""
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "patron.cli",
        "jobs",
        "run",
        env={**os.environ, "PATRON_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await done.communicate()
    shop.statuses[("jobs run", done.returncode or 0)] += 1
    if done.returncode:
        shop.findings.append(f"patron jobs run failed: {err.decode()[-400:]}")
    expired = re.search(r"expired (\d+) points", out.decode())
    shop.statuses[("points expired", 0)] += int(expired.group(1)) if expired else 0


async def _jobs_every_second(url: str, shop: Shop, remaining: list[int]) -> None:
    while remaining[0] > 0:
        await _run_jobs(url, shop)
        await asyncio.sleep(1)


if __name__ == "__main__":
    main()

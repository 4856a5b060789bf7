"""``patron demo``: a synthetic shop run through the real engine, week by week.

The clock is moved through two years of history in steps of ``STEP_DAYS``:
the members who signed up in the step are enrolled, its events are ingested in
one batch, members with enough points redeem rewards (coupons the tills then
use, or not), and the jobs run (ledger, tiers, birthday rewards).
What you see in the statements afterwards is what the engine would have done
live with jobs run weekly (a live install runs them hourly; see README).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, select

from patron.access.service import create_api_key
from patron.core import clock as clock_module
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.migrate import upgrade
from patron.events.ingest import ingest
from patron.events.models import Event
from patron.ledger.jobs import run_jobs
from patron.ledger.models import LedgerEntry
from patron.ledger.service import spendable_points
from patron.members.models import Member
from patron.members.schemas import MemberCreate
from patron.members.service import create_member
from patron.program.loader import load_program_file
from patron.program.service import require_program, save_program
from patron.referrals.demo import refer_some_signups
from patron.referrals.models import Referral
from patron.referrals.service import lapse_referrals
from patron.rewards.birthdays import issue_birthday_rewards
from patron.rewards.demo import redeem_something, use_birthday_coupons
from patron.rewards.models import Redemption
from patron.stamps.demo import use_stamp_card_coupons
from patron.stamps.models import StampCard
from patron.tiers.models import MemberTier
from patron.tiers.review import review_tiers

PROGRAM_FILE = Path(__file__).with_name("program.yaml")
REWARD_COST = 500  # points a demo member waits for before redeeming a reward
HISTORY_DAYS = 730
STEP_DAYS = 7


@dataclass
class DemoSummary:
    members: int
    events: int
    points_by_kind: dict[str, int]
    admin_key: str
    built: bool
    # Per mechanic, how many of each: tiers held, coupons, stamp cards, referrals.
    mechanics: dict[str, dict[str, int]] = field(default_factory=dict)


def build_demo(
    database: Database,
    *,
    members: int,
    seed: int,
    console: Console | None = None,
    end: datetime | None = None,
) -> DemoSummary:
    from patron.demo.generator import generate_shop

    console = console or Console()
    upgrade(database)
    with database.unit_of_work() as session:
        existing = session.scalar(select(func.count()).select_from(Event)) or 0
    if existing:
        console.print(
            f"[yellow]The database already holds {existing} events; "
            "showing it as it is (delete patron.db to rebuild)."
        )
        return _summary(database, built=False)

    end = (end or datetime.now(UTC)).replace(hour=23, minute=59, second=0, microsecond=0)
    start = end - timedelta(days=HISTORY_DAYS)
    shop = generate_shop(members=members, seed=seed, start=start, end=end, currency="GBP")
    profiles = {p["external_id"]: p for p in shop.profiles}
    steps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in shop.events:
        at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        steps[(at - start).days // STEP_DAYS].append(event)

    frozen = FrozenClock(start)
    previous = clock_module.set_clock(frozen)
    try:
        with database.unit_of_work() as session:
            program = load_program_file(PROGRAM_FILE)
            save_program(session, program, source=PROGRAM_FILE.read_text(), actor="demo", at=start)
        with console.status("Building the demo shop...") as status:
            for step in range(HISTORY_DAYS // STEP_DAYS + 1):
                step_end = min(start + timedelta(days=(step + 1) * STEP_DAYS), end)
                frozen.set(step_end)
                _run_step(database, steps.get(step, []), profiles)
                status.update(f"Building the demo shop... {step_end:%Y-%m}")
    finally:
        clock_module.set_clock(previous)
    summary = _summary(database, built=True)
    console.print(f"[green]Demo shop built: {summary.members} members, {summary.events} events.")
    for kind, points in sorted(summary.points_by_kind.items()):
        console.print(f"  {kind:>8}: {points:>12,} pts")
    for mechanic, counts in summary.mechanics.items():
        shown = ", ".join(f"{n:,} {label}" for label, n in sorted(counts.items()))
        console.print(f"  {mechanic}: {shown or 'none yet'}")
    return summary


def _run_step(database: Database, events: list[dict[str, Any]], profiles: dict[str, Any]) -> None:
    now = clock_module.now()
    with database.unit_of_work() as session:
        for event in events:
            if event["type"] == "signup" and event["member_external_id"] in profiles:
                profile = profiles.pop(event["member_external_id"])
                create_member(session, MemberCreate.model_validate(profile))
        refer_some_signups(session, events, now)  # a few come with a friend's code
        if events:
            ingest(session, events, at=now)
        _, program = require_program(session)
        buyers = {e["member_external_id"] for e in events if e["type"] == "purchase"}
        if buyers:
            ids = list(session.scalars(select(Member.id).where(Member.external_id.in_(buyers))))
            for member_id, available in spendable_points(session, ids, now, program).items():
                if available >= REWARD_COST:
                    redeem_something(session, member_id, available, now, program)
        run_jobs(session, now, program)
        review_tiers(session, now, program)
        lapse_referrals(session, now, program)
        issue_birthday_rewards(session, now, program)
        use_birthday_coupons(session, now)
        use_stamp_card_coupons(session, now)


def _summary(database: Database, *, built: bool) -> DemoSummary:
    with database.unit_of_work() as session:
        members = session.scalar(select(func.count()).select_from(Member)) or 0
        events = session.scalar(select(func.count()).select_from(Event)) or 0
        totals = session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.points)).group_by(LedgerEntry.kind)
        )
        kinds = {kind: points for kind, points in totals}
        mechanics = {
            name: {str(label or "no level"): int(n) for label, n in session.execute(query)}
            for name, query in _MECHANICS
        }
        _, secret = create_api_key(session, "demo admin", ["admin"])
    points = {k: int(v or 0) for k, v in kinds.items()}
    return DemoSummary(members, events, points, secret, built, mechanics)


_MECHANICS = [
    ("tiers", select(MemberTier.tier, func.count()).group_by(MemberTier.tier)),
    ("coupons", select(Redemption.status, func.count()).group_by(Redemption.status)),
    ("stamp cards", select(StampCard.status, func.count()).group_by(StampCard.status)),
    ("referrals", select(Referral.status, func.count()).group_by(Referral.status)),
]

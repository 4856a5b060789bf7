"""``patron jobs run``: release pending points, expire what is due, birthday rewards,
tier reviews, referrals whose window passed."""

from __future__ import annotations

import typer
from rich.console import Console

from patron.core.clock import now
from patron.core.db import get_database
from patron.ledger.jobs import run_jobs
from patron.program.service import current_program

app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
console = Console()


@app.command("run")
def run() -> None:
    """Run the jobs once (schedule it, e.g. hourly, with cron or a timer)."""
    from patron.referrals.service import lapse_referrals
    from patron.rewards.birthdays import issue_birthday_rewards
    from patron.tiers.review import review_tiers

    at = now()
    with get_database().unit_of_work() as session:
        found = current_program(session)
        report = run_jobs(session, at, found[1] if found else None)
        birthdays = issue_birthday_rewards(session, at, found[1] if found else None)
        tiers = review_tiers(session, at, found[1] if found else None)
        lapsed = lapse_referrals(session, at, found[1] if found else None)
    console.print(
        f"Released {report.released_lots} lots; expired {report.expired_points} points "
        f"in {report.expired_lots} lots of {report.members_touched} members."
    )
    console.print(
        f"Birthday rewards: {birthdays.issued} issued"
        + (f", {birthdays.out_of_stock} waiting for stock" if birthdays.out_of_stock else "")
        + "."
    )
    console.print(
        f"Tier reviews: {tiers.reviewed} reviewed, {tiers.downgraded} moved down, "
        f"{tiers.memberships_ended} paid memberships ended."
    )
    console.print(f"Referrals: {lapsed} lapsed without a purchase in their window.")

"""``patron report``: the main figures of a period as tables in the terminal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from patron.analytics import service
from patron.analytics.periods import ActivityRules, ChurnRule, Period
from patron.analytics.schemas import EconomicsOut, FiguresOut
from patron.core.clock import now
from patron.core.db import get_database

console = Console()
Opt = typer.Option
FromOption = Annotated[
    datetime | None, Opt("--from", formats=["%Y-%m-%d"], help="First day, YYYY-MM-DD (UTC).")
]
ToOption = Annotated[
    datetime | None, Opt("--to", formats=["%Y-%m-%d"], help="Day after the last (excluded).")
]


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ask(
    start: datetime | None, end: datetime | None, active_days: int, churn: str, churn_days: int
) -> tuple[Period, ActivityRules]:
    period = Period.of(
        start.date() if start else None,
        end.date() if end else None,
        now=now(),
        start_field="--from",
        end_field="--to",
    )
    rule: ChurnRule = "cycle" if churn == "cycle" else "days"
    return period, ActivityRules(active_days=active_days, churn=rule, churn_days=churn_days)


def report(
    start: FromOption = None,
    end: ToOption = None,
    active_days: Annotated[int, Opt(min=1, max=3650, help="Active: bought in these days.")] = 90,
    churn: Annotated[str, Opt(help="Churn rule: days or cycle.")] = "days",
    churn_days: Annotated[int, Opt(min=1, max=3650, help="Churned after these days.")] = 90,
) -> None:
    """Print the main figures of a period (default: the 365 days through today)."""
    if churn not in ("days", "cycle"):
        raise typer.BadParameter("days or cycle", param_hint="--churn")
    period, rules = ask(start, end, active_days, churn, churn_days)
    with service.open_shop(get_database(), period.end) as data:
        figures = service.full_report(data, period, rules)
    print_report(figures, rules)


def print_report(r: service.Report, rules: ActivityRules) -> None:
    last_day = r.period.end.date().fromordinal(r.period.end.date().toordinal() - 1)
    console.print(
        f"[bold]Patron report[/] {r.period.start:%Y-%m-%d} to {last_day:%Y-%m-%d} "
        f"(as of {r.as_of:%Y-%m-%d %H:%M} UTC), amounts in {r.currency}; "
        f"active = bought in the last {rules.active_days} days"
    )
    f = FiguresOut.of(r.summary, r.currency)
    table = Table("figure", "value", title="Retention and buying habits")
    for label, value in (
        ("customers at start (S)", num(f.customers_at_start)),
        ("customers at end (E)", num(f.customers_at_end)),
        ("new customers / still active (N)", f"{f.new_customers:,} / {f.new_at_end:,}"),
        ("retention rate (E - N) / S", pct(f.retention_rate)),
        ("E / S", pct(f.end_over_start)),
        ("retained (in S and E) / S", pct(f.retained_share)),
        ("churn rate", pct(f.churn_rate)),
        ("buyers", num(f.buyers)),
        ("repeat purchase rate", pct(f.repeat_purchase_rate)),
        ("purchases per buyer", num(f.purchase_frequency)),
        ("revenue (net of refunds)", num(f.revenue)),
        ("average order value", num(f.average_order_value)),
        ("days between purchases (mean / median)", _days(f)),
    ):
        table.add_row(label, value)
    console.print(table)
    _groups(r)
    _segments(r)
    _economics(EconomicsOut.of(r.period, r.economics))


def _days(f: FiguresOut) -> str:
    return f"{num(f.mean_days_between_purchases, 1)} / {num(f.median_days_between_purchases, 1)}"


def _groups(r: service.Report) -> None:
    splits = (
        ("status", "By status", r.by_status),
        ("segment", "By RFM segment at the start of the period", r.by_segment),
    )
    for dimension, title, groups in splits:
        columns = (dimension, "buyers", "purchases", "revenue", "retention", "churn")
        table = Table(*columns, title=title)
        for label, g in groups:
            f = FiguresOut.of(g, r.currency)
            table.add_row(
                label,
                num(f.buyers),
                num(f.purchases),
                num(f.revenue),
                pct(f.retention_rate),
                pct(f.churn_rate),
            )
        console.print(table)
    cohorts = r.cohorts
    width = min(len(cohorts.months), 13)
    table = Table("cohort", "size", *(f"+{k}" for k in range(width)), title="Cohort retention")
    for i, month in enumerate(cohorts.months[-13:], start=max(len(cohorts.months) - 13, 0)):
        table.add_row(month, num(cohorts.sizes[i]), *(pct(v) for v in cohorts.rates[i][:width]))
    console.print(table)


def _segments(r: service.Report) -> None:
    table = Table("RFM segment", "customers", title="Who is loyal, who is leaving")
    for name, n in r.rfm_segments.items():
        table.add_row(name.replace("_", " "), num(n))
    console.print(table)
    table = Table("lifecycle stage", "members", title=f"Lifecycle ({r.lifecycle.method})")
    for name, n in r.lifecycle.stage_counts().items():
        table.add_row(name.replace("_", " "), num(n))
    console.print(table)
    table = Table("profile", "customers", title="Profiles and loyalty")
    for name, n in r.profiles.items():
        table.add_row(name.replace("_", " "), num(n))
    table.add_row("mean loyalty score (0-100)", num(r.loyalty_mean, 1))
    for band, n in r.loyalty_bands.items():
        table.add_row(f"loyalty {band}", num(n))
    console.print(table)


def _economics(e: EconomicsOut) -> None:
    table = Table("figure", "value", title=f"Program economics ({e.currency})")
    inc = e.incremental
    for label, value in (
        ("points earned (net of refunds)", num(e.flows.net_earned)),
        ("points spent / expired", f"{e.flows.spent:,} / {e.flows.expired:,}"),
        ("redemption rate", pct(e.redemption_rate)),
        ("breakage rate", pct(e.breakage_rate)),
        ("cost of rewards (points spent x value)", num(e.reward_cost)),
        (f"till discounts ({e.rewards_used:,} rewards used)", num(e.till_discounts)),
        ("liability at end", f"{num(e.liability)} ({e.outstanding_points:,} pts)"),
        (f"incremental revenue ({inc.members:,} members)", num(inc.incremental_revenue)),
        ("ROI", pct(e.roi)),
    ):
        table.add_row(label, value)
    console.print(table)
    table = Table("month", "earned", "spent", "expired", "outstanding", "liability")
    for m in e.months:
        table.add_row(
            m.month,
            num(m.flows.earned),
            num(m.flows.spent),
            num(m.flows.expired),
            num(m.outstanding_points),
            num(m.liability),
        )
    console.print(table)

"""``patron analytics export --out DIR``: every figure as CSV files.

Files (money as decimal strings in the program currency, rates as fractions):

- ``summary.csv``: figure, value (the period's retention and buying habits);
- ``summary_by_status.csv``: one row per member status;
- ``summary_by_segment.csv``: one row per RFM segment at the start of the period;
- ``cohorts.csv`` and ``cohort_rates.csv``: cohort, size, month_0, month_1, ...;
- ``rfm_segments.csv``, ``lifecycle_stages.csv``, ``profiles.csv``, ``loyalty.csv``;
- ``economics.csv`` (figure, value) and ``economics_monthly.csv``;
- ``members.csv``: one row per member with every score.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from patron.analytics import service
from patron.analytics.figures import money
from patron.analytics.lifecycle import STAGES
from patron.analytics.report import FromOption, ToOption, ask
from patron.analytics.rfm import SEGMENTS
from patron.analytics.schemas import EconomicsOut, FiguresOut
from patron.core.db import get_database

console = Console()
Opt = typer.Option


def write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def export(
    out: Annotated[Path, Opt(help="Directory to write the CSV files into (created).")],
    start: FromOption = None,
    end: ToOption = None,
    active_days: Annotated[int, Opt(min=1, max=3650, help="Active: bought in these days.")] = 90,
    churn_days: Annotated[int, Opt(min=1, max=3650, help="Churned after these days.")] = 90,
) -> None:
    """Write the period's figures and every member's scores as CSV files."""
    period, rules = ask(start, end, active_days, "days", churn_days)
    out.mkdir(parents=True, exist_ok=True)
    with service.open_shop(get_database(), period.end) as data:
        r = service.full_report(data, period, rules)
        scores = service.member_scores(data, rules)
    write_report(out, r)
    write_members(out / "members.csv", scores, r.currency)
    console.print(f"[green]Wrote analytics for {len(scores.member):,} members to {out}/")


def write_report(out: Path, r: service.Report) -> None:
    figures = FiguresOut.of(r.summary, r.currency).model_dump(mode="json")
    write_csv(out / "summary.csv", ["figure", "value"], figures.items())
    names = list(figures)
    for dimension, groups in (("status", r.by_status), ("segment", r.by_segment)):
        write_csv(
            out / f"summary_by_{dimension}.csv",
            [dimension, *names],
            (
                [label, *FiguresOut.of(g, r.currency).model_dump(mode="json").values()]
                for label, g in groups
            ),
        )
    c = r.cohorts
    months = [f"month_{k}" for k in range(len(c.months))]
    write_csv(
        out / "cohorts.csv",
        ["cohort", "size", *months],
        ([m, c.sizes[i], *c.counts[i]] for i, m in enumerate(c.months)),
    )
    write_csv(
        out / "cohort_rates.csv",
        ["cohort", "size", *months],
        ([m, c.sizes[i], *c.rates[i]] for i, m in enumerate(c.months)),
    )
    write_csv(out / "rfm_segments.csv", ["segment", "customers"], r.rfm_segments.items())
    write_csv(
        out / "lifecycle_stages.csv", ["stage", "members"], r.lifecycle.stage_counts().items()
    )
    write_csv(out / "profiles.csv", ["profile", "customers"], r.profiles.items())
    write_csv(
        out / "loyalty.csv",
        ["figure", "value"],
        [("mean_score", r.loyalty_mean), *((f"band_{k}", v) for k, v in r.loyalty_bands.items())],
    )
    e = EconomicsOut.of(r.period, r.economics).model_dump(mode="json")
    flat = {k: v for k, v in e.items() if not isinstance(v, dict | list)}
    flat |= {f"points_{k}": v for k, v in e["flows"].items()}
    flat |= {f"incremental_{k}": v for k, v in e["incremental"].items()}
    write_csv(out / "economics.csv", ["figure", "value"], flat.items())
    write_csv(
        out / "economics_monthly.csv",
        ["month", *e["months"][0]["flows"], "outstanding_points", "liability"]
        if e["months"]
        else ["month"],
        (
            [m["month"], *m["flows"].values(), m["outstanding_points"], m["liability"]]
            for m in e["months"]
        ),
    )


MEMBER_COLUMNS = [
    "member_id",
    "joined_at",
    "purchases",
    "spent",
    "recency_days",
    "r",
    "f",
    "m",
    "segment",
    "stage",
    "p_alive",
    "discount_share",
    "place_share",
    "interval_cv",
    "price_driven",
    "convenience_driven",
    "loyalty_score",
    "referrals",
    "reviews",
    "survey_answers",
    "redemptions",
    "stamp_cards",
]


def write_members(path: Path, s: service.MemberScores, currency: str) -> None:
    def floats(values: np.ndarray, digits: int = 4) -> list[str]:
        return ["" if np.isnan(v) else f"{v:.{digits}f}" for v in values.tolist()]

    joined = np.asarray(s.joined_at, dtype="datetime64[s]").astype(str).tolist()
    segments = ["" if i < 0 else SEGMENTS[i] for i in s.segment.tolist()]
    spent = [str(money(v, currency)) for v in s.spent_minor.tolist()]
    li = s.loyalty_inputs
    columns: list[list[Any]] = [
        s.member.tolist(),
        joined,
        s.purchases.tolist(),
        spent,
        floats(s.recency_days, 2),
        s.r.tolist(),
        s.f.tolist(),
        s.m.tolist(),
        segments,
        [STAGES[i] for i in s.stage.tolist()],
        floats(s.p_alive),
        floats(s.discount_share),
        floats(s.place_share),
        floats(s.interval_cv),
        s.price_driven.tolist(),
        s.convenience_driven.tolist(),
        s.loyalty.tolist(),
        li.referrals.tolist(),
        li.reviews.tolist(),
        li.survey_answers.tolist(),
        li.redemptions.tolist(),
        li.stamp_cards.tolist(),
    ]
    write_csv(path, MEMBER_COLUMNS, zip(*columns, strict=True))

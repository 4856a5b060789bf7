"""``patron analytics clv``: fit a purchase model and the Gamma-Gamma spend model, print
the parameters, and write per-customer predictions.

Transactions come from a CSV file (``--transactions`` with the column names), or else
from the program's own purchases (see ``patron.analytics.lifetime_value``, which the
API's ``GET /v1/analytics/clv`` shares).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from patron.core.errors import InvalidInput

if TYPE_CHECKING:
    from patron.analytics.clv import (
        BGNBDModel,
        CustomerValue,
        GammaGammaModel,
        ParetoNBDModel,
        RFMSummary,
    )

console = Console()
MODELS = ("bgnbd", "pareto")


def clv(
    transactions: Annotated[
        Path | None,
        typer.Option(help="CSV of transactions; without it, the program's own purchases."),
    ] = None,
    customer_col: Annotated[str | None, typer.Option(help="CSV column of customer ids.")] = None,
    date_col: Annotated[str | None, typer.Option(help="CSV column of ISO dates.")] = None,
    amount_col: Annotated[str | None, typer.Option(help="CSV column of amounts.")] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD, inclusive. Default: the last CSV date, or today."),
    ] = None,
    freq: Annotated[str, typer.Option(help="Time unit: D days, W weeks, M months.")] = "W",
    model: Annotated[str, typer.Option(help="Purchase model: bgnbd or pareto.")] = "bgnbd",
    horizon: Annotated[int, typer.Option(help="CLV horizon in months.")] = 12,
    discount_rate: Annotated[float, typer.Option(help="Discount rate per month.")] = 0.01,
    out: Annotated[Path | None, typer.Option(help="Write per-customer predictions here.")] = None,
) -> None:
    """Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma spend."""
    from patron.analytics.lifetime_value import fit_value, program_transactions
    from patron.core.db import get_database

    if model not in MODELS:
        raise InvalidInput(f"--model must be one of {', '.join(MODELS)}", field="--model")
    if freq not in ("D", "W", "M"):
        raise InvalidInput("--freq must be D, W or M", field="--freq")
    if transactions is not None:
        columns, currency, default_end = _read_csv(transactions, customer_col, date_col, amount_col)
        source = str(transactions)
    else:
        with get_database().unit_of_work() as session:
            columns, currency, default_end = program_transactions(session)
        source = "the program's purchases"
    end = calibration_end or default_end
    fit = fit_value(
        columns,
        calibration_end=end,
        freq=freq,
        model="bgnbd" if model == "bgnbd" else "pareto",
        horizon=horizon,
        discount_rate=discount_rate,
        source_field="--transactions" if transactions else None,
    )
    summary = fit.summary
    console.print(
        f"{len(summary):,} customers from {source}, calibration up to {end}, "
        f"time unit {freq}; estimates are float64, not amounts to book."
    )
    _print_purchase_fit(model, fit.purchases)
    _print_spend_fit(fit.spend, fit.zero_spend, currency)
    _print_predictions(fit.value, horizon, discount_rate, currency)
    if out is not None:
        _write_predictions(out, summary, fit.value)
        console.print(f"Wrote {len(summary):,} rows to {out}.")


def _read_csv(
    path: Path, customer_col: str | None, date_col: str | None, amount_col: str | None
) -> tuple[dict[str, list[str]], str, str]:
    names = {"--customer-col": customer_col, "--date-col": date_col, "--amount-col": amount_col}
    for option, value in names.items():
        if not value:
            raise InvalidInput(f"{option} is needed with --transactions", field=option)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="--transactions")
    columns: dict[str, list[str]] = {"customer": [], "date": [], "amount": []}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [
            c for c in (customer_col, date_col, amount_col) if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise InvalidInput(
                f"{path.name} has no column {', '.join(map(repr, missing))}",
                field="--transactions",
            )
        for row in reader:
            columns["customer"].append(row[str(customer_col)])
            columns["date"].append(row[str(date_col)])
            columns["amount"].append(row[str(amount_col)])
    latest = max(columns["date"], default="")
    return columns, "", latest[:10]


def _print_purchase_fit(model: str, fitted: BGNBDModel | ParetoNBDModel) -> None:
    from patron.analytics.lifetime_value import PARAMETER_NAMES

    names = PARAMETER_NAMES["bgnbd" if model == "bgnbd" else "pareto"]
    title = "BG/NBD purchase model" if model == "bgnbd" else "Pareto/NBD purchase model"
    _print_fit(title, names, fitted.params, fitted.log_likelihood, fitted.n_customers)
    if not fitted.converged:
        console.print("[yellow]The purchase model fit did not converge; read it with care.")


def _print_spend_fit(spend: GammaGammaModel, zero_spend: int, currency: str) -> None:
    unit = f" ({currency})" if currency else ""
    title = f"Gamma-Gamma spend model{unit}"
    _print_fit(title, ("p", "q", "gamma"), spend.params, spend.log_likelihood, spend.n_customers)
    if zero_spend:
        console.print(f"{zero_spend:,} repeat buyers spent nothing and were left out of it.")
    if not spend.converged:
        console.print("[yellow]The spend model fit did not converge; read it with care.")


def _print_fit(
    title: str,
    names: tuple[str, ...],
    params: tuple[float, ...],
    log_likelihood: float,
    customers: float,
) -> None:
    table = Table("parameter", "value", title=title, title_justify="left")
    for name, value in zip(names, params, strict=True):
        table.add_row(name, f"{value:.6g}")
    table.add_row("log-likelihood", f"{log_likelihood:,.4f}")
    table.add_row("customers fitted", f"{customers:,.0f}")
    console.print(table)


def _print_predictions(
    value: CustomerValue, horizon: int, discount_rate: float, currency: str
) -> None:
    unit = f" {currency}" if currency else ""
    table = Table("figure", "value", title=f"Next {horizon} months", title_justify="left")
    table.add_row("customers", f"{value.clv.size:,}")
    table.add_row("mean P(alive)", f"{value.probability_alive.mean():.4f}")
    table.add_row("expected purchases", f"{value.expected_purchases.sum():,.1f}")
    table.add_row(f"CLV, total{unit}", f"{value.clv.sum():,.2f}")
    table.add_row(f"CLV, mean per customer{unit}", f"{value.clv.mean():,.2f}")
    table.add_row("discount rate per month", f"{discount_rate:g}")
    console.print(table)


def _write_predictions(path: Path, summary: RFMSummary, value: CustomerValue) -> None:
    columns: dict[str, Any] = {
        "customer": summary.customer.tolist(),
        "frequency": summary.frequency,
        "recency": summary.recency,
        "T": summary.T,
        "monetary_value": summary.monetary_value,
        **value.columns(),
    }
    formatted = {
        name: values if name == "customer" else [f"{v:.10g}" for v in values.tolist()]
        for name, values in columns.items()
    }
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(formatted)
        writer.writerows(zip(*formatted.values(), strict=True))

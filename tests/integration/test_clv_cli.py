"""``patron analytics clv`` on a CSV file and on the program's own purchases.

The printed parameters and the ``--out`` predictions must be exactly what the Python
API gives on the same transactions; on a database, purchases count at their amount
less refunds, in currency units, and a fully refunded purchase does not count.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from patron import cli
from patron.analytics.clv import (
    fit_bgnbd,
    fit_gamma_gamma,
    fit_pareto_nbd,
    predict_customer_value,
    summarize,
)
from patron.core import db as db_module
from patron.core.clock import FrozenClock
from patron.core.config import get_settings
from patron.core.db import Database
from patron.core.errors import InvalidInput
from patron.events.ingest import ingest
from patron.members.models import Member
from tests.integration.conftest import CAFE, load_program

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
Run = Callable[..., Result]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Run]]:
    """``run_cli(url)(*args)``: the ``patron`` command on the database at ``url``."""
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def on(url: str) -> Run:
        monkeypatch.setenv("PATRON_DATABASE_URL", url)
        monkeypatch.setattr(db_module, "_databases", {})
        get_settings.cache_clear()

        def run(*args: str, ok: bool = True) -> Result:
            result = runner.invoke(cli.app, ["analytics", "clv", *args])
            if ok:
                assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
            return result

        return run

    try:
        yield on
    finally:
        for database in db_module._databases.values():
            database.dispose()
        get_settings.cache_clear()


@pytest.fixture
def cdnow_csv(tmp_path: Path) -> Path:
    """The CDNOW sample as a CSV with its own column names."""
    path = tmp_path / "cdnow.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["buyer", "day", "dollars"])
        for line in CDNOW.read_text().splitlines():
            _, buyer, day, _, dollars = line.split()
            writer.writerow([buyer, f"{day[:4]}-{day[4:6]}-{day[6:]}", dollars])
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _csv_columns(path: Path) -> dict[str, list[str]]:
    rows = _read(path)
    return {name: [row[name] for row in rows] for name in ("buyer", "day", "dollars")}


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_csv_fit_and_predictions_match_the_python_api(
    run_cli: Callable[[str], Run], cdnow_csv: Path, tmp_path: Path, model: str
) -> None:
    out = tmp_path / "predictions.csv"
    result = run_cli(f"sqlite:///{tmp_path / 'unused.db'}")(
        "--transactions", str(cdnow_csv), "--customer-col", "buyer", "--date-col", "day",
        "--amount-col", "dollars", "--calibration-end", "1997-09-30", "--model", model,
        "--out", str(out),
    )  # fmt: skip
    summary = summarize(
        _csv_columns(cdnow_csv),
        customer_col="buyer",
        date_col="day",
        amount_col="dollars",
        calibration_end="1997-09-30",
    )
    fit = fit_bgnbd if model == "bgnbd" else fit_pareto_nbd
    purchases = fit(summary.frequency, summary.recency, summary.T)
    repeat = summary.frequency > 0
    spend = fit_gamma_gamma(summary.frequency[repeat], summary.monetary_value[repeat])
    for value in (*purchases.params, *spend.params):
        assert f"{value:.6g}" in result.output
    assert f"{purchases.log_likelihood:,.4f}" in result.output
    assert f"{spend.log_likelihood:,.4f}" in result.output
    assert "2,357 customers" in result.output

    expected = predict_customer_value(
        purchases,
        spend,
        summary.frequency,
        summary.recency,
        summary.T,
        summary.monetary_value,
    )
    rows = _read(out)
    assert [row["customer"] for row in rows] == summary.customer.tolist()
    assert rows[0]["customer"] == "0001"  # ids are kept as written
    for column, values in expected.columns().items():
        written = np.array([float(row[column]) for row in rows])
        np.testing.assert_allclose(written, values, rtol=1e-9)
    assert f"{expected.clv.sum():,.2f}" in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--customer-col", "buyer", "--date-col", "day"), "--amount-col"),
        (("--customer-col", "buyer", "--date-col", "when", "--amount-col", "dollars"), None),
        (("--customer-col", "buyer", "--date-col", "day", "--amount-col", "dollars",
          "--model", "magic"), "--model"),
        (("--customer-col", "buyer", "--date-col", "day", "--amount-col", "dollars",
          "--calibration-end", "1990-01-01"), "--transactions"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_with_the_reason(
    run_cli: Callable[[str], Run],
    cdnow_csv: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    field: str | None,
) -> None:
    run = run_cli(f"sqlite:///{tmp_path / 'unused.db'}")
    result = run("--transactions", str(cdnow_csv), *args, ok=False)
    assert isinstance(result.exception, InvalidInput)
    if field is not None:
        assert result.exception.field == field
    else:
        assert "no column 'when'" in result.exception.detail


def _purchase(name: str, key: str, moment: datetime, amount: str) -> dict[str, Any]:
    return {
        "external_id": key,
        "type": "purchase",
        "member_external_id": name,
        "occurred_at": moment.isoformat(),
        "amount": amount,
    }


def _history() -> tuple[list[dict[str, Any]], dict[str, list[tuple[datetime, float]]]]:
    """Purchases of 120 members over a year (some buy once, some often), and two more
    members whose last purchase is refunded, in full ("full") or by 5.00 ("part");
    and, per member, the (moment, amount) that should count."""
    rng = np.random.default_rng(4)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    end = datetime(2026, 3, 1, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    counted: dict[str, list[tuple[datetime, float]]] = {}
    for member in range(120):
        name = f"m{member:03d}"
        first = start + timedelta(days=int(rng.integers(0, 200)))
        gaps = rng.exponential(40.0 if member % 3 else 12.0, int(rng.integers(1, 9)))
        moments = [first + timedelta(days=float(d)) for d in np.cumsum(np.r_[0.0, gaps[:-1]])]
        for k, moment in enumerate(m for m in moments if m < end):
            cents = int(rng.integers(300, 4000))
            events.append(_purchase(name, f"{name}-{k}", moment, f"{cents / 100:.2f}"))
            counted.setdefault(name, []).append((moment, cents / 100))
    for name in ("full", "part"):
        for k, (month, amount) in enumerate(((6, "10.00"), (7, "20.00"), (8, "30.00"))):
            events.append(
                _purchase(name, f"{name}-{k}", datetime(2025, month, 2, tzinfo=UTC), amount)
            )
        refund: dict[str, Any] = {
            "external_id": f"refund-{name}",
            "type": "refund",
            "member_external_id": name,
            "refund_of": f"{name}-2",
            "occurred_at": "2025-08-05T12:00:00+00:00",
        }
        if name == "part":
            refund["amount"] = "5.00"
        events.append(refund)
    june, july, august = (datetime(2025, month, 2, tzinfo=UTC) for month in (6, 7, 8))
    counted["full"] = [(june, 10.0), (july, 20.0)]
    counted["part"] = [(june, 10.0), (july, 20.0), (august, 25.0)]
    return events, counted


def test_program_purchases_from_the_database(
    database: Database, clock: FrozenClock, run_cli: Callable[[str], Run], tmp_path: Path
) -> None:
    load_program(database, CAFE, clock)
    events, counted = _history()
    with database.unit_of_work() as session:
        result = ingest(session, events, at=clock.now())
        assert all(row.status == "accepted" for row in result.results), [
            row.error for row in result.results if row.status != "accepted"
        ]
    with database.unit_of_work() as session:
        member_ids = {
            ext: id_ for ext, id_ in session.execute(select(Member.external_id, Member.id))
        }

    out = tmp_path / "members.csv"
    output = run_cli(database.url)("--calibration-end", "2026-02-28", "--out", str(out)).output
    assert "122 customers from the program's purchases" in output
    assert "Gamma-Gamma spend model (USD)" in output

    columns: dict[str, list[Any]] = {"customer": [], "date": [], "amount": []}
    for name, purchases in counted.items():
        for moment, amount in purchases:
            columns["customer"].append(member_ids[name])
            columns["date"].append(moment)
            columns["amount"].append(amount)
    summary = summarize(
        columns,
        customer_col="customer",
        date_col="date",
        amount_col="amount",
        calibration_end="2026-02-28",
    )
    purchases = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    assert f"{purchases.log_likelihood:,.4f}" in output
    rows = {int(row["customer"]): row for row in _read(out)}
    assert sorted(rows) == summary.customer.tolist()
    for i, member in enumerate(summary.customer.tolist()):
        row = rows[member]
        assert float(row["frequency"]) == summary.frequency[i]
        assert float(row["T"]) == summary.T[i]
        assert float(row["monetary_value"]) == pytest.approx(summary.monetary_value[i])
        assert 0.0 <= float(row["probability_alive"]) <= 1.0
        assert float(row["clv"]) > 0.0
    # A fully refunded purchase does not count; a partly refunded one counts net.
    full, part = rows[member_ids["full"]], rows[member_ids["part"]]
    assert (float(full["frequency"]), float(full["monetary_value"])) == (1.0, 20.0)
    assert (float(part["frequency"]), float(part["monetary_value"])) == (2.0, 22.5)


def test_without_a_program_the_database_mode_says_so(
    database: Database, run_cli: Callable[[str], Run]
) -> None:
    result = run_cli(database.url)(ok=False)
    assert result.exit_code != 0
    assert "no program is loaded" in str(result.exception)

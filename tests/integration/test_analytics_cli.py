"""``patron report`` and ``patron analytics export`` on a SQLite file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from patron import cli
from patron.core import db as db_module
from patron.core.clock import FrozenClock
from patron.core.config import get_settings
from patron.core.db import get_database
from patron.core.migrate import upgrade
from tests.integration.analytics_shop import build_shop


@pytest.fixture
def shop_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FrozenClock
) -> Iterator[dict[str, int]]:
    monkeypatch.setenv("PATRON_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(db_module, "_databases", {})
    get_settings.cache_clear()
    database = get_database()
    upgrade(database)
    try:
        yield build_shop(database, clock)
    finally:
        for opened in db_module._databases.values():
            opened.dispose()
        get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def test_report_prints_the_main_figures(shop_file: dict[str, int]) -> None:
    result = run("report", "--from", "2026-01-01", "--to", "2026-06-01")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2026-01-01 to 2026-05-31" in out
    assert "140.00" in out and "17.50" in out  # revenue, average order value
    assert "75.0%" in out  # repeat purchase rate
    for title in ("Cohort retention", "RFM segment", "Lifecycle (recency)", "Program economics"):
        assert title in out
    assert "2026-05" in out


def test_report_refuses_a_bad_period(shop_file: dict[str, int]) -> None:
    result = run("report", "--from", "2026-06-01", "--to", "2026-01-01")
    assert result.exit_code != 0
    assert getattr(result.exception, "field", None) == "--to"
    assert run("report", "--from", "June").exit_code == 2


def test_export_writes_csv_files(shop_file: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "analytics", "export", "--out", str(out), "--from", "2026-01-01", "--to", "2026-06-01"
    )
    assert result.exit_code == 0, result.output

    def read(name: str) -> list[dict[str, str]]:
        with (out / name).open(newline="") as handle:
            return list(csv.DictReader(handle))

    summary = {row["figure"]: row["value"] for row in read("summary.csv")}
    assert summary["purchases"] == "8" and summary["revenue"] == "140.00"
    assert read("cohorts.csv")[0] == {
        "cohort": "2026-01",
        "size": "2",
        "month_0": "2",
        "month_1": "1",
        "month_2": "1",
        "month_3": "1",
        "month_4": "0",
    }
    members = {row["member_id"]: row for row in read("members.csv")}
    alice = members[str(shop_file["alice"])]
    assert (alice["purchases"], alice["spent"], alice["loyalty_score"]) == ("3", "60.00", "31")
    assert alice["reviews"] == "2" and alice["price_driven"] == "True"
    assert len(members) == 4
    economics = {row["figure"]: row["value"] for row in read("economics.csv")}
    assert economics["reward_cost"] == "0.20" and economics["points_spent"] == "20"
    assert [row["month"] for row in read("economics_monthly.csv")][-1] == "2026-05"
    for name in (
        "summary_by_status.csv",
        "summary_by_segment.csv",
        "rfm_segments.csv",
        "lifecycle_stages.csv",
        "profiles.csv",
        "loyalty.csv",
        "cohort_rates.csv",
    ):
        assert read(name), name

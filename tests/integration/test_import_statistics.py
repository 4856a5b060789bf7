"""An import leaves PostgreSQL's planner statistics of what it loaded
(``Database.refresh_statistics``): without them the tier measure of a few
members scanned every purchase of the year until autovacuum came by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.importer import import_file


def _reltuples(database: Database, table: str) -> float:
    with database.engine.connect() as conn:
        return float(
            conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
            ).scalar_one()
        )


def _import(database: Database, tmp_path: Path, batch_size: int) -> None:
    path = tmp_path / "events.jsonl"
    rows = [
        {
            "external_id": f"e{i}",
            "type": "purchase",
            "member_external_id": f"m{i % 7}",
            "amount": "4.50",
            "currency": "USD",
        }
        for i in range(30)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = import_file(database, path, batch_size=batch_size)
    assert report.accepted == 30


def test_an_import_leaves_statistics_of_the_tables_it_filled(
    cafe: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    if not cafe.is_postgres:
        pytest.skip("planner statistics are PostgreSQL's; SQLite plans without them")
    _import(cafe, tmp_path, batch_size=20)
    # ANALYZE counts a table this small exactly; unanalysed tables say -1. The last
    # analysis runs beside the last batch: it may see the first 20 rows or all 30.
    assert _reltuples(cafe, "events") in (20, 30)
    assert _reltuples(cafe, "ledger_entries") in (20, 30)
    assert _reltuples(cafe, "members") == 7


def test_an_import_of_one_batch_is_analysed_once_it_is_in(
    cafe: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    if not cafe.is_postgres:
        pytest.skip("planner statistics are PostgreSQL's; SQLite plans without them")
    _import(cafe, tmp_path, batch_size=100)
    assert _reltuples(cafe, "events") == 30
    assert _reltuples(cafe, "ledger_entries") == 30
    assert _reltuples(cafe, "members") == 7

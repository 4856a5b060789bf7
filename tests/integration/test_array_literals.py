"""Array parameters written as PostgreSQL array literals (``core.driver.array_literal``)
come back from the server exactly as they were, whatever the text holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from patron.core.db import Database
from patron.core.driver import array_literal, raw_connection

AWKWARD_TEXT = [
    "plain",
    "",
    "NULL",
    'a "quoted" word',
    "back\\slash\\",
    "comma, {braces} and spaces ",
    "Zoë's café ☕",
    "new\nline\ttab",
]


def _round_trip(database: Database, values: list[Any], pg_type: str) -> list[Any]:
    with database.unit_of_work() as session:
        cursor = raw_connection(session).execute(
            f"SELECT x FROM unnest(CAST(%s AS {pg_type}[])) WITH ORDINALITY AS t(x, n) ORDER BY n",
            [array_literal(values)],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def postgres(database: Database) -> Database:
    if not database.is_postgres:
        pytest.skip("array literals are PostgreSQL's")
    return database


def test_integers_and_nulls(postgres: Database) -> None:
    values = [0, -1, 2**63 - 1, -(2**63), None, 42]
    assert _round_trip(postgres, values, "bigint") == values


def test_awkward_text_stays_as_written(postgres: Database) -> None:
    assert _round_trip(postgres, [*AWKWARD_TEXT, None], "text") == [*AWKWARD_TEXT, None]


def test_times_keep_their_instant_and_naive_ones_are_utc(postgres: Database) -> None:
    aware = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    naive = datetime(2026, 3, 1, 9, 30)
    back = _round_trip(postgres, [aware, naive], "timestamptz")
    assert back == [aware, naive.replace(tzinfo=UTC)]


def test_decimals_dates_and_booleans(postgres: Database) -> None:
    assert _round_trip(postgres, [Decimal("12.340"), Decimal("-0.01")], "numeric") == [
        Decimal("12.340"),
        Decimal("-0.01"),
    ]
    assert _round_trip(postgres, [date(2026, 2, 28)], "date") == [date(2026, 2, 28)]
    assert _round_trip(postgres, [True, False, None], "boolean") == [True, False, None]


def test_json_values_including_integers_beyond_64_bits(postgres: Database) -> None:
    values = [{"tier": "gold", "note": 'say "hi"\\'}, [1, 2**70], {}]
    assert _round_trip(postgres, values, "jsonb") == values


def test_a_key_list_compares_with_any_as_the_column_type(postgres: Database) -> None:
    with postgres.unit_of_work() as session:
        session.execute(text("CREATE TEMP TABLE names (name varchar(50))"))
        session.execute(text("INSERT INTO names VALUES (:n)"), [{"n": n} for n in AWKWARD_TEXT[:5]])
        cursor = raw_connection(session).execute(
            "SELECT name FROM names WHERE name = ANY(%s) ORDER BY name",
            [array_literal(['a "quoted" word', "NULL", "absent"])],
        )
        assert [row[0] for row in cursor.fetchall()] == ["NULL", 'a "quoted" word']


def test_the_literal_text() -> None:
    assert array_literal([]) == "{}"
    assert array_literal([1, None, True]) == "{1,NULL,t}"
    assert array_literal(['say "hi"\\']) == '{"say \\"hi\\"\\\\"}'

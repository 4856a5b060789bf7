"""Shared fixtures: a migrated database per test, on SQLite and (when
``PATRON_TEST_POSTGRES_URL`` is set) on a fresh PostgreSQL database made for
this run and dropped at its end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from patron.core import clock as clock_module
from patron.core.clock import FrozenClock
from patron.core.db import Base, Database
from patron.core.migrate import upgrade

PG_ADMIN_URL = os.environ.get("PATRON_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_ADMIN_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated, dropped afterwards."""
    if not PG_ADMIN_URL:
        pytest.skip("PATRON_TEST_POSTGRES_URL not set")
    admin_url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    name = f"patron_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "patron.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """A frozen clock installed process-wide for the test."""
    frozen = FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    previous = clock_module.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock_module.set_clock(previous)

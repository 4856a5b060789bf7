"""Pooled PostgreSQL connections are tested before use only after sitting idle
(``core.db._ping_after_idle``): a busy server skips a round trip per unit of
work, and a connection the server dropped while it sat unused is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from patron.core import db as db_module
from patron.core.db import Database


def _backend_pid(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _drop_from_server(database: Database, pid: int) -> None:
    admin = Database(database.url)  # a pool of its own
    try:
        with admin.engine.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()


def _postgres_only(database: Database) -> None:
    if not database.is_postgres:
        pytest.skip("SQLite runs in-process: there is no connection to lose")


def test_a_connection_dropped_while_idle_is_replaced(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgres_only(database)
    pid = _backend_pid(database)
    _drop_from_server(database, pid)  # the pool's only idle connection is now dead
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    with database.unit_of_work() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
    assert _backend_pid(database) != pid


def test_a_connection_in_use_a_moment_ago_is_not_tested(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart: within the idle limit no test is made, so the dead
    connection reaches the caller (which is what the idle test above prevents)."""
    _postgres_only(database)
    pid = _backend_pid(database)
    _drop_from_server(database, pid)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with pytest.raises(OperationalError), database.unit_of_work() as session:
        session.execute(text("SELECT 1"))

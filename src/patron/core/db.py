"""Database engine, declarative base and the unit of work.

Services receive a ``Session`` and never commit; the entry point (route, CLI
command, job) wraps its work in :func:`unit_of_work`, which commits once or
rolls everything back.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from patron.core.clock import ensure_utc
from patron.core.driver import json_value
from patron.core.errors import InvalidInput

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no date type: values are
    stored as fixed-width UTC text (``2026-03-02 12:00:00.000000``), which
    sorts and compares correctly and converts much faster than SQLAlchemy's
    generic SQLite DATETIME handling (this is on the ingest hot path).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if dialect.name == "sqlite":
            return value.astimezone(UTC).strftime(SQLITE_DATETIME_FORMAT)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return _from_sqlite_text(value)
        return ensure_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # SQLite's text straight to a UTC datetime: one call per value instead of
        # TypeDecorator's two (every batch reads thousands of these).
        if dialect.name == "sqlite":
            return _sqlite_result
        return super().result_processor(dialect, coltype)


def _from_sqlite_text(value: str) -> datetime:
    """``2026-03-02 12:00:00.000000`` (UTC) as an aware datetime.

    The offset is parsed with the text: ``datetime.replace(tzinfo=...)`` costs
    six times the parse itself on Python 3.11. A text that carries its own
    offset (not one Patron writes) keeps the old reading: the offset replaced.
    """
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_result(value: Any) -> datetime | None:
    if value is None:
        return None
    if value.__class__ is str:
        return _from_sqlite_text(value)
    return ensure_utc(value)


SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every integer column is 64-bit: money in minor units and points can pass 2^31.
    type_annotation_map = {
        int: BigInteger,
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


SUPPORTED_URLS = ("sqlite://", "postgresql+psycopg://")


def make_engine(url: str, *, echo: bool = False, cooperative: bool = False) -> Engine:
    """Create an engine with the per-backend settings Patron relies on.

    ``cooperative`` (PostgreSQL): connections wait on the server through the
    event loop when used inside ``core.cooperative.run_cooperatively``.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith(SUPPORTED_URLS):
        # Only the scheme is shown: the rest of a URL may hold a password.
        said = f"starts {url.split('://')[0]}://" if "://" in url else "has no scheme://"
        raise InvalidInput(
            f"PATRON_DATABASE_URL {said}: Patron runs on SQLite (sqlite:///patron.db) "
            "or PostgreSQL (postgresql://user@host/db)",
            field="PATRON_DATABASE_URL",
        )
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_deserializer=json_value,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url, echo=echo, pool_size=10, max_overflow=20, json_deserializer=json_value
    )
    _ping_after_idle(engine)
    _sessions_in_utc(engine)
    # Connections that hear when psycopg deallocates prepared statements (core.wire).
    from patron.core.wire import WireConnection

    connection_class = WireConnection
    if cooperative:
        from patron.core.cooperative import CooperativeConnection

        connection_class = CooperativeConnection

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connection_class.connect(*cargs, **cparams)

    return engine


# A pooled connection idle longer than this is tested before use.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it has been idle a while.

    ``pool_pre_ping`` tests every checkout: one more round trip for each unit
    of work, a twelfth of a small ingest batch. A connection that was in use
    a moment ago is as alive as a test would find it; the ones that go stale
    (a restarted or failed-over server, an idle timeout) have sat unused. A
    failed test discards the connection and the pool hands out a fresh one.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: the pool retries with a new connection
            raise DisconnectionError(str(exc)) from exc


def _sessions_in_utc(engine: Engine) -> None:
    """Every PostgreSQL session in UTC, whatever the server's default.

    Nothing in Patron depends on the session's zone (instants travel with their
    offset, local days are the program's), but the driver reads ``timestamptz``
    in it: in UTC, times arrive as ``datetime.UTC`` and need no conversion on the
    hot read path (``core.raw``). A statement when a connection is made, rather
    than a startup option, which poolers such as PgBouncer may refuse.
    """

    @event.listens_for(engine, "connect")
    def _in_utc(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()


def _bind_none_fast() -> None:
    """Bind ``None`` as NULL without the sqlite3 module's search for an adapter.

    The module adapts every parameter not of an exact basic type, ``None``
    included: two failed attribute look-ups (``__adapt__``, ``__conform__``),
    each formatting an AttributeError message, about half a microsecond per
    NULL. An event's rows bind six or more. With an adapter registered for
    ``NoneType`` the search ends at its first dictionary look-up; ``{}.get``
    is a C function that returns None for any one argument. Measured: 100,000
    rows of six NULLs, 0.48 s to bind, 0.14 s with it.
    """
    sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))


# WAL pages a commit lets pile up before it checkpoints them into the database
# file (about 40 MiB of 4 KiB pages; SQLite's default is 1,000). A batch of
# events dirties pages all over the member-keyed indexes, so consecutive
# batches rewrite many of the same pages; checkpointing a tenth as often copies
# each such page once instead of once per batch or two. Measured on a
# 50,000-event import: 35,000 reads and 185,000 writes (435 MB) instead of
# 84,000 and 234,000 (636 MB); the plain insert of the same rows got 30-50%
# faster, the import about a tenth. The WAL file grows to about this size.
WAL_CHECKPOINT_PAGES = 10_000


def _configure_sqlite(engine: Engine) -> None:
    _bind_none_fast()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache (default is 2 MiB)
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: two deferred transactions that both
        # upgrade to writing would otherwise deadlock into "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table, typed as such (``__table__`` is typed loosely)."""
    return cast(Table, model.__table__)


class Database:
    """An engine plus its session factory; one per process and URL."""

    def __init__(self, url: str, *, echo: bool = False, cooperative: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo, cooperative=cooperative)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Commit once at the end, or roll back everything on an exception."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def refresh_statistics(self) -> None:
        """``ANALYZE`` after a bulk load (PostgreSQL only).

        Until autovacuum's first pass (up to a minute after a load), a table
        filled by COPY has no statistics and the planner falls back on default
        selectivities: the tier measure of four members then scanned every
        purchase of the year through the (type, occurred_at) index, 7.5 ms
        instead of 0.1 ms, and more with every batch. PostgreSQL's own advice
        after a bulk load is to ANALYZE; it samples a fixed number of rows per table.
        """
        if not self.is_postgres:
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


_databases: dict[str, Database] = {}


def get_database(url: str | None = None) -> Database:
    from patron.core.config import get_settings

    url = url or get_settings().database_url
    if url not in _databases:
        _databases[url] = Database(url, echo=get_settings().echo_sql)
    return _databases[url]

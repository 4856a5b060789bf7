"""Reads sent on libpq's pipeline (``core.wire``): what psycopg's cursors would
have given, one transaction as psycopg keeps it, statements prepared once per
connection, and a failed read that leaves the connection as psycopg would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import pq
from sqlalchemy.engine import make_url

from patron.core import wire


@pytest.fixture
def connection(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    url = make_url(postgres_url).set(drivername="postgresql")
    with wire.WireConnection.connect(url.render_as_string(hide_password=False)) as conn:
        yield conn


def _prepared_names(conn: psycopg.Connection[Any]) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name", prepare=False)
        return [name for (name,) in cursor.fetchall()]


VALUES = "SELECT %(n)s::bigint * 2, %(t)s::text, %(at)s::timestamptz, %(d)s::numeric, '100%%'"


def test_rows_are_what_a_cursor_gives(connection: psycopg.Connection[Any]) -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    values = {"n": 2**40, "t": 'say "hi", Zoë', "at": at, "d": Decimal("12.34")}
    with connection.cursor() as cursor:
        cursor.execute(VALUES, values)
        expected = cursor.fetchall()
    connection.rollback()
    (got, empty) = wire.read_all(
        connection, [(VALUES, values, None), ("SELECT 1 WHERE false", {}, None)]
    )
    assert got == expected == [(2**41, 'say "hi", Zoë', at, Decimal("12.34"), "100%")]
    assert empty == []


def test_a_name_used_twice_is_one_parameter(connection: psycopg.Connection[Any]) -> None:
    ((row,),) = wire.read_all(
        connection, [("SELECT %(a)s::int + %(a)s::int, %(b)s", {"a": 3, "b": "x"}, None)]
    )
    assert row == (6, "x")


def test_the_first_read_opens_the_transaction_as_psycopg_would(
    connection: psycopg.Connection[Any],
) -> None:
    assert connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    wire.read_all(connection, [("SELECT txid_current()", {}, None)])
    assert connection.pgconn.transaction_status == pq.TransactionStatus.INTRANS
    with connection.cursor() as cursor:  # psycopg sees the same transaction
        cursor.execute("CREATE TEMPORARY TABLE scratch (x int)")
    connection.rollback()
    ((present,),) = wire.read_all(connection, [("SELECT to_regclass('pg_temp.scratch')", {}, None)])
    assert present == (None,)  # the rollback undid what followed the read


def test_an_autocommit_connection_gets_no_transaction(
    connection: psycopg.Connection[Any],
) -> None:
    connection.autocommit = True
    wire.read_all(connection, [("SELECT 1", {}, None)])
    assert connection.pgconn.transaction_status == pq.TransactionStatus.IDLE


def test_the_isolation_level_is_the_connections(connection: psycopg.Connection[Any]) -> None:
    connection.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    ((level,),) = wire.read_all(connection, [("SHOW transaction_isolation", {}, None)])
    assert level == ("serializable",)


def test_a_statement_is_prepared_once_per_connection(
    connection: psycopg.Connection[Any],
) -> None:
    read = ("SELECT %(n)s::bigint + 1", {"n": 1}, None)
    assert wire.read_all(connection, [read, read]) == [[(2,)], [(2,)]]
    names = _prepared_names(connection)
    assert len(names) == 1 and names[0].startswith("patron_")
    assert wire.read_all(connection, [read, read]) == [[(2,)], [(2,)]]
    assert _prepared_names(connection) == names  # sent by name, not prepared again
    unprepared = ("SELECT %(n)s::bigint + 2", {"n": 1}, False)
    assert wire.read_all(connection, [unprepared]) == [[(3,)]]
    assert _prepared_names(connection) == names


def test_reads_are_prepared_anew_once_psycopg_deallocates_everything(
    connection: psycopg.Connection[Any],
) -> None:
    read = ("SELECT %(n)s::bigint + 1", {"n": 1}, None)
    wire.read_all(connection, [read])
    with connection.cursor() as cursor:  # a statement psycopg prepares itself
        cursor.execute("SELECT %s::int", [1], prepare=True)
    connection.rollback()  # psycopg: DEALLOCATE ALL
    assert _prepared_names(connection) == []
    assert wire.read_all(connection, [read]) == [[(2,)]]
    assert len(_prepared_names(connection)) == 1


def test_on_a_plain_psycopg_connection_reads_are_not_prepared(postgres_url: str) -> None:
    url = make_url(postgres_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as plain:
        assert wire.read_all(plain, [("SELECT %(n)s::bigint + 1", {"n": 1}, None)]) == [[(2,)]]
        assert _prepared_names(plain) == []


def test_a_statement_deallocated_behind_psycopgs_back_is_prepared_on_the_next_try(
    connection: psycopg.Connection[Any],
) -> None:
    read = ("SELECT %(n)s::bigint + 1", {"n": 1}, None)
    wire.read_all(connection, [read])
    connection.commit()
    connection.execute("DEALLOCATE ALL", prepare=False)
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        wire.read_all(connection, [read])
    connection.rollback()
    assert wire.read_all(connection, [read]) == [[(2,)]]


def test_a_failed_read_raises_psycopgs_error_and_the_connection_recovers(
    connection: psycopg.Connection[Any],
) -> None:
    read = "SELECT 10 / %(z)s::int"
    with pytest.raises(psycopg.errors.DivisionByZero):
        wire.read_all(connection, [("SELECT 1", {}, None), (read, {"z": 0}, None)])
    assert connection.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert connection.pgconn.transaction_status == pq.TransactionStatus.INERROR
    connection.rollback()
    # The statement was prepared before its execution failed: it is used, not re-made.
    assert wire.read_all(connection, [(read, {"z": 5}, None)]) == [[(2,)]]


def test_a_statement_the_server_refuses_to_prepare_is_not_remembered(
    connection: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.errors.UndefinedColumn):
        wire.read_all(connection, [("SELECT nothing_here + %(n)s::int", {"n": 1}, None)])
    connection.rollback()
    assert _prepared_names(connection) == []
    with pytest.raises(psycopg.errors.UndefinedColumn):  # tried again, refused again
        wire.read_all(connection, [("SELECT nothing_here + %(n)s::int", {"n": 1}, None)])


def test_only_named_parameters_are_taken(connection: psycopg.Connection[Any]) -> None:
    with pytest.raises(ValueError, match="only %\\(name\\)s"):
        wire.read_all(connection, [("SELECT %s", {}, None)])


def test_inside_psycopgs_own_pipeline_reads_go_through_cursors(
    connection: psycopg.Connection[Any],
) -> None:
    assert wire.can_send(connection)
    with connection.pipeline():
        assert not wire.can_send(connection)
    assert wire.can_send(connection)


class _Interrupted(Exception):
    pass


class _GivesUpWaiting(wire.WireConnection):
    """Its second wait is interrupted, as a cancelled request's would be."""

    waits = 0

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        self.waits += 1
        if self.waits == 2:
            gen.close()
            raise _Interrupted
        return super().wait(gen, interval, timeout)


def test_an_interrupted_exchange_leaves_no_connection_half_in_a_pipeline(
    postgres_url: str,
) -> None:
    url = make_url(postgres_url).set(drivername="postgresql")
    with _GivesUpWaiting.connect(url.render_as_string(hide_password=False)) as conn:
        conn.waits = 0  # the second wait of the reads: answers are still due
        with pytest.raises(_Interrupted):
            wire.read_all(conn, [("SELECT pg_sleep(0.05), 1", {}, None)] * 3)
        assert conn.closed or conn.pgconn.pipeline_status == pq.PipelineStatus.OFF
        if not conn.closed:
            conn.rollback()
            assert wire.read_all(conn, [("SELECT 1", {}, None)]) == [[(1,)]]


def test_more_than_the_socket_takes_at_once_is_sent_while_answers_are_read(
    connection: psycopg.Connection[Any],
) -> None:
    text = "x" * 1_000_000
    reads = [
        ("SELECT length(%(t)s::text) + %(i)s::int", {"t": text, "i": i}, None) for i in range(20)
    ]
    assert wire.read_all(connection, reads) == [[(1_000_000 + i,)] for i in range(20)]

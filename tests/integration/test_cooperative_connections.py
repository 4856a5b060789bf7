"""Connections of a cooperative database (``core.cooperative``) wait on PostgreSQL
through the event loop inside ``run_cooperatively``, and block as usual elsewhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from patron.core import cooperative as cooperative_module
from patron.core.cooperative import run_cooperatively
from patron.core.db import Database
from patron.core.driver import raw_connection


@pytest.fixture
def cooperative(database: Database) -> Iterator[Database]:
    if not database.is_postgres:
        pytest.skip("SQLite has no server to wait on")
    coop = Database(database.url, cooperative=True)
    with coop.engine.connect():  # the dialect's first-connect set-up, off the loop
        pass
    yield coop
    coop.dispose()


def _sleep_on_server(database: Database, seconds: float) -> int:
    with database.unit_of_work() as session:
        session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_queries_in_two_greenlets_overlap_and_the_loop_keeps_turning(
    cooperative: Database,
) -> None:
    async def main() -> tuple[list[int], float, float]:
        gaps: list[float] = []
        done = False

        async def ticker() -> None:
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.01)
                gaps.append(time.perf_counter() - last)
                last = time.perf_counter()

        ticking = asyncio.ensure_future(ticker())
        started = time.perf_counter()
        pids = await asyncio.gather(
            run_cooperatively(_sleep_on_server, cooperative, 0.4),
            run_cooperatively(_sleep_on_server, cooperative, 0.4),
        )
        took = time.perf_counter() - started
        done = True
        await ticking
        return pids, took, max(gaps)

    pids, took, longest_gap = asyncio.run(main())
    assert pids[0] != pids[1]  # a connection each
    assert took < 0.7  # the two 0.4 s queries ran at the same time
    assert longest_gap < 0.2  # and the loop served its other tasks meanwhile


def test_a_server_error_inside_the_greenlet_is_raised_as_usual(cooperative: Database) -> None:
    def bad_query() -> None:
        with cooperative.unit_of_work() as session:
            session.execute(text("SELECT 1 / 0"))

    with pytest.raises(DBAPIError, match="division by zero"):
        asyncio.run(run_cooperatively(bad_query))
    assert asyncio.run(run_cooperatively(_sleep_on_server, cooperative, 0)) > 0  # still usable


def test_outside_a_greenlet_the_connection_blocks_as_any_other(cooperative: Database) -> None:
    started = time.perf_counter()
    assert _sleep_on_server(cooperative, 0.1) > 0
    assert time.perf_counter() - started >= 0.1


def _waits_handed_for_twenty_in_a_pipeline(
    cooperative: Database, monkeypatch: pytest.MonkeyPatch
) -> int:
    handed: list[object] = []
    real = cooperative_module.wait_on_loop

    def counting(awaitable: Any) -> Any:
        handed.append(awaitable)
        return real(awaitable)

    monkeypatch.setattr(cooperative_module, "wait_on_loop", counting)

    def twenty_in_a_pipeline() -> list[int]:
        with cooperative.unit_of_work() as session:
            connection = raw_connection(session)
            with connection.pipeline():
                # The server sleeps first, so at least one answer is not in when it
                # is asked for, however fast the machine: that wait must block.
                connection.execute("SELECT pg_sleep(0.05)")
                cursors = [connection.execute("SELECT %s::int", (i,)) for i in range(20)]
            return [cursor.fetchone()[0] for cursor in cursors]

    assert asyncio.run(run_cooperatively(twenty_in_a_pipeline)) == list(range(20))
    return len(handed)


def test_only_the_waits_that_would_block_go_to_the_loop(
    cooperative: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statements queued in a pipeline need no wait: the greenlet hands the loop
    only the waits for the server's answers (it used to hand every one over). A
    fast enough server once had every answer in before it was asked for: 0 waits."""
    assert 1 <= _waits_handed_for_twenty_in_a_pipeline(cooperative, monkeypatch) <= 4


def test_without_poll_every_wait_goes_to_the_loop(
    cooperative: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``select.poll`` is missing (Windows), waits go to the loop as before."""
    monkeypatch.setattr(cooperative_module, "_POLL", None)
    assert _waits_handed_for_twenty_in_a_pipeline(cooperative, monkeypatch) >= 20

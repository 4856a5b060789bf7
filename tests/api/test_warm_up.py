"""A served worker's warm-up (``api.app._warmed``): ready before its first request,
having written nothing; a database it cannot reach does not stop it."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from patron.api.app import create_app
from patron.core import wire
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.batcher import LANES
from patron.ledger.models import PointAccount
from patron.members.bulk import enrol_many
from tests.api.conftest import problem
from tests.api.test_events_api import purchase, rows
from tests.integration.conftest import CAFE, load_program

H = dict[str, str]


def _balances(database: Database) -> list[int]:
    with database.unit_of_work() as session:
        return list(session.scalars(select(PointAccount.balance)))


def _enrol(database: Database, clock: FrozenClock, *names: str) -> None:
    with database.unit_of_work() as session:
        enrol_many(session, dict.fromkeys(names, clock.now()), clock.now())


def test_the_warm_up_scores_a_purchase_on_every_lane_and_keeps_none_of_it(
    database: Database, clock: FrozenClock, pos_headers: H
) -> None:
    load_program(database, CAFE, clock)
    _enrol(database, clock, "alice")
    before = rows(database)
    app = create_app(database, warm_up=True)
    with TestClient(app) as client:  # the lifespan, and so the warm-up, runs here
        assert rows(database) == before
        assert _balances(database) == [0]
        batcher = app.state.event_batcher
        if database.is_postgres:
            # Each lane's connection has the batch's statements prepared already.
            engine = batcher._inline.engine
            assert engine.pool.checkedin() == LANES
            with ExitStack() as held:
                lanes = [held.enter_context(engine.connect()) for _ in range(LANES)]
                assert engine.pool.checkedin() == 0  # the warmed ones, none new
                for lane in lanes:
                    assert len(wire._prepared.get(lane.connection.driver_connection, {})) >= 5
        answer = client.post("/v1/events", json=purchase("e1"), headers=pos_headers)
        assert answer.status_code == 201, answer.text
        assert answer.json()["points"] > 0
        events, entries, lots, members = before
        assert rows(database) == (events + 1, entries + 1, lots + 1, members)
        # The purchase the warm-up scored left alice nothing: her points are e1's.
        assert _balances(database) == [answer.json()["points"]]


def test_without_a_program_the_warm_up_reads_and_the_worker_answers_as_before(
    database: Database, pos_headers: H, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="patron.api"),
        TestClient(create_app(database, warm_up=True)) as client,
    ):
        answer = client.post("/v1/events", json=purchase("e1"), headers=pos_headers)
        problem(answer, 409, "program")
    assert not [r for r in caplog.records if r.name == "patron.api"]


def test_a_database_out_of_reach_is_logged_and_the_worker_still_serves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Database("sqlite:////nonexistent-patron-dir/patron.db")
    with (
        caplog.at_level(logging.WARNING, logger="patron.api"),
        TestClient(create_app(unreachable, warm_up=True)) as client,
    ):
        assert client.get("/health").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.name == "patron.api"]
    assert len(warnings) == 1 and warnings[0].startswith("warm-up failed"), warnings


def test_patron_serve_warms_its_worker_up_and_then_takes_events(
    database: Database, clock: FrozenClock, pos_headers: H, tmp_path: Path
) -> None:
    """The real thing: ``patron serve`` in a process of its own, its worker warmed
    up through uvicorn's lifespan before the port answers, nothing of it kept."""
    load_program(database, CAFE, clock)
    _enrol(database, clock, "alice")
    before = rows(database)
    port = _free_port()
    env = {**os.environ, "PATRON_DATABASE_URL": database.url}
    server = subprocess.Popen(
        [sys.executable, "-m", "patron.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # the port answers once the warm-up is done
            try:
                health = httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health.status_code == 200
        assert rows(database) == before  # the warm-up's purchase was rolled back
        answer = httpx.post(f"{base}/v1/events", json=purchase("e1"), headers=pos_headers)
        assert answer.status_code == 201, answer.text
        events, entries, lots, members = before
        assert rows(database) == (events + 1, entries + 1, lots + 1, members)
        assert _balances(database) == [answer.json()["points"]]
        if database.is_postgres:
            # What shows the warm-up ran: its purchases' reserved ids, gone with
            # their rollback, left gaps (the sequences restart at 1 per test).
            assert answer.json()["event_id"] > 1
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=20)
    assert b"warm-up failed" not in errors, errors.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""Hot-path reads (``core.raw.gather``): loaders side by side, key lists of any
text, values as the column types make them, on both backends."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from patron.core import wire
from patron.core.bulk import pipelined
from patron.core.db import Database
from patron.core.driver import raw_connection
from patron.core.raw import Ask, Loading, gather, keys_in
from patron.members.bulk import enrol_many
from patron.members.models import Member

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
NAMES = ["plain", 'say "hi"', "back\\slash", "comma, {brace}", "Zoë ☕", "NULL"]
_BY_NAME = select(Member.external_id, Member.enrolled_at).where(keys_in(Member.external_id, "keys"))
_BY_ID = select(Member.id, Member.external_id).where(keys_in(Member.id, "keys"))


def _names(names: list[str]) -> Loading[dict[str, datetime]]:
    (rows,) = yield [Ask(_BY_NAME, {"keys": names}, keys=("keys",))]
    return {name: enrolled for name, enrolled in rows}


_BY_NAME_IDS = _BY_NAME.with_only_columns(Member.id)


def _two_steps_built_once(names: list[str]) -> Loading[list[str]]:
    (rows,) = yield [Ask(_BY_NAME_IDS, {"keys": names}, keys=("keys",))]
    (back,) = yield [Ask(_BY_ID, {"keys": [mid for (mid,) in rows]}, keys=("keys",))]
    return sorted(name for _, name in back)


@pytest.fixture
def enrolled(database: Database) -> Database:
    with database.unit_of_work() as session:
        enrol_many(session, dict.fromkeys(NAMES, AT), AT)
    return database


def test_loaders_run_side_by_side_and_key_lists_hold_any_text(enrolled: Database) -> None:
    with enrolled.unit_of_work() as session:
        found, back, nothing = gather(
            session,
            _names([*NAMES, "absent"]),
            _two_steps_built_once(NAMES[:3]),
            _names([]),
        )
    assert found == dict.fromkeys(NAMES, AT)
    assert all(t.tzinfo is not None and t.utcoffset() == UTC.utcoffset(t) for t in found.values())
    assert back == sorted(NAMES[:3])
    assert nothing == {}


def test_a_list_expanded_per_execution_is_refused_on_postgresql(enrolled: Database) -> None:
    if not enrolled.is_postgres:
        pytest.skip("SQLite runs such statements through the session")
    expanding = select(Member.id).where(Member.external_id.in_(["plain"]))

    def loader() -> Loading[None]:
        yield [Ask(expanding, {})]

    with enrolled.unit_of_work() as session, pytest.raises(TypeError, match="keys_in"):
        gather(session, loader())


def test_times_come_back_in_utc_whatever_the_session_zone(enrolled: Database) -> None:
    with enrolled.unit_of_work() as session:
        (fresh,) = gather(session, _names(NAMES[:2]))
        if enrolled.is_postgres:
            # Sessions start in UTC (core.db), so the driver's own values are UTC ...
            assert session.connection().connection.dbapi_connection.info.timezone is UTC
            # ... and one moved elsewhere still reads UTC, converted.
            session.connection().exec_driver_sql("SET LOCAL TIME ZONE 'Asia/Kolkata'")
        (moved,) = gather(session, _names(NAMES[:2]))
    for found in (fresh, moved):
        assert found == dict.fromkeys(NAMES[:2], AT)
        assert all(t.tzinfo is UTC for t in found.values())


def test_inside_a_pipeline_of_psycopgs_own_the_reads_join_it(enrolled: Database) -> None:
    if not enrolled.is_postgres:
        pytest.skip("a PostgreSQL pipeline")
    with enrolled.unit_of_work() as session, raw_connection(session).pipeline():
        assert not wire.can_send(raw_connection(session))
        found, back = gather(session, _names(NAMES[:2]), _two_steps_built_once(NAMES[:3]))
    assert found == dict.fromkeys(NAMES[:2], AT)
    assert back == sorted(NAMES[:3])


def test_reads_inside_a_pipelined_block_see_the_writes_deferred_before_them(
    enrolled: Database,
) -> None:
    with enrolled.unit_of_work() as session, pipelined(session, 1):
        enrol_many(session, {"late": AT}, AT)
        (found,) = gather(session, _names(["late", "plain"]))
    assert found == {"late": AT, "plain": AT}


def test_a_batch_leaves_no_garbage_for_the_cycle_collector(enrolled: Database) -> None:
    """A unit of work that reads, through the remembered driver connection, frees
    itself by reference counting. (It once kept its transaction in the session's
    ``info``, a cycle that left every session of a server to the collector, whose
    passes then paused all requests in flight.)"""

    def batch() -> None:
        with enrolled.unit_of_work() as session:
            (found,) = gather(session, _names(["plain", "NULL"]))
            assert found == {"plain": AT, "NULL": AT}
            assert raw_connection(session) is raw_connection(session)

    batch()  # the pool's connection and the statements' caches, made once
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            batch()
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()

"""Group commit: concurrent single events share transactions, each gets its own answer."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from patron.core.db import Database
from patron.events.batcher import EventBatcher
from patron.events.models import Event
from patron.events.schemas import EventIn, EventResult
from patron.ledger.models import LedgerEntry
from tests.integration.conftest import count


def purchase(ext: str, member: str = "alice", amount: str = "10.00") -> EventIn:
    return EventIn.model_validate(
        {"external_id": ext, "type": "purchase", "member_external_id": member, "amount": amount}
    )


class RecordingBatcher(EventBatcher):
    """Records the size of every transaction; can be told to fail on one event."""

    def __init__(self, database: Database, poison: str | None = None) -> None:
        super().__init__(database)
        self.sizes: list[int] = []
        self.poison = poison

    def _ingest(self, events: list[EventIn], database: Database | None = None) -> list[EventResult]:
        self.sizes.append(len(events))
        if any(e.external_id == self.poison for e in events):
            raise RuntimeError("the database went away")
        return super()._ingest(events, database)


def submit_all(batcher: EventBatcher, events: list[EventIn]) -> list[Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*(batcher.submit(e) for e in events), return_exceptions=True)

    return asyncio.run(main())


def test_concurrent_events_share_transactions(cafe: Database) -> None:
    batcher = RecordingBatcher(cafe)
    events = [purchase(f"o{i}", member=f"m{i % 7}") for i in range(40)]
    results = submit_all(batcher, events)
    assert [r.status for r in results] == ["accepted"] * 40
    assert [r.external_id for r in results] == [e.external_id for e in events]
    assert sum(batcher.sizes) == 40 and len(batcher.sizes) < 40  # grouped, none lost
    assert count(cafe, Event) == 40 and count(cafe, LedgerEntry) == 40


def test_each_request_in_a_batch_gets_its_own_answer(cafe: Database) -> None:
    batcher = RecordingBatcher(cafe)
    first = submit_all(batcher, [purchase("o1")])[0]
    mixed = [
        purchase("o2"),
        purchase("o1"),  # a retry of a stored event
        purchase("o2"),  # a retry inside the same batch
        purchase("o1", amount="99.00"),  # same id, other payload
        EventIn.model_validate(
            {
                "external_id": "r1",
                "type": "refund",
                "member_external_id": "alice",
                "refund_of": "o1",
                "amount": "500.00",
            }  # fmt: skip
        ),
    ]
    results = submit_all(batcher, mixed)
    assert batcher.sizes == [1, 5]
    assert [r.status for r in results] == [
        "accepted", "duplicate", "duplicate", "rejected", "rejected"
    ]  # fmt: skip
    assert results[1].event_id == first.event_id and results[1].points == first.points
    assert results[2].event_id == results[0].event_id
    assert results[3].error["status"] == 409 and results[3].error["field"] == "external_id"
    assert results[4].error["status"] == 422 and results[4].error["field"] == "amount"
    assert count(cafe, Event) == 2


def test_a_failing_batch_is_retried_row_by_row(cafe: Database) -> None:
    batcher = RecordingBatcher(cafe, poison="bad")
    events = [purchase("o1"), purchase("bad"), purchase("o2", member="bob")]
    batcher.sizes.clear()
    results = submit_all(batcher, events)
    assert results[0].status == "accepted" and results[2].status == "accepted"
    assert isinstance(results[1], RuntimeError)
    assert count(cafe, Event) == 2
    assert max(batcher.sizes) > 1 and batcher.sizes.count(1) >= 3


@pytest.mark.parametrize("clients", [1, 3])
def test_batches_through_the_http_route(cafe: Database, clients: int) -> None:
    """The route answers 201/200/409 as before, whatever batch a request landed in."""
    import httpx

    from patron.access.service import create_api_key
    from patron.api.app import create_app

    with cafe.unit_of_work() as session:
        _, key = create_api_key(session, "till", ["pos"])
    app = create_app(cafe)

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            bodies = [purchase(f"o{i % clients}").model_dump(mode="json") for i in range(6)]
            return await asyncio.gather(
                *(
                    http.post("/v1/events", json=b, headers={"Authorization": f"Bearer {key}"})
                    for b in bodies
                )
            )

    responses = asyncio.run(main())
    codes = sorted(r.status_code for r in responses)
    assert codes == sorted([201] * clients + [200] * (6 - clients))
    assert {r.json()["index"] for r in responses} == {0}
    assert count(cafe, Event) == clients


def test_a_lock_held_elsewhere_is_waited_for_off_the_event_loop(cafe: Database) -> None:
    """On PostgreSQL batches are scored on the loop; one that meets a lock held by
    another transaction waits for it as for any query, through the loop, so the
    loop goes on serving while the lock is held, and nothing is lost."""
    if not cafe.is_postgres:
        pytest.skip("SQLite batches always run in a thread")
    batcher = EventBatcher(cafe)
    assert submit_all(batcher, [purchase("o1")])[0].status == "accepted"
    holder = Database(cafe.url)
    held = threading.Event()

    def hold_the_account(seconds: float) -> None:
        with holder.unit_of_work() as session:
            session.execute(text("SELECT 1 FROM point_accounts FOR UPDATE"))
            held.set()
            time.sleep(seconds)

    async def main() -> tuple[EventResult, float, float]:
        thread = threading.Thread(target=hold_the_account, args=(1.0,))
        thread.start()
        held.wait()
        gaps, last, started = [], time.perf_counter(), time.perf_counter()
        scoring = asyncio.ensure_future(batcher.submit(purchase("o2")))
        while not scoring.done():  # the loop keeps turning while the lock is held
            await asyncio.sleep(0.01)
            gaps.append(time.perf_counter() - last)
            last = time.perf_counter()
        thread.join()
        return scoring.result(), max(gaps), time.perf_counter() - started

    try:
        result, longest_gap, waited = asyncio.run(main())
    finally:
        holder.dispose()
    assert result.status == "accepted" and result.points > 0
    assert waited >= 0.9  # it did wait for the lock...
    assert longest_gap < 0.2  # ...but not on the loop
    assert count(cafe, Event) == 2 and count(cafe, LedgerEntry) == 2


def test_a_second_lane_scores_while_the_first_waits(cafe: Database) -> None:
    """Two batches in flight on one loop: while one waits for a lock held elsewhere,
    an event of another member is scored and answered."""
    if not cafe.is_postgres:
        pytest.skip("SQLite has one lane")
    batcher = EventBatcher(cafe)
    assert submit_all(batcher, [purchase("o1", member="alice")])[0].status == "accepted"
    assert submit_all(batcher, [purchase("o2", member="bob")])[0].status == "accepted"
    holder = Database(cafe.url)
    held = threading.Event()

    def hold_alice(seconds: float) -> None:
        with holder.unit_of_work() as session:
            session.execute(
                text(
                    "SELECT 1 FROM point_accounts a JOIN members m ON m.id = a.member_id"
                    " WHERE m.external_id = 'alice' FOR UPDATE OF a"
                )
            )
            held.set()
            time.sleep(seconds)

    async def main() -> tuple[float, float]:
        thread = threading.Thread(target=hold_alice, args=(1.0,))
        thread.start()
        held.wait()
        started = time.perf_counter()
        blocked = asyncio.ensure_future(batcher.submit(purchase("o3", member="alice")))
        await asyncio.sleep(0.1)  # the first lane is now waiting for alice's lock
        await batcher.submit(purchase("o4", member="bob"))
        bob_done = time.perf_counter() - started
        await blocked
        thread.join()
        return bob_done, time.perf_counter() - started

    try:
        bob_done, alice_done = asyncio.run(main())
    finally:
        holder.dispose()
    assert bob_done < 0.6 < alice_done  # bob's event did not queue behind alice's lock
    assert count(cafe, Event) == 4 and count(cafe, LedgerEntry) == 4


def test_a_lane_lingers_for_a_batch_as_large_as_the_last(
    cafe: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a batch of four, a lane that finds one request waits for the other
    three (the clients just answered) and ingests the four together."""
    monkeypatch.setattr("patron.events.batcher.LINGER_SECONDS", 5.0)
    batcher = RecordingBatcher(cafe)

    async def main() -> float:
        await asyncio.gather(*(batcher.submit(purchase(f"a{i}", f"m{i}")) for i in range(4)))
        started = time.perf_counter()

        async def later(i: int) -> EventResult:
            await asyncio.sleep(0.05 * i)
            return await batcher.submit(purchase(f"b{i}", f"m{i}"))

        await asyncio.gather(*(later(i) for i in range(4)))
        return time.perf_counter() - started

    took = asyncio.run(main())
    assert batcher.sizes == [4, 4]
    assert took < 2.0  # it started when the fourth arrived, not when the wait ran out


def test_at_low_load_nothing_lingers(cafe: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """One request after another: each is ingested at once, alone."""
    monkeypatch.setattr("patron.events.batcher.LINGER_SECONDS", 5.0)
    batcher = RecordingBatcher(cafe)

    async def main() -> float:
        started = time.perf_counter()
        for i in range(3):
            assert (await batcher.submit(purchase(f"s{i}"))).status == "accepted"
        return time.perf_counter() - started

    assert asyncio.run(main()) < 2.0
    assert batcher.sizes == [1, 1, 1]


def test_a_lingering_lane_that_finds_the_queue_taken_ends(
    cafe: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the lanes do, every request is ingested exactly once. (Two lanes
    may enrol the same new member at once; the loser's batch is retried row by
    row, as a batch meeting another process's enrolment is.)"""
    monkeypatch.setattr("patron.events.batcher.LINGER_SECONDS", 0.01)
    batcher = RecordingBatcher(cafe)

    async def main() -> list[EventResult]:
        async def later(i: int) -> EventResult:
            await asyncio.sleep(0.003 * (i % 5))
            return await batcher.submit(purchase(f"w{i}", f"m{i % 6}"))

        return await asyncio.gather(*(later(i) for i in range(30)))

    results = asyncio.run(main())
    assert [r.status for r in results] == ["accepted"] * 30
    assert 0 not in batcher.sizes
    assert count(cafe, Event) == 30 and count(cafe, LedgerEntry) == 30


def test_a_member_enrolled_meanwhile_by_another_transaction_is_found_on_a_rerun(
    cafe: Database,
) -> None:
    """Two writers enrol the same new member; the one that loses the unique key
    reruns its batch once, finds the member and scores the event (no 409)."""
    if not cafe.is_postgres:
        pytest.skip("SQLite writers take turns: they never race for a key")
    from patron.core.clock import now
    from patron.members.bulk import enrol_many

    batcher = RecordingBatcher(cafe)
    holder = Database(cafe.url)
    held = threading.Event()

    def enrol_and_hold(seconds: float) -> None:
        with holder.unit_of_work() as session:
            enrol_many(session, {"newbie": now()}, now())
            session.flush()
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=enrol_and_hold, args=(0.5,))
    thread.start()
    held.wait()
    try:
        result = submit_all(batcher, [purchase("n1", member="newbie")])[0]
    finally:
        thread.join()
        holder.dispose()
    assert result.status == "accepted" and result.points > 0
    assert batcher.sizes == [1, 1]  # the first try met the key, the rerun scored it
    assert count(cafe, Event) == 1

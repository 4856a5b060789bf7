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
    another transaction gives up after a moment and waits in a thread instead,
    so the loop goes on serving while the lock is held, and nothing is lost."""
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
    assert longest_gap < 0.6  # ...but not on the loop
    assert count(cafe, Event) == 2 and count(cafe, LedgerEntry) == 2

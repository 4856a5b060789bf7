"""Group commit for events sent one at a time over HTTP.

Scoring a batch costs a dozen statements in four round trips whatever its
size (program version, duplicates and members; locks, cap usage, budgets,
tiers and ids; the writes; the commit), so a till sending one event per
request would pay that fixed cost every time. The batcher lets concurrent requests share it:
while one batch is being ingested, requests that arrive wait in a queue; when
it commits, everything queued goes in the next batch, in arrival order.

A request arriving at an idle server is ingested at once, alone, so latency at
low load is unchanged; under load batches grow by themselves. Each request
still gets exactly the answer it would have got alone (``ingest`` scores and
rejects row by row; duplicates inside one batch behave like retries). If a
whole batch fails unexpectedly, its rows are retried one by one so one bad row
cannot fail its neighbours.

On PostgreSQL a batch of up to ``MAX_INLINE`` events is scored on the event
loop itself, in a greenlet whose waits on the server are awaited by the loop
(``core.cooperative``). The loop thus reads, parses and answers other requests
while a batch's queries run, and up to ``LANES`` batches are in flight at
once: while one waits on the server, the next is scored. In a worker thread
instead, a batch had to share the interpreter lock with the loop, and the
hand-offs made it take twice its own time (measured: 6.8 ms for one event in
the server against 3 ms alone); run on the loop with blocking waits, it held
the loop idle for a third of the time. A lock held elsewhere is waited for
like any query, without holding the loop. Concurrent batches lock their
members' accounts in one id order, as batches in different processes do.
SQLite, whose writers wait for each other up to its busy timeout, uses a
thread and one lane.

A batch costs a fixed 3 ms or so of CPU plus a fraction of that per event, so
its size decides the throughput of a busy worker. With two lanes, a lane that
starts eagerly takes the one request that arrived first and pays the fixed
cost for it alone. So a lane about to take fewer requests than the last batch
had waits up to ``LINGER_SECONDS`` for the rest (the clients just answered
are usually about to send their next request), and starts as soon as they are
there. At low load the last batch had one request and nothing ever waits.
Measured with 8 clients on one worker: 500 events/s with one lane, 520 with
two lanes, 730-800 with two lanes and lingering.
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from patron.core.cooperative import run_cooperatively
from patron.core.db import Database
from patron.events.ingest import ingest_outcomes
from patron.events.schemas import EventIn, EventResult
from patron.members.models import Member
from patron.program.service import current_program
from patron.rules.compiled import compiled_program

MAX_BATCH = 500  # bounds one transaction's size and the latency of the last in it
MAX_INLINE = 64  # larger batches go to a thread: the loop is never held long
LANES = 2  # batches in flight at once on the loop (PostgreSQL)
LINGER_SECONDS = 0.001  # the most a lane waits for a batch as large as the last
RERUNS = 3  # reruns of a batch that met a unique key another batch had just committed

Pending = tuple[EventIn, "asyncio.Future[EventResult]"]


class EventBatcher:
    """One per process and database; used from the event loop only."""

    def __init__(self, database: Database, max_batch: int = MAX_BATCH) -> None:
        self.database = database
        self.max_batch = max_batch
        # The loop's own connections, whose waits yield the loop (PostgreSQL).
        self._inline: Database | None = (
            Database(database.url, cooperative=True) if database.is_postgres else None
        )
        self._lanes = LANES if self._inline is not None else 1
        self._connected = False
        self._queue: list[Pending] = []
        self._draining: set[asyncio.Task[None]] = set()
        self._expected = 1  # the size of the last batch taken
        self._lingering: list[asyncio.Future[None]] = []

    async def warm_up(self) -> None:
        """What a worker's first events would otherwise wait for, done before it
        serves: the program in force read and its rules compiled, then on each
        lane's connection a dry batch, a purchase of the first active member
        scored and written in a transaction that is rolled back. That compiles
        the batch's SQL and prepares its statements on every connection a lane
        will use. It leaves nothing but gaps in the id sequences (as unused
        reserved ids do, see ``core.ids``).

        Measured in-process: the first ``POST /v1/events`` took 85-180 ms, and
        16 ms after the warm-up (the key's own look-up); 7-10 ms the next ones."""
        found = await run_in_threadpool(_read_program, self.database)
        if not found:
            return
        if self._inline is None:
            await run_in_threadpool(_dry_batch, self.database)
            return
        if not self._connected:
            await run_in_threadpool(_connect_once, self._inline)
            self._connected = True
        # At once: each holds a connection of its own while it waits on the server.
        await asyncio.gather(
            *(run_cooperatively(_dry_batch, self._inline) for _ in range(self._lanes))
        )

    async def submit(self, event: EventIn) -> EventResult:
        """Ingest ``event`` in the next batch and return its own result."""
        future: asyncio.Future[EventResult] = asyncio.get_running_loop().create_future()
        self._queue.append((event, future))
        if self._lingering and len(self._queue) >= self._expected:
            for waiting in self._lingering:
                _resolve(waiting)
        if len(self._draining) < self._lanes:
            lane = asyncio.create_task(self._drain())
            self._draining.add(lane)
            lane.add_done_callback(self._draining.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                if len(self._queue) < self._expected:
                    await self._linger()
                    if not self._queue:  # another lane took them
                        return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                self._expected = len(batch)
                await self._run(batch)
        finally:
            # At once, not in a done callback: a request submitted between this
            # lane's last look at the queue and that callback would find every
            # lane taken and wait forever.
            lane = asyncio.current_task()
            if lane is not None:
                self._draining.discard(lane)

    async def _linger(self) -> None:
        """Wait until the queue is as long as the last batch, or ``LINGER_SECONDS``."""
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(LINGER_SECONDS, _resolve, arrived)
        self._lingering.append(arrived)
        try:
            await arrived
        finally:
            timer.cancel()
            self._lingering.remove(arrived)

    async def _run(self, batch: list[Pending], reruns: int = RERUNS) -> None:
        events = [event for event, _ in batch]
        try:
            results = await self._score(events)
        except IntegrityError as exc:
            if reruns:
                # Another batch (a lane or process) enrolled the same new member or
                # stored the same external id first. A unique key is only reported
                # once that batch has committed, so the rerun sees its rows: the
                # member is known, the event a retry with its first answer. (The
                # rerun may meet the next such key: a member's first event and its
                # retry racing in two lanes.)
                await self._run(batch, reruns - 1)
                return
            failure: Exception = exc
        except Exception as exc:
            failure = exc
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            return
        if len(batch) == 1:
            if not batch[0][1].done():  # done: the client went away (cancelled)
                batch[0][1].set_exception(failure)
            return
        for pending in batch:  # one by one: a failing row must not fail the others
            await self._run([pending])

    async def _score(self, events: list[EventIn]) -> list[EventResult]:
        if self._inline is not None and len(events) <= MAX_INLINE:
            if not self._connected:
                # The first connection runs SQLAlchemy's dialect set-up under a
                # thread lock, which a greenlet waiting on the loop would hold.
                await run_in_threadpool(_connect_once, self._inline)
                self._connected = True
            return await run_cooperatively(self._ingest, events, self._inline)
        return await run_in_threadpool(self._ingest, events)

    def _ingest(self, events: list[EventIn], database: Database | None = None) -> list[EventResult]:
        with (database or self.database).unit_of_work() as session:
            return [outcome.result() for outcome in ingest_outcomes(session, events)]


def _connect_once(database: Database) -> None:
    with database.engine.connect():
        pass


def _read_program(database: Database) -> bool:
    """Whether a program is in force; its rules compiled."""
    with database.unit_of_work() as session:
        found = current_program(session)
    if found is not None:
        compiled_program(found[1])
    return found is not None


def _dry_batch(database: Database) -> None:
    """A purchase of the first active member, scored and written, rolled back."""
    session = database.sessions()
    try:
        member = session.scalar(
            select(Member.id).where(Member.status == "active").order_by(Member.id).limit(1)
        )
        if member is not None:
            purchase = {
                "external_id": f"patron-warm-up-{uuid4()}",
                "type": "purchase",
                "member_id": member,
                "amount": "1.00",
            }
            ingest_outcomes(session, [purchase])
    finally:
        session.rollback()
        session.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

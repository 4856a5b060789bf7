"""Synchronous database code that lets the event loop run while it waits.

The engine is synchronous (sessions, psycopg connections, plain functions), and
that is right for imports, jobs and the CLI. A server scoring events on its
event loop, though, would hold the loop through every round trip to
PostgreSQL: measured, the loop of a busy worker sat idle in those waits for a
third of its time, while requests that had arrived sat unread.

:func:`run_cooperatively` runs a plain function in a greenlet. A connection
of a cooperative :class:`~patron.core.db.Database` (:class:`CooperativeConnection`)
does every wait on the server (a query, a pipeline sync, a commit) by handing
psycopg's own asyncio wait to the event loop and switching back when it is
done. Outside such a greenlet it waits as any psycopg connection does. This
is the mechanism SQLAlchemy's asyncio extension is built on, applied to one
method: the code above it does not change, and CPU work still holds the loop
(a batch is kept small for that reason, see ``events.batcher``).

Rules for the callers: a greenlet must not share a connection with another
(each unit of work checks out its own), and the pool must never make a
greenlet wait for a connection (it would block the loop's thread): the
number of concurrent greenlets stays below the pool's size. An engine's first
connection is made outside a greenlet: SQLAlchemy sets the dialect up on it
under a thread lock, which a greenlet waiting on the loop would keep while
another asked for it.
"""

from __future__ import annotations

import select
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet
from psycopg import waiting
from psycopg.abc import PQGen
from psycopg.waiting import Ready, Wait

from patron.core.wire import WireConnection

T = TypeVar("T")


class _OnTheLoop(greenlet):
    """A greenlet whose waits are awaited by the event loop it was started from."""


async def run_cooperatively(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)``; each wait it hands over (:func:`wait_on_loop`) is awaited here."""
    child = _OnTheLoop(fn, getcurrent())
    request: Any = child.switch(*args)
    while not child.dead:
        try:
            value = await request
        except BaseException:  # into the greenlet, where the caller's handlers are
            request = child.throw(*sys.exc_info())
        else:
            request = child.switch(value)
    return request


def on_the_loop() -> bool:
    return isinstance(getcurrent(), _OnTheLoop)


def wait_on_loop(awaitable: Awaitable[T]) -> T:
    """From inside :func:`run_cooperatively`: let the loop await ``awaitable``."""
    return getcurrent().parent.switch(awaitable)


class CooperativeConnection(WireConnection):
    """A psycopg connection whose waits yield the event loop inside
    :func:`run_cooperatively`, and block as usual anywhere else."""

    def wait(self, gen: PQGen[T], interval: float = 0.1, timeout: float | None = None) -> T:
        if not on_the_loop():
            return super().wait(gen, interval, timeout)
        # Most waits psycopg asks for need none: a statement queued in a pipeline
        # waits for a socket that is writable, an answer may already be in. Run
        # the generator here while the socket is ready, and go to the loop only
        # when it would block (measured: of 23 waits a one-event request asked
        # for, 4 blocked; each of the others cost two greenlet switches and a
        # coroutine on the loop for nothing).
        socket = self.pgconn.socket
        try:
            state = next(gen)
            while ready := _ready_now(socket, state):
                state = gen.send(ready)
        except StopIteration as done:
            return cast(T, done.value)
        resumed = _resumed(state, gen)
        return wait_on_loop(waiting.wait_async(resumed, socket, interval=interval, timeout=timeout))


def _ready_now(socket: int, state: int) -> Ready:
    """What ``socket`` is ready for of what ``state`` (a psycopg ``Wait``) asks, now."""
    if _POLL is None:  # no poll() (Windows): every wait goes to the loop
        return Ready.NONE
    poller = _POLL()
    poller.register(socket, (_IN if state & Wait.R else 0) | (_OUT if state & Wait.W else 0))
    events = poller.poll(0)
    if not events:
        return Ready.NONE
    got = events[0][1]
    return Ready((Ready.R if got & _IN_OR_ERROR else 0) | (Ready.W if got & _OUT_OR_ERROR else 0))


_POLL = getattr(select, "poll", None)
if _POLL is not None:
    _IN, _OUT = select.POLLIN, select.POLLOUT
    # A closed or failed socket is "ready": psycopg's next read or write raises its error.
    _IN_OR_ERROR = select.POLLIN | select.POLLHUP | select.POLLERR
    _OUT_OR_ERROR = select.POLLOUT | select.POLLHUP | select.POLLERR


def _resumed(state: Wait, gen: PQGen[T]) -> PQGen[T]:
    """``gen``, already started: its first wait is ``state``."""
    ready = yield state
    while True:
        try:
            state = gen.send(ready)
        except StopIteration as done:
            return cast(T, done.value)
        ready = yield state

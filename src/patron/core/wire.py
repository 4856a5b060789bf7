"""A batch's reads and small writes sent on libpq's pipeline directly, past
psycopg's cursors.

A batch of one event (an API request) runs nine reads before its writes, in
two round trips (``core.raw.gather``). Through psycopg's cursors each read
cost about 110 µs of Python on this project's 2-core machine: a cursor made
and closed, the query converted, the pipeline's bookkeeping, the results set
on the cursor; the same reads sent here cost about a third of that (measured:
five short reads and their transaction, 650-700 µs of client CPU against
about 250). For a till's request the fixed cost of a batch is most of its
cost, so this is most of the CPU an event over HTTP saves. A small batch's
writes go the same way (:func:`deferring`): each sent as it is made, their
answers read once.

What stays psycopg's: the connection and its transaction (a read that is the
transaction's first opens it with the connection's own ``BEGIN``, as psycopg
would), its waits (so a cooperative connection, ``core.cooperative``, still
yields the event loop), the dumping of parameters and the loading of rows
(its C ``Transformer``, with the connection's adapters and time zone), and
its errors (a failed read raises the error psycopg would have raised, and the
transaction is left failed, for the caller to roll back as usual).

Statements are prepared on the server on first use, by a name this module
keeps per connection and per parameter types (what psycopg's own cache keys
on); a read with ``prepare=False`` is sent unnamed, planned for its values.
Prepared statements outlive a rolled-back transaction on the server, so a
name is remembered once the server has acknowledged it, whatever follows.
psycopg, though, sends ``DEALLOCATE ALL`` when it drops its own prepared
statements (after a rollback, a savepoint's included, or a ``DROP``), and
that takes ours too: only a :class:`WireConnection`, which hears of it, has
its reads prepared; on any other connection they are sent unnamed.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import fetch_many, pipeline_communicate

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")
_names = itertools.count(1)
# Per connection: (SQL, parameter types) -> the name it is prepared under.
_prepared: WeakKeyDictionary[psycopg.Connection[Any], dict[tuple[bytes, Any], bytes]] = (
    WeakKeyDictionary()
)
_shapes: dict[str, tuple[bytes, tuple[str, ...]]] = {}

Read = tuple[str, Mapping[str, Any], bool | None]  # SQL with %(name)s, values, prepare


class WireConnection(psycopg.Connection[Any]):
    """A psycopg connection whose reads through :func:`read_all` are prepared:
    it forgets their names when psycopg deallocates every prepared statement.

    ``_deallocate`` is psycopg's one way to the server's ``DEALLOCATE``
    (``psycopg._connection_base``); ``tests/integration/test_wire_reads.py``
    fails if a psycopg release stops calling it.
    """

    _deferred: _Writes | None = None  # a deferring block's writes (see deferring)

    def _deallocate(self, name: bytes | None) -> Any:
        if name is None:
            forget(self)
        return super()._deallocate(name)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        # Every other statement goes through a cursor (SQLAlchemy's, psycopg's own
        # ``execute``): the answers of the writes sent before it are read first,
        # so the connection leaves libpq's pipeline and the order holds.
        if self._deferred is not None and self._deferred.exchange is not None:
            send_deferred(self)
        return super().cursor(*args, **kwargs)


def forget(connection: psycopg.Connection[Any]) -> None:
    """The connection's prepared names are gone (or may be): prepare anew."""
    _prepared.pop(connection, None)


def can_send(connection: psycopg.Connection[Any]) -> bool:
    """Whether reads may go this way now: not inside a pipeline of psycopg's own
    (its queued statements and results would interleave with ours). A deferring
    block's writes are answered first."""
    if isinstance(connection, WireConnection) and connection._deferred is not None:
        send_deferred(connection)
    return connection.pgconn.pipeline_status == pq.PipelineStatus.OFF


class Pending:
    """A deferred statement; its rows (``RETURNING``) once its answers are in."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[Any] | None = None


class _Writes:
    """A pipelined block's statements: each sent as it is given, answers read once."""

    def __init__(self) -> None:
        self.exchange: _Exchange | None = None
        self.pending: list[tuple[int, Pending]] = []


@contextmanager
def deferring(connection: WireConnection) -> Iterator[None]:
    """Statements given to :func:`defer` inside the block are sent on libpq's
    pipeline as they come, and their answers read once, when the block ends (or
    before any other statement the connection runs: every statement not given
    here goes through a cursor, or a read of :func:`read_all`, which first read
    the answers due).

    A batch's writes (a small batch's five or so statements) were sent through
    psycopg's pipeline, a cursor made and its results set for each; sent here
    they cost what a read does (see the module's docstring), and the server
    starts on each as soon as it is given, as it did. A failed write raises
    psycopg's error when its answers are read; if the block itself raises, the
    answers due are read and dropped (the caller rolls the transaction back).
    """
    if connection._deferred is not None:  # already deferring: the outer block reads
        yield
        return
    connection._deferred = _Writes()
    try:
        yield
    except BaseException:
        with suppress(psycopg.Error):  # the block's own error is the one to raise
            send_deferred(connection)
        raise
    else:
        send_deferred(connection)
    finally:
        connection._deferred = None


def defer(
    connection: psycopg.Connection[Any], sql: str, values: Mapping[str, Any], prepare: bool = True
) -> Pending | None:
    """Send a statement (``%(name)s`` parameters) on a deferring connection, its
    answer read later; None when the connection is not deferring (the caller
    runs the statement itself)."""
    writes = getattr(connection, "_deferred", None)
    if writes is None:
        return None
    if writes.exchange is None:
        writes.exchange = _Exchange(connection, streaming=True)
    pending = Pending()
    writes.pending.append((writes.exchange.add(sql, values, prepare), pending))
    return pending


def deferring_now(connection: psycopg.Connection[Any]) -> bool:
    return getattr(connection, "_deferred", None) is not None


def send_deferred(connection: WireConnection) -> None:
    """Read the answers of what was deferred; each statement's rows to its Pending."""
    writes = connection._deferred
    if writes is None or writes.exchange is None:
        return
    exchange, pending = writes.exchange, writes.pending
    writes.exchange, writes.pending = None, []  # later writes start a new exchange
    rows = exchange.finish()
    for index, answer in pending:
        answer.rows = rows[index]


def read_all(connection: psycopg.Connection[Any], reads: Sequence[Read]) -> list[list[Any]]:
    """Each read's rows (tuples, as psycopg's cursors give them), in one round trip."""
    if isinstance(connection, WireConnection) and connection._deferred is not None:
        send_deferred(connection)  # the writes given before these reads first
    exchange = _Exchange(connection)
    for sql, values, prepare in reads:
        exchange.add(sql, values, prepare)
    return exchange.finish()


class _Exchange:
    """Statements on libpq's pipeline and their answers: sent all at once when
    read (:func:`read_all`), or each as it is added (``streaming``, a deferring
    block's writes)."""

    def __init__(self, connection: psycopg.Connection[Any], streaming: bool = False) -> None:
        self.connection = connection
        self.pgconn = pgconn = connection.pgconn
        self.named = isinstance(connection, WireConnection)
        self.prepared = _prepared.setdefault(connection, {}) if self.named else {}
        self.preparing: dict[tuple[bytes, Any], bytes] = {}  # prepared in this exchange
        self.transformer = Transformer(connection)
        self.commands: deque[Callable[[], None]] = deque()
        # What each command's results are: None (BEGIN), a name to remember, or an index.
        self.expected: list[None | tuple[tuple[bytes, Any], bytes] | int] = []
        self.count = 0
        self.streaming = streaming
        if not connection.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            self.commands.append(partial(pgconn.send_query_params, _begin(connection), None))
            self.expected.append(None)
        if streaming:
            pgconn.enter_pipeline_mode()

    def add(self, sql: str, values: Mapping[str, Any], prepare: bool | None) -> int:
        """Queue (or, streaming, send) one statement; its index among the answers."""
        pgconn, transformer = self.pgconn, self.transformer
        command, names = _shape(sql)
        params = transformer.dump_sequence(
            [values[name] for name in names], [PyFormat.AUTO] * len(names)
        )
        types, formats = transformer.types, transformer.formats
        if prepare is False or not self.named:
            self.commands.append(
                partial(
                    pgconn.send_query_params,
                    command,
                    params,
                    param_types=types,
                    param_formats=formats,
                )
            )
        else:
            key = (command, types)
            name = self.prepared.get(key) or self.preparing.get(key)
            if name is None:  # prepared once, even if this exchange runs it twice
                name = self.preparing[key] = f"patron_{next(_names)}".encode()
                self.commands.append(partial(pgconn.send_prepare, name, command, param_types=types))
                self.expected.append((key, name))
            self.commands.append(
                partial(pgconn.send_query_prepared, name, params, param_formats=formats)
            )
        index = self.count
        self.count += 1
        self.expected.append(index)
        if self.streaming:
            try:
                while self.commands:
                    self.commands.popleft()()
                pgconn.flush()  # what the socket takes now; the rest when answers are read
            except BaseException:
                _leave(self.connection)
                raise
        return index

    def finish(self) -> list[list[Any]]:
        """Each statement's rows (tuples, as psycopg's cursors give them)."""
        self.commands.append(self.pgconn.pipeline_sync)
        results = _exchange(
            self.connection, self.commands, len(self.expected) + 1, entered=self.streaming
        )
        failure = None
        rows: list[list[Any]] = [[] for _ in range(self.count)]
        transformer = self.transformer
        for what, got in zip(self.expected, results, strict=False):  # the sync's is last
            result = got[0]
            if result.status == pq.ExecStatus.FATAL_ERROR:
                encoding = self.connection.info.encoding
                failure = failure or errors.error_from_result(result, encoding=encoding)
            elif isinstance(what, tuple):
                self.prepared[what[0]] = what[1]
            elif isinstance(what, int) and result.status == pq.ExecStatus.TUPLES_OK:
                transformer.set_pgresult(result)
                rows[what] = transformer.load_rows(0, result.ntuples, tuple)
        if failure is not None:
            if isinstance(failure, errors.InvalidSqlStatementName):
                forget(self.connection)  # deallocated behind psycopg's back: prepare again
            raise failure
        return rows


def _exchange(
    connection: psycopg.Connection[Any],
    commands: deque[Callable[[], None]],
    wanted: int,
    entered: bool = False,
) -> list[list[pq.abc.PGresult]]:
    """Send ``commands`` in pipeline mode (``entered``: already in it, with
    statements sent) and collect ``wanted`` results (the last the sync's).
    Interrupted, the connection leaves pipeline mode, or is closed if answers
    are still due (the pool then replaces it)."""
    pgconn = connection.pgconn
    if not entered:
        pgconn.enter_pipeline_mode()
    try:
        results = connection.wait(pipeline_communicate(pgconn, commands))
        while len(results) < wanted:
            results.append(connection.wait(fetch_many(pgconn)))
    except BaseException:  # a lost connection, a request cancelled while it waited
        _leave(connection)
        raise
    pgconn.exit_pipeline_mode()
    return results


def _leave(connection: psycopg.Connection[Any]) -> None:
    """Out of pipeline mode after an interruption; closed if answers are still due."""
    try:
        connection.pgconn.exit_pipeline_mode()
    except psycopg.OperationalError:  # answers still due: no statement may follow
        connection.close()


def _shape(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """The SQL with ``$1``-style placeholders, and the parameter each stands for."""
    found = _shapes.get(sql)
    if found is None:
        names: list[str] = []

        def place(match: re.Match[str]) -> str:
            if match.group(0) == "%%":
                return "%"
            if match.group(1) is None:
                raise ValueError(f"only %(name)s parameters can be sent this way: {sql!r}")
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        found = _shapes[sql] = (_PLACEHOLDER.sub(place, sql).encode(), tuple(names))
    return found


def _begin(connection: psycopg.Connection[Any]) -> bytes:
    """The ``BEGIN`` psycopg itself would send, with the connection's settings."""
    parts = ["BEGIN"]
    if connection.isolation_level is not None:
        level = psycopg.IsolationLevel(connection.isolation_level)
        parts.append("ISOLATION LEVEL " + level.name.replace("_", " "))
    if connection.read_only is not None:
        parts.append("READ ONLY" if connection.read_only else "READ WRITE")
    if connection.deferrable is not None:
        parts.append("DEFERRABLE" if connection.deferrable else "NOT DEFERRABLE")
    return " ".join(parts).encode()

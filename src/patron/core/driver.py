"""Statements sent past SQLAlchemy, on the session's own driver connection.

The hot paths (bulk writes in ``core.bulk``, batch reads in ``core.raw``) use
the driver directly, inside the session's transaction; its errors are raised
as SQLAlchemy's, so callers and the API handle them as for any statement.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def raw_connection(session: Session) -> Any:
    """The session's driver connection (psycopg or sqlite3), in its transaction.

    Remembered for the transaction: a small batch asks a dozen times, and
    ``Session.connection()`` costs about 15 µs of SQLAlchemy bookkeeping each.
    The transaction is held by a weak reference: a strong one, kept in the
    session's ``info``, closed a cycle (session, info, transaction, session)
    that only the cycle collector could free, with the session's connection
    objects behind it; in a server, its young collections then freed some
    17,000 such objects at once, a pause of 12-15 ms every few seconds that
    every request in flight waited out.
    """
    transaction = session.get_transaction()
    known = session.info.get(_RAW)
    if known is not None and transaction is not None and known[0]() is transaction:
        return known[1]
    dbapi = session.connection().connection.dbapi_connection
    session.info[_RAW] = (weakref.ref(session.get_transaction()), dbapi)
    return dbapi


_RAW = "patron.raw_connection"


@contextmanager
def driver_errors(session: Session) -> Iterator[None]:
    """The driver's errors from statements sent past SQLAlchemy, raised as SQLAlchemy's
    (``IntegrityError`` and the rest), so callers and the API handle them as usual."""
    base = session.get_bind().dialect.loaded_dbapi.Error
    try:
        yield
    except base as exc:
        raise DBAPIError.instance(None, None, exc, base) from exc


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array parameter as its text literal: ``{1,2,NULL}``,
    ``{"a","b\\"c"}``.

    psycopg dumps a Python list element by element in Python, finding each
    element's type and escaping it: for the thousand keys and values of an
    import batch's reads and updates that was about a twelfth of the import's
    CPU. The literal is one string, typed by the statement (``CAST(%s AS
    bigint[])``, or ``col = ANY(%s)`` where PostgreSQL takes the column's
    type). Values are written exactly: integers and decimals as their digits,
    times in ISO 8601 with their offset (a naive one is UTC, as everywhere in
    Patron), JSON values as their JSON text.
    """
    return "{" + ",".join([_ELEMENT.get(type(v), _quoted_text)(v) for v in values]) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_text(value: Any) -> str:
    if isinstance(value, datetime):
        return _quoted_time(value)
    if isinstance(value, int):  # an int subclass (bool and int themselves are in _ELEMENT)
        return str(int(value))
    return _quoted(str(value))  # Decimal, date, a str subclass...


def _quoted_time(value: datetime) -> str:
    return '"' + utc_iso(value) + '"'


def _quoted_json(value: Any) -> str:
    return _quoted(json_text(value))


def utc_iso(value: datetime) -> str:
    """ISO 8601 with the offset; a naive time is UTC, as everywhere in Patron."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def json_text(value: Any) -> str:
    """Compact JSON text: orjson (eight times the standard encoder's speed on an
    event's lines and awards), the standard encoder for what orjson refuses
    (integers beyond 64 bits). Values JSON has no type for (Decimal) as text."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _ENCODER.encode(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)

# A run of 19 digits may be an integer orjson cannot hold: it turns those beyond
# 64 bits (below -2**63, above 2**64 - 1) into floats, silently. Such text goes
# to the standard parser.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def json_value(text: str | bytes) -> Any:
    """What ``json.loads`` gives, exactly, about three times as fast.

    orjson where it cannot differ; the standard parser for text with a run of
    19 digits and for what orjson refuses (NaN, lone surrogates, deep nesting),
    so values, and error messages, are the standard parser's.
    """
    if text == "{}" or text == b"{}":  # most members' attributes
        return {}
    raw = text.encode() if isinstance(text, str) else text
    if _NINETEEN_DIGITS not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except RecursionError:  # orjson refuses past 1,024 levels; json recurses until it fails
        raise json.JSONDecodeError("nested too deeply", "", 0) from None


_ELEMENT: dict[type, Callable[[Any], str]] = {
    int: str,
    bool: lambda v: "t" if v else "f",
    type(None): lambda _: "NULL",
    str: _quoted,
    datetime: _quoted_time,
    dict: _quoted_json,
    list: _quoted_json,
}

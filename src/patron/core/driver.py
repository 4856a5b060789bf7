"""Statements sent past SQLAlchemy, on the session's own driver connection.

The hot paths (bulk writes in ``core.bulk``, batch reads in ``core.raw``) use
the driver directly, inside the session's transaction; its errors are raised
as SQLAlchemy's, so callers and the API handle them as for any statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def raw_connection(session: Session) -> Any:
    """The session's driver connection (psycopg or sqlite3), in its transaction.

    Remembered for the transaction: a small batch asks a dozen times, and
    ``Session.connection()`` costs about 15 µs of SQLAlchemy bookkeeping each.
    """
    transaction = session.get_transaction()
    known = session.info.get(_RAW)
    if known is not None and transaction is not None and known[0] is transaction:
        return known[1]
    dbapi = session.connection().connection.dbapi_connection
    session.info[_RAW] = (session.get_transaction(), dbapi)
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

"""Cursor pagination over integer ids, oldest first.

A cursor is opaque to callers: the urlsafe base64 (unpadded) of the last id a
page returned. The next page holds the rows with a greater id, so rows written
between requests never shift a page and no row is seen twice.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from patron.core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_ID = 2**63 - 1  # PostgreSQL BIGINT; a larger id would overflow the query


def check_id(value: int, field: str, noun: str) -> None:
    """Refuse an id no row can have (the CLI's arguments: the API's paths say it
    in their parameters), before a query that could not bind it."""
    if not 1 <= value <= MAX_ID:
        raise InvalidInput(f"a {noun} id is a positive number up to {MAX_ID}", field=field)


class Page(BaseModel, Generic[T]):
    """One page of results; ``next_cursor`` is None on the last page."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor points after; None for the first page."""
    if cursor is None:
        return None
    bad = InvalidInput("cursor is not one this API handed out", field="cursor")
    if not cursor or len(cursor) > 32 or not cursor.isascii():
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise bad from None
    if not text.isdigit() or not text.isascii():
        raise bad
    value = int(text)
    if value > MAX_ID or encode_cursor(value) != cursor:
        raise bad
    return value


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


def paginate(
    session: Session,
    query: Select[Any],
    id_column: InstrumentedAttribute[int],
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[Any]:
    """Run ``query`` (selecting one ORM entity) a page at a time, ordered by ``id_column``."""
    size = check_limit(limit)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(id_column > after)
    rows = list(session.scalars(query.order_by(id_column).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(getattr(rows[-1], id_column.key)) if more else None
    return Page[Any](items=rows, next_cursor=next_cursor)

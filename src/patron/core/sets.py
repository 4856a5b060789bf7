"""``column IN (keys)`` for a batch's worth of keys.

SQLAlchemy renders an IN list as one bound parameter per key and renders it
again on every execution (its statement cache holds the statement with the
list still to expand), then processes each value; for the thousand keys of an
import batch that costs more than the database's own look-ups. On SQLite the
keys travel as one JSON text parameter read by ``json_each``, and the
statement is compiled once; SQLite still probes the column's index once per
key (EXPLAIN QUERY PLAN: ``SEARCH ... USING INDEX``). PostgreSQL keeps the
plain IN list: its planner estimates a literal list well, and an array
parameter in a prepared statement got a generic plan that scanned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, func, literal_column, select
from sqlalchemy.orm import Session


def among(session: Session, column: Any, keys: Iterable[int | str]) -> ColumnElement[bool]:
    """``column IN keys``; ``keys`` are ints or strings."""
    if session.get_bind().dialect.name != "sqlite":
        return column.in_(list(keys))
    listed = bindparam(None, json.dumps(list(keys)), type_=String)
    return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))

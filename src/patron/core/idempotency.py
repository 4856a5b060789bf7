"""Idempotent writes: a retry with the same ``Idempotency-Key`` gets the first result.

A route handling a write with a key first calls :func:`replay`; if it returns a
stored ``(status_code, response)`` the route answers with that and writes
nothing. Otherwise it does the work and calls :func:`remember` in the same unit
of work, so the stored response commits (or rolls back) with the write itself.

The same key sent with a different payload is a client bug, answered with 409.
Two concurrent first attempts with one key race on the primary key; the loser's
transaction fails with an ``IntegrityError`` (mapped to 409, "retry it"), and its
retry then replays the winner's response.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.core.errors import Conflict, InvalidInput
from patron.core.idempotency_models import IdempotencyRecord

MAX_KEY_LENGTH = 200
MAX_SCOPE_LENGTH = 100


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot hash a {type(value).__name__} in an idempotent payload")


def payload_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of ``payload`` (sorted keys, Decimals as str)."""
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check(scope: str, key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"an Idempotency-Key is 1 to {MAX_KEY_LENGTH} characters", field="Idempotency-Key"
        )
    if not scope or len(scope) > MAX_SCOPE_LENGTH:
        raise ValueError(f"idempotency scope must be 1 to {MAX_SCOPE_LENGTH} characters")


def replay(
    session: Session, scope: str, key: str, payload: dict[str, Any]
) -> tuple[int, dict[str, Any]] | None:
    """The stored ``(status_code, response)`` for this key, or None if it is new.

    Raises :class:`Conflict` when the key was used before with another payload.
    """
    _check(scope, key)
    record = session.get(IdempotencyRecord, (scope, key))
    if record is None:
        return None
    if record.request_hash != payload_hash(payload):
        raise Conflict(
            "this Idempotency-Key was already used with a different request body",
            field="Idempotency-Key",
        )
    return record.status_code, record.response


def remember(
    session: Session,
    scope: str,
    key: str,
    payload: dict[str, Any],
    status_code: int,
    response: dict[str, Any],
) -> IdempotencyRecord:
    """Store the result of a write so a retry with ``key`` replays it.

    ``response`` must be JSON-ready (``model_dump(mode="json")``).
    """
    _check(scope, key)
    record = IdempotencyRecord(
        scope=scope,
        key=key,
        request_hash=payload_hash(payload),
        status_code=status_code,
        response=response,
        created_at=now(),
    )
    session.add(record)
    session.flush()
    return record

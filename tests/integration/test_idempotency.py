"""Idempotency records: replay, remember, and a reused key with another payload."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import Conflict, InvalidInput
from patron.core.idempotency import payload_hash, remember, replay
from patron.core.idempotency_models import IdempotencyRecord


def test_payload_hash_is_canonical() -> None:
    a = {"amount": Decimal("12.50"), "lines": [{"sku": "x", "qty": 1}], "currency": "EUR"}
    b = {"currency": "EUR", "lines": [{"qty": 1, "sku": "x"}], "amount": "12.50"}
    assert payload_hash(a) == payload_hash(b)
    assert payload_hash(a) != payload_hash({**a, "amount": Decimal("12.51")})
    assert len(payload_hash({})) == 64


def test_remember_then_replay(database: Database, clock: FrozenClock) -> None:
    payload = {"points": 50, "reason": "goodwill", "amount": Decimal("1.5")}
    with database.unit_of_work() as session:
        assert replay(session, "points.adjust", "k-1", payload) is None
        remember(session, "points.adjust", "k-1", payload, 201, {"entry_id": 7})
    with database.unit_of_work() as session:
        assert replay(session, "points.adjust", "k-1", dict(payload)) == (201, {"entry_id": 7})
        # The same key in another scope is a different request.
        assert replay(session, "points.debit", "k-1", payload) is None
        with pytest.raises(Conflict) as caught:
            replay(session, "points.adjust", "k-1", {**payload, "points": 51})
        assert caught.value.field == "Idempotency-Key"
        record = session.get(IdempotencyRecord, ("points.adjust", "k-1"))
        assert record is not None and record.created_at == clock.now()


def test_remember_rolls_back_with_the_write(database: Database, clock: FrozenClock) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        remember(session, "members.create", "k-2", {}, 201, {"id": 1})
        raise RuntimeError("the write failed after remembering")
    with database.unit_of_work() as session:
        assert replay(session, "members.create", "k-2", {}) is None


@pytest.mark.parametrize("key", ["", "x" * 201])
def test_key_length_is_checked(database: Database, key: str) -> None:
    with pytest.raises(InvalidInput) as caught, database.unit_of_work() as session:
        replay(session, "members.create", key, {})
    assert caught.value.field == "Idempotency-Key"

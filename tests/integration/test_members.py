"""Member services on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.core.errors import Conflict, InvalidInput, NotFound
from patron.ledger.models import PointAccount
from patron.members.models import Member
from patron.members.schemas import MemberCreate, MemberUpdate
from patron.members.service import (
    create_member,
    find_member,
    get_member,
    list_members,
    update_member,
)


def enrol(database: Database, **fields: Any) -> Member:
    with database.unit_of_work() as session:
        return create_member(session, MemberCreate.model_validate(fields))


def count(database: Database, model: Any = Member) -> int:
    with database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_create_stores_normalised_member_and_empty_account(
    database: Database, clock: FrozenClock
) -> None:
    member = enrol(
        database,
        email=" Ann@Example.COM",
        phone="+1 (650) 253-0000",
        birthday="1990-05-17",
        consents={"sms": True},
        attributes={"store": "SF"},
    )
    with database.unit_of_work() as session:
        stored = get_member(session, member.id)
        assert (stored.email, stored.phone) == ("ann@example.com", "+16502530000")
        assert stored.birthday == date(1990, 5, 17)
        assert stored.enrolled_at == stored.updated_at == clock.now()
        assert stored.consents["sms"] == {"granted": True, "at": clock.now().isoformat()}
        assert stored.consents["email"]["granted"] is False
        account = session.get(PointAccount, member.id)
        assert account is not None
        assert (account.balance, account.debt, account.updated_at) == (0, 0, clock.now())


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"external_id": "x1"}, {"external_id": "x1"}, "external_id"),
        ({"email": "a@example.com"}, {"email": "A@EXAMPLE.com"}, "email"),
        ({"phone": "+4915112345678"}, {"phone": "+49 151 1234 5678"}, "phone"),
    ],
)
def test_duplicates_conflict_and_roll_back(
    database: Database, clock: FrozenClock, first: Any, second: Any, field: str
) -> None:
    enrol(database, **first)
    with pytest.raises(Conflict) as caught:
        enrol(database, **second)
    assert caught.value.field == field
    assert count(database) == 1 and count(database, PointAccount) == 1


def test_update_is_partial_and_checks_uniqueness(database: Database, clock: FrozenClock) -> None:
    ann = enrol(database, email="ann@example.com", first_name="Ann", attributes={"a": 1, "b": 2})
    bob = enrol(database, email="bob@example.com")
    clock.advance(hours=1)
    with database.unit_of_work() as session:
        patch = MemberUpdate.model_validate({"phone": "+4915112345678", "attributes": {"a": None}})
        updated = update_member(session, ann.id, patch)
        assert (updated.first_name, updated.email) == ("Ann", "ann@example.com")
        assert updated.attributes == {"b": 2}
        assert updated.updated_at == clock.now()
    with pytest.raises(Conflict) as caught, database.unit_of_work() as session:
        update_member(session, bob.id, MemberUpdate(email="ANN@example.com"))
    assert caught.value.field == "email"
    with database.unit_of_work() as session:
        # Setting a member's own value again is not a conflict, and not a change.
        same = update_member(session, ann.id, MemberUpdate(email="ann@example.com"))
        assert same.updated_at == clock.now()
        assert get_member(session, bob.id).email == "bob@example.com"


def test_consent_time_moves_only_when_consent_changes(
    database: Database, clock: FrozenClock
) -> None:
    member = enrol(database, consents={"email": True})
    enrolled = clock.now().isoformat()
    clock.advance(days=3)
    with database.unit_of_work() as session:
        update_member(
            session,
            member.id,
            MemberUpdate.model_validate({"consents": {"email": True, "push": True}}),
        )
    with database.unit_of_work() as session:
        consents = get_member(session, member.id).consents
    assert consents["email"] == {"granted": True, "at": enrolled}
    assert consents["push"] == {"granted": True, "at": clock.now().isoformat()}
    assert consents["sms"] == {"granted": False, "at": enrolled}


def test_future_birthday_uses_the_clock(database: Database, clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match="future"):
        MemberCreate(birthday=date(2026, 3, 3))
    assert MemberCreate(birthday=date(2026, 3, 2)).birthday == date(2026, 3, 2)


def test_unknown_member(database: Database) -> None:
    with pytest.raises(NotFound) as caught, database.unit_of_work() as session:
        get_member(session, 12345)
    assert caught.value.field == "member_id"
    with pytest.raises(NotFound), database.unit_of_work() as session:
        update_member(session, 12345, MemberUpdate(first_name="X"))


def test_find_member_normalises_and_needs_one_key(database: Database, clock: FrozenClock) -> None:
    member = enrol(database, external_id="pos-9", email="c@example.com", phone="+4915112345678")
    with database.unit_of_work() as session:
        assert find_member(session, email=" C@Example.com").id == member.id
        assert find_member(session, phone="+49 151 12345678").id == member.id
        assert find_member(session, external_id="pos-9").id == member.id
        for bad in ({}, {"email": "c@example.com", "external_id": "pos-9"}):
            with pytest.raises(InvalidInput) as caught:
                find_member(session, **bad)
            assert caught.value.field == "external_id|email|phone"
        with pytest.raises(NotFound) as missing:
            find_member(session, email="d@example.com")
        assert missing.value.field == "email"


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 20])
def test_pages_see_every_member_once(database: Database, clock: FrozenClock, limit: int) -> None:
    with database.unit_of_work() as session:
        ids = [
            create_member(session, MemberCreate(status="blocked" if i % 3 == 0 else "active")).id
            for i in range(10)
        ]
    for status, expected in (
        (None, ids),
        ("blocked", ids[::3]),
        ("active", [i for n, i in enumerate(ids) if n % 3]),
    ):
        seen: list[int] = []
        cursor = None
        with database.unit_of_work() as session:
            while True:
                page = list_members(session, cursor=cursor, limit=limit, status=status)
                assert len(page.items) <= limit
                seen += [m.id for m in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert seen == expected


def test_list_rejects_bad_arguments(database: Database) -> None:
    with database.unit_of_work() as session:
        for kwargs, field in (
            ({"cursor": "!!"}, "cursor"),
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"status": "deleted"}, "status"),
        ):
            with pytest.raises(InvalidInput) as caught:
                list_members(session, **kwargs)
            assert caught.value.field == field


@pytest.mark.postgres
def test_concurrent_enrolments_with_one_email_conflict_cleanly(
    database: Database, clock: FrozenClock
) -> None:
    if not database.is_postgres:
        pytest.skip("real concurrency needs PostgreSQL")
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def attempt(n: int) -> None:
        try:
            with database.unit_of_work() as session:
                data = MemberCreate(email="race@example.com", external_id=f"r{n}")
                barrier.wait()
                outcomes.append(create_member(session, data).id)
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(outcomes) == 4 and len(conflicts) == 3, outcomes
    assert all(c.field == "email" for c in conflicts)
    assert count(database) == 1 and count(database, PointAccount) == 1


def test_cli_create_list_find_show(
    database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from patron.members import commands

    monkeypatch.setattr(commands, "get_database", lambda: database)
    runner = CliRunner()
    created = runner.invoke(
        commands.app,
        ["create", "--external-id", "c1", "--email", "Ann@Example.com", "--first-name", "Ann"],
    )
    assert created.exit_code == 0, created.output
    assert "ann@example.com" in created.output
    listed = runner.invoke(commands.app, ["list"])
    assert listed.exit_code == 0 and "c1" in listed.output
    found = runner.invoke(commands.app, ["find", "--email", "ANN@example.com"])
    assert found.exit_code == 0 and "Member 1: Ann" in found.output
    shown = runner.invoke(commands.app, ["show", "1"])
    assert shown.exit_code == 0 and "Member 1: Ann" in shown.output
    assert "Points:" in shown.output  # the ledger is installed

    duplicate = runner.invoke(commands.app, ["create", "--email", "ann@example.com"])
    assert isinstance(duplicate.exception, Conflict) and duplicate.exception.field == "email"
    bad = runner.invoke(commands.app, ["create", "--birthday", "2030-01-01"])
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "birthday"
    missing = runner.invoke(commands.app, ["show", "99"])
    assert isinstance(missing.exception, NotFound)
    assert count(database) == 1

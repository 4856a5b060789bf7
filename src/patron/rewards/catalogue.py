"""The rewards table: synced from the program file, holding the stock counters.

The program file defines rewards; :func:`sync_catalogue` runs whenever a
program version is saved. A reward new to the file gets a row; a changed one
has its row updated (its ``issued`` counter is kept: a new ``stock`` is the new
total, so lowering it below what was issued simply stops redemptions); a reward
dropped from the file is marked inactive, never deleted (its coupons stay valid).

Stock moves only through :func:`take_stock` and :func:`return_stock`, single
conditional UPDATEs, so concurrent redemptions can never oversell.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from patron.core.errors import NotFound
from patron.rewards.models import Reward

if TYPE_CHECKING:
    from patron.program.schema import Program


def sync_catalogue(session: Session, program: Program, version: int, at: datetime) -> None:
    rows = {row.key: row for row in session.scalars(select(Reward))}
    for reward in program.rewards:
        definition = reward.model_dump(mode="json")
        row = rows.pop(reward.id, None)
        if row is None:
            session.add(
                Reward(
                    key=reward.id,
                    name=reward.name,
                    kind=reward.kind,
                    cost=reward.cost,
                    stock=reward.stock,
                    issued=0,
                    birthday=reward.birthday,
                    active=True,
                    definition=definition,
                    program_version=version,
                    created_at=at,
                    updated_at=at,
                )
            )
            continue
        changed = (
            row.name != reward.name
            or row.kind != reward.kind
            or row.cost != reward.cost
            or row.stock != reward.stock
            or row.birthday != reward.birthday
            or not row.active
            or row.definition != definition
        )
        if changed:
            row.name, row.kind, row.cost = reward.name, reward.kind, reward.cost
            row.stock, row.birthday, row.active = reward.stock, reward.birthday, True
            row.definition = definition
            row.updated_at = at
        row.program_version = version
    for row in rows.values():  # no longer in the program
        if row.active:
            row.active = False
            row.updated_at = at
    session.flush()


def list_rewards(session: Session, *, include_inactive: bool = False) -> list[Reward]:
    query = select(Reward).order_by(Reward.id)
    if not include_inactive:
        query = query.where(Reward.active.is_(True))
    return list(session.scalars(query))


def get_reward(session: Session, key: str, field: str = "reward_id") -> Reward:
    row = session.scalar(select(Reward).where(Reward.key == key))
    if row is None:
        raise NotFound(f"no reward with id '{key}'", field=field)
    return row


def remaining(row: Reward) -> int | None:
    """Coupons left, None when the stock is unlimited."""
    return None if row.stock is None else max(row.stock - row.issued, 0)


def take_stock(session: Session, reward_id: int) -> bool:
    """Count one more coupon issued, if any is left. False when out of stock.

    One statement: on PostgreSQL a concurrent redemption waits for the row lock
    and re-checks ``issued < stock`` against the committed count.
    """
    result = session.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.stock.is_(None) | (Reward.issued < Reward.stock))
        .values(issued=Reward.issued + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def return_stock(session: Session, reward_id: int) -> None:
    """A cancelled redemption gives its coupon back to the stock."""
    session.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.issued > 0)
        .values(issued=Reward.issued - 1)
        .execution_options(synchronize_session=False)
    )

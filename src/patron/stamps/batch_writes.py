"""Writing what a batch did to stamp cards: coupons of full cards, new and changed
cards, and the stamp rows, after the batch's events are written."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm import Session

from patron.core.bulk import insert_rows, update_rows
from patron.core.db import table_of
from patron.core.ids import reserve_ids
from patron.program.schema import Program
from patron.rewards.free import cancel_free_coupons, issue_free_coupons
from patron.stamps.batch import StampBatch
from patron.stamps.cards import Card, card_row, stamp_row
from patron.stamps.models import Stamp, StampCard

if TYPE_CHECKING:
    from patron.events.rows import Row

CARDS = table_of(StampCard)
STAMPS = table_of(Stamp)


def stamp_ids_wanted(program: Program, rows: Sequence[Row]) -> int:
    """Stamp ids to reserve with the batch's own: one stamp row per card a
    purchase or refund touches, as a rule (a card that fills up and goes on in
    a new one takes two; ``save_stamps`` then reserves them all again)."""
    return len(program.stamp_cards) * sum(r.event.type in ("purchase", "refund") for r in rows)


def writes_only_rows(batch: StampBatch) -> bool:
    """Whether saving is only new stamp rows and the changed counts of stored
    cards, with every id known: no coupon, no new card, no merge. Then the
    writes need no answer and can travel in the batch's write pipeline."""
    return (
        not batch.to_cancel
        and not batch.stored_moves
        and not batch.cards  # new cards need their ids first
        and not any(c.coupon is not None for c in stored_cards(batch))
        and len(batch.entries) <= len(batch.stamp_ids)
    )


def save_stamps(batch: StampBatch, session: Session, at: datetime) -> None:
    """Write coupons, cards and stamps (after the batch's events are written)."""
    if not batch.entries:
        return
    completed = [c for c in batch.cards + stored_cards(batch) if c.coupon is not None]
    ids = issue_free_coupons(session, [c.coupon for c in completed if c.coupon])
    for card, redemption_id in zip(completed, ids, strict=True):
        card.redemption_id = redemption_id
    cancel_free_coupons(session, batch.to_cancel, at)
    fresh = [c for c in batch.cards if not c.gone]
    for card, card_id in zip(fresh, reserve_ids(session, CARDS, len(fresh)), strict=True):
        card.id = card_id
    insert_rows(session, CARDS, [card_row(c, at) for c in fresh])
    update_rows(
        session,
        CARDS,
        "id",
        [card_row(c, at) for c in stored_cards(batch) if c.changed and not c.gone],
    )
    if batch.stored_moves:
        session.execute(
            update(STAMPS)
            .where(STAMPS.c.card_id == bindparam("gone"))
            .values(card_id=bindparam("into")),
            [{"gone": g.id, "into": i.id} for g, i in batch.stored_moves],
            execution_options={"synchronize_session": False},
        )
    stamp_ids = (
        batch.stamp_ids[: len(batch.entries)]  # reserved with the batch's ids, as a rule
        if len(batch.entries) <= len(batch.stamp_ids)
        else reserve_ids(session, STAMPS, len(batch.entries))  # those go unused
    )
    insert_rows(
        session,
        STAMPS,
        [stamp_row(e, i) for e, i in zip(batch.entries, stamp_ids, strict=True)],
    )
    if batch.stored_moves:
        session.execute(
            delete(CARDS).where(CARDS.c.id.in_([g.id for g, _ in batch.stored_moves])),
            execution_options={"synchronize_session": False},
        )


def stored_cards(batch: StampBatch) -> list[Card]:
    """The stored cards the batch touched, by id."""
    seen: dict[int, Card] = {}
    for entry in batch.entries:
        if not entry.card.new and entry.card.id is not None:
            seen[entry.card.id] = entry.card
    for card in batch.open.values():
        if not card.new and card.id is not None:
            seen.setdefault(card.id, card)
    for gone, _ in batch.stored_moves:
        seen.setdefault(gone.id or 0, gone)
    return [seen[k] for k in sorted(seen)]

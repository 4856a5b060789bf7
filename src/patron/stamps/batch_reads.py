"""What a batch reads of stamp cards, as a loader for ``core.raw.gather``.

The rewards and the batch's members' open cards are read with the account
locks, in one round trip on PostgreSQL (before, two ORM queries of their own
after it); statements are built once. A batch with refunds then reads what
their purchases stamped, with the session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patron.core.raw import Ask, Loading, keys_in
from patron.events.models import Event
from patron.program.schema import Program
from patron.rewards.free import lock_coupons
from patron.rewards.models import Reward
from patron.stamps.batch import StampBatch
from patron.stamps.cards import Card
from patron.stamps.counting import Line
from patron.stamps.models import Stamp, StampCard

if TYPE_CHECKING:
    from patron.events.rows import MemberState, Row

# In the order of Card's fields.
_CARD_COLUMNS = (
    StampCard.id,
    StampCard.member_id,
    StampCard.card,
    StampCard.status,
    StampCard.stamps,
    StampCard.goal,
    StampCard.started_at,
    StampCard.expires_at,
    StampCard.ended_at,
    StampCard.redemption_id,
)
_OPEN_CARDS = select(*_CARD_COLUMNS).where(
    keys_in(StampCard.member_id, "keys"), StampCard.status == "open"
)
_REWARDS = select(Reward.key, Reward.id).where(keys_in(Reward.key, "keys"))


def stamp_batch_loading(
    session: Session,
    program: Program,
    rows: Sequence[Row],
    members: dict[int, MemberState],
) -> Loading[StampBatch | None]:
    """None when the program has no stamp cards (then ingestion does nothing more).

    A loader for ``core.raw.gather``: the rewards and the open cards are read
    with the batch's locks (one round trip on PostgreSQL); a batch with refunds
    then reads what their purchases stamped.
    """
    if not program.stamp_cards:
        return None
    batch = StampBatch(program, members, {c.id: c for c in program.stamp_cards})
    member_ids = sorted({r.member_id for r in rows})
    if not member_ids:
        return batch
    wanted = sorted({c.reward for c in program.stamp_cards})
    rewards, cards = yield [
        Ask(_REWARDS, {"keys": wanted}, keys=("keys",)),
        Ask(_OPEN_CARDS, {"keys": member_ids}, keys=("keys",)),
    ]
    batch.reward_rows = {key: rid for key, rid in rewards}
    for row in cards:
        card = Card(*row)
        batch.open[(card.member_id, card.card)] = card
    refunded = {r.event.refund_of for r in rows if r.event.type == "refund"}
    refunded.discard(None)
    if refunded:
        _load_refunded(batch, session, refunded)  # type: ignore[arg-type]
    return batch


def _load_refunded(batch: StampBatch, session: Session, external_ids: set[str]) -> None:
    purchases = session.execute(
        select(Event.id, Event.external_id, Event.lines, Event.amount).where(
            Event.external_id.in_(external_ids), Event.type == "purchase"
        )
    ).all()
    if not purchases:
        return
    by_id = {p.id: p.external_id for p in purchases}
    for p in purchases:
        batch.purchase_ids[p.external_id] = p.id
        batch.lines[p.external_id] = (
            [
                Line(li["sku"], li.get("category"), li["quantity"], li["unit_price"])
                for li in p.lines or []
            ],
            p.amount,
        )
    given = session.execute(
        select(Stamp.purchase_id, Stamp.card_id, func.sum(Stamp.count))
        .where(Stamp.purchase_id.in_(list(by_id)))
        .group_by(Stamp.purchase_id, Stamp.card_id)
        .order_by(Stamp.card_id)
    ).all()
    known = {c.id: c for c in batch.open.values()}
    missing = sorted({card_id for _, card_id, _ in given} - set(known))
    if missing:
        for stored in session.scalars(select(StampCard).where(StampCard.id.in_(missing))):
            known[stored.id] = card_of(stored)
        coupons = lock_coupons(
            session, [c.redemption_id for c in known.values() if c.redemption_id]
        )
        for card in known.values():
            if card.redemption_id is not None:
                card.coupon_status = coupons.get(card.redemption_id)
    for purchase_id, card_id, total in given:
        card = known[card_id]
        batch.given.setdefault((by_id[purchase_id], card.card), {})[card] = int(total or 0)


def card_of(row: StampCard) -> Card:
    return Card(
        row.id,
        row.member_id,
        row.card,
        row.status,
        row.stamps,
        row.goal,
        row.started_at,
        row.expires_at,
        row.ended_at,
        row.redemption_id,
    )


def stored_stamp_texts(session: Session, event_ids: Sequence[int]) -> dict[int, list[str]]:
    """The stamp explanations stored events produced, for replies to retries."""
    out: dict[int, list[str]] = defaultdict(list)
    if event_ids:
        for event_id, text in session.execute(
            select(Stamp.event_id, Stamp.explanation)
            .where(Stamp.event_id.in_(list(event_ids)))
            .order_by(Stamp.id)
        ):
            if event_id is not None:
                out[event_id].append(text)
    return out

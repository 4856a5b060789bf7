"""Reading a member's stamp cards (ingestion writes them: see ``batch.py``).

An open card whose ``expires_at`` has passed is shown as expired even before
the next stamp closes it: like coupons, expiry is decided by time, not by a job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.members.service import get_member
from patron.program.schema import Program
from patron.rewards.codes import display
from patron.rewards.coupons import coupon_state
from patron.rewards.models import Redemption
from patron.stamps.counting import is_expired
from patron.stamps.models import Stamp, StampCard

DEFAULT_ENDED = 20


@dataclass(frozen=True)
class StampLine:
    kind: str
    count: int
    explanation: str
    at: datetime
    event_id: int | None


@dataclass(frozen=True)
class CardView:
    id: int
    card: str
    name: str
    status: str  # open | complete | expired
    stamps: int  # on the card (never below 0)
    owed: int  # stamps the card owes after a refund (see batch.py)
    goal: int
    started_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    coupon_code: str | None
    coupon_status: str | None  # issued | used | cancelled | expired
    history: list[StampLine]


def member_stamp_cards(
    session: Session,
    member_id: int,
    at: datetime,
    program: Program | None,
    *,
    ended: int = DEFAULT_ENDED,
) -> list[CardView]:
    """The member's open cards, then up to ``ended`` completed or expired ones, newest
    first, each with its stamps history. NotFound naming ``member_id``."""
    get_member(session, member_id)
    names = {c.id: c.name for c in (program.stamp_cards if program else [])}
    open_cards = list(
        session.scalars(
            select(StampCard)
            .where(StampCard.member_id == member_id, StampCard.status == "open")
            .order_by(StampCard.id)
        )
    )
    closed = list(
        session.scalars(
            select(StampCard)
            .where(StampCard.member_id == member_id, StampCard.status != "open")
            .order_by(StampCard.id.desc())
            .limit(ended)
        )
    )
    cards = open_cards + closed
    ids = [c.id for c in cards]
    history: dict[int, list[StampLine]] = defaultdict(list)
    coupons: dict[int, Redemption] = {}
    if ids:
        for s in session.scalars(select(Stamp).where(Stamp.card_id.in_(ids)).order_by(Stamp.id)):
            history[s.card_id].append(
                StampLine(s.kind, s.count, s.explanation, s.created_at, s.event_id)
            )
        wanted = [c.redemption_id for c in cards if c.redemption_id and c.status == "complete"]
        if wanted:
            coupons = {
                r.id: r
                for r in session.scalars(select(Redemption).where(Redemption.id.in_(wanted)))
            }
    out = []
    for c in cards:
        status = c.status
        if status == "open" and is_expired(c.expires_at, at):
            status = "expired"
        coupon = coupons.get(c.redemption_id or 0) if status == "complete" else None
        out.append(
            CardView(
                c.id,
                c.card,
                names.get(c.card, c.card),
                status,
                max(c.stamps, 0),
                max(-c.stamps, 0),
                c.goal,
                c.started_at,
                c.expires_at,
                c.ended_at or (c.expires_at if status == "expired" else None),
                display(coupon.code) if coupon else None,
                coupon_state(coupon, at) if coupon else None,
                history[c.id],
            )
        )
    return out

"""Redeeming rewards, cancelling redemptions, gift fulfilment. Services never commit.

Redeeming, in one transaction:

1. lock the member's point account (``FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``),
   so per-member limits and the balance are read under the lock;
2. check the reward is offered now (validity window, early access by tier), the
   member is eligible (tier, segment) and under the per-member limit;
3. spend the cost first-to-expire first, as :func:`patron.ledger.service.debit`
   does, with fewer statements (``spend.py``; entry kind ``spend``:
   ``-150 pts: Redeemed Free latte``);
4. issue the coupon (a random code with a check character, see ``codes.py``);
5. take one from the stock with a single conditional UPDATE, last, so the hot
   reward row is locked only from there to the commit. Out of stock raises,
   and the caller's unit of work rolls everything back: no points are spent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from patron.core.errors import Conflict, InsufficientPoints, InvalidInput, NotFound
from patron.core.money import to_minor
from patron.core.pagination import Page, paginate
from patron.ledger.models import PointAccount
from patron.ledger.posting import idle_gap, pin_idle_expiry
from patron.members.models import Member
from patron.rewards import codes
from patron.rewards.catalogue import return_stock, take_stock
from patron.rewards.definition import (
    RewardDefinition,
    availability_problem,
    eligibility_problem,
    member_tier,
)
from patron.rewards.errors import CouponUsed, LimitReached, NotAvailable, NotEligible, OutOfStock
from patron.rewards.models import Redemption
from patron.rewards.returns import return_points
from patron.rewards.spend import allocate, lock_holder, spend, spend_and_issue
from patron.rules.periods import period_key

if TYPE_CHECKING:
    from patron.program.schema import Program

REWARD_FIELD = "reward"


def program_reward(
    program: Program | None, key: str, field: str = REWARD_FIELD
) -> RewardDefinition:
    reward = program.reward(key) if program is not None else None
    if reward is None:
        raise NotFound(f"no reward with id '{key}' in the program", field=field)
    return reward


def terms(reward: RewardDefinition, currency: str) -> dict[str, Any]:
    """What a coupon for ``reward`` is worth, fixed at issue."""
    out: dict[str, Any] = {
        "reward": reward.id,
        "name": reward.name,
        "kind": reward.kind,
        "currency": currency,
    }
    if reward.sku is not None:
        out["sku"] = reward.sku
    if reward.discount is not None and reward.discount.amount is not None:
        out["discount_amount"] = to_minor(reward.discount.amount, currency)
    if reward.discount is not None and reward.discount.percent is not None:
        out["discount_percent"] = str(reward.discount.percent)
    return out


def coupon_values(
    reward_row_id: int,
    reward: RewardDefinition,
    member_id: int,
    *,
    currency: str,
    at: datetime,
    points: int = 0,
    birthday_year: int | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Every column of a new redemption but its id and spend entry."""
    return {
        "member_id": member_id,
        "reward_id": reward_row_id,
        "code": codes.new_code(),
        "status": "issued",
        "points": points,
        "terms": terms(reward, currency),
        "birthday_year": birthday_year,
        "issued_at": at,
        "expires_at": at + timedelta(days=reward.coupon_days),
        "fulfilment": "pending" if reward.kind == "gift" else None,
        "actor": actor,
        "return_entry_id": None,
        "used_at": None,
        "order_ref": None,
        "order_amount": None,
        "discount": None,
        "cancelled_at": None,
        "fulfilment_note": None,
    }


def issue_coupon(
    session: Session,
    reward: RewardDefinition,
    values: dict[str, Any],
    spend_entry_id: int | None = None,
) -> Redemption:
    """Write the redemption and its coupon, then take one from the stock."""
    redemption = session.scalars(
        insert(Redemption).returning(Redemption), [{**values, "spend_entry_id": spend_entry_id}]
    ).one()
    if not take_stock(session, values["reward_id"]):
        raise OutOfStock(f"{reward.name} is out of stock", field=REWARD_FIELD, reward=reward.id)
    return redemption


def check_limit(
    session: Session,
    reward_row_id: int,
    reward: RewardDefinition,
    member_id: int,
    at: datetime,
    tz: str,
) -> None:
    limit = reward.limit
    if limit is None:
        return
    issued = session.scalars(
        select(Redemption.issued_at).where(
            Redemption.reward_id == reward_row_id,
            Redemption.member_id == member_id,
            Redemption.status != "cancelled",
        )
    ).all()
    if limit.per != "ever":
        now_key = period_key(limit.per, at, tz)
        issued = [t for t in issued if period_key(limit.per, t, tz) == now_key]
    if len(issued) >= limit.count:
        times = "once" if limit.count == 1 else f"{limit.count} times"
        per = "" if limit.per == "ever" else f" per {limit.per}"
        raise LimitReached(
            f"{reward.name} can be redeemed {times}{per} per member; this member has reached it",
            field=REWARD_FIELD,
        )


def looks_sold_out(stock: int | None, issued: int) -> bool:
    """An early, unlocked answer that saves a doomed spend; ``take_stock`` decides."""
    return stock is not None and issued >= stock


def redeem(
    session: Session,
    member_id: int,
    reward_key: str,
    *,
    at: datetime,
    program: Program | None,
    actor: str | None = None,
) -> Redemption:
    """Spend the reward's cost and issue its coupon (see the module docstring)."""
    if program is None:
        raise Conflict("no program is loaded yet", field="program")
    reward = program_reward(program, reward_key)
    if reward.birthday or reward.cost is None:
        raise Conflict(
            f"{reward.name} is a birthday reward: it is given, not redeemed", field=REWARD_FIELD
        )
    holder = lock_holder(session, member_id, reward_key)  # held to the commit
    if holder.status == "blocked":
        raise Conflict("a blocked member cannot redeem rewards", field="member_id")
    why = availability_problem(reward, program.zone, at, member_tier(holder.attributes))
    if why:
        raise NotAvailable(why, field=REWARD_FIELD)
    why = eligibility_problem(reward, holder.attributes)
    if why:
        raise NotEligible(why, field=REWARD_FIELD)
    check_limit(session, holder.reward_row_id, reward, member_id, at, program.timezone)
    sold_out = OutOfStock(f"{reward.name} is out of stock", field=REWARD_FIELD, reward=reward.id)
    if looks_sold_out(holder.stock, holder.issued):
        raise sold_out
    try:
        allocations = allocate(session, holder, reward.cost, at, program)
    except InsufficientPoints as exc:
        available = int(exc.extra.get("available", 0))
        raise InsufficientPoints(
            f"{reward.name} costs {reward.cost} points; the member has {available} available",
            field=REWARD_FIELD,
            available=available,
            cost=reward.cost,
        ) from None
    gap = idle_gap(program, member_id, holder.last_activity_at or holder.enrolled_at, at)
    if gap is not None:  # the spend is activity: what expired on the way stays expired
        pin_idle_expiry(session, [gap])
    values = coupon_values(
        holder.reward_row_id,
        reward,
        member_id,
        currency=program.currency,
        at=at,
        points=reward.cost,
        actor=actor,
    )
    why_spent = f"Redeemed {reward.name}"
    if session.get_bind().dialect.name == "postgresql":
        redemption = spend_and_issue(
            session, holder, reward.cost, allocations, values, reason=why_spent, actor=actor, at=at
        )
        if redemption is None:
            raise sold_out
        return redemption
    entry_id = spend(
        session, holder, reward.cost, allocations, reason=why_spent, actor=actor, at=at
    )
    return issue_coupon(session, reward, values, entry_id)


def get_redemption(session: Session, redemption_id: int) -> Redemption:
    found = session.get(Redemption, redemption_id)
    if found is None:
        raise NotFound(f"no redemption with id {redemption_id}", field="redemption_id")
    return found


def list_redemptions(
    session: Session, member_id: int, *, cursor: str | None = None, limit: int | None = None
) -> Page[Redemption]:
    """A member's redemptions (coupons), oldest first, a page at a time."""
    if session.get(Member, member_id) is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    query = select(Redemption).where(Redemption.member_id == member_id)
    return paginate(session, query, Redemption.id, cursor=cursor, limit=limit)


def cancel(
    session: Session,
    redemption_id: int,
    *,
    at: datetime,
    program: Program | None,
    actor: str | None = None,
) -> Redemption:
    """Cancel an unused redemption: points back (see ``returns.py``), stock back.

    Cancelling a cancelled redemption changes nothing (a retry is harmless). A
    used coupon, or a gift already shipped, cannot be cancelled.
    """
    redemption = get_redemption(session, redemption_id)
    if redemption.status == "cancelled":
        return redemption
    _refuse_cancel(redemption)
    account = _lock_account(session, redemption.member_id)
    # Only one of a cancel and a use at the till can win.
    won = session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "issued")
        .where(Redemption.fulfilment.is_(None) | (Redemption.fulfilment == "pending"))
        .values(status="cancelled", cancelled_at=at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(redemption)
    if not getattr(won, "rowcount", 0):
        if redemption.status == "cancelled":
            return redemption
        _refuse_cancel(redemption)
    if redemption.fulfilment is not None:
        redemption.fulfilment = "cancelled"
    name = redemption.terms.get("name", "a reward")
    if redemption.spend_entry_id is not None and redemption.points > 0:
        member = session.get(Member, redemption.member_id, populate_existing=True)
        assert member is not None
        returned = return_points(
            session,
            account,
            member,
            redemption.spend_entry_id,
            explanation=f"+{redemption.points} pts: cancelled redemption of {name} "
            f"(coupon {codes.display(redemption.code)})",
            actor=actor,
            at=at,
            program=program,
        )
        redemption.return_entry_id = returned.entry_id
    return_stock(session, redemption.reward_id)
    session.flush()
    return redemption


def _lock_account(session: Session, member_id: int) -> PointAccount:
    """The member's account, locked and read afresh: redemptions and ingestion
    write accounts with Core statements that an ORM object already in the
    session would not see."""
    account = session.scalar(
        select(PointAccount)
        .where(PointAccount.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is None:
        raise NotFound(f"no member with id {member_id}", field="member_id")
    return account


def _refuse_cancel(redemption: Redemption) -> None:
    if redemption.status == "used":
        raise CouponUsed(
            f"redemption {redemption.id} was used on {redemption.used_at:%Y-%m-%d}; "
            "a used coupon cannot be cancelled",
            field="redemption_id",
        )
    if redemption.fulfilment in ("shipped", "delivered"):
        raise Conflict(
            f"this gift is already {redemption.fulfilment}; it cannot be cancelled",
            field="redemption_id",
        )


FULFILMENT_ORDER = ("pending", "shipped", "delivered")


def set_fulfilment(
    session: Session,
    redemption_id: int,
    status: str,
    *,
    note: str | None,
    at: datetime,
    program: Program | None,
    actor: str | None = None,
) -> Redemption:
    """Move a gift along pending -> shipped -> delivered; ``cancelled`` cancels it."""
    redemption = get_redemption(session, redemption_id)
    if redemption.fulfilment is None:
        raise Conflict("only gift redemptions have a fulfilment status", field="redemption_id")
    if status == "cancelled":
        redemption = cancel(session, redemption_id, at=at, program=program, actor=actor)
    elif status not in FULFILMENT_ORDER:
        raise InvalidInput(
            "status must be one of pending, shipped, delivered, cancelled", field="status"
        )
    elif redemption.fulfilment == "cancelled" or FULFILMENT_ORDER.index(
        status
    ) < FULFILMENT_ORDER.index(redemption.fulfilment):
        raise Conflict(
            f"a gift that is {redemption.fulfilment} cannot go back to {status}", field="status"
        )
    else:
        redemption.fulfilment = status
        if status == "delivered" and redemption.status == "issued":
            redemption.status, redemption.used_at = "used", at
    if note is not None:
        redemption.fulfilment_note = note
    session.flush()
    return redemption

"""HTTP: the rewards catalogue, redemptions, and coupons at the till."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy.orm import Session

from patron.api.deps import Caller, require
from patron.core.clock import now
from patron.core.errors import InvalidInput
from patron.core.idempotency import remember, replay
from patron.core.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, Page
from patron.program.service import current_program
from patron.rewards import catalogue, coupons, service
from patron.rewards.availability import rewards_for_member
from patron.rewards.coupons import coupon_state
from patron.rewards.schemas import (
    CouponOut,
    FulfilmentIn,
    MemberRewardOut,
    RedeemIn,
    RedemptionOut,
    RewardOut,
    UseCouponIn,
)

router = APIRouter()

MemberId = Path(ge=1, le=MAX_ID, description="The member's id.")
RedemptionId = Path(ge=1, le=MAX_ID, description="The redemption's id.")
Code = Path(min_length=1, max_length=64, description="The coupon code, as typed.")
REDEEM_SCOPE = "rewards.redeem"


def _program(session: Session) -> Any:
    found = current_program(session)
    return found[1] if found else None


@router.get("/v1/rewards", response_model=list[RewardOut], tags=["rewards"])
def list_rewards(
    include_inactive: bool = Query(False, description="Also rewards the program dropped"),
    caller: Caller = Depends(require("read")),
) -> list[RewardOut]:
    """The catalogue: every reward of the program in force, with stock left."""
    with caller.db.unit_of_work() as session:
        rows = catalogue.list_rewards(session, include_inactive=include_inactive)
        return [RewardOut.of(row) for row in rows]


@router.get("/v1/rewards/{reward_id}", response_model=RewardOut, tags=["rewards"])
def get_reward(
    reward_id: str = Path(min_length=1, max_length=64),
    caller: Caller = Depends(require("read")),
) -> RewardOut:
    with caller.db.unit_of_work() as session:
        return RewardOut.of(catalogue.get_reward(session, reward_id))


@router.get(
    "/v1/members/{member_id}/rewards", response_model=list[MemberRewardOut], tags=["rewards"]
)
def member_rewards(
    member_id: int = MemberId, caller: Caller = Depends(require("read"))
) -> list[MemberRewardOut]:
    """The catalogue as this member sees it: what they can redeem now and, for the
    rest, why not (points, tier, window, limit, stock). Redeeming decides."""
    with caller.db.unit_of_work() as session:
        offers = rewards_for_member(session, member_id, now(), _program(session))
        return [
            MemberRewardOut(
                **RewardOut.of(o.reward).model_dump(), can_redeem=o.can_redeem, reason=o.reason
            )
            for o in offers
        ]


@router.post(
    "/v1/members/{member_id}/redemptions",
    response_model=RedemptionOut,
    status_code=201,
    tags=["rewards"],
)
def redeem(
    body: RedeemIn,
    response: Response,
    member_id: int = MemberId,
    idempotency_key: str | None = Header(
        None, description="Required: a retry with the same key returns the first result."
    ),
    caller: Caller = Depends(require("pos")),
) -> RedemptionOut:
    """Redeem a reward: spends its cost first-to-expire first and issues a coupon.
    Refusals are 409s with their own ``type``: ``insufficient-points``,
    ``out-of-stock``, ``limit-reached``, ``not-eligible``, ``not-available``."""
    if idempotency_key is None:
        raise InvalidInput(
            "a redemption needs an Idempotency-Key header so a retry cannot redeem twice",
            field="Idempotency-Key",
        )
    payload = {"member_id": member_id, **body.model_dump()}
    with caller.db.unit_of_work() as session:
        stored = replay(session, REDEEM_SCOPE, idempotency_key, payload)
        if stored is not None:
            response.status_code = stored[0]
            return RedemptionOut.model_validate(stored[1])
        at = now()
        redemption = service.redeem(
            session,
            member_id,
            body.reward,
            at=at,
            program=_program(session),
            actor=caller.principal.actor,
        )
        out = RedemptionOut.of(redemption, at)
        remember(session, REDEEM_SCOPE, idempotency_key, payload, 201, out.model_dump(mode="json"))
    response.headers["Location"] = f"/v1/redemptions/{out.id}"
    return out


@router.get(
    "/v1/members/{member_id}/redemptions", response_model=Page[RedemptionOut], tags=["rewards"]
)
def list_redemptions(
    member_id: int = MemberId,
    cursor: str | None = Query(None, max_length=64),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    caller: Caller = Depends(require("read")),
) -> Page[RedemptionOut]:
    """A member's redemptions and coupons, oldest first."""
    at = now()
    with caller.db.unit_of_work() as session:
        page = service.list_redemptions(session, member_id, cursor=cursor, limit=limit)
        items = [RedemptionOut.of(r, at) for r in page.items]
    return Page[RedemptionOut](items=items, next_cursor=page.next_cursor)


@router.get("/v1/redemptions/{redemption_id}", response_model=RedemptionOut, tags=["rewards"])
def get_redemption(
    redemption_id: int = RedemptionId, caller: Caller = Depends(require("read"))
) -> RedemptionOut:
    with caller.db.unit_of_work() as session:
        return RedemptionOut.of(service.get_redemption(session, redemption_id), now())


@router.post(
    "/v1/redemptions/{redemption_id}/cancel", response_model=RedemptionOut, tags=["rewards"]
)
def cancel_redemption(
    redemption_id: int = RedemptionId, caller: Caller = Depends(require("pos"))
) -> RedemptionOut:
    """Cancel an unused redemption: its points come back (those whose original lots
    have expired come back expired) and its coupon goes back to the stock.
    Cancelling twice changes nothing; a used coupon is a 409."""
    at = now()
    with caller.db.unit_of_work() as session:
        redemption = service.cancel(
            session, redemption_id, at=at, program=_program(session), actor=caller.principal.actor
        )
        return RedemptionOut.of(redemption, at)


@router.patch(
    "/v1/redemptions/{redemption_id}/fulfilment", response_model=RedemptionOut, tags=["rewards"]
)
def set_fulfilment(
    body: FulfilmentIn,
    redemption_id: int = RedemptionId,
    caller: Caller = Depends(require("admin")),
) -> RedemptionOut:
    """A gift's fulfilment: pending -> shipped -> delivered, or cancelled (points back)."""
    at = now()
    with caller.db.unit_of_work() as session:
        redemption = service.set_fulfilment(
            session,
            redemption_id,
            body.status,
            note=body.note,
            at=at,
            program=_program(session),
            actor=caller.principal.actor,
        )
        return RedemptionOut.of(redemption, at)


@router.get("/v1/coupons/{code}", response_model=CouponOut, tags=["coupons"])
def check_coupon(code: str = Code, caller: Caller = Depends(require("pos"))) -> CouponOut:
    """Validate a code at the till: what it is worth and whether it can be used now.
    A mistyped code is a 422 (its check character does not match)."""
    at = now()
    with caller.db.unit_of_work() as session:
        redemption = coupons.find_coupon(session, code)
        out = RedemptionOut.of(redemption, at).model_dump()
        usable = coupon_state(redemption, at) == "issued" and redemption.fulfilment is None
        return CouponOut(**out, usable=usable)


@router.post("/v1/coupons/{code}/redeem", response_model=RedemptionOut, tags=["coupons"])
def use_coupon(
    body: UseCouponIn,
    code: str = Code,
    caller: Caller = Depends(require("pos")),
) -> RedemptionOut:
    """Use a coupon once, against an order. The same order again gets the same answer
    (200); another order gets 409 ``coupon-used``; expired and cancelled coupons
    get 409 ``coupon-expired`` / ``coupon-cancelled``, each naming ``code``."""
    at = now()
    with caller.db.unit_of_work() as session:
        use = coupons.use_coupon(
            session, code, body.order_ref, order_amount=body.order_amount, at=at
        )
        return RedemptionOut.of(use.redemption, at)

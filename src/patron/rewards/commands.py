"""``patron rewards ...``: the catalogue, redeeming, cancelling, coupons at the till."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.core.db import get_database
from patron.core.errors import InvalidInput
from patron.core.pagination import check_id
from patron.program.service import current_program
from patron.rewards import catalogue, codes, coupons, service
from patron.rewards.coupons import coupon_state
from patron.rewards.models import Redemption

if TYPE_CHECKING:
    from patron.program.schema import Program

app = typer.Typer(help="Rewards: catalogue, redeem, cancel, coupons.", no_args_is_help=True)
console = Console()


def _program(session: Session) -> Program | None:
    found = current_program(session)
    return found[1] if found else None


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include rewards no longer offered.")] = False,
) -> None:
    """The rewards catalogue with cost, stock left and who may redeem."""
    with get_database().unit_of_work() as session:
        rows = catalogue.list_rewards(session, include_inactive=all_)
        table = Table("id", "name", "kind", "cost", "left", "window", "for", title="Rewards")
        for row in rows:
            d = row.definition
            left = catalogue.remaining(row)
            window = f"{d.get('valid_from') or ''} .. {d.get('valid_until') or ''}".strip(" .")
            who = []
            if d.get("birthday"):
                who.append("birthday")
            for key in ("tiers", "segments"):
                if (d.get("eligible") or {}).get(key):
                    who.append(f"{key} {', '.join(d['eligible'][key])}")
            table.add_row(
                row.key + ("" if row.active else " (retired)"),
                row.name,
                row.kind,
                "-" if row.cost is None else str(row.cost),
                "unlimited" if left is None else f"{left} of {row.stock}",
                window or "always",
                "; ".join(who) or "everyone",
            )
    console.print(table)


@app.command("redeem")
def redeem(
    member_id: Annotated[int, typer.Argument(help="The member's id.")],
    reward: Annotated[str, typer.Argument(help="The reward's id (see 'patron rewards list').")],
) -> None:
    """Redeem a reward for a member: spends the points, prints the coupon code."""
    check_id(member_id, "member_id", "member")
    at = now()
    with get_database().unit_of_work() as session:
        redemption = service.redeem(
            session, member_id, reward, at=at, program=_program(session), actor="cli"
        )
    console.print(
        f"[green]Redeemed {redemption.terms['name']} for {redemption.points} pts "
        f"(redemption {redemption.id}).[/green] Coupon, valid until "
        f"{redemption.expires_at:%Y-%m-%d}:"
    )
    print(codes.display(redemption.code))


@app.command("cancel")
def cancel(redemption_id: Annotated[int, typer.Argument(help="The redemption's id.")]) -> None:
    """Cancel an unused redemption: points and stock come back."""
    check_id(redemption_id, "redemption_id", "redemption")
    with get_database().unit_of_work() as session:
        r = service.cancel(session, redemption_id, at=now(), program=_program(session), actor="cli")
    console.print(f"Redemption {r.id} is cancelled; {r.points} pts returned.")


@app.command("coupon")
def coupon(code: Annotated[str, typer.Argument(help="The coupon code, as typed.")]) -> None:
    """Check a coupon code: what it is worth and whether it can be used."""
    with get_database().unit_of_work() as session:
        r = coupons.find_coupon(session, code)
        console.print(_describe(r))


@app.command("use")
def use(
    code: Annotated[str, typer.Argument(help="The coupon code, as typed.")],
    order: Annotated[str, typer.Option(help="The order it is used for.")],
    amount: Annotated[str | None, typer.Option(help="Order total, e.g. 12.50.")] = None,
) -> None:
    """Use a coupon against an order (idempotent per order)."""
    try:
        order_amount = None if amount is None else Decimal(amount)
    except InvalidOperation:
        raise InvalidInput(f"'{amount}' is not an amount like 12.50", field="amount") from None
    if order_amount is not None and (not order_amount.is_finite() or order_amount < 0):
        raise InvalidInput("the order amount is a non-negative number", field="amount")
    with get_database().unit_of_work() as session:
        result = coupons.use_coupon(session, code, order, order_amount=order_amount, at=now())
        console.print(
            ("Already used for this order: " if result.replayed else "Used: ")
            + _describe(result.redemption)
        )


def _describe(r: Redemption) -> str:
    t = r.terms
    worth = t.get("kind", "")
    if "discount_amount" in t:
        from patron.core.money import format_money

        worth = f"{format_money(int(t['discount_amount']), t.get('currency', ''))} off"
    elif "discount_percent" in t:
        worth = f"{t['discount_percent']}% off"
    elif "sku" in t:
        worth = f"free {t['sku']}"
    return (
        f"{codes.display(r.code)}  {t.get('name', '')} ({worth}), member {r.member_id}, "
        f"{coupon_state(r, now())}, expires {r.expires_at:%Y-%m-%d}"
    )


def member_coupons_table(session: Session, member_id: int, limit: int = 20) -> Table | None:
    """The member's coupons for ``patron member show`` (None when there are none)."""
    from sqlalchemy import select

    rows = session.scalars(
        select(Redemption)
        .where(Redemption.member_id == member_id)
        .order_by(Redemption.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return None
    at = now()
    table = Table("code", "reward", "pts", "status", "issued", "expires", title="Coupons")
    for r in rows:
        table.add_row(
            codes.display(r.code),
            str(r.terms.get("name", "")),
            str(r.points),
            coupon_state(r, at) + (f" ({r.fulfilment})" if r.fulfilment else ""),
            f"{r.issued_at:%Y-%m-%d}",
            f"{r.expires_at:%Y-%m-%d}",
        )
    return table

"""``patron member ...``: enrol, list, find and show members."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.orm import Session

from patron.core.db import get_database
from patron.core.pagination import MAX_LIMIT, check_id
from patron.members import service
from patron.members.models import Member
from patron.members.schemas import MemberCreate, parse_input

app = typer.Typer(help="Members: enrol, list, find, show.", no_args_is_help=True)
console = Console()

Opt = typer.Option


@app.command("create")
def create(
    external_id: Annotated[str | None, Opt(help="Your system's id for the member.")] = None,
    email: Annotated[str | None, Opt(help="Email address.")] = None,
    phone: Annotated[str | None, Opt(help="Phone, international format (+49...).")] = None,
    first_name: Annotated[str | None, Opt(help="First name.")] = None,
    last_name: Annotated[str | None, Opt(help="Last name.")] = None,
    birthday: Annotated[str | None, Opt(help="Birthday, YYYY-MM-DD.")] = None,
) -> None:
    """Enrol a member (with an empty points account)."""
    given = {
        "external_id": external_id,
        "email": email,
        "phone": phone,
        "first_name": first_name,
        "last_name": last_name,
        "birthday": birthday,
    }
    data = parse_input(MemberCreate, {k: v for k, v in given.items() if v is not None})
    with get_database().unit_of_work() as session:
        member = service.create_member(session, data)
    console.print(f"[green]Enrolled member {member.id}.")
    console.print(_profile(member))


@app.command("list")
def list_(
    status: Annotated[str | None, Opt(help="Only members with this status.")] = None,
    limit: Annotated[int, Opt(help=f"How many (1..{MAX_LIMIT}).")] = 50,
    cursor: Annotated[str | None, Opt(help="Continue after a previous page.")] = None,
) -> None:
    """List members in enrolment order."""
    with get_database().unit_of_work() as session:
        page = service.list_members(session, cursor=cursor, limit=limit, status=status)
    table = Table("id", "external id", "email", "phone", "name", "status", "enrolled")
    for m in page.items:
        table.add_row(
            str(m.id),
            m.external_id or "",
            m.email or "",
            m.phone or "",
            _name(m),
            m.status,
            f"{m.enrolled_at:%Y-%m-%d}",
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"More: --cursor {page.next_cursor}")


@app.command("find")
def find(
    email: Annotated[str | None, Opt(help="Email address.")] = None,
    phone: Annotated[str | None, Opt(help="Phone number.")] = None,
    external_id: Annotated[str | None, Opt(help="Your system's id.")] = None,
) -> None:
    """Find one member by email, phone or external id (exactly one)."""
    with get_database().unit_of_work() as session:
        member = service.find_member(session, external_id=external_id, email=email, phone=phone)
    console.print(_profile(member))


@app.command("show")
def show(member_id: Annotated[int, typer.Argument(help="The member's id.")]) -> None:
    """A member's profile, points balance and recent statement."""
    check_id(member_id, "member_id", "member")
    with get_database().unit_of_work() as session:
        member = service.get_member(session, member_id)
        console.print(_profile(member))
        _print_points(session, member_id)
        _print_tier(session, member_id)
        _print_stamp_cards(session, member_id)
        _print_coupons(session, member_id)
        _print_referrals(session, member_id)


def _name(member: Member) -> str:
    return " ".join(n for n in (member.first_name, member.last_name) if n)


def _profile(member: Member) -> Panel:
    consents = member.consents or {}
    granted = [c for c, v in consents.items() if isinstance(v, dict) and v.get("granted")]
    rows: list[tuple[str, Any]] = [
        ("external id", member.external_id),
        ("email", member.email),
        ("phone", member.phone),
        ("birthday", member.birthday.isoformat() if isinstance(member.birthday, date) else None),
        ("status", member.status),
        ("consents", ", ".join(granted) or "none"),
        ("attributes", ", ".join(f"{k}={v}" for k, v in (member.attributes or {}).items())),
        ("enrolled", f"{member.enrolled_at:%Y-%m-%d %H:%M} UTC"),
        ("purchases", member.purchase_count),
    ]
    body = "\n".join(f"[bold]{label:>12}[/bold]  {value}" for label, value in rows if value)
    title = f"Member {member.id}" + (f": {_name(member)}" if _name(member) else "")
    return Panel(body, title=title, expand=False)


def _print_points(session: Session, member_id: int) -> None:
    """Balance and statement, if the ledger is installed (it may not be yet)."""
    try:
        from patron.ledger.service import get_balance, get_statement
    except ImportError:
        return
    from patron.core.clock import now

    program = None
    try:
        from patron.program.service import current_program

        found = current_program(session)
        program = found[1] if found else None
    except ImportError:
        pass
    balance = get_balance(session, member_id, now(), program)
    console.print(
        f"[bold]Points:[/bold] {balance.balance} balance, {balance.available} available, "
        f"{balance.pending} pending, {balance.expiring_soon} expiring soon, {balance.debt} debt"
    )
    entries = get_statement(session, member_id, limit=20)
    if not entries:
        console.print("No points activity yet.")
        return
    table = Table("when", "kind", "points", "why", title="Recent points activity")
    for e in entries:
        table.add_row(f"{e.created_at:%Y-%m-%d %H:%M}", e.kind, f"{e.points:+d}", e.explanation)
    console.print(table)


def _print_coupons(session: Session, member_id: int) -> None:
    """The member's coupons, if the rewards module is installed."""
    try:
        from patron.rewards.commands import member_coupons_table
    except ImportError:
        return
    table = member_coupons_table(session, member_id)
    console.print(table if table is not None else "No coupons yet.")


def _print_stamp_cards(session: Session, member_id: int) -> None:
    """Open and recent stamp cards, when the program has stamp cards."""
    from patron.stamps.commands import member_stamp_cards_table

    table = member_stamp_cards_table(session, member_id)
    if table is not None:
        console.print(table if table.row_count else "No stamp cards yet.")


def _print_referrals(session: Session, member_id: int) -> None:
    """Referral code and referrals, when the program has referrals."""
    from patron.referrals.commands import member_referrals_text

    text = member_referrals_text(session, member_id)
    if text:
        console.print(text)


def _print_tier(session: Session, member_id: int) -> None:
    """Tier and progress, when the program has tiers."""
    from patron.tiers.commands import member_tier_text

    text = member_tier_text(session, member_id)
    if text:
        console.print(text)

"""What ``patron member show`` prints about a member's stamp cards."""

from __future__ import annotations

from rich.table import Table
from sqlalchemy.orm import Session

from patron.core.clock import now
from patron.program.service import current_program
from patron.stamps.schemas import card_text
from patron.stamps.service import member_stamp_cards


def member_stamp_cards_table(session: Session, member_id: int) -> Table | None:
    """Open cards first, then the last completed or expired ones; None when the program
    has no stamp cards and the member never had one."""
    found = current_program(session)
    program = found[1] if found else None
    cards = member_stamp_cards(session, member_id, now(), program, ended=10)
    if not cards and (program is None or not program.stamp_cards):
        return None
    table = Table("card", "status", "stamps", "last stamp", title="Stamp cards")
    for card in cards:
        last = card.history[-1].explanation if card.history else ""
        table.add_row(card.name, card.status, card_text(card), last)
    return table

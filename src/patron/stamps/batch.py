"""Stamp cards during ingestion: stamps, completions and refunds, in the event's transaction.

Loaded once per batch (``batch_reads``), only when the program has stamp cards:
the open cards of the batch's members, read once their accounts are locked (so
concurrent batches of one member see each other's cards), plus, when the batch
has refunds, the stamps those purchases gave and the coupons of the cards they
completed (row-locked on PostgreSQL so a till cannot use one while we decide).

- **Stamping**: each purchase gives every card in force the stamps
  :func:`patron.stamps.counting.stamps_earned` counts (none for a blocked
  member). They fill the member's open card; a full card completes at once and
  its reward is issued as a free coupon; the surplus starts a new card, which
  carries ``expires_after_days`` from that first stamp. An open card past its
  expiry is closed as ``expired`` by the next stamp, which starts a new card.
- **Refunds** take back what the refunded part gave: the purchase's stamps are
  recomputed on what is left of it. They come off the newest card the purchase
  stamped first. When they reach a card the purchase *completed*:

  1. if the open card holds enough stamps, they are taken from it instead: the
     completed card and its coupon stand (the member still collected the goal);
  2. else, if the coupon is unused (expired unused coupons included), it is
     cancelled and the card reopens: its count drops below the goal and the
     open card's stamps (all fewer than those taken) merge back into it;
  3. else (the coupon was used) the coupon is kept and the open card *owes*
     the stamps: its count goes negative and the next stamps repay it.

Every change is a ``stamps`` row with an explanation the member can read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from patron.program.schema import Program
from patron.rewards.codes import display
from patron.rewards.free import (
    free_coupon_values,
)
from patron.rules.checks import moment_utc
from patron.stamps.cards import Card, Entry
from patron.stamps.counting import (
    Line,
    expires_at,
    fill_cards,
    is_expired,
    remaining_lines,
    stamps_earned,
)
from patron.stamps.definition import StampCardDefinition, min_spend_minor

if TYPE_CHECKING:
    from patron.events.rows import MemberState, Row


@dataclass
class StampBatch:
    program: Program
    members: dict[int, MemberState]
    definitions: dict[str, StampCardDefinition]
    reward_rows: dict[str, int] = field(default_factory=dict)
    open: dict[tuple[int, str], Card] = field(default_factory=dict)
    # (purchase external id, card id) -> the cards that purchase stamped, oldest first
    given: dict[tuple[str, str], dict[Card, int]] = field(default_factory=dict)
    lines: dict[str, tuple[list[Line], int]] = field(default_factory=dict)
    purchase_ids: dict[str, int] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)  # new ones, in order
    stored_moves: list[tuple[Card, Card]] = field(default_factory=list)  # (gone, into)
    to_cancel: list[int] = field(default_factory=list)
    by_row: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    stamp_ids: list[int] = field(default_factory=list)  # reserved with the batch's ids
    simulated: bool = False  # simulate: a coupon that would be given has no code yet

    # -- stamping -------------------------------------------------------------------
    def after_event(self, row: Row) -> None:
        """Stamp the member's cards for a purchase (nothing for other events)."""
        if row.event.type != "purchase" or row.facts is None:
            return
        if self.members[row.member_id].status == "blocked":
            return
        lines = [Line(li.sku, li.category, li.quantity, li.unit_price) for li in row.facts.lines]
        ext = row.event.external_id
        self.lines[ext] = (lines, row.facts.amount)
        currency = self.program.currency
        for definition in self.program.stamp_cards:
            if not self._in_force(definition, row.occurred_at):
                continue
            earned = stamps_earned(
                definition,
                lines,
                row.facts.amount,
                currency=currency,
                min_spend=min_spend_minor(definition, currency),
            )
            if earned.stamps > 0:
                self._add(row, definition, earned.stamps, earned.reason)

    def _in_force(self, definition: StampCardDefinition, at: datetime) -> bool:
        zone = self.program.zone
        if definition.valid_from is not None and at < moment_utc(
            definition.valid_from, zone, end=False
        ):
            return False
        return definition.valid_until is None or at < moment_utc(
            definition.valid_until, zone, end=True
        )

    def _open_card(self, member_id: int, definition: StampCardDefinition, row: Row) -> Card | None:
        """The member's open card, closing it first if it has expired."""
        card = self.open.get((member_id, definition.id))
        if card is None or not is_expired(card.expires_at, row.occurred_at):
            return card
        card.change(status="expired", ended_at=card.expires_at)
        del self.open[(member_id, definition.id)]
        day = f"{card.expires_at.astimezone(self.program.zone):%Y-%m-%d}" if card.expires_at else ""
        self._log(
            card,
            "expire",
            0,
            row,
            f"{definition.name} expired on {day} with {max(card.stamps, 0)} of {card.goal} "
            "stamps; a new card starts",
        )
        return None

    def _new_card(self, member_id: int, definition: StampCardDefinition, at: datetime) -> Card:
        card = Card(
            None,
            member_id,
            definition.id,
            "open",
            0,
            definition.goal,
            at,
            expires_at(definition, at),
            new=True,
        )
        self.cards.append(card)
        self.open[(member_id, definition.id)] = card
        return card

    def _add(self, row: Row, definition: StampCardDefinition, stamps: int, reason: str) -> None:
        member_id, left = row.member_id, stamps
        key = (row.event.external_id, definition.id)
        while left > 0:
            card = self._open_card(member_id, definition, row) or self._new_card(
                member_id, definition, row.occurred_at
            )
            fill = fill_cards(card.stamps, card.goal, left)[0]
            before, left = card.stamps, left - fill.added
            card.change(stamps=card.stamps + fill.added)
            given = self.given.setdefault(key, {})
            given[card] = given.get(card, 0) + fill.added
            carried = " (carried over)" if before == 0 and left + fill.added < stamps else ""
            noun = "stamp" if fill.added == 1 else "stamps"
            self._log(
                card,
                "stamp",
                fill.added,
                row,
                f"{fill.added} {noun} on {definition.name}{carried}: {max(card.stamps, 0)} "
                f"of {card.goal}; {reason}",
                purchase_row=row,
            )
            if fill.complete:
                self._complete(card, definition, row)

    def _complete(self, card: Card, definition: StampCardDefinition, row: Row) -> None:
        reward = self.program.reward(definition.reward)
        assert reward is not None  # the program checks stamp_cards[].reward
        values = free_coupon_values(
            self.program,
            reward.id,
            card.member_id,
            at=row.occurred_at,
            actor=f"stamp_card:{definition.id}",
            reward_row_id=self.reward_rows[reward.id],
        )
        card.change(status="complete", ended_at=row.occurred_at, coupon=values, stamps=card.goal)
        self.open.pop((card.member_id, card.card), None)
        self._log(
            card,
            "complete",
            0,
            row,
            f"{definition.name} complete: {reward.name} coupon"
            + ("" if self.simulated else f" {display(values['code'])}"),
        )

    # -- refunds ----------------------------------------------------------------------
    def after_refund(self, row: Row) -> None:
        """Take back the stamps the refunded part of the purchase gave (module docstring)."""
        refund = row.refund or {}
        ref = refund.get("ref")
        if ref is None:
            return
        ext = ref.external_id
        bought = self.lines.get(ext)
        if bought is None:
            return  # the purchase gave no stamps (or the program had no cards then)
        after = refund["after"]
        left_lines = remaining_lines(bought[0], after.refunded_quantities) if bought[0] else []
        left_amount = after.amount - after.refunded_amount
        purchase_id = self.purchase_ids.get(ext)
        for definition in self.program.stamp_cards:
            given = self.given.get((ext, definition.id))
            if not given:
                continue
            total = sum(given.values())
            currency = self.program.currency
            keep = stamps_earned(
                definition,
                left_lines,
                left_amount,
                currency=currency,
                min_spend=min_spend_minor(definition, currency),
            ).stamps
            take = total - min(keep, total)
            for card in reversed(list(given)):
                if take <= 0:
                    break
                n = min(given[card], take)
                if n <= 0:
                    continue
                take -= n
                given[card] -= n
                self._take(card, definition, n, row, ext, ref.row, purchase_id)

    def _take(
        self,
        card: Card,
        definition: StampCardDefinition,
        n: int,
        row: Row,
        ext: str,
        purchase_row: Row | None,
        purchase_id: int | None,
    ) -> None:
        where: dict[str, Any] = {"purchase_row": purchase_row, "purchase_id": purchase_id}
        noun = "stamp" if n == 1 else "stamps"
        if card.status != "complete":
            card.change(stamps=card.stamps - n)
            self._log(
                card,
                "unstamp",
                -n,
                row,
                f"-{n} {noun} on {definition.name}: refund of {ext}; "
                f"{max(card.stamps, 0)} of {card.goal}",
                **where,
            )
            return
        current = self.open.get((card.member_id, card.card))
        if current is not None and current.stamps >= n:
            current.change(stamps=current.stamps - n)
            self._log(
                current,
                "unstamp",
                -n,
                row,
                f"-{n} {noun} on {definition.name}: refund of {ext} took back stamps of a "
                f"completed card, taken from this one; {current.stamps} of {current.goal}",
                **where,
            )
            return
        unused = card.coupon is not None or card.coupon_status in ("issued", "cancelled")
        if unused:
            self._reopen(card, definition, n, row, ext, current, where)
            return
        owing = current or self._new_card(card.member_id, definition, row.occurred_at)
        owing.change(stamps=owing.stamps - n)
        reward = self.program.reward(definition.reward)
        self._log(
            owing,
            "owed",
            -n,
            row,
            f"-{n} {noun} owed on {definition.name}: refund of {ext} took back a completing "
            f"stamp, and its {reward.name if reward else definition.reward} coupon was "
            f"already used; {owing.stamps} of "
            f"{owing.goal}",
            **where,
        )

    def _reopen(
        self,
        card: Card,
        definition: StampCardDefinition,
        n: int,
        row: Row,
        ext: str,
        current: Card | None,
        where: dict[str, Any],
    ) -> None:
        if card.coupon is not None:  # issued in this batch: written as cancelled
            code = card.coupon["code"]
            card.coupon.update(status="cancelled", cancelled_at=row.occurred_at)
        else:
            assert card.redemption_id is not None
            code = ""
            if card.coupon_status == "issued":
                self.to_cancel.append(card.redemption_id)
            card.coupon_status = "cancelled"
        merged = 0
        if current is not None:  # its stamps (fewer than n) go back onto the reopened card
            merged = current.stamps
            current.gone = True
            self._merge(current, card)
        card.change(status="open", ended_at=None, stamps=card.goal - n + merged)
        self.open[(card.member_id, card.card)] = card
        shown = f" {display(code)}" if code else ""
        self._log(
            card,
            "reopen",
            -n,
            row,
            f"{definition.name} reopened: refund of {ext} took back a completing stamp; "
            f"the unused coupon{shown} is cancelled; {card.stamps} of {card.goal}",
            **where,
        )

    def _merge(self, gone: Card, into: Card) -> None:
        for entry in self.entries:
            if entry.card is gone:
                entry.card = into
        for given in self.given.values():
            if gone in given:
                given[into] = given.get(into, 0) + given.pop(gone)
        if gone.id is not None:
            self.stored_moves.append((gone, into))

    def _log(
        self,
        card: Card,
        kind: str,
        count: int,
        row: Row,
        explanation: str,
        *,
        purchase_row: Row | None = None,
        purchase_id: int | None = None,
    ) -> None:
        self.entries.append(Entry(card, kind, count, row, explanation, purchase_row, purchase_id))
        self.by_row[row.index].append(explanation)

    def explanations(self, row: Row) -> list[str]:
        """What the batch did to the member's cards for this event, in order."""
        return list(self.by_row.get(row.index, ()))

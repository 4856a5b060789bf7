"""Turning raw event rows into checked ``EventIn`` objects and engine facts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from patron.core.errors import InvalidInput, with_hint, within
from patron.core.money import to_minor
from patron.events.schemas import EventIn
from patron.rules.types import EventFacts, LineItem

FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# 10^15 minor units (ten trillion in a two-decimal currency): far above any real
# order, far below what a 64-bit column holds even after points multipliers.
MAX_AMOUNT = 10**15


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "body"


def parse_row(raw: Any) -> EventIn:
    """Validate one raw row; the error names the first offending field."""
    if isinstance(raw, EventIn):
        return raw
    if not isinstance(raw, dict):
        raise InvalidInput("an event must be a JSON object", field="body")
    try:
        return EventIn.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        path = within(field_path(loc), (err.get("ctx") or {}).get("path"))
        message = with_hint(err["msg"], err["type"])
        raise InvalidInput(f"{path}: {message}", field=path) from None


def check_shape(event: EventIn, currency: str, at: datetime) -> tuple[LineItem, ...]:
    """The rules pydantic cannot say on one field; each error names its field.

    Returns a purchase's lines in minor units (what :func:`to_facts` takes), worked
    out once here, where each price is checked.
    """
    if event.member_id is None and event.member_external_id is None:
        raise InvalidInput(
            "name the member with member_id or member_external_id", field="member_id"
        )
    if event.type == "custom" and not event.name:
        raise InvalidInput("a custom event needs a name", field="name")
    if event.type != "custom" and event.name:
        raise InvalidInput("only custom events have a name", field="name")
    if event.currency is not None and event.currency.upper() != currency:
        raise InvalidInput(
            f"currency {event.currency} differs from the program currency {currency}",
            field="currency",
        )
    if event.occurred_at is not None:
        try:
            utc = event.occurred_at.astimezone(UTC)
        except OverflowError:
            utc = EARLIEST - timedelta(days=1)
        if utc < EARLIEST:
            raise InvalidInput("occurred_at is before 1970", field="occurred_at")
        if utc > at + FUTURE_TOLERANCE:
            raise InvalidInput("occurred_at is in the future", field="occurred_at")
    if event.type == "purchase":
        if event.amount is None and not event.lines:
            raise InvalidInput("a purchase needs an amount or lines", field="amount")
        lines = purchase_lines(event, currency)
        if sum(line.quantity * line.unit_price for line in lines) > MAX_AMOUNT:
            raise InvalidInput("the lines add up to more than Patron stores", field="lines")
        if event.amount is not None and to_minor(event.amount, currency) > MAX_AMOUNT:
            raise InvalidInput("amount is larger than Patron stores", field="amount")
        return lines
    elif event.type == "refund":
        if not event.refund_of:
            raise InvalidInput("a refund must name the purchase in refund_of", field="refund_of")
        if event.amount is not None and event.lines:
            raise InvalidInput("refund either lines or an amount, not both", field="amount")
        if event.amount is not None:
            if event.amount <= 0:
                raise InvalidInput("a refund amount must be positive", field="amount")
            if to_minor(event.amount, currency) > MAX_AMOUNT:
                raise InvalidInput("amount is larger than Patron stores", field="amount")
    else:
        if event.refund_of:
            raise InvalidInput("refund_of only goes with type refund", field="refund_of")
        if event.lines:
            raise InvalidInput(f"a {event.type} event has no lines", field="lines")
        if event.amount is not None:
            # A custom event may carry money (a membership fee, a gift card): rules
            # compare on it and earn per unit of it. A sign-up has none; one sent
            # with an amount was silently read as 0 before.
            if event.type == "signup":
                raise InvalidInput("a signup event has no amount", field="amount")
            if to_minor(event.amount, currency) > MAX_AMOUNT:
                raise InvalidInput("amount is larger than Patron stores", field="amount")
    return ()


def payload_hash(event: EventIn) -> str:
    """A stable hash of what the caller sent, to tell a retry from a different event."""
    return hashlib.sha256(event.model_dump_json(exclude_defaults=True).encode()).hexdigest()


def purchase_lines(event: EventIn, currency: str) -> tuple[LineItem, ...]:
    """A purchase's lines in minor units; a missing or too precise price is refused
    with the line named."""
    lines: list[LineItem] = []
    for line in event.lines:
        if line.unit_price is None:
            at = f"lines[{len(lines)}].unit_price"
            raise InvalidInput("unit_price is required on a purchase line", field=at)
        try:
            minor = to_minor(line.unit_price, currency)
        except InvalidInput as exc:  # the line named only on the rare error
            raise InvalidInput(exc.detail, field=f"lines[{len(lines)}].unit_price") from None
        lines.append(LineItem(line.sku, line.quantity, minor, line.category))
    return tuple(lines)


def to_facts(
    event: EventIn,
    currency: str,
    occurred_at: datetime,
    lines: tuple[LineItem, ...] | None = None,
) -> EventFacts:
    """The event as the engine sees it; ``lines``: what :func:`check_shape` gave."""
    if lines is None:
        lines = purchase_lines(event, currency) if event.type == "purchase" else ()
    if event.amount is not None and event.type in ("purchase", "custom"):
        amount = to_minor(event.amount, currency)
    else:
        amount = sum(line.amount for line in lines)
    return EventFacts(
        type=event.type,
        occurred_at=occurred_at,
        amount=amount,
        currency=currency,
        name=event.name,
        channel=event.channel,
        store=event.store,
        lines=lines,
        attributes=event.attributes,
    )

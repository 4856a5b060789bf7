"""Event request and response bodies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

MAX_ID = 2**63 - 1


# How deep an event's attributes may nest. Free-form, but a document nested
# hundreds of levels deep is no customer's data, and past about 250 levels
# pydantic's serializer (the payload hash) and orjson (the stored column) refuse
# it: a 500 where the caller deserves a 422 naming the place.
MAX_NESTING = 32


def check_storable(value: Any, path: str, depth: int = 0) -> None:
    """Refuse NUL characters, non-finite numbers and nesting past ``MAX_NESTING``
    at any depth; the error's ``ctx.path`` names the exact place (``attributes.score``)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError(
                "unstorable", "{path} contains a NUL character", {"path": path}
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError(
                "unstorable", "{path} must be a finite number", {"path": path}
            )
    elif isinstance(value, dict | list):
        if depth >= MAX_NESTING:
            raise PydanticCustomError(
                "too_deep",
                "nested more than {levels} levels deep",
                {"path": path, "levels": MAX_NESTING},
            )
        if isinstance(value, dict):
            for key, item in value.items():
                check_storable(key, path)
                check_storable(item, f"{path}.{key}", depth + 1)
        else:
            for n, item in enumerate(value):
                check_storable(item, f"{path}[{n}]", depth + 1)


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> LineIn:
        """No NUL in the text fields (see EventIn._storable)."""
        for name in ("sku", "category"):
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                check_storable(value, name)
        return self

    sku: str = Field(min_length=1, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    quantity: int = Field(gt=0, le=1_000_000)
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=18)


class EventIn(BaseModel):
    """One thing a customer did.

    The member is named by ``member_id`` (Patron's id) or ``member_external_id``
    (yours). Money is a decimal string or number in the program currency;
    ``amount`` defaults to the sum of the lines.
    """

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=200)
    type: Literal["purchase", "refund", "signup", "custom"]
    name: str | None = Field(default=None, min_length=1, max_length=100)
    member_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    member_external_id: str | None = Field(default=None, min_length=1, max_length=200)
    occurred_at: AwareDatetime | None = None
    amount: Decimal | None = Field(default=None, ge=0, max_digits=18)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    channel: str | None = Field(default=None, max_length=50)
    store: str | None = Field(default=None, max_length=100)
    lines: list[LineIn] = Field(default_factory=list, max_length=1000)
    refund_of: str | None = Field(default=None, min_length=1, max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _storable(self) -> EventIn:
        """Refuse what no database column can store: NUL characters, NaN, infinities.

        One check of the whole event once its fields are valid (the error's
        ``ctx.path`` names the place within it: ``store``, ``attributes.tags[1]``),
        where a validator per field cost a quarter of an event's validation.
        Non-finite amounts and prices pydantic's decimals refuse themselves.
        """
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                check_storable(value, name)
        if self.attributes:
            check_storable(self.attributes, "attributes")
        return self


_TEXT_FIELDS = (
    "external_id",
    "name",
    "member_external_id",
    "currency",
    "channel",
    "store",
    "refund_of",
)


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Rows are validated one by one so a bad row is reported and good rows still land.
    events: list[dict[str, Any]] = Field(min_length=1, max_length=5000)


class AwardOut(BaseModel):
    rule_id: str | None
    points: int
    explanation: str


class Award(Protocol):
    """What a result needs of an award: AwardOut, or the engine's AwardPoints."""

    @property
    def rule_id(self) -> str | None: ...
    @property
    def points(self) -> int: ...
    @property
    def explanation(self) -> str: ...


class EventResult(BaseModel):
    """What happened to one event. ``status`` is accepted, duplicate or rejected."""

    index: int = 0
    external_id: str
    status: Literal["accepted", "duplicate", "rejected"]
    event_id: int | None = None
    member_id: int | None = None
    program_version: int | None = None
    points: int = 0
    awards: list[AwardOut] = Field(default_factory=list)
    # What the event did to the member's stamp cards, in words (see patron.stamps).
    stamp_cards: list[str] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    occurred_at: datetime | None = None


@dataclass(slots=True)
class Outcome:
    """An :class:`EventResult` while the engine fills it in: a plain object.

    A batch sets a dozen fields on each result; on a pydantic model every one
    goes through ``BaseModel.__setattr__``, and a blank model cost more again
    (``model_construct`` inspects each ``default_factory``'s signature, every
    time). The finished outcome becomes an ``EventResult`` in one step, its
    values already the engine's own: no validation.
    """

    index: int
    external_id: str = ""
    status: Literal["accepted", "duplicate", "rejected"] = "rejected"
    event_id: int | None = None
    member_id: int | None = None
    program_version: int | None = None
    points: int = 0
    # The engine's own awards (AwardPoints) or stored ones; AwardOut only in result().
    awards: Sequence[Award] = field(default_factory=list)
    stamp_cards: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    occurred_at: datetime | None = None

    def result(self) -> EventResult:
        values = {name: getattr(self, name) for name in _OUTCOME}
        values["awards"] = [
            a
            if isinstance(a, AwardOut)
            else AwardOut.model_construct(  # the engine's own values: no checks
                rule_id=a.rule_id, points=a.points, explanation=a.explanation
            )
            for a in self.awards
        ]
        return EventResult.model_construct(**values)


_OUTCOME = [f.name for f in fields(Outcome)]


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> BatchResult:
        accepted = sum(o.status == "accepted" for o in outcomes)
        dupes = sum(o.status == "duplicate" for o in outcomes)
        return cls.model_construct(
            accepted=accepted,
            duplicates=dupes,
            rejected=len(outcomes) - accepted - dupes,
            results=[o.result() for o in outcomes],
        )

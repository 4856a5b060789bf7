"""The YAML syntax of a rule, as pydantic models (see docs/program.md).

``program.schema.Program`` holds a list of :class:`Rule`. Every model forbids
unknown keys so a typo (``gtee:``) is an error, not a rule that silently never
fires; models are frozen values. Shorthands are expanded on load: a bare
string where a list is expected, a bare value (eq) or list (in) where a
comparison is expected, ``member.attributes.<name>`` keys.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)


class ProgramModel(BaseModel):
    """Base of every program-file model: unknown keys rejected, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _decimal(value: Any) -> Any:
    """Decimal from str/int; YAML floats via their repr (``0.01`` stays 0.01)."""
    if isinstance(value, bool):
        raise ValueError('expected a number like "1.50", not true/false')
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"'{value}' is not a number like \"1.50\"") from None
        if not parsed.is_finite():
            raise ValueError(f"'{value}' is not a finite number")
        return parsed
    return value


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
# Money in the program currency; precision vs the currency is checked by Program.
Money = Annotated[Decimal, BeforeValidator(_decimal)]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


def _plain(value: Any) -> Any:
    """Comparison operands: YAML floats become Decimal, lists element-wise."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


StrList = Annotated[list[str], BeforeValidator(_listify), Field(min_length=1)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EventType = Literal["purchase", "signup", "custom"]
COMPARISON_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in")


class _Comparison(ProgramModel):
    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        return {"in": data} if isinstance(data, list) else {"eq": data}

    @model_validator(mode="after")
    def _some_operator(self) -> _Comparison:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(COMPARISON_OPS)}")
        return self

    def operators(self) -> list[tuple[str, Any]]:
        """(op, operand) for the operators written, in a stable order."""
        ops = []
        for op in COMPARISON_OPS:
            name = "in_" if op == "in" else op
            if name in self.model_fields_set:
                ops.append((op, getattr(self, name)))
        return ops


class Comparison(_Comparison):
    """Compare an attribute: a bare value means eq, a bare list means in."""

    eq: Annotated[Any, BeforeValidator(_plain)] = None
    ne: Annotated[Any, BeforeValidator(_plain)] = None
    gt: Annotated[Any, BeforeValidator(_plain)] = None
    gte: Annotated[Any, BeforeValidator(_plain)] = None
    lt: Annotated[Any, BeforeValidator(_plain)] = None
    lte: Annotated[Any, BeforeValidator(_plain)] = None
    in_: Annotated[list[Any] | None, BeforeValidator(_plain)] = Field(None, alias="in")
    not_in: Annotated[list[Any] | None, BeforeValidator(_plain)] = None


class MoneyComparison(_Comparison):
    """Compare a money amount written in the program currency (``"10.00"``)."""

    eq: Money | None = None
    ne: Money | None = None
    gt: Money | None = None
    gte: Money | None = None
    lt: Money | None = None
    lte: Money | None = None
    in_: list[Money] | None = Field(None, alias="in")
    not_in: list[Money] | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> MoneyComparison:
        if any(value is None for _, value in self.operators()):
            raise ValueError('an amount cannot be null: write it like "10.00"')
        return self


class LineFilter(ProgramModel):
    """Lines whose sku is listed or whose category is listed."""

    sku: StrList | None = None
    category: StrList | None = None

    @model_validator(mode="after")
    def _something(self) -> LineFilter:
        if not self.sku and not self.category:
            raise ValueError("give sku and/or category")
        return self


class LineCondition(LineFilter):
    """True when the matching lines reach ``min_quantity`` and ``min_amount``."""

    min_quantity: int = Field(1, ge=1, le=10**9)
    min_amount: Money | None = None


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _minutes(value: Any) -> Any:
    if isinstance(value, str) and _HHMM.match(value.strip()):
        hh, mm = value.strip().split(":")
        return int(hh) * 60 + int(mm)
    raise ValueError(f"'{value}' is not a time like \"07:30\" (24-hour HH:MM, in quotes)")


class TimeWindow(ProgramModel):
    """From ``from`` (inclusive) to ``to`` (exclusive), local time; wraps past midnight."""

    start: Annotated[int, BeforeValidator(_minutes)] = Field(alias="from")
    end: Annotated[int, BeforeValidator(_minutes)] = Field(alias="to")

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start % 1440 == self.end % 1440:
            raise ValueError("'from' and 'to' are the same time: the window is empty")
        return self

    @field_serializer("start", "end")
    def _hhmm(self, minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


_ATTR_PREFIXES = {
    "event.attributes.": "event_attributes",
    "member.attributes.": "member_attributes",
}


class Condition(ProgramModel):
    """All keys given must hold (an implicit ``all``)."""

    all: list[Condition] | None = None
    any: list[Condition] | None = Field(None, min_length=1)
    not_: Condition | None = Field(None, alias="not")
    event: Annotated[list[EventType], BeforeValidator(_listify), Field(min_length=1)] | None = None
    name: StrList | None = None
    amount: MoneyComparison | None = None
    purchase_count: Comparison | None = None
    first_purchase: bool | None = None
    channel: StrList | None = None
    store: StrList | None = None
    tier: StrList | None = None
    day_of_week: Annotated[list[Weekday], BeforeValidator(_listify), Field(min_length=1)] | None = (
        None
    )
    time_of_day: (
        Annotated[list[TimeWindow], BeforeValidator(_listify), Field(min_length=1)] | None
    ) = None
    lines: LineCondition | None = None
    # Written in YAML as ``event.attributes.<name>: <comparison>`` (moved here on load).
    event_attributes: dict[str, Comparison] | None = None
    member_attributes: dict[str, Comparison] | None = None

    @model_validator(mode="before")
    @classmethod
    def _dotted_attributes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            field = next(
                (
                    f
                    for p, f in _ATTR_PREFIXES.items()
                    if isinstance(key, str) and key.startswith(p)
                ),
                None,
            )
            if field is None:
                out[key] = value
            elif key.endswith("."):
                out[key] = value  # left for extra="forbid" to report
            else:
                out.setdefault(field, {})[key.split(".", 2)[2]] = value
        return out

    @field_validator("event", mode="before")
    @classmethod
    def _no_refund(cls, value: Any) -> Any:
        if value == "refund" or (isinstance(value, list) and "refund" in value):
            raise ValueError("refunds are never scored: the ledger reverses the original awards")
        return value


# Bounds keep every number a rule can produce inside a 64-bit column even for
# the largest purchase the API accepts (10**15 minor units): a program the API
# accepts must never make events fail later with an overflow.
MAX_RULE_POINTS = 10**9  # fixed points, or points per unit of money
MAX_RULE_TOTAL = 10**12  # caps and budgets (the ledger's own limit on one posting)
MAX_MULTIPLIER = 100


class PointsPer(ProgramModel):
    points: int = Field(ge=1, le=MAX_RULE_POINTS)
    per: Money = Field(gt=0, le=10**12)
    rounding: Literal["floor", "round_half_up", "ceil"] = "floor"


class Effect(ProgramModel):
    """Exactly one of ``points_per``, ``fixed``, ``multiplier``."""

    points_per: PointsPer | None = None
    fixed: int | None = Field(None, ge=1, le=MAX_RULE_POINTS)
    multiplier: Dec | None = Field(None, gt=1, le=MAX_MULTIPLIER)

    @model_validator(mode="after")
    def _exactly_one(self) -> Effect:
        given = [k for k in ("points_per", "fixed", "multiplier") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of points_per, fixed, multiplier"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        if self.points_per is not None:
            return "points_per"
        return "fixed" if self.fixed is not None else "multiplier"


class Cap(ProgramModel):
    points: int = Field(ge=1, le=MAX_RULE_TOTAL)
    per: Literal["day", "week", "month", "year"]


def _moment(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"'{value}' is not a date (2026-12-31) or date-time (2026-12-31T18:00)"
            ) from None
    return value


Moment = Annotated[datetime | date, BeforeValidator(_moment)]


class Rule(ProgramModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    description: str = ""
    priority: int = Field(0, ge=-(10**6), le=10**6)
    stacking: Literal["stack", "exclusive"] = "stack"
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    when: Condition | None = None
    lines: LineFilter | None = None
    effect: Effect
    cap: Cap | None = None
    budget: int | None = Field(None, ge=1, le=MAX_RULE_TOTAL)


Condition.model_rebuild()

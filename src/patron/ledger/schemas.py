"""Points request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_POINTS = 10**12  # far beyond any real balance, well inside a 64-bit column


class BalanceOut(BaseModel):
    member_id: int
    balance: int = Field(description="Sum of all entries: available + pending - debt")
    available: int = Field(description="Spendable now")
    pending: int = Field(description="Earned but not yet spendable")
    expiring_soon: int = Field(description="Points expiring within expiring_within_days")
    expiring_within_days: int
    debt: int = Field(description="Points owed after a refund of points already spent")


class AwardLine(BaseModel):
    rule_id: str | None
    points: int
    explanation: str


class StatementEntryOut(BaseModel):
    id: int
    created_at: datetime
    kind: str
    points: int
    explanation: str
    rule_id: str | None = None
    event_external_id: str | None = None
    available_at: datetime | None = None
    expires_at: datetime | None = None
    actor: str | None = None
    reason: str | None = None
    awards: list[AwardLine] | None = Field(
        default=None, description="For earnings: the rule awards the entry is made of"
    )


class StatementOut(BaseModel):
    items: list[StatementEntryOut]
    next_cursor: str | None


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(
        ge=-MAX_POINTS, le=MAX_POINTS, description="Positive to credit, negative to remove"
    )
    reason: str = Field(min_length=1, max_length=500)


class DebitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(gt=0, le=MAX_POINTS)
    reason: str = Field(default="points debit", min_length=1, max_length=500)


class EntryOut(BaseModel):
    entry_id: int
    member_id: int
    kind: str
    points: int
    explanation: str
    balance: BalanceOut

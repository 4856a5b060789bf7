"""Member requests and responses, and the normalisation of emails and phone numbers.

Emails are validated (syntax only, no DNS) and stored normalised and lower-cased.
Phone numbers are stored in E.164 (``+4915112345678``); a number without a
leading ``+`` is accepted only when ``PATRON_DEFAULT_PHONE_REGION`` names the
region to read it in (``DE``, ``US``).

Consents are stored per channel as ``{"email": {"granted": true, "at": "<ISO UTC>"},
...}``: ``at`` is when that channel's consent last changed (or was first recorded).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)

from patron.core.clock import now
from patron.core.errors import InvalidInput
from patron.members.models import CHANNELS

MAX_ATTRIBUTES = 100
M = TypeVar("M", bound=BaseModel)

Status = Literal["active", "blocked"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ExternalId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
AttributeKey = Annotated[str, Field(min_length=1, max_length=100)]


def _scalar_ok(value: Any) -> bool:
    if isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= 1000


def check_attribute_value(value: Any) -> Any:
    """A string (<= 1000 chars), number, boolean, or a list (<= 100) of those."""
    if _scalar_ok(value):
        return value
    if isinstance(value, list) and len(value) <= 100 and all(_scalar_ok(v) for v in value):
        return value
    raise ValueError(
        "an attribute is a string (up to 1000 characters), a finite number, a boolean, "
        "or a list of up to 100 of those"
    )


def _check_attribute_patch(value: Any) -> Any:
    return None if value is None else check_attribute_value(value)


AttributeValue = Annotated[Any, AfterValidator(check_attribute_value)]
AttributePatch = Annotated[Any, AfterValidator(_check_attribute_patch)]


def normalize_email(value: str) -> str:
    """``" Ann@Example.COM "`` -> ``"ann@example.com"``; ValueError if it is not an email."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    normalised = result.normalized.lower()
    if len(normalised) > 320:
        raise ValueError("an email address is at most 320 characters")
    return normalised


def normalize_phone(value: str, default_region: str | None = None) -> str:
    """A phone number in E.164; ValueError if it is not a valid number.

    Without a leading ``+`` the number is read in ``default_region``; with no
    default region such a number is refused.
    """
    text = value.strip()
    if not text.startswith("+") and not default_region:
        raise ValueError("use the international format, starting with + and the country code")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def default_phone_region() -> str | None:
    """``PATRON_DEFAULT_PHONE_REGION``, upper-cased, or None."""
    from patron.core.config import get_settings

    region = get_settings().default_phone_region
    return region.strip().upper() if region and region.strip() else None


def check_birthday(value: date | None) -> date | None:
    if value is not None and value > now().date():
        raise ValueError("a birthday cannot be in the future")
    return value


class ConsentsIn(BaseModel):
    """Marketing consent per channel; an unknown channel is refused."""

    model_config = ConfigDict(extra="forbid")

    email: StrictBool | None = None
    sms: StrictBool | None = None
    push: StrictBool | None = None

    def given(self) -> dict[str, bool]:
        return {c: v for c in CHANNELS if (v := getattr(self, c)) is not None}


class _MemberFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else normalize_email(value)

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value, default_phone_region())

    @field_validator("birthday", check_fields=False)
    @classmethod
    def _birthday(cls, value: date | None) -> date | None:
        return check_birthday(value)

    @field_validator("attributes", check_fields=False)
    @classmethod
    def _attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
        return value


class MemberCreate(_MemberFields):
    """A new member. Every field is optional; email, phone and external_id are unique."""

    external_id: ExternalId | None = None
    email: StrictStr | None = None
    phone: StrictStr | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    birthday: date | None = None
    status: Status = "active"
    consents: ConsentsIn = Field(default_factory=ConsentsIn)
    attributes: dict[AttributeKey, AttributeValue] = Field(default_factory=dict)


class MemberUpdate(_MemberFields):
    """A partial update: only the fields sent change; ``null`` clears a field.

    ``consents`` changes only the channels sent. ``attributes`` is merged into the
    stored ones; an attribute sent as ``null`` is removed.
    """

    external_id: ExternalId | None = None
    email: StrictStr | None = None
    phone: StrictStr | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    birthday: date | None = None
    status: Status | None = None
    consents: ConsentsIn | None = None
    attributes: dict[AttributeKey, AttributePatch] | None = None

    @field_validator("status", "consents", "attributes")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ConsentOut(BaseModel):
    granted: bool = False
    at: datetime | None = None


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    birthday: date | None
    status: str
    consents: dict[str, ConsentOut]
    attributes: dict[str, Any]
    enrolled_at: datetime
    updated_at: datetime
    purchase_count: int
    last_activity_at: datetime | None

    @field_validator("consents", mode="before")
    @classmethod
    def _every_channel(cls, value: Any) -> Any:
        stored = value or {}
        return {c: stored.get(c) or {} for c in CHANNELS}


def parse_input(model: type[M], data: dict[str, Any]) -> M:
    """Validate outside HTTP (CLI, imports): a pydantic error becomes InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from None

"""Email and phone normalisation, and the member input rules that need no database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from patron.core.config import get_settings
from patron.core.errors import InvalidInput
from patron.members.schemas import (
    MemberCreate,
    MemberUpdate,
    check_attribute_value,
    normalize_email,
    normalize_phone,
    parse_input,
)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        ("ANN+loyalty@EXAMPLE.co.uk", "ann+loyalty@example.co.uk"),
        ("jörg@Bücher.de", "jörg@bücher.de"),
    ],
)
def test_emails_are_normalised(raw: str, stored: str) -> None:
    assert normalize_email(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "ann", "ann@", "@example.com", "ann@@example.com", "ann example@x.com", "a@b"]
)
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid email"):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+49 151 12345678", "+4915112345678"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        (" +4915112345678 ", "+4915112345678"),
    ],
)
def test_international_numbers_become_e164(raw: str, stored: str) -> None:
    assert normalize_phone(raw) == stored


def test_national_numbers_need_a_default_region() -> None:
    with pytest.raises(ValueError, match="international format"):
        normalize_phone("0151 12345678")
    assert normalize_phone("0151 12345678", "DE") == "+4915112345678"
    assert normalize_phone("(650) 253-0000", "US") == "+16502530000"
    # A "+" number ignores the default region.
    assert normalize_phone("+44 20 7946 0958", "DE") == "+442079460958"


@pytest.mark.parametrize("raw", ["+49 1", "+999 123456", "+49 abc", "+", "+1 555 0000 0000 0000"])
def test_bad_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_phone(raw)


@pytest.fixture
def german_phones(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PATRON_DEFAULT_PHONE_REGION", "de")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_default_region_setting_applies_to_members(german_phones: None) -> None:
    assert MemberCreate(phone="0151 12345678").phone == "+4915112345678"
    assert MemberUpdate(phone="0151 12345678").phone == "+4915112345678"


def test_member_without_region_setting_needs_plus() -> None:
    get_settings.cache_clear()
    with pytest.raises(ValidationError) as caught:
        MemberCreate(phone="0151 12345678")
    assert caught.value.errors()[0]["loc"] == ("phone",)


@pytest.mark.parametrize("value", ["x", 1, 2.5, True, [], ["a", 1, False, 0.5]])
def test_good_attribute_values(value: object) -> None:
    assert check_attribute_value(value) == value


@pytest.mark.parametrize(
    "value", [None, {"a": 1}, [[1]], [None], float("nan"), float("inf"), "x" * 1001, [1] * 101]
)
def test_bad_attribute_values(value: object) -> None:
    with pytest.raises(ValueError):
        check_attribute_value(value)


def test_update_refuses_null_for_required_fields() -> None:
    for field in ("status", "consents", "attributes"):
        with pytest.raises(ValidationError):
            MemberUpdate.model_validate({field: None})
    assert MemberUpdate.model_validate({"email": None}).model_fields_set == {"email"}


def test_parse_input_turns_errors_into_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input(MemberCreate, {"consents": {"fax": True}})
    assert caught.value.field == "consents.fax"

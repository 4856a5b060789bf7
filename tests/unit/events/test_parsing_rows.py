"""What a raw row must be to become an event, and the field each refusal names."""

import pytest

from patron.core.errors import InvalidInput
from patron.events.validation import parse_row


def _purchase(**fields: object) -> dict[str, object]:
    return {"external_id": "e1", "type": "purchase", "member_id": 1, **fields}


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (_purchase(amount=float("nan")), "amount", "finite"),
        (_purchase(amount="Infinity"), "amount", "finite"),
        (
            _purchase(lines=[{"sku": "A", "quantity": 1, "unit_price": float("inf")}]),
            "lines[0].unit_price",
            "finite",
        ),
        (
            _purchase(lines=[{"sku": "A", "quantity": 1}, {"sku": "B\x00", "quantity": 1}]),
            "lines[1].sku",
            "NUL",
        ),
        (_purchase(store="so\x00ho"), "store", "NUL"),
        (_purchase(attributes={"score": float("nan")}), "attributes.score", "finite"),
        (_purchase(attributes={"tags": ["ok", "b\x00d"]}), "attributes.tags[1]", "NUL"),
    ],
)
def test_what_no_column_can_store_is_refused_naming_its_place(
    row: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_row(row)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_storable_row_keeps_its_values() -> None:
    event = parse_row(
        _purchase(
            store="soho",
            attributes={"score": 1.5, "tags": ["a"]},
            lines=[{"sku": "A", "quantity": 2, "unit_price": "3.40"}],
        )
    )
    assert event.store == "soho"
    assert event.attributes == {"score": 1.5, "tags": ["a"]}
    assert [(line.sku, line.quantity, str(line.unit_price)) for line in event.lines] == [
        ("A", 2, "3.40")
    ]

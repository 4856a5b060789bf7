"""Cursor encoding and the paging arithmetic, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.core.errors import InvalidInput
from patron.core.pagination import (
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    Page,
    check_limit,
    decode_cursor,
    encode_cursor,
)


@given(st.integers(min_value=0, max_value=MAX_ID))
def test_cursor_round_trips(last_id: int) -> None:
    cursor = encode_cursor(last_id)
    assert decode_cursor(cursor) == last_id
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor


def test_no_cursor_is_the_first_page() -> None:
    assert decode_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90LWFuLWlk",  # "not-an-id"
        "LTE",  # "-1"
        "MS4w",  # "1.0"
        "MDA3",  # "007": not a cursor this API makes
        encode_cursor(MAX_ID + 1),
        "é",
        "MQ" * 40,
    ],
)
def test_bad_cursors_name_the_field(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.field == "cursor"


@given(st.text(max_size=40))
def test_decoding_any_text_is_an_id_or_invalid_input(text: str) -> None:
    try:
        value = decode_cursor(text)
    except InvalidInput as exc:
        assert exc.field == "cursor"
    else:
        assert value is not None and 0 <= value <= MAX_ID
        assert encode_cursor(value) == text


def test_limits() -> None:
    assert check_limit(None) == DEFAULT_LIMIT == 50
    assert check_limit(1) == 1 and check_limit(MAX_LIMIT) == 500
    for bad in (0, -1, MAX_LIMIT + 1, True):
        with pytest.raises(InvalidInput) as caught:
            check_limit(bad)
        assert caught.value.field == "limit"


def _page(ids: list[int], cursor: str | None, limit: int) -> Page[int]:
    """The same arithmetic ``paginate`` does, over a sorted list instead of a table."""
    after = decode_cursor(cursor)
    rows = [i for i in ids if after is None or i > after][: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[int](items=rows, next_cursor=encode_cursor(rows[-1]) if more else None)


@given(
    st.lists(st.integers(min_value=1, max_value=10**6), unique=True, max_size=60),
    st.integers(min_value=1, max_value=25),
)
def test_every_item_is_seen_once_across_pages(ids: list[int], limit: int) -> None:
    ids.sort()
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = _page(ids, cursor, limit)
        pages += 1
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids
    assert pages == max(1, -(-len(ids) // limit))

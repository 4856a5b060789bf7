"""``core.driver.json_value`` reads JSON exactly as the standard parser does,
though most of it goes through orjson, which turns integers beyond 64 bits
into floats and refuses some of what the standard parser takes."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron.core.driver import json_value

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_VALUES, st.booleans())
def test_any_json_reads_as_the_standard_parser_reads_it(value: object, as_bytes: bool) -> None:
    text = json.dumps(value, ensure_ascii=False)
    read = json_value(text.encode() if as_bytes else text)
    assert read == json.loads(text)
    assert json.dumps(read) == json.dumps(json.loads(text))  # types too: 1 stays 1, not 1.0


@pytest.mark.parametrize(
    "value",
    [2**63 - 1, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**19, 10**40, -(10**25)],
)
def test_integers_at_the_edges_of_64_bits_keep_every_digit(value: int) -> None:
    read = json_value(f'{{"n": {value}, "x": [1.5, "a"]}}')
    assert read["n"] == value and type(read["n"]) is int


def test_what_orjson_refuses_is_read_or_refused_as_the_standard_parser_does() -> None:
    assert math.isnan(json_value('{"a": NaN}')["a"])
    assert json_value('{"a": 1e400}')["a"] == math.inf
    assert json_value('"\\ud800"') == "\ud800"  # a lone surrogate
    assert json_value(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}
    with pytest.raises(json.JSONDecodeError) as refused:
        json_value('{"a": 1,}')
    assert refused.value.msg == "Expecting property name enclosed in double quotes"
    assert json_value("{}") == {} and json_value(b"{}") == {}


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000]
)
def test_json_nested_past_the_interpreters_depth_is_a_decode_error(text: str) -> None:
    """orjson refuses past 1,024 levels; the standard parser it falls back to recursed
    until a RecursionError, which no caller expected (a 500 on POST /v1/events)."""
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        json_value(text)
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        json_value(text.encode())
    assert json_value("[" * 500 + "]" * 500) is not None  # deep, but within reach

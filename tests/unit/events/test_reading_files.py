"""Rows of a JSON Lines file arrive exactly as written, a bad row with its column.

Lines are read by orjson, which turns integers beyond 64 bits into floats; a
line with a run of 19 digits goes to the standard parser instead, and so does
one orjson refuses, so that errors read as they always did."""

from __future__ import annotations

from pathlib import Path

from patron.core.bulk import _json
from patron.events.importer import read_rows


def test_rows_arrive_as_written_big_integers_included(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"external_id": "a", "attributes": {"note": "caf\\u00e9", "n": 1.5}}\n'
        "\n"
        '{"external_id": "b", "attributes": {"big": 123456789012345678901234567890}}\n'
        '{"external_id": "c", "type": }\n'
    )
    rows = list(read_rows(path))
    assert rows[0] == (1, {"external_id": "a", "attributes": {"note": "café", "n": 1.5}})
    assert rows[1] == (
        3,
        {"external_id": "b", "attributes": {"big": 123456789012345678901234567890}},
    )
    number, error = rows[2]
    assert number == 4 and isinstance(error, ValueError)
    assert "malformed JSON: Expecting value at column 30" in str(error)


def test_integers_at_and_beyond_64_bits_keep_every_digit(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    values = [2**63 - 1, 2**64 - 1, 2**64, 10**19, -(2**63), -(2**63) - 1, -(2**64), 10**40]
    path.write_text("".join(f'{{"attributes": {{"n": {v}, "f": 0.5}}}}\n' for v in values))
    rows = [row for _, row in read_rows(path)]
    assert [r["attributes"]["n"] for r in rows] == values
    assert all(type(r["attributes"]["n"]) is int for r in rows)


def test_what_orjson_refuses_reads_as_the_standard_parser_has_it(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b'{"amount": NaN}\n'  # the standard parser's NaN: refused later, by the field check
        b'{"external_id": "a",}\n'
        b'\xef\xbb\xbf{"external_id": "bom"}\n'
        b'{"external_id": "caf\xe9"}\n'  # Latin-1, not UTF-8
    )
    rows = list(read_rows(path))
    assert rows[0][1]["amount"] != rows[0][1]["amount"]  # NaN, as json.loads gives it
    assert isinstance(rows[1][1], ValueError)
    assert "malformed JSON: Expecting property name enclosed in double quotes at column 21" in str(
        rows[1][1]
    )
    assert rows[2] == (3, {"external_id": "bom"})
    number, error = rows[3]
    assert number == 4 and isinstance(error, ValueError)
    assert str(error) == "not UTF-8 text: invalid continuation byte at byte 21"


def test_json_columns_get_standard_json_text_whatever_the_encoder() -> None:
    assert _json({"é": [1, None], 2: "x"}) == '{"é":[1,null],"2":"x"}'
    assert _json({"big": 2**70}) == '{"big":1180591620717411303424}'  # beyond orjson's range
    assert _json([]) == "[]" and _json({}) == "{}" and _json(None) is None

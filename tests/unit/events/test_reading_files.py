"""Rows of a JSON Lines file arrive exactly as written (a faster parser, orjson,
turns integers beyond 64 bits into floats: it is used for writing JSON columns,
where it refuses them, and not for reading), a bad row with its column."""

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


def test_json_columns_get_standard_json_text_whatever_the_encoder() -> None:
    assert _json({"é": [1, None], 2: "x"}) == '{"é":[1,null],"2":"x"}'
    assert _json({"big": 2**70}) == '{"big":1180591620717411303424}'  # beyond orjson's range
    assert _json([]) == "[]" and _json({}) == "{}" and _json(None) is None

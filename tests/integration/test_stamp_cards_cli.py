"""``patron member show`` prints the member's stamp cards."""

from __future__ import annotations

import json
from pathlib import Path

from patron.core.db import Database
from tests.integration.test_cli import (  # noqa: F401  (fixtures)
    Run,
    database,
    member_id,
    patron,
)
from tests.integration.test_stamp_cards import coffee, program


def test_member_show_prints_stamp_cards(
    patron: Run,  # noqa: F811
    database: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    program_file = tmp_path / "program.yaml"
    program_file.write_text(json.dumps(program()))  # JSON is YAML
    patron("program", "load", str(program_file))
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(json.dumps(e) for e in (coffee("o1", quantity=2), coffee("o2", quantity=2)))
    )
    patron("import", "events", str(events))
    out = patron("member", "show", str(member_id(database, "alice"))).output
    assert "Stamp cards" in out
    assert "1 of 3 stamps" in out
    assert "complete: coupon" in out and "(issued)" in out
    assert "1 stamp on Coffee card (carried over): 1 of 3" in out

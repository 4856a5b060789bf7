"""``patron member show`` prints the tier and progress; ``patron jobs run`` reviews tiers."""

from __future__ import annotations

import json
from pathlib import Path

from patron.core.clock import FrozenClock
from patron.core.db import Database
from tests.integration.test_cli import (  # noqa: F401  (fixtures)
    Run,
    database,
    loaded,
    member_id,
    patron,
    purchase,
)


def test_member_show_and_jobs_run_with_tiers(
    patron: Run,  # noqa: F811
    loaded: Database,  # noqa: F811
    tmp_path: Path,
    clock: FrozenClock,
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(purchase("p1", "m1", "160.00")) + "\n")
    patron("import", "events", str(path))
    member = member_id(loaded, "m1")
    out = patron("member", "show", str(member)).output
    assert (
        "Tier: Silver (since 2026-03-02; review 2027-03-02; x1.25 points; perks: free oat milk)"
        in out
    )
    assert (
        "Spend 240.00 GBP more by 2027-03-02 to reach Gold; "
        "keep Silver by spending 150.00 GBP by 2027-04-01" in out
    )
    assert "Tier reviews: 0 reviewed, 0 moved down" in patron("jobs", "run").output
    clock.advance(days=396)  # past the review and its 30 days of grace
    assert "Tier reviews: 1 reviewed, 1 moved down" in patron("jobs", "run").output
    out = patron("member", "show", str(member)).output
    assert "Tier: none yet" in out and "Spend 150.00 GBP more to reach Silver" in out

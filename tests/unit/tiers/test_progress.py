"""Pure tier logic: windows, thresholds, reviews, the batch measure, progress in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from patron.core.errors import InvalidInput
from patron.program.loader import program_from_dict
from patron.tiers.definition import TierWindow, compile_levels
from patron.tiers.progress import (
    NO_LEVEL,
    MeasureTracker,
    after_review,
    level_index,
    progress,
    qualified_index,
    window_end,
    window_start,
)

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def make(**tiers: Any) -> Any:
    data = {
        "name": "C",
        "currency": "GBP",
        "timezone": "Europe/London",
        "tiers": {
            "levels": [
                {"id": "silver", "name": "Silver", "threshold": "100.00", "multiplier": "1.25"},
                {"id": "gold", "name": "Gold", "threshold": "300.00", "perks": ["free refills"]},
            ],
            **tiers,
        },
    }
    return program_from_dict(data, "test")


def test_levels_compile_to_integer_thresholds() -> None:
    levels = compile_levels(make())
    assert [(lv.id, lv.threshold, lv.multiplier) for lv in levels] == [
        ("silver", 10000, Decimal("1.25")),
        ("gold", 30000, None),
    ]
    assert levels[1].perks == ("free refills",)
    visits = make(qualify_on="visits", levels=[{"id": "r", "name": "R", "threshold": 12}])
    assert compile_levels(visits)[0].threshold == 12


def test_thresholds_reached_at_exactly_the_threshold() -> None:
    levels = compile_levels(make())
    assert qualified_index(levels, 9999) == NO_LEVEL
    assert qualified_index(levels, 10000) == 0
    assert qualified_index(levels, 29999) == 0
    assert qualified_index(levels, 30000) == 1
    assert level_index(levels, "gold") == 1
    assert level_index(levels, "bronze") == NO_LEVEL  # a level the program dropped
    assert level_index(levels, None) == NO_LEVEL


@pytest.mark.parametrize(
    ("current", "measure", "max_down", "expected"),
    [
        (1, 30000, 1, 1),  # still qualifies: kept
        (1, 15000, 1, 0),  # one level down
        (1, 0, 1, 0),  # at most one level down, even with nothing
        (1, 0, 2, NO_LEVEL),
        (0, 40000, 1, 1),  # qualifies for more: the review never lowers it
    ],
)
def test_review_moves_down_at_most_max_down(
    current: int, measure: int, max_down: int, expected: int
) -> None:
    assert after_review(compile_levels(make()), current, measure, max_down) == expected


def test_windows() -> None:
    rolling = TierWindow(type="rolling", days=365)
    assert window_start(rolling, T0, LONDON) == T0 - timedelta(days=365)
    assert window_end(rolling, T0, LONDON) == T0 + timedelta(days=365)
    year = TierWindow(type="calendar_year")
    # local midnight of 1 January (London is UTC+0 in winter)
    assert window_start(year, T0, LONDON) == datetime(2026, 1, 1, tzinfo=UTC)
    new_year_local = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 31 Dec 23:30 in London
    assert window_start(year, new_year_local, LONDON).year == 2026
    assert window_end(year, T0, LONDON) < datetime(2027, 1, 1, tzinfo=UTC)


def test_tracker_forgets_what_leaves_the_window() -> None:
    tracker = MeasureTracker(TierWindow(type="rolling", days=10), UTC)
    tracker.settled[1] = 500
    tracker.add(1, T0, 100)
    tracker.add(1, T0 + timedelta(days=5), 50)
    assert tracker.measure(1, T0 + timedelta(days=5)) == 650
    assert tracker.measure(1, T0 + timedelta(days=10)) == 650  # the window includes its start
    assert tracker.measure(1, T0 + timedelta(days=11)) == 550  # T0 has left
    tracker.add(1, T0 + timedelta(days=5), -50)  # a refund, dated like its purchase
    assert tracker.measure(1, T0 + timedelta(days=11)) == 500
    assert tracker.measure(2, T0) == 0
    # the cheap test before measuring never says "cannot reach" wrongly
    assert tracker.ceiling(1) == 650 >= tracker.measure(1, T0 + timedelta(days=5))
    assert tracker.ceiling(2) == 0


def test_progress_words_for_spend() -> None:
    program = make(review={"days": 365, "grace_days": 30})
    levels = compile_levels(program)
    shown = progress(
        program.tiers,
        levels,
        current=0,
        measure=18000,
        reach_by=datetime(2027, 3, 1, 12, tzinfo=UTC),
        decision_at=datetime(2027, 4, 1, 12, tzinfo=UTC),
        measure_at_decision=6000,
        currency="GBP",
        zone=LONDON,
    )
    assert shown.next is not None and (shown.next.tier, shown.next.needed) == ("gold", 12000)
    assert shown.keep is not None and (shown.keep.tier, shown.keep.needed) == ("silver", 4000)
    assert shown.text == (
        "Spend 120.00 GBP more by 2027-03-01 to reach Gold; "
        "keep Silver by spending 40.00 GBP by 2027-04-01"
    )


def test_progress_at_the_top_and_with_nothing() -> None:
    program = make(qualify_on="visits", levels=[{"id": "r", "name": "Regular", "threshold": 5}])
    levels = compile_levels(program)
    top = progress(
        program.tiers,
        levels,
        current=0,
        measure=9,
        reach_by=None,
        decision_at=datetime(2027, 1, 10, tzinfo=UTC),
        measure_at_decision=6,
        currency="GBP",
        zone=LONDON,
    )
    assert top.next is None and top.keep is None
    assert top.text == "Regular is kept at the review on 2027-01-10"
    start = progress(
        program.tiers,
        levels,
        current=NO_LEVEL,
        measure=4,
        reach_by=None,
        decision_at=None,
        measure_at_decision=4,
        currency="GBP",
        zone=LONDON,
    )
    assert start.text == "Make 1 more visit to reach Regular"


@pytest.mark.parametrize(
    ("tiers", "path", "words"),
    [
        (
            {
                "levels": [
                    {"id": "a", "name": "A", "threshold": "5"},
                    {"id": "b", "name": "B", "threshold": "5"},
                ]
            },
            "tiers.levels[1].threshold",
            "must be higher than tiers.levels[0].threshold",
        ),
        (
            {"levels": [{"id": "a", "name": "A", "threshold": "1.005"}]},
            "tiers.levels[0].threshold",
            "decimal",
        ),
        (
            {"qualify_on": "points", "levels": [{"id": "a", "name": "A", "threshold": "2.5"}]},
            "tiers.levels[0].threshold",
            "whole number",
        ),
        (
            {"levels": [{"id": "a", "name": "A", "threshold": 0}]},
            "tiers.levels[0].threshold",
            "greater than 0",
        ),
        (
            {"levels": [{"id": "a", "name": "A", "threshold": 1, "multipler": 2}]},
            "tiers.levels[0].multipler",
            "multiplier",
        ),
        (
            {"window": {"type": "rolling"}, "levels": [{"id": "a", "name": "A", "threshold": 1}]},
            "tiers.window",
            "days",
        ),
        ({"levels": []}, "tiers.levels", "at least 1"),
        (
            {"membership": {"tier": "gold"}, "levels": [{"id": "a", "name": "A", "threshold": 1}]},
            "tiers.membership.tier",
            "unknown level 'gold'",
        ),
    ],
)
def test_bad_tiers_name_the_path(tiers: dict[str, Any], path: str, words: str) -> None:
    data = {"name": "C", "currency": "GBP", "tiers": tiers}
    with pytest.raises(InvalidInput) as caught:
        program_from_dict(data, "test")
    assert caught.value.field == path
    assert words in caught.value.detail


def test_rewards_must_name_existing_tiers() -> None:
    data = {
        "name": "C",
        "currency": "GBP",
        "tiers": {"levels": [{"id": "silver", "name": "Silver", "threshold": 1}]},
        "rewards": [
            {"id": "r", "name": "R", "kind": "experience", "cost": 5, "eligible": {"tiers": "gold"}}
        ],
    }
    with pytest.raises(InvalidInput) as caught:
        program_from_dict(data, "test")
    assert caught.value.field == "rewards[0].eligible.tiers"


def test_rules_must_name_existing_tiers() -> None:
    data = {
        "name": "C",
        "currency": "GBP",
        "tiers": {"levels": [{"id": "silver", "name": "Silver", "threshold": 1}]},
        "rules": [
            {"id": "ok", "when": {"tier": "silver"}, "effect": {"fixed": 1}},
            {
                "id": "typo",
                "when": {"any": [{"channel": "app"}, {"not": {"tier": ["silver", "gold"]}}]},
                "effect": {"fixed": 1},
            },
        ],
    }
    with pytest.raises(InvalidInput) as caught:
        program_from_dict(data, "test")
    assert caught.value.field == "rules[1].when.any[1].not.tier"
    assert "unknown tier 'gold'" in caught.value.detail
    del data["tiers"]  # without a tiers section the tier is a free-form attribute
    assert program_from_dict(data, "test").rules[1].id == "typo"

"""The ``referrals:`` section: each problem names its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from patron.program.loader import ProgramInvalid, program_from_dict
from tests.integration.test_referrals import program


def load(**referrals: Any) -> Any:
    return program_from_dict(program(**referrals), "test")


def test_a_valid_section_loads() -> None:
    rules = load().referrals
    assert rules is not None and rules.referrer_reward.points == 200
    assert rules.referee_reward.reward == "free-latte"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"referee_reward": {"reward": "nope"}},
            "referrals.referee_reward.reward: no reward 'nope'",
        ),
        ({"min_amount": "20.001"}, "referrals.min_amount: 20.001 has more than 2 decimal places"),
        ({"referrer_reward": {"points": 5, "reward": "free-latte"}}, "not both"),
        ({"referrer_reward": {}}, "not both"),
        ({"max_per_week": 0}, "max_per_week"),
    ],
)
def test_problems_name_the_path(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProgramInvalid) as caught:
        load(**change)
    assert message in str(caught.value)


def test_the_section_is_optional() -> None:
    data = copy.deepcopy(program())
    del data["referrals"]
    assert program_from_dict(data, "test").referrals is None

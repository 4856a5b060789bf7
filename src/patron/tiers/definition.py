"""The ``tiers:`` section of the program file, and the pure checks on it.

Pure: no database. See docs/program.md, "Tiers", for the YAML. Levels are
listed from the lowest up; a member below the first level has no tier.
Thresholds are on the qualifying measure (``qualify_on``):

- ``spend``: money spent on purchases in the window, net of refunds (program currency);
- ``points``: points earned in the window (every event's net points; refunds lower it);
- ``visits``: purchases in the window, a purchase refunded in full not counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from patron.program.derived import per_program
from patron.rules.syntax import Dec, ProgramModel, StrList

if TYPE_CHECKING:
    from patron.program.schema import Program
    from patron.rules.syntax import Condition

MAX_LEVELS = 20
MAX_THRESHOLD = 10**15


class TierWindow(ProgramModel):
    """What part of the past counts: the last ``days`` (rolling) or the local calendar year."""

    type: Literal["rolling", "calendar_year"] = "rolling"
    days: int | None = Field(None, ge=1, le=3_650)

    @model_validator(mode="after")
    def _fits_type(self) -> TierWindow:
        if self.type == "rolling" and self.days is None:
            raise ValueError("a rolling window needs days (e.g. 365)")
        if self.type == "calendar_year" and self.days is not None:
            raise ValueError("days does not go with a calendar_year window")
        return self


class TierReview(ProgramModel):
    """Downgrades: checked ``days`` after the member reached the level (then every
    ``days``), effective ``grace_days`` later if the member still falls short,
    by at most ``max_down`` levels."""

    days: int = Field(365, ge=1, le=3_650)
    grace_days: int = Field(0, ge=0, le=3_650)
    max_down: int = Field(1, ge=1, le=MAX_LEVELS)


class TierMembership(ProgramModel):
    """A paid level: the custom event ``event`` (the fee) gives level ``tier`` for ``days``
    whatever the measure; a renewal extends it from the end of the paid period. Unrenewed,
    it ends: the review job moves the member to the level their measure earns."""

    tier: str
    event: str = Field("membership_fee", min_length=1, max_length=100)
    days: int = Field(365, ge=1, le=3_650)


class TierLevel(ProgramModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=100)
    threshold: Dec = Field(gt=0)
    multiplier: Dec | None = Field(None, ge=1, le=100)
    perks: StrList | None = None


class TiersDefinition(ProgramModel):
    qualify_on: Literal["spend", "points", "visits"] = "spend"
    window: TierWindow = TierWindow(type="rolling", days=365)
    review: TierReview = TierReview()
    levels: list[TierLevel] = Field(min_length=1, max_length=MAX_LEVELS)
    membership: TierMembership | None = None


@dataclass(frozen=True, slots=True)
class Level:
    """A level as the engine uses it: threshold in the measure's integer unit."""

    index: int
    id: str
    name: str
    threshold: int  # minor units for spend; points; visits
    multiplier: Decimal | None
    perks: tuple[str, ...]


def threshold_units(value: Decimal, qualify_on: str, currency: str, path: str) -> int:
    """A threshold as an integer in the measure's unit; InvalidInput naming ``path``."""
    from patron.core.errors import InvalidInput
    from patron.rules.checks import money_minor

    if qualify_on == "spend":
        return money_minor(value, currency)  # raises InvalidInput on sub-minor precision
    if value != value.to_integral_value():
        raise InvalidInput(f"a {qualify_on} threshold is a whole number, not {value}", field=path)
    return int(value)


@per_program  # each batch asks
def compile_levels(program: Program) -> tuple[Level, ...]:
    """The program's levels, lowest first (empty without a tiers section)."""
    tiers = program.tiers
    if tiers is None:
        return ()
    return tuple(
        Level(
            i,
            lv.id,
            lv.name,
            threshold_units(lv.threshold, tiers.qualify_on, program.currency, ""),
            lv.multiplier,
            tuple(lv.perks or ()),
        )
        for i, lv in enumerate(tiers.levels)
    )


def tier_problems(program: Program) -> list[tuple[str, str]]:
    """Whole-program checks: unique ids, thresholds rising, tiers that rewards name exist."""
    from patron.core.errors import InvalidInput

    tiers = program.tiers
    if tiers is None:
        return []
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    previous: tuple[int, int] | None = None
    for i, level in enumerate(tiers.levels):
        at = f"tiers.levels[{i}]"
        if level.id in seen:
            problems.append(
                (
                    f"{at}.id",
                    f"duplicate level id '{level.id}' (also tiers.levels[{seen[level.id]}])",
                )
            )
        seen.setdefault(level.id, i)
        try:
            units = threshold_units(level.threshold, tiers.qualify_on, program.currency, at)
        except InvalidInput as exc:
            problems.append((f"{at}.threshold", exc.detail))
            continue
        if units > MAX_THRESHOLD:
            problems.append((f"{at}.threshold", f"at most {MAX_THRESHOLD}"))
        elif previous is not None and units <= previous[1]:
            problems.append(
                (
                    f"{at}.threshold",
                    f"must be higher than tiers.levels[{previous[0]}].threshold "
                    "(levels go from the lowest up)",
                )
            )
        previous = (i, units)
    if tiers.membership is not None and tiers.membership.tier not in seen:
        problems.append(
            (
                "tiers.membership.tier",
                f"unknown level '{tiers.membership.tier}' (levels: {', '.join(seen)})",
            )
        )
    for i, rule in enumerate(program.rules):
        if rule.when is not None:
            _rule_tiers(rule.when, f"rules[{i}].when", seen, problems)
    for i, reward in enumerate(program.rewards):
        named = [
            ("eligible.tiers", reward.eligible.tiers if reward.eligible else None),
            ("early_access.tiers", reward.early_access.tiers if reward.early_access else None),
        ]
        for key, names in named:
            for name in names or []:
                if name not in seen:
                    problems.append(
                        (f"rewards[{i}].{key}", f"unknown tier '{name}' (tiers: {', '.join(seen)})")
                    )
    return problems


def _rule_tiers(
    when: Condition, path: str, known: dict[str, int], problems: list[tuple[str, str]]
) -> None:
    """A rule condition ``tier:`` must name levels that exist (when the program has tiers)."""
    for name in when.tier or []:
        if name not in known:
            problems.append((f"{path}.tier", f"unknown tier '{name}' (tiers: {', '.join(known)})"))
    for key, nested in (("all", when.all), ("any", when.any)):
        for j, part in enumerate(nested or []):
            _rule_tiers(part, f"{path}.{key}[{j}]", known, problems)
    if when.not_ is not None:
        _rule_tiers(when.not_, f"{path}.not", known, problems)

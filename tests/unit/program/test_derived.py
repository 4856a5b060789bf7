"""``per_program``: built once per program object, forgotten with it."""

from __future__ import annotations

import gc

from patron.program.derived import per_program
from patron.program.loader import program_from_dict
from patron.program.schema import Program
from patron.tiers.definition import compile_levels

TIERED = {
    "name": "Café",
    "currency": "EUR",
    "tiers": {
        "qualify_on": "spend",
        "levels": [
            {"id": "silver", "name": "Silver", "threshold": "150"},
            {"id": "gold", "name": "Gold", "threshold": "250.50"},
        ],
    },
}


def test_built_once_per_program_object_and_again_for_another() -> None:
    built: list[str] = []

    @per_program
    def name_of(program: Program) -> str:
        built.append(program.name)
        return program.name.upper()

    first, second = program_from_dict(TIERED, "a"), program_from_dict(TIERED, "b")
    assert [name_of(first), name_of(first), name_of(second)] == ["CAFÉ"] * 3
    assert len(built) == 2  # an equal program loaded again is a program of its own


def test_forgotten_with_the_program() -> None:
    built: list[int] = []

    @per_program
    def size(program: Program) -> int:
        built.append(1)
        return len(program.rules)

    program = program_from_dict(TIERED, "a")
    size(program)
    del program
    gc.collect()
    # A new program may reuse the collected one's id: it must not get the old answer.
    for _ in range(50):
        size(program_from_dict(TIERED, "c"))
    assert len(built) == 51


def test_the_tier_levels_are_the_programs_in_minor_units() -> None:
    levels = compile_levels(program_from_dict(TIERED, "t"))
    assert [(lv.id, lv.threshold) for lv in levels] == [("silver", 15000), ("gold", 25050)]

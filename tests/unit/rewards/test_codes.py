"""Coupon codes: format, normalisation, and the check character catching typos."""

from __future__ import annotations

import random

import pytest

from patron.core.errors import InvalidInput
from patron.rewards import codes
from patron.rewards.codes import ALPHABET, LENGTH, check_character, is_valid, new_code, step


def test_new_codes_are_valid_distinct_and_use_the_alphabet() -> None:
    made = [new_code() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for code in made:
        assert len(code) == LENGTH
        assert set(code) <= set(ALPHABET)
        assert is_valid(code)


def test_the_alphabet_has_no_look_alikes() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_the_check_operation_is_a_quasigroup() -> None:
    # Every row and column of x o y is a permutation: a single changed
    # character always changes the state, whatever came before it.
    for s in range(32):
        assert sorted(step(s, v) for v in range(32)) == list(range(32))
        assert sorted(step(v, s) for v in range(32)) == list(range(32))


def test_the_check_operation_is_totally_anti_symmetric() -> None:
    # (s o x) o y == (s o y) o x only when x == y: for every state s, so for every
    # position in a code, a swap of two different neighbours changes the state.
    for s in range(32):
        for x in range(32):
            for y in range(32):
                if x != y:
                    assert step(step(s, x), y) != step(step(s, y), x), (s, x, y)


@pytest.mark.parametrize("seed", range(25))
def test_every_single_character_typo_is_caught_at_every_position(seed: int) -> None:
    rng = random.Random(seed)
    body = "".join(rng.choice(ALPHABET) for _ in range(LENGTH - 1))
    code = body + check_character(body)
    assert is_valid(code)
    for i in range(LENGTH):
        for ch in ALPHABET:
            if ch != code[i]:
                typo = code[:i] + ch + code[i + 1 :]
                assert not is_valid(typo), (code, i, ch)


@pytest.mark.parametrize("seed", range(25))
def test_every_adjacent_transposition_is_caught_at_every_position(seed: int) -> None:
    rng = random.Random(1000 + seed)
    body = "".join(rng.choice(ALPHABET) for _ in range(LENGTH - 1))
    code = body + check_character(body)
    swapped = 0
    for i in range(LENGTH - 1):  # the check character itself included
        if code[i] != code[i + 1]:
            typo = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert not is_valid(typo), (code, i)
            swapped += 1
    assert swapped > 0


def test_normalize_forgives_case_separators_and_look_alikes() -> None:
    code = "7KQ2M9XD4TRBHW3B"
    assert is_valid(code)
    assert codes.normalize("7kq2-m9xd 4trb-hw3b") == code
    assert codes.display(code) == "7KQ2-M9XD-4TRB-HW3B"
    # O typed for 0 and I/L for 1 are read as the digits
    zero_one = "0" + "1" * 14
    full = zero_one + check_character(zero_one)
    assert codes.normalize(full.replace("0", "O", 1).replace("1", "l", 1)) == full


def test_normalize_explains_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match="check character") as typo:
        codes.normalize("7KQ2-M9XD-4TRB-HW3C")
    assert typo.value.field == "code"
    with pytest.raises(InvalidInput, match="16 characters"):
        codes.normalize("7KQ2-M9XD")
    with pytest.raises(InvalidInput, match="cannot contain 'U'"):
        codes.normalize("7KQ2-M9XD-4TRB-HW3U")
    with pytest.raises(InvalidInput, match="cannot contain"):
        codes.normalize("7KQ2\x00M9XD4TRBHW3B")

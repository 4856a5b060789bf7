"""Coupon codes: random, unguessable, easy to read aloud, with a check character.

Pure: no database, no web framework.

A code is 15 random characters and one check character (16 in all, 75 bits of
randomness from :mod:`secrets`), written in groups of four: ``7KQ2-M9XD-4TRB-HW3B``.

**Alphabet.** Crockford's base 32 (digits and upper-case letters without I, L, O
and U), so 0/O and 1/I/L cannot be confused. :func:`normalize` forgives the usual
slips: lower case, spaces and hyphens, ``O`` for ``0``, ``I`` or ``L`` for ``1``.

**Check character: the Damm algorithm over GF(32).** Each character is an element
of the field GF(2^5) (polynomial x^5 + x^2 + 1). Reading a code updates
``state = 2*state + c`` (field arithmetic: multiply by x, then XOR); the check
character is chosen so the final state is 0. The operation ``x o y = 2x + y`` is
a quasigroup (each row and column a permutation) that is *totally
anti-symmetric*: ``(s o x) o y == (s o y) o x`` only when ``x == y``, because
``(2 - 1)(x - y) = 0`` forces ``x == y``. Hence every single wrong character and
every swap of two different neighbouring characters (the check character
included) changes the final state and is caught. ``tests/unit/rewards`` checks
both facts exhaustively.
"""

from __future__ import annotations

import secrets

from patron.core.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 15
LENGTH = RANDOM_LENGTH + 1
GROUP = 4
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Characters people type for others: O looks like 0; I and L look like 1.
_READ_AS = {"O": "0", "I": "1", "L": "1"}
_POLY = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)
_FIELD_SIZE = 32


def _times_two(x: int) -> int:
    """``2 * x`` in GF(32): shift, and reduce by the polynomial on overflow."""
    x <<= 1
    return x ^ _POLY if x & _FIELD_SIZE else x


def step(state: int, value: int) -> int:
    """One step of the Damm check: the quasigroup operation ``state o value``."""
    return _times_two(state) ^ value


def _state(values: list[int]) -> int:
    state = 0
    for value in values:
        state = step(state, value)
    return state


def check_character(body: str) -> str:
    """The character that, appended to ``body``, brings the check state to 0."""
    state = _state([_VALUE[ch] for ch in body])
    # step(state, c) == 0  <=>  c == 2 * state (XOR is its own inverse).
    return ALPHABET[_times_two(state)]


def new_code() -> str:
    """A fresh random code (canonical form: 16 characters, no separators)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def is_valid(code: str) -> bool:
    """A canonical code whose check character matches."""
    if len(code) != LENGTH or any(ch not in _VALUE for ch in code):
        return False
    return _state([_VALUE[ch] for ch in code]) == 0


def display(code: str) -> str:
    """``7KQ2M9XD4TRBHW3B`` -> ``7KQ2-M9XD-4TRB-HW3B``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalize(text: str, field: str = "code") -> str:
    """The canonical form of a code as a person typed it, or InvalidInput saying why.

    Case, spaces and hyphens do not matter; O reads as 0, I and L as 1. A code of
    the right length whose check character does not match is a typo.
    """
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t")
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in cleaned)
    bad = sorted({ch for ch in cleaned if ch not in _VALUE})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        raise InvalidInput(
            f"a coupon code uses only digits and the letters {ALPHABET[10:]}; "
            f"it cannot contain {shown}",
            field=field,
        )
    if len(cleaned) != LENGTH:
        raise InvalidInput(
            f"a coupon code has {LENGTH} characters (like {display('7KQ2M9XD4TRBHW3B')}); "
            f"this one has {len(cleaned)}",
            field=field,
        )
    if not is_valid(cleaned):
        raise InvalidInput(
            "this is not a valid coupon code: its check character does not match, "
            "so a character was probably mistyped or two were swapped",
            field=field,
        )
    return cleaned

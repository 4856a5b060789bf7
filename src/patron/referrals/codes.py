"""Referral codes: short, random, with a check character. Pure.

A referral code is 7 random characters of Crockford's base 32 and one check
character (the same Damm check as coupon codes, see ``patron.rewards.codes``):
8 characters, shown as ``K7QM-2XD9``. 35 random bits are plenty for a code that
only names a member (it is worth nothing by itself: a referral still needs a
new member and a qualifying purchase), and short enough to say at a till.
"""

from __future__ import annotations

import secrets

from patron.rewards.codes import ALPHABET, check_character

RANDOM_LENGTH = 7
LENGTH = RANDOM_LENGTH + 1
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def new_referral_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def display(code: str) -> str:
    """``K7QM2XD9`` -> ``K7QM-2XD9``."""
    return f"{code[:4]}-{code[4:]}"


def canonical(text: str) -> str | None:
    """The canonical form of a code as typed (case, spaces, hyphens, O/I/L forgiven),
    or None when it cannot be a referral code (wrong length, characters or check)."""
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in text.upper() if ch not in " -\t")
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned if check_character(cleaned[:-1]) == cleaned[-1] else None

"""Member profiles: names, unique emails and phone numbers, birthdays, consents.

Emails use the reserved example domains and end in the member number, so they are
unique by construction. Phone numbers are UK mobiles (+44 74xx / 75xx, ranges that
are valid numbers), ``400000000 + (number * A + B) mod 2e8`` with ``A`` coprime
to 2e8: a bijection, so unique for up to 200 million members.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from patron.demo import catalog as cat
from patron.demo.catalog import words
from patron.demo.personas import ONLINE_PERSONA, PERSONAS

FIRST_NAMES = words(
    "Oliver Amelia George Isla Harry Ava Noah Mia Jack Ivy Leo Lily Arthur Isabella "
    "Muhammad Rosie Oscar Sophia Charlie Grace Jacob Freya Thomas Olivia Henry Emily "
    "William Poppy James Ella Alfie Evie Theo Chloe Joshua Sienna Freddie Daisy Archie "
    "Phoebe Ethan Aisha Samuel Zara Daniel Hannah Adam Priya Ryan Maya Luca Sofia Omar "
    "Fatima Kwame Amara Wei Mei Arjun Ananya Mateo Lucia Tomasz Zofia Connor Niamh Callum "
    "Eilidh Rhys Seren David Sarah Michael Laura Paul Rachel Mark Emma Andrew Claire"
)
LAST_NAMES = words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel "
    "Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison "
    "Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths "
    "Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shah Khan Ahmed Ali Singh "
    "Chen Wang Nguyen Kowalski Nowak Okafor Mensah Murphy O'Brien Campbell Stewart "
    "MacDonald Rossi Silva Garcia Kaur Begum"
)
DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")
PHONE_SHARE = 0.7
BIRTHDAY_SHARE = 0.85
EMAIL_CONSENT = 0.62
SMS_CONSENT = 0.35  # of members with a phone
_PHONE_MULTIPLIER = 179_424_691  # prime, coprime to 2e8
_PHONE_OFFSET = 37_015_613


def member_id(index: int) -> str:
    return f"cust-{index + 1:06d}"


def phone_number(index: int) -> str:
    """The unique UK mobile number of member ``index``."""
    return f"+447{400_000_000 + (index * _PHONE_MULTIPLIER + _PHONE_OFFSET) % 200_000_000}"


_FIRST_LOWER = [n.lower() for n in FIRST_NAMES]
_LAST_LOWER = ["".join(c for c in n.lower() if c.isalpha()) for n in LAST_NAMES]
_EMAIL_PATTERNS = ("{f}.{l}.{n}@{d}", "{f}{l}{n}@{d}", "{i}{l}{n}@{d}", "{f}_{l}{n}@{d}")


def _email(first: int, last: int, number: int, pattern: int, domain: int) -> str:
    """``first.last.42@example.com`` and variants; the trailing number makes it unique."""
    f, l = _FIRST_LOWER[first], _LAST_LOWER[last]  # noqa: E741
    return _EMAIL_PATTERNS[pattern].format(f=f, l=l, i=f[0], n=number, d=DOMAINS[domain])


def profiles(
    persona: np.ndarray,
    home_store: np.ndarray,
    end_day: np.datetime64,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """One profile dict per member, in the shape ``MemberCreate`` accepts."""
    count = persona.size
    first = rng.integers(len(FIRST_NAMES), size=count).tolist()
    last = rng.integers(len(LAST_NAMES), size=count).tolist()
    pattern = rng.integers(4, size=count).tolist()
    domain = rng.choice(len(DOMAINS), size=count, p=[0.6, 0.25, 0.15]).tolist()
    has_phone = (rng.random(count) < PHONE_SHARE).tolist()
    ages = np.array([p.ages for p in PERSONAS], dtype=float)[persona]
    age_days = (rng.uniform(ages[:, 0], ages[:, 1]) * 365.25).astype(np.int64)
    born = np.datetime_as_string(end_day - age_days, unit="D").tolist()
    has_birthday = (rng.random(count) < BIRTHDAY_SHARE).tolist()
    email_ok = (rng.random(count) < EMAIL_CONSENT).tolist()
    sms_ok = (rng.random(count) < SMS_CONSENT).tolist()
    app_share = np.array([p.channels[2] for p in PERSONAS])[persona]
    push_ok = (rng.random(count) < 0.2 + 2.0 * app_share).tolist()
    online_city = rng.integers(len(cat.ONLINE_CITIES), size=count)
    online = (persona == ONLINE_PERSONA).tolist()
    result = []
    for i in range(count):
        store = cat.STORES[int(home_store[i])]
        phone = phone_number(i) if has_phone[i] else None
        result.append(
            {
                "external_id": member_id(i),
                "email": _email(first[i], last[i], i + 1, pattern[i], domain[i]),
                "phone": phone,
                "first_name": FIRST_NAMES[first[i]],
                "last_name": LAST_NAMES[last[i]],
                "birthday": born[i] if has_birthday[i] else None,
                "consents": {
                    "email": email_ok[i],
                    "sms": phone is not None and sms_ok[i],
                    "push": push_ok[i],
                },
                "attributes": {
                    "city": cat.ONLINE_CITIES[online_city[i]] if online[i] else store.city,
                    "favourite_store": "online" if online[i] else store.code,
                },
            }
        )
    return result

"""The vectorised core: who joins when, and when each member buys.

Everything is numpy arrays, one entry per member, purchase or basket line; no
per-event Python objects, so a million members take seconds. ``generate_shop``
turns the result into API-shaped dicts; ``generate_purchase_columns`` returns it
as columns. The generative story is documented in ``patron.demo.generator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from patron.demo import baskets
from patron.demo import catalog as cat
from patron.demo.baskets import Lines, Refunds
from patron.demo.personas import ONLINE_PERSONA, PERSONAS, SHARES, persona_param
from patron.demo.seasons import DAY, HOUR, Clock

SIGNUP_PURCHASE_DELAY = (60, 600)  # seconds from signing up to paying, same visit
ONLINE_SIGNUP = (0.25, 0.9)  # chance of signing up online: in-store personas, online one


@dataclass
class Members:
    """One entry per member, ordered by join time (member index = join order)."""

    persona: np.ndarray  # int8 index into PERSONAS
    joined: np.ndarray  # int64 epoch seconds
    home_store: np.ndarray  # int8 index into STORES
    signup_channel: np.ndarray  # int8: 0 store, 1 online
    rate: np.ndarray  # purchases per busy day while alive
    dropout: np.ndarray  # chance of dropping out after each purchase


@dataclass
class Purchases:
    """One entry per purchase, grouped by member, in time order within a member."""

    member: np.ndarray  # int32
    at: np.ndarray  # int64 epoch seconds
    at_signup: np.ndarray  # bool: bought in the visit they signed up in
    channel: np.ndarray  # int8, catalog.CHANNELS
    store: np.ndarray  # int8, -1 for online
    coupon: np.ndarray  # int8, catalog.COUPONS
    payment: np.ndarray  # int8, catalog.PAYMENTS
    first_line: np.ndarray  # int64 index of the first basket line
    line_count: np.ndarray  # int64
    amount: np.ndarray  # int64 minor units


@dataclass
class Simulation:
    members: Members
    purchases: Purchases
    lines: Lines
    refunds: Refunds


def stream(seed: int, part: int) -> np.random.Generator:
    """Independent random stream ``part`` of a seed (0-4 here, 5+ for the callers)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(part,)))


def epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    return int(moment.timestamp())


def draw_members(count: int, rng: np.random.Generator, clock: Clock) -> Members:
    """Persona, join time (growing acquisition), home store and BG/NBD parameters."""
    persona = rng.choice(len(PERSONAS), size=count, p=SHARES).astype(np.int8)
    total = clock.joining[persona, -1]
    joined = np.floor(clock.to_time(persona, rng.random(count) * total, joining=True))
    shape = persona_param("rate_shape")[persona]
    rate = rng.gamma(shape, persona_param("rate_mean")[persona] / 7.0 / shape)
    dropout = rng.beta(persona_param("dropout_a")[persona], persona_param("dropout_b")[persona])
    home = rng.choice(len(cat.STORES), size=count, p=cat.STORE_WEIGHTS).astype(np.int8)
    online_signup = np.where(persona == ONLINE_PERSONA, ONLINE_SIGNUP[1], ONLINE_SIGNUP[0])
    signup_channel = (rng.random(count) < online_signup).astype(np.int8)
    order = np.argsort(joined, kind="stable")
    return Members(
        persona[order],
        joined[order].astype(np.int64),
        home[order],
        signup_channel[order],
        rate[order],
        dropout[order],
    )


def draw_times(
    members: Members, rng: np.random.Generator, clock: Clock, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(member, epoch seconds, bought at signup, order within member) of every purchase.

    Alive, a member buys as a Poisson process on the busy-day scale; after each
    purchase they drop out with their own probability, so the purchase after
    which they leave is Geometric(dropout). The Poisson arrivals in the window are
    uniform order statistics; the first ``n`` of ``m`` come from exponential
    spacings whose remaining ``m - n + 1`` sum to a Gamma draw, so the cost is
    the purchases made, not the purchases a member would have made alive.
    """
    count = members.persona.size
    persona = members.persona
    signup_at = members.joined + rng.integers(*SIGNUP_PURCHASE_DELAY, size=count)
    chance = persona_param("first_at_signup")[persona]
    at_signup = (rng.random(count) < chance) & (signup_at < end)
    origin = np.where(at_signup, signup_at, members.joined)
    origin_busy = clock.busy(persona, origin)
    window = np.maximum(clock.buying[persona, -1] - origin_busy, 0.0)
    arrivals = rng.poisson(members.rate * window)
    later = np.minimum(rng.geometric(members.dropout) - at_signup, arrivals)

    owner = np.repeat(np.arange(count), later)
    spacing = np.concatenate(([0.0], np.cumsum(rng.standard_exponential(owner.size))))
    begins = np.concatenate(([0], np.cumsum(later)))
    rest = rng.gamma(arrivals - later + 1.0)
    span = spacing[begins[1:]] - spacing[begins[:-1]] + rest
    fraction = (spacing[1:] - spacing[begins[:-1]][owner]) / span[owner]
    later_at = clock.to_time(persona[owner], origin_busy[owner] + fraction * window[owner])

    per_member = at_signup + later
    starts = np.concatenate(([0], np.cumsum(per_member)))
    member = np.repeat(np.arange(count, dtype=np.int32), per_member)
    order = np.arange(member.size) - starts[:-1][member]
    at = np.empty(member.size, dtype=np.int64)
    at[starts[:-1][at_signup]] = signup_at[at_signup]
    at[order >= at_signup[member]] = np.floor(later_at)
    np.clip(at, members.joined[member], end - 1, out=at)
    return member, at, (order == 0) & at_signup[member], order


def simulate(
    members: int, seed: int, start: datetime, end: datetime, exponent: int = 2
) -> Simulation:
    """The whole shop as arrays, deterministic for a seed (independent random streams
    for members, timing, till, baskets and refunds, so one part can change alone)."""
    begin, finish = epoch(start), epoch(end)
    if members < 0 or finish <= begin:
        raise ValueError("need members >= 0 and start < end")
    streams = [stream(seed, part) for part in range(5)]
    clock = Clock(begin, finish)
    people = draw_members(members, streams[0], clock)
    member, at, at_signup, order = draw_times(people, streams[1], clock, finish)
    persona = people.persona[member].astype(np.int64)
    hour = (at % DAY // HOUR).astype(np.int8)
    channel, store = baskets.channels_and_stores(
        persona,
        people.home_store[member],
        people.signup_channel[member],
        hour,
        at_signup,
        streams[2],
    )
    coupon = baskets.coupons(order, at, streams[2])
    payment = baskets.payments(channel, streams[2])
    purchase, product, quantity = baskets.basket_lines(persona, hour, channel, streams[3])
    price = cat.scale_prices(cat.PRODUCT_PRICE, exponent)[product]
    unit = price - (price * cat.COUPON_PERCENT[coupon[purchase]] + 50) // 100
    line_count = np.bincount(purchase, minlength=member.size)
    first_line = (np.cumsum(line_count) - line_count).astype(np.int64)
    paid = np.concatenate(([0], np.cumsum(quantity * unit)))
    amount = paid[first_line + line_count] - paid[first_line]
    lines = Lines(product.astype(np.int16), quantity.astype(np.int16), unit)
    purchases = Purchases(
        member, at, at_signup, channel, store, coupon, payment, first_line, line_count, amount
    )
    refunds = baskets.refunds(at, channel, first_line, line_count, lines, streams[4], finish)
    return Simulation(people, purchases, lines, refunds)

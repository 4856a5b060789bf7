"""At the till: channel, store, coupon, basket lines, prices, payment, and refunds.

All vectorised over purchases (and basket lines); see ``patron.demo.generator``
for the story and ``patron.demo.process`` for when the purchases happen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from patron.demo import catalog as cat
from patron.demo.personas import (
    DAYPARTS,
    ONLINE_EXTRA_LINES,
    ONLINE_PERSONA,
    PERSONAS,
    basket_table,
    persona_param,
)
from patron.demo.seasons import DAY, HOUR

STORE_HOURS = (6, 21)  # in-person visits outside [6:00, 21:00) are online orders
MAX_EXTRA_LINES = 7
MAX_QUANTITY = 7
EXTRA_UNITS = 0.35  # mean further units (Poisson) on a line holding several
WELCOME_SHARE = 0.2  # second purchases that redeem the welcome coupon
COMEBACK_SHARE = 0.15  # purchases after a 45-day gap that redeem a win-back coupon
SEASONAL_SHARE = 0.03  # purchases with a winter (Nov-Feb) or summer (Jun-Aug) coupon
REFUND_SHARE = np.array([0.018, 0.05, 0.018])  # by channel: store, online, app
PARTIAL_SHARE = 0.5  # refunds of one line, in part, when the basket allows it
PAYMENT_MIX = np.array(
    [  # card, cash, wallet; by channel: store, online, app
        [0.62, 0.10, 0.28],
        [0.80, 0.0, 0.20],
        [0.0, 0.0, 1.0],
    ]
)
RESOLUTION = 1 << 14


@dataclass
class Lines:
    product: np.ndarray  # int16 index into PRODUCTS, distinct within a purchase
    quantity: np.ndarray  # int16
    unit_price: np.ndarray  # int64 minor units, after any coupon


@dataclass
class Refunds:
    """One entry per refund (at most one per purchase), in purchase order."""

    purchase: np.ndarray  # int64 index of the purchase refunded
    at: np.ndarray  # int64 epoch seconds, after the purchase and before the end
    line: np.ndarray  # int64 basket line refunded in part; -1 for a full refund
    quantity: np.ndarray  # int64 units of that line refunded; 0 for a full refund


def channels_and_stores(
    persona: np.ndarray,
    home_store: np.ndarray,
    signup_channel: np.ndarray,
    hour: np.ndarray,
    at_signup: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Channel (persona mix; a signup purchase goes through the signup channel; nobody
    walks into a closed store) and store (mostly the member's home store)."""
    mix = np.cumsum([p.channels for p in PERSONAS], axis=1)
    draw = rng.random(hour.size)
    channel = (draw >= mix[:, 0][persona]).astype(np.int8) + (draw >= mix[:, 1][persona])
    joined_online = np.where(persona == ONLINE_PERSONA, cat.ONLINE_CHANNEL, cat.APP_CHANNEL)
    first = np.where(signup_channel == 0, cat.STORE_CHANNEL, joined_online)
    channel = np.where(at_signup, first, channel).astype(np.int8)
    channel[(hour < STORE_HOURS[0]) | (hour >= STORE_HOURS[1])] = cat.ONLINE_CHANNEL
    store = home_store.astype(np.int8)
    away = np.flatnonzero(rng.random(hour.size) >= persona_param("home_store")[persona])
    weights = np.cumsum(cat.STORE_WEIGHTS)
    store[away] = np.minimum(
        np.searchsorted(weights, rng.random(away.size) * weights[-1]), len(cat.STORES) - 1
    )
    store[channel == cat.ONLINE_CHANNEL] = -1
    return channel, store


def _months(at: np.ndarray) -> np.ndarray:
    """Calendar month (1-12) of each epoch second, through a per-day lookup."""
    days = at // DAY
    first = int(days.min()) if days.size else 0
    span = np.arange(first, first + (int(days.max()) - first + 1 if days.size else 1))
    calendar = span.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return calendar[days - first]


def coupons(order: np.ndarray, at: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Welcome coupon on some second purchases, win-back after a gap, seasonal campaigns."""
    gap = np.diff(at, prepend=at[:1])
    month = _months(at)
    summer = (month >= 6) & (month <= 8)
    winter = (month >= 11) | (month <= 2)
    draw = rng.random(at.size)
    seasonal = np.where(summer, cat.SUMMER, cat.WINTER)
    coupon = np.where((winter | summer) & (draw < SEASONAL_SHARE), seasonal, 0).astype(np.int8)
    coupon[(order > 0) & (gap > 45 * DAY) & (draw < COMEBACK_SHARE)] = cat.COMEBACK
    coupon[(order == 1) & (draw < WELCOME_SHARE)] = cat.WELCOME
    return coupon


def _poisson_table(means: np.ndarray, cap: int) -> np.ndarray:
    """Inverse-CDF lookup rows of min(Poisson(mean), cap), one row per mean."""
    rows = []
    for mean in means:
        pmf = [math.exp(-mean) * mean**k / math.factorial(k) for k in range(cap)]
        cdf = np.cumsum(pmf)
        centres = (np.arange(RESOLUTION) + 0.5) / RESOLUTION
        rows.append(np.searchsorted(cdf, centres, side="right"))
    return np.array(rows, dtype=np.int64)


def _cells(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform cells of the inverse-CDF lookup tables."""
    return (rng.random(size, dtype=np.float32) * RESOLUTION).astype(np.int64)


def basket_lines(
    persona: np.ndarray, hour: np.ndarray, channel: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(purchase, product, quantity) of every basket line; repeats of a product merged.

    In person, what is bought depends on persona and daypart (morning coffee and
    pastry, lunch sandwiches, afternoon cake); online orders are beans and gear.
    """
    online = channel == cat.ONLINE_CHANNEL
    daypart = (hour >= 11).astype(np.int64) + (hour >= 14)
    row = np.where(online, len(PERSONAS) * DAYPARTS, persona * DAYPARTS + daypart)
    means = np.append(persona_param("extra_lines"), ONLINE_EXTRA_LINES)
    mean_row = np.where(online, len(PERSONAS), persona)
    cell = _cells(rng, hour.size)
    drawn = 1 + _poisson_table(means, MAX_EXTRA_LINES).ravel()[mean_row * RESOLUTION + cell]
    purchase = np.repeat(np.arange(hour.size, dtype=np.int64), drawn)
    cell = row[purchase] * RESOLUTION + _cells(rng, purchase.size)
    product = basket_table(RESOLUTION).ravel()[cell]
    several_chance = persona_param("extra_quantity").astype(np.float32)[persona]
    several = rng.random(purchase.size, dtype=np.float32) < several_chance[purchase]
    quantity = several.astype(np.int64) + 1
    quantity[several] += rng.poisson(EXTRA_UNITS, int(several.sum()))
    np.minimum(quantity, MAX_QUANTITY, out=quantity)
    # Merge repeats: sort (purchase, product, quantity) packed in one integer. The keys
    # are already in purchase order, so the stable (run-merging) sort is quick.
    key = np.sort((purchase * 64 + product) * 8 + quantity, kind="stable")
    group = key >> 3
    last = np.flatnonzero(np.append(group[1:] != group[:-1], group.size > 0))
    total = np.cumsum((key & 7).astype(np.int32), dtype=np.int64)[last]
    quantity = np.diff(total, prepend=0)
    return group[last] >> 6, group[last] & 63, quantity


def payments(channel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mix = np.cumsum(PAYMENT_MIX, axis=1)
    draw = rng.random(channel.size)
    return ((draw >= mix[:, 0][channel]).astype(np.int8) + (draw >= mix[:, 1][channel])).astype(
        np.int8
    )


def refunds(
    at: np.ndarray,
    channel: np.ndarray,
    first_line: np.ndarray,
    line_count: np.ndarray,
    lines: Lines,
    rng: np.random.Generator,
    end: int,
) -> Refunds:
    """A few percent of purchases come back before ``end``: in store within hours or
    days, online orders after 2-14 days; half of them one line in part when the
    basket holds more than one unit."""
    chosen = np.flatnonzero(rng.random(at.size) < REFUND_SHARE[channel])
    online = channel[chosen] == cat.ONLINE_CHANNEL
    delay = np.where(
        online,
        rng.uniform(2 * DAY, 14 * DAY, chosen.size),
        np.minimum(600 + rng.exponential(6 * HOUR, chosen.size), 14 * DAY),
    )
    refund_at = at[chosen] + delay.astype(np.int64)
    line = first_line[chosen] + (rng.random(chosen.size) * line_count[chosen]).astype(np.int64)
    bought = lines.quantity[line].astype(np.int64)
    most = np.where(line_count[chosen] > 1, bought, bought - 1)  # leave something unrefunded
    partial = (most >= 1) & (rng.random(chosen.size) < PARTIAL_SHARE)
    quantity = 1 + (rng.random(chosen.size) * np.maximum(most, 1)).astype(np.int64)
    keep = refund_at < end
    return Refunds(
        chosen[keep],
        refund_at[keep],
        np.where(partial, line, -1)[keep],
        np.where(partial, quantity, 0)[keep],
    )

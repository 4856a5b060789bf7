"""A synthetic café chain whose analytics look like a real shop's.

``generate_shop`` returns member profiles and time-ordered events in the exact JSON
shape of the event API, so the demo runs them through the real engine;
``generate_purchase_columns`` (in ``columns``) returns the same purchases as numpy
columns for benchmarks at millions of rows. Both are deterministic per seed.

The generative model
--------------------
*Catalogue* (``catalog``): 42 products in six categories (coffee 2.40-3.90, tea,
bakery 1.90-3.40, sandwiches 4.75-7.50, beans 8.50-28.00, merchandise 10-30), six
stores in London, Manchester and Bristol, plus the online shop.

*Personas* (``personas``): every member is one of five kinds, which sets every
parameter below, so that segments, RFM and CLV have real structure to find (the
persona is returned in the columns as ground truth). Shares, mean purchase rates
while alive (per week) and dropout:

=========== ===== ====== ======================== ===========================
persona     share rate   dropout per purchase     habits
=========== ===== ====== ======================== ===========================
commuter    12%   1.3    Beta(1, 60), ~1.6%       weekday 7-9 am coffee, one store
regular     16%   0.6    Beta(1, 35), ~2.8%       all week, coffee and cake
family      15%   0.3    Beta(1, 14), ~6.7%       weekend brunch, 3+ lines, pairs
occasional  43%   0.07   Beta(1, 5), ~17%         now and then, lunch
online      12%   0.22   Beta(1, 12), ~7.7%       evenings online: beans, gear
=========== ===== ====== ======================== ===========================

*Acquisition*: join times follow growth x seasonality: the signup intensity grows
linearly to 2.5x over the period, plus a launch wave of existing customers in the
first weeks (~8% of members); people sign up when they shop, so signups follow
each persona's hours and the season too. Member numbers follow join order. Most
members (70-80%; 30% of online shoppers) buy in the visit they sign up in: at
the till, or in the app / online shop after an online signup (the BG/NBD first
purchase at time zero).

*Purchasing* (``process``), the BG/NBD story: while alive a member buys as a
Poisson process with their own rate ``lambda ~ Gamma(shape, mean)`` (shape 2.5 for
commuters, who are alike, down to 0.6 for occasional buyers: a long tail of
near-dormant members); after each purchase they drop out for good with their own
``p ~ Beta(a, b)``. So some members churn early, regulars stay for months, and a
customer base analysis (BG/NBD, Pareto/NBD) fitted to the data has something to
find. Time is not homogeneous: the intensity is rate x season(date) x
weekday(persona) x hour(persona), and purchases are placed by a time change on
the cumulative intensity (``seasons``), exactly, with no rejection. Seasons: a
slow mid-January (-15%), a late-July/August dip (commuters -35%, others less), a
December peak (online gifts +150%, occasional +60%, commuters +10%), quiet days
from Christmas Eve to New Year's Day and closed on Christmas Day.

*At the till* (``baskets``): channel from the persona (commuters store/app, the
online persona mostly online); in-person visits are at the home store with a
persona-specific probability (92% commuters, 50% occasional). Basket lines =
1 + Poisson(extra) (0.25 commuters, 2.2 families); products from a category mix by
persona and daypart (morning coffee and pastry, lunch sandwiches, afternoon cake;
online orders beans 68% / merchandise 32%); a line holds several units with a
persona chance (40% families). Repeated products are merged, so SKUs are distinct
within a purchase. Coupons: 20% of second purchases use WELCOME20 (20% off), 15%
of purchases after a 45-day gap COMEBACK10, 3% of purchases in winter (Nov-Feb)
or summer (Jun-Aug) WINTER10 / SUMMER10; the discount is taken off each unit
price, so ``amount`` is always exactly the sum of the lines. Payment: card,
wallet or cash (store), card or wallet (online), wallet (app).

*After the purchase*: refunds of 1.8% of in-person and 5% of online purchases, in
store within hours, online after 2-14 days; half of them partial (one line, some
of its units, never everything). Reviews (``custom`` ``review``, 1-5) follow 5% of
purchases and 40% of refunded ones (which rate low) within 2 hours to 3 days;
20% of buying members answer one NPS survey (``survey_answer``, 0-10, centred by
persona, 2.5 lower after a refund). A third of the members with 15+ purchases
pay a yearly membership fee (``membership_fee``) a day after their 15th and renew
it with probability 0.6. Nothing happens after ``end``.

Volume: about 11 purchases per member for a two-year period (a member joins on
average half-way through), 1.6 lines per purchase, an average ticket of ~8.70;
about 2/3 of the members who joined over a year before ``end`` have not bought in
its last 90 days (most of them occasional buyers), the top tenth of members make
half of the purchases.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from patron.core.money import exponent
from patron.demo.columns import generate_member_columns, generate_purchase_columns
from patron.demo.event_rows import EventRows
from patron.demo.feedback import draw_feedback
from patron.demo.people import member_id, profiles
from patron.demo.process import epoch, simulate, stream

__all__ = ["Shop", "generate_member_columns", "generate_purchase_columns", "generate_shop"]

PROFILE_STREAM, FEEDBACK_STREAM, MEMBERSHIP_STREAM = 5, 6, 7


@dataclass
class Shop:
    profiles: list[dict[str, Any]]  # MemberCreate-shaped, in join order
    events: list[dict[str, Any]]  # event-API-shaped, ordered by occurred_at


def generate_shop(
    *, members: int, seed: int, start: datetime, end: datetime, currency: str = "USD"
) -> Shop:
    """A shop of ``members`` members who join and buy in [start, end)."""
    # Millions of fresh dicts would set off the cyclic garbage collector again and
    # again (none of them can form a cycle); pausing it makes building ~3x faster.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(members, seed, start, end, currency)
    finally:
        if enabled:
            gc.enable()


def _generate(members: int, seed: int, start: datetime, end: datetime, currency: str) -> Shop:
    code = currency.upper()
    digits = exponent(code)
    sim = simulate(members, seed, start, end, digits)
    end_day = np.datetime64(epoch(end), "s").astype("datetime64[D]")
    people = profiles(
        sim.members.persona, sim.members.home_store, end_day, stream(seed, PROFILE_STREAM)
    )
    feedback = draw_feedback(sim, stream(seed, FEEDBACK_STREAM), epoch(end))
    ids = np.array([member_id(i) for i in range(members)], dtype=object)
    events = EventRows(sim, ids, code, digits)
    events.signups()
    events.purchases()
    events.refunds()
    events.feedback(feedback)
    events.memberships(stream(seed, MEMBERSHIP_STREAM), epoch(end))
    return Shop(profiles=people, events=events.in_order())

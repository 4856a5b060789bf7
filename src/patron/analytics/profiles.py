"""Shopping profiles: price-driven and convenience-driven customers.

Per customer with at least ``min_purchases`` counted purchases before ``as_of``:

- *price-driven*: at least ``price_share`` of their purchases used a discount or a
  coupon (``history.discounted``: the purchase event's ``attributes.coupon`` is set,
  or ``attributes.discount`` is a non-zero number or true).
- *convenience-driven*, all three of:
  one place: at least ``venue_share`` of their purchases in one *venue* (a channel and
  store pair: the same shop at the till, or the app, or the web shop);
  small baskets: their mean order is at most the median order of all customers'
  purchases in the same history;
  steady rhythm: the coefficient of variation (standard deviation / mean) of the
  time between their purchases is at most ``steady_cv`` (a memoryless, Poisson
  shopper has about 1; a weekly habit is near 0).

A customer can be both, or neither. Customers with fewer purchases get no profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.analytics.history import Bools, Customers, Floats, Ints, PurchaseHistory, positions


@dataclass(frozen=True)
class ProfileRules:
    min_purchases: int = 3
    price_share: float = 0.5
    venue_share: float = 0.8
    steady_cv: float = 0.8


@dataclass(frozen=True)
class Profiles:
    """One row per customer (``member`` ascending)."""

    member: Ints
    purchases: Ints
    discount_share: Floats
    venue_share: Floats  # NaN when venues were not given
    interval_cv: Floats  # NaN below three purchases
    profiled: Bools
    price_driven: Bools
    one_place: Bools
    small_baskets: Bools
    steady: Bools
    convenience_driven: Bools

    def counts(self) -> dict[str, int]:
        return {
            "customers": int(self.member.size),
            "profiled": int(self.profiled.sum()),
            "price_driven": int(self.price_driven.sum()),
            "convenience_driven": int(self.convenience_driven.sum()),
            "one_place": int(self.one_place.sum()),
            "small_baskets": int(self.small_baskets.sum()),
            "steady": int(self.steady.sum()),
        }


def venue_shares(customers: Customers, group_member: Ints, group_count: Ints) -> Floats:
    """Share of each customer's purchases made in their most used venue, from counts
    per (member, venue) group: ``group_member[i]`` bought ``group_count[i]`` times in
    one venue. NaN for customers with no groups."""
    top = np.zeros(len(customers), dtype=np.int64)
    total = np.zeros(len(customers), dtype=np.int64)
    where, found = positions(customers.ids, group_member)
    np.maximum.at(top, where[found], group_count[found])
    np.add.at(total, where[found], group_count[found])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, top / np.maximum(total, 1), np.nan)


def interval_cv(history: PurchaseHistory) -> Floats:
    """Per customer: coefficient of variation of the times between purchases (NaN
    with fewer than two intervals, or when they all fall at the same moment)."""
    customers = history.customers
    n = len(customers)
    code = customers.code
    follows = np.zeros(code.size, dtype=np.bool_)
    follows[1:] = code[1:] == code[:-1]
    index = np.flatnonzero(follows)
    gaps = (history.at[index] - history.at[index - 1]).astype(np.float64)
    k = np.bincount(code[index], minlength=n).astype(np.float64)
    total = np.bincount(code[index], weights=gaps, minlength=n)
    squares = np.bincount(code[index], weights=gaps * gaps, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / k
        variance = np.maximum(squares / k - mean * mean, 0.0)
        cv = np.sqrt(variance) / mean
    return np.where((k >= 2) & (mean > 0), cv, np.nan)


def shopping_profiles(
    history: PurchaseHistory,
    as_of: int,
    venue_share: Floats | None = None,
    rules: ProfileRules | None = None,
) -> Profiles:
    """Profiles of every customer; ``venue_share`` aligned to ``history.customers``
    of the history before ``as_of`` (see :func:`venue_shares`)."""
    rules = rules or ProfileRules()
    history = history.before(as_of)
    customers = history.customers
    n = len(customers)
    count = customers.count
    discounted = np.bincount(customers.code[history.discounted], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        discount_share = discounted / np.maximum(count, 1)
    spent = np.add.reduceat(history.net, customers.first) if n else np.zeros(0, np.int64)
    twice_median = int(round(2 * float(np.median(history.net)))) if n else 0
    small = spent * 2 <= twice_median * count  # mean order <= median order, exactly
    cv = interval_cv(history)
    shares = venue_share if venue_share is not None else np.full(n, np.nan)

    profiled = count >= rules.min_purchases
    one_place = profiled & (shares >= rules.venue_share)
    steady = profiled & (cv <= rules.steady_cv)
    small_baskets = profiled & small
    return Profiles(
        member=customers.ids,
        purchases=count,
        discount_share=np.asarray(discount_share, dtype=np.float64),
        venue_share=np.asarray(shares, dtype=np.float64),
        interval_cv=cv,
        profiled=profiled,
        price_driven=profiled & (discount_share >= rules.price_share),
        one_place=one_place,
        small_baskets=small_baskets,
        steady=steady,
        convenience_driven=one_place & small_baskets & steady,
    )

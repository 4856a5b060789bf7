"""Shopping profiles: price-driven and convenience-driven customers.

Per customer with at least ``min_purchases`` counted purchases before ``as_of``:

- *price-driven*: at least ``price_share`` of their purchases used a discount or a
  coupon (``history.discounted``: the purchase event's ``attributes.coupon`` is set,
  or ``attributes.discount`` is a non-zero number or true).
- *convenience-driven*, all three of:
  one channel or store: at least ``place_share`` of their purchases in one channel
  (the till, the app, the web shop) or in one store, whichever share is larger;
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

from patron.analytics.history import Bools, Floats, Ints, PurchaseHistory


@dataclass(frozen=True)
class ProfileRules:
    min_purchases: int = 3
    price_share: float = 0.5
    place_share: float = 0.8
    steady_cv: float = 0.8


@dataclass(frozen=True)
class Profiles:
    """One row per customer (``member`` ascending)."""

    member: Ints
    purchases: Ints
    discount_share: Floats
    place_share: Floats  # NaN when no purchase says where it was made
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


def top_share(history: PurchaseHistory, place: Ints) -> Floats:
    """Per customer: the share of their purchases made in their most used ``place``
    (a code per purchase, -1 unknown; NaN when none of theirs is known)."""
    customers = history.customers
    n = len(customers)
    known = place >= 0
    code, where = customers.code[known], place[known]
    width = int(where.max()) + 1 if where.size else 1
    key = code * width + where
    if n * width <= 50_000_000:  # a dense count table is cheapest
        counts = np.bincount(key, minlength=n * width).reshape(n, width)
        top, total = counts.max(axis=1), counts.sum(axis=1)
    else:
        keys, sizes = np.unique(key, return_counts=True)
        top, total = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        np.maximum.at(top, keys // width, sizes)
        np.add.at(total, keys // width, sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, top / np.maximum(total, 1), np.nan)


def place_shares(history: PurchaseHistory) -> Floats:
    """Per customer: the larger of their top channel's and their top store's share."""
    return np.fmax(top_share(history, history.channel), top_share(history, history.store))


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
    history: PurchaseHistory, as_of: int, rules: ProfileRules | None = None
) -> Profiles:
    """Profiles of every customer who bought before ``as_of``."""
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
    shares = place_shares(history)

    profiled = count >= rules.min_purchases
    one_place = profiled & (shares >= rules.place_share)
    steady = profiled & (cv <= rules.steady_cv)
    small_baskets = profiled & small
    return Profiles(
        member=customers.ids,
        purchases=count,
        discount_share=np.asarray(discount_share, dtype=np.float64),
        place_share=np.asarray(shares, dtype=np.float64),
        interval_cv=cv,
        profiled=profiled,
        price_driven=profiled & (discount_share >= rules.price_share),
        one_place=one_place,
        small_baskets=small_baskets,
        steady=steady,
        convenience_driven=one_place & small_baskets & steady,
    )

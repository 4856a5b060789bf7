"""The purchase history every metric is computed from: numpy columns, no database.

One entry per *counted* purchase, sorted by member and, within a member, by time:

- ``member``: the member's id; ``at``: when it happened, epoch seconds UTC;
- ``net``: what the customer kept paying for, ``amount - refunded_amount`` in integer
  minor units of the program currency (never a float);
- ``discounted``: the purchase used a discount or a coupon (see ``readers``);
- ``channel``, ``store``: where it was bought, as codes (-1: not known).

A purchase refunded in full is not counted at all (it did not happen, commercially);
a partly refunded one counts with its net amount. Members are customers from their
first counted purchase on. The reader builds this from the ``events`` table; tests
build it by hand with :meth:`PurchaseHistory.build`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

DAY = 86_400  # seconds


def ints(values: Any) -> Ints:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass(frozen=True)
class Customers:
    """Each customer's run of purchases in a :class:`PurchaseHistory`."""

    ids: Ints  # member id of each customer, ascending
    first: Ints  # index of each customer's first purchase
    last: Ints  # index of each customer's last purchase
    count: Ints  # purchases of each customer
    code: Ints  # per purchase: the customer's position in ``ids``

    def __len__(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class PurchaseHistory:
    member: Ints
    at: Ints
    net: Ints
    discounted: Bools
    channel: Ints
    store: Ints

    @classmethod
    def build(
        cls,
        member: Any,
        at: Any,
        net: Any,
        discounted: Any = None,
        channel: Any = None,
        store: Any = None,
        *,
        presorted: bool = False,
    ) -> PurchaseHistory:
        """Columns in any order; sorted here by member, then time."""
        m, t, n = ints(member), ints(at), ints(net)
        d = (
            np.zeros(m.size, dtype=np.bool_)
            if discounted is None
            else np.asarray(discounted, dtype=np.bool_).reshape(-1)
        )
        c = np.full(m.size, -1, dtype=np.int64) if channel is None else ints(channel)
        s = np.full(m.size, -1, dtype=np.int64) if store is None else ints(store)
        if not m.size == t.size == n.size == d.size == c.size == s.size:
            raise ValueError("purchase columns must have the same length")
        if not presorted and m.size:
            order = _member_time_order(m, t)
            m, t, n, d, c, s = m[order], t[order], n[order], d[order], c[order], s[order]
        return cls(m, t, n, d, c, s)

    def __len__(self) -> int:
        return int(self.member.size)

    def select(self, mask: Bools) -> PurchaseHistory:
        """The purchases where ``mask`` holds (order kept)."""
        return PurchaseHistory(
            self.member[mask],
            self.at[mask],
            self.net[mask],
            self.discounted[mask],
            self.channel[mask],
            self.store[mask],
        )

    def before(self, moment: int) -> PurchaseHistory:
        """Purchases strictly before ``moment`` (epoch seconds)."""
        if not self.at.size or int(self.at.max()) < moment:
            return self
        return self.select(self.at < moment)

    @cached_property
    def customers(self) -> Customers:
        m = self.member
        if not m.size:
            empty = ints([])
            return Customers(empty, empty, empty, empty, empty)
        new = np.empty(m.size, dtype=np.bool_)
        new[0] = True
        np.not_equal(m[1:], m[:-1], out=new[1:])
        first = np.flatnonzero(new).astype(np.int64)
        last = np.empty_like(first)
        last[:-1] = first[1:] - 1
        last[-1] = m.size - 1
        code = np.cumsum(new, dtype=np.int64) - 1
        return Customers(m[first], first, last, last - first + 1, code)


def _member_time_order(member: Ints, at: Ints) -> Ints:
    """Indices sorting by (member, at); one int64 key when both fit, else lexsort."""
    t0, t1 = int(at.min()), int(at.max())
    m0, m1 = int(member.min()), int(member.max())
    span = t1 - t0 + 1
    if span < 2**32 and (m1 - m0 + 1) < 2**30:
        key = (member - m0) * span + (at - t0)
        return np.argsort(key).astype(np.int64)
    return np.lexsort((at, member)).astype(np.int64)


def positions(ids: Ints, wanted: Ints) -> tuple[Ints, Bools]:
    """Where each of ``wanted`` sits in the sorted ``ids``, and whether it is there."""
    if not ids.size:
        return np.zeros(wanted.size, dtype=np.int64), np.zeros(wanted.size, dtype=np.bool_)
    where = np.searchsorted(ids, wanted).astype(np.int64)
    clipped = np.minimum(where, ids.size - 1)
    found = ids[clipped] == wanted
    return clipped, found


def per_customer(customers: Customers, member_ids: Ints, values: Ints) -> Ints:
    """``values`` given for ``member_ids`` (any order), aligned to the customers; 0 if absent."""
    out = np.zeros(len(customers), dtype=np.int64)
    where, found = positions(customers.ids, member_ids)
    np.add.at(out, where[found], values[found])
    return out

"""The synthetic shop's arrays as event-API dicts, merged in time order.

Builds millions of dicts, so it works column by column: each distinct string
(timestamps, amounts, basket lines) is formatted once and reused, and every dict
handed out is a fresh object (nothing is shared between events).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from patron.demo import catalog as cat
from patron.demo.feedback import Feedback
from patron.demo.process import Simulation

_TIMES = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86400)]


def _iso(at: np.ndarray) -> list[str]:
    """ISO 8601 UTC strings of epoch seconds, from a table of dates and one of times."""
    if not at.size:
        return []
    day, second = np.divmod(at, 86400)
    first = int(day.min())
    dates = np.arange(first, int(day.max()) + 1).astype("datetime64[D]")
    date_text = [f"{d}T" for d in np.datetime_as_string(dates).tolist()]
    return [
        date_text[d] + _TIMES[t]
        for d, t in zip((day - first).tolist(), second.tolist(), strict=True)
    ]


def _money(minor: np.ndarray, digits: int) -> list[str]:
    """Decimal strings ("12.50") of minor amounts; formats each distinct amount once."""
    values, where = np.unique(minor, return_inverse=True)
    scale = 10**digits
    text = [f"{v // scale}.{v % scale:0{digits}d}" if digits else str(v) for v in values.tolist()]
    return np.array(text, dtype=object)[where].tolist()


def _labels(names: tuple[str | None, ...], codes: np.ndarray) -> list[Any]:
    return np.array(names, dtype=object)[codes].tolist()


MEMBERSHIP_AFTER, MEMBERSHIP_SHARE, MEMBERSHIP_RENEWAL = 15, 1 / 3, 0.6


class EventRows:
    """Builds the event dicts kind by kind, then merges them in time order."""

    KINDS = ("signup", "purchase", "refund", "custom")

    def __init__(self, sim: Simulation, ids: np.ndarray, currency: str, digits: int):
        self.sim, self.ids, self.currency, self.digits = sim, ids, currency, digits
        at = sim.purchases.at
        number = np.empty(at.size, dtype=np.int64)
        number[np.argsort(at, kind="stable")] = np.arange(1, at.size + 1)
        self.number = number  # purchases are numbered in time order
        self.order_ids = np.array([f"ord-{n:07d}" for n in number.tolist()], dtype=object)
        self.batches: list[tuple[np.ndarray, int, list[dict[str, Any]]]] = []

    def _add(self, at: np.ndarray, kind: str, rows: list[dict[str, Any]]) -> None:
        self.batches.append((at, self.KINDS.index(kind), rows))

    def signups(self) -> None:
        members = self.sim.members
        channels = _labels(("store", "online"), members.signup_channel)
        rows = [
            {
                "external_id": f"sig-{i + 1:06d}",
                "type": "signup",
                "member_external_id": m,
                "occurred_at": t,
                "channel": c,
            }
            for i, (m, t, c) in enumerate(
                zip(self.ids.tolist(), _iso(members.joined), channels, strict=True)
            )
        ]
        self._add(members.joined, "signup", rows)

    def _basket_lines(self) -> list[dict[str, Any]]:
        """One fresh dict per basket line, copied from one template per distinct line."""
        lines = self.sim.lines
        key = (lines.unit_price * 1024 + lines.product) * 1024 + lines.quantity
        distinct, which = np.unique(key, return_inverse=True)
        unit, rest = np.divmod(distinct, 1024 * 1024)
        product, quantity = np.divmod(rest, 1024)
        templates = [
            {
                "sku": cat.SKUS[p],
                "category": cat.PRODUCTS[p].category,
                "quantity": q,
                "unit_price": u,
            }
            for p, q, u in zip(
                product.tolist(), quantity.tolist(), _money(unit, self.digits), strict=True
            )
        ]
        return [templates[i].copy() for i in which.tolist()]

    def purchases(self) -> None:
        p = self.sim.purchases
        basket = self._basket_lines()
        tills = [
            {"payment": pay, "coupon": coupon} for pay in cat.PAYMENTS for coupon in cat.COUPONS
        ]
        till = p.payment.astype(np.int64) * len(cat.COUPONS) + p.coupon
        stores = _labels((*(s.code for s in cat.STORES), None), p.store)  # -1 is online
        first, last = p.first_line.tolist(), (p.first_line + p.line_count).tolist()
        columns = zip(
            self.order_ids.tolist(),
            self.ids[p.member].tolist(),
            _iso(p.at),
            _money(p.amount, self.digits),
            _labels(cat.CHANNELS, p.channel),
            stores,
            first,
            last,
            till.tolist(),
            strict=True,
        )
        rows = [
            {
                "external_id": o,
                "type": "purchase",
                "member_external_id": m,
                "occurred_at": t,
                "currency": self.currency,
                "amount": a,
                "channel": ch,
                "store": st,
                "lines": basket[f:e],
                "attributes": tills[k].copy(),
            }
            for o, m, t, a, ch, st, f, e, k in columns
        ]
        self._add(p.at, "purchase", rows)

    def refunds(self) -> None:
        r, p = self.sim.refunds, self.sim.purchases
        rows: list[dict[str, Any]] = []
        for purchase, at, line, quantity in zip(
            r.purchase.tolist(), _iso(r.at), r.line.tolist(), r.quantity.tolist(), strict=True
        ):
            row = {
                "external_id": f"ref-{self.number[purchase]:07d}",
                "type": "refund",
                "member_external_id": self.ids[p.member[purchase]],
                "occurred_at": at,
                "refund_of": self.order_ids[purchase],
            }
            if line >= 0:
                row["lines"] = [
                    {"sku": cat.SKUS[self.sim.lines.product[line]], "quantity": quantity}
                ]
            rows.append(row)
        self._add(r.at, "refund", rows)

    def feedback(self, fb: Feedback) -> None:
        members = self.sim.purchases.member[fb.review_of]
        reviews = [
            {
                "external_id": f"rev-{self.number[i]:07d}",
                "type": "custom",
                "name": "review",
                "member_external_id": m,
                "occurred_at": t,
                "attributes": {"rating": rating, "order": self.order_ids[i]},
            }
            for i, m, t, rating in zip(
                fb.review_of.tolist(),
                self.ids[members].tolist(),
                _iso(fb.review_at),
                fb.rating.tolist(),
                strict=True,
            )
        ]
        surveys = [
            {
                "external_id": f"nps-{i + 1:06d}",
                "type": "custom",
                "name": "survey_answer",
                "member_external_id": self.ids[i],
                "occurred_at": t,
                "attributes": {"nps": score},
            }
            for i, t, score in zip(
                fb.survey_member.tolist(), _iso(fb.survey_at), fb.nps.tolist(), strict=True
            )
        ]
        self._add(fb.review_at, "custom", reviews)
        self._add(fb.survey_at, "custom", surveys)

    def memberships(self, rng: np.random.Generator, end: int) -> None:
        """Some regulars pay the yearly membership fee (custom ``membership_fee``, the
        demo program's paid Gold): a third of members with 15+ purchases, a day after
        their 15th, renewing each year with probability 0.6 while the shop runs."""
        p = self.sim.purchases
        order = np.lexsort((p.at, p.member))
        counts = np.bincount(p.member, minlength=len(self.ids))
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))  # member's first sorted row
        regulars = np.flatnonzero(counts >= MEMBERSHIP_AFTER)
        chosen = regulars[rng.random(regulars.size) < MEMBERSHIP_SHARE]
        times, rows = [], []
        for m in chosen.tolist():
            at = int(p.at[order[first[m] + MEMBERSHIP_AFTER - 1]]) + 86_400
            year = 0
            while at < end:
                times.append(at)
                rows.append(
                    {
                        "external_id": f"fee-{m + 1:06d}-{year}",
                        "type": "custom",
                        "name": "membership_fee",
                        "member_external_id": self.ids[m],
                        "occurred_at": _iso(np.array([at]))[0],
                        "attributes": {"fee": "30.00", "year": year + 1},
                    }
                )
                if rng.random() > MEMBERSHIP_RENEWAL:
                    break
                at, year = at + 365 * 86_400, year + 1
        self._add(np.array(times, dtype=np.int64), "custom", rows)

    def in_order(self) -> list[dict[str, Any]]:
        """All events by time; at the same second signups first, then purchases, refunds."""
        at = np.concatenate([b[0] for b in self.batches])
        kind = np.concatenate([np.full(b[0].size, b[1], dtype=np.int8) for b in self.batches])
        rows = [row for batch in self.batches for row in batch[2]]
        return [rows[i] for i in np.lexsort((kind, at)).tolist()]

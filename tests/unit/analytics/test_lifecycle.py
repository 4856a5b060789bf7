"""Lifecycle stages: recency rules, and P(alive) from a BG/NBD model."""

from __future__ import annotations

import numpy as np
import pytest

from patron.analytics.clv import BGNBDModel
from patron.analytics.lifecycle import (
    STAGES,
    LifecycleRules,
    fit_alive_model,
    lifecycle_stages,
    purchase_days,
)
from tests.unit.analytics.helpers import day, history

AS_OF = day(400)


def names(codes: np.ndarray) -> list[str]:
    return [STAGES[c] for c in codes.tolist()]


def test_recency_rules_without_a_model() -> None:
    h = history(
        [
            (1, 390, 100),  # first purchase 10 days ago: new
            (2, 100, 100),
            (2, 350, 100),  # last purchase 50 days ago: active
            (3, 250, 100),  # 150 days: at risk
            (4, 100, 100),  # 300 days: lapsed
            (5, 10, 100),  # 390 days: churned
            (6, 401, 100),  # after as_of: has not bought yet, joined long ago
        ]
    )
    members = np.array([1, 2, 3, 4, 5, 6, 7, 8])
    joined = np.array([day(d) for d in (390, 100, 250, 100, 10, 0, 395, 300)])
    life = lifecycle_stages(h, members, joined, AS_OF)
    assert life.model is None and life.method == "recency"
    assert names(life.stage) == [
        "new",
        "active",
        "at_risk",
        "lapsed",
        "churned",
        "no_purchase",
        "new",  # joined 5 days ago, no purchase yet
        "no_purchase",
    ]
    assert np.isnan(life.p_alive).all()
    assert life.stage_counts()["new"] == 2


def test_purchase_days_merge_same_day_purchases_and_work_in_weeks() -> None:
    h = history([(1, 0, 1), (1, 0.5, 1), (1, 14, 1), (1, 28.2, 1), (2, 7, 1)])
    d = purchase_days(h, day(35))
    assert d.member.tolist() == [1, 2]
    assert d.x.tolist() == [2.0, 0.0]
    assert d.t_x.tolist() == [4.0, 0.0]
    assert d.T.tolist() == [5.0, 4.0]


def p_alive_by_hand(m: BGNBDModel, x: float, t_x: float, T: float) -> float:
    """FHL (2005) eq. 11 for x > 0."""
    odds = m.a / (m.b + x - 1) * ((m.alpha + T) / (m.alpha + t_x)) ** (m.r + x)
    return 1.0 / (1.0 + odds)


def test_stages_follow_p_alive_of_a_given_model() -> None:
    model = BGNBDModel(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL 2005, CDNOW
    # Repeat buyers who first bought 350 days before as_of, every 7 days until their last
    # purchase; the longer the silence, the lower P(alive).
    rows = []
    for member, last in ((1, 399), (2, 300), (3, 200), (4, 100)):
        rows += [(member, d, 100) for d in range(50, last + 1, 7)]
    rows += [(5, 30, 100)]  # one-time buyer, 370 days ago: recency rules say churned
    h = history(rows)
    members = np.array([1, 2, 3, 4, 5])
    life = lifecycle_stages(h, members, np.full(5, day(0)), AS_OF, model=model)
    assert life.method == "bgnbd"
    days = purchase_days(h, AS_OF)
    expected = [
        p_alive_by_hand(model, x, t, T)
        for x, t, T in zip(days.x[:4], days.t_x[:4], days.T[:4], strict=True)
    ]
    assert life.p_alive[:4] == pytest.approx(expected, rel=1e-9)
    rules = LifecycleRules()
    by_hand = [
        "active"
        if p >= rules.alive_active
        else "at_risk"
        if p >= rules.alive_at_risk
        else "lapsed"
        if p >= rules.alive_lapsed
        else "churned"
        for p in expected
    ]
    assert names(life.stage)[:4] == by_hand
    assert by_hand[0] == "active" and by_hand[-1] == "churned"
    assert names(life.stage)[4] == "churned"
    assert life.p_alive[4] == 1.0  # BG/NBD: no repeat purchase, no chance to drop out yet


def test_a_model_is_fitted_only_with_enough_customers() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for member in range(1, 401):
        first = int(rng.integers(0, 300))
        rate = rng.gamma(1.0, 1 / 20)  # purchases per day while alive
        life_days = rng.exponential(120)
        t = float(first)
        while t < min(first + life_days, 399):
            rows.append((member, t, 500))
            t += rng.exponential(1 / rate)
    h = history(rows)
    members = np.arange(1, 401)
    joined = np.zeros(400, dtype=np.int64)
    fitted = lifecycle_stages(h, members, joined, AS_OF)
    assert fitted.model is not None and fitted.model.converged
    bought = ~np.isnan(fitted.p_alive)
    assert ((fitted.p_alive[bought] >= 0) & (fitted.p_alive[bought] <= 1)).all()
    few = LifecycleRules(min_customers=401)
    assert fit_alive_model(purchase_days(h, AS_OF), few) is None
    sample = LifecycleRules(fit_sample=150)
    sampled = fit_alive_model(purchase_days(h, AS_OF), sample)
    assert sampled is not None and sampled.n_customers == 150

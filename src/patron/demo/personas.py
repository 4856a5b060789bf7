"""The kinds of customer in the synthetic shop, and the parameters of each.

Each member belongs to one persona, a hidden truth the analytics should rediscover.
Rates are purchases per week while the member is alive; the per-member rate is
Gamma(``rate_shape``, mean ``rate_mean``) and the chance of dropping out after a
purchase is Beta(``dropout_a``, ``dropout_b``) — the BG/NBD heterogeneity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.demo.catalog import category_mix


@dataclass(frozen=True)
class Persona:
    name: str
    share: float  # of members
    rate_mean: float  # purchases per week while alive
    rate_shape: float  # gamma shape: lower means more spread between members
    dropout_a: float
    dropout_b: float  # Beta(a, b): mean a / (a + b) per purchase
    channels: tuple[float, float, float]  # store, online, app
    home_store: float  # chance an in-person visit is at the home store
    extra_lines: float  # mean extra basket lines (Poisson) beyond the first
    extra_quantity: float  # chance a line holds more than one unit
    weekday: tuple[float, ...]  # Monday..Sunday
    hours: dict[int, float]  # hour of day -> weight; missing hours are closed
    summer_dip: float  # depth of the August dip
    december: float  # height of the pre-Christmas peak
    holiday: float  # activity kept between Christmas Eve and New Year
    first_at_signup: float  # chance of buying in the visit (or session) of signing up
    morning: dict[str, float]  # basket categories before 11:00
    lunch: dict[str, float]  # 11:00 to 14:00
    afternoon: dict[str, float]  # after 14:00
    ages: tuple[int, int]  # age range (years) at the end of the period
    nps_mean: float


_DRINKS_AND_CAKE = {
    "coffee": 0.45,
    "tea": 0.15,
    "bakery": 0.3,
    "sandwiches": 0.06,
    "beans": 0.03,
    "merchandise": 0.01,
}

# A table of parameters, laid out by hand.
# fmt: off
PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="commuter", share=0.12, rate_mean=1.3, rate_shape=2.5,
        dropout_a=1.0, dropout_b=60.0, channels=(0.82, 0.0, 0.18), home_store=0.92,
        extra_lines=0.25, extra_quantity=0.03,
        weekday=(1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.06),
        hours={6: 0.3, 7: 2.2, 8: 3.5, 9: 2.0, 10: 0.6, 11: 0.3, 12: 0.7, 13: 0.6, 14: 0.3,
               15: 0.3, 16: 0.4, 17: 0.5, 18: 0.3, 19: 0.1},
        summer_dip=0.35, december=0.1, holiday=0.25, first_at_signup=0.8,
        morning={"coffee": 0.72, "tea": 0.1, "bakery": 0.16, "sandwiches": 0.02},
        lunch={"coffee": 0.35, "tea": 0.05, "bakery": 0.1, "sandwiches": 0.5},
        afternoon={"coffee": 0.6, "tea": 0.15, "bakery": 0.25},
        ages=(23, 48), nps_mean=8.0,
    ),
    Persona(
        name="regular", share=0.16, rate_mean=0.6, rate_shape=1.8,
        dropout_a=1.0, dropout_b=35.0, channels=(0.75, 0.04, 0.21), home_store=0.8,
        extra_lines=0.6, extra_quantity=0.06,
        weekday=(1.0, 1.0, 1.0, 1.0, 1.05, 1.2, 0.95),
        hours={7: 0.4, 8: 1.0, 9: 1.3, 10: 1.4, 11: 1.1, 12: 1.0, 13: 0.9, 14: 1.0,
               15: 1.1, 16: 0.8, 17: 0.5, 18: 0.3, 19: 0.1},
        summer_dip=0.15, december=0.25, holiday=0.7, first_at_signup=0.8,
        morning={"coffee": 0.55, "tea": 0.15, "bakery": 0.27, "sandwiches": 0.03},
        lunch={"coffee": 0.3, "tea": 0.1, "bakery": 0.15, "sandwiches": 0.42, "beans": 0.02,
               "merchandise": 0.01},
        afternoon=_DRINKS_AND_CAKE,
        ages=(20, 75), nps_mean=8.6,
    ),
    Persona(
        name="family", share=0.15, rate_mean=0.3, rate_shape=1.2,
        dropout_a=1.0, dropout_b=14.0, channels=(0.9, 0.02, 0.08), home_store=0.7,
        extra_lines=2.2, extra_quantity=0.4,
        weekday=(0.35, 0.35, 0.35, 0.4, 0.5, 2.4, 2.1),
        hours={8: 0.5, 9: 1.2, 10: 2.0, 11: 2.2, 12: 1.8, 13: 1.3, 14: 0.9, 15: 0.8,
               16: 0.6, 17: 0.3},
        summer_dip=0.05, december=0.45, holiday=0.7, first_at_signup=0.75,
        morning={"coffee": 0.3, "tea": 0.12, "bakery": 0.45, "sandwiches": 0.1,
                 "beans": 0.02, "merchandise": 0.01},
        lunch={"coffee": 0.22, "tea": 0.1, "bakery": 0.25, "sandwiches": 0.4, "beans": 0.02,
               "merchandise": 0.01},
        afternoon={"coffee": 0.3, "tea": 0.15, "bakery": 0.45, "sandwiches": 0.07,
                   "beans": 0.02, "merchandise": 0.01},
        ages=(30, 52), nps_mean=7.8,
    ),
    Persona(
        name="occasional", share=0.43, rate_mean=0.07, rate_shape=0.6,
        dropout_a=1.0, dropout_b=5.0, channels=(0.86, 0.1, 0.04), home_store=0.5,
        extra_lines=0.8, extra_quantity=0.1,
        weekday=(0.85, 0.85, 0.9, 0.95, 1.05, 1.25, 1.1),
        hours={7: 0.3, 8: 0.7, 9: 0.9, 10: 1.0, 11: 1.1, 12: 1.4, 13: 1.3, 14: 1.0,
               15: 1.0, 16: 0.9, 17: 0.7, 18: 0.5, 19: 0.2},
        summer_dip=0.15, december=0.6, holiday=0.7, first_at_signup=0.7,
        morning=_DRINKS_AND_CAKE,
        lunch={"coffee": 0.3, "tea": 0.1, "bakery": 0.15, "sandwiches": 0.4, "beans": 0.03,
               "merchandise": 0.02},
        afternoon=_DRINKS_AND_CAKE,
        ages=(18, 78), nps_mean=6.8,
    ),
    Persona(
        name="online", share=0.12, rate_mean=0.22, rate_shape=1.0,
        dropout_a=1.0, dropout_b=12.0, channels=(0.2, 0.78, 0.02), home_store=0.5,
        extra_lines=0.5, extra_quantity=0.15,
        weekday=(1.2, 1.05, 1.0, 0.95, 0.8, 0.8, 1.2),
        hours={0: 0.05, 1: 0.02, 6: 0.05, 7: 0.3, 8: 0.5, 9: 0.5, 10: 0.6, 11: 0.6,
               12: 0.9, 13: 0.8, 14: 0.6, 15: 0.6, 16: 0.6, 17: 0.7, 18: 0.9, 19: 1.3,
               20: 1.6, 21: 1.4, 22: 0.8, 23: 0.3},
        summer_dip=0.25, december=1.5, holiday=0.8, first_at_signup=0.3,
        morning=_DRINKS_AND_CAKE, lunch=_DRINKS_AND_CAKE, afternoon=_DRINKS_AND_CAKE,
        ages=(25, 62), nps_mean=7.4,
    ),
)
# fmt: on
PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
ONLINE_PERSONA = PERSONA_NAMES.index("online")
SHARES = np.array([p.share for p in PERSONAS]) / sum(p.share for p in PERSONAS)
ONLINE_BASKET = category_mix({"beans": 0.68, "merchandise": 0.32})
ONLINE_EXTRA_LINES = 0.45
DAYPARTS = 3  # morning, lunch, afternoon


def basket_table(resolution: int = 1 << 14) -> np.ndarray:
    """Inverse-CDF lookup of basket products: ``table[row, int(u * resolution)]`` is a
    product drawn for uniform ``u``; rows are (persona, daypart), then online orders.
    A product's chance is exact to within 1 / ``resolution``."""
    rows = [category_mix(mix) for p in PERSONAS for mix in (p.morning, p.lunch, p.afternoon)]
    rows.append(ONLINE_BASKET)
    cumulative = np.cumsum(np.array(rows), axis=1)
    centres = (np.arange(resolution) + 0.5) / resolution
    table = [np.searchsorted(row, centres * row[-1], side="right") for row in cumulative]
    return np.array(table, dtype=np.int16)


def weekly_profile(persona: Persona) -> np.ndarray:
    """Relative intensity for each of the 168 hours of a week (Monday 00:00 first), mean 1."""
    hours = np.zeros(24)
    for hour, weight in persona.hours.items():
        hours[hour] = weight
    week = np.outer(np.array(persona.weekday), hours).ravel()
    return week / week.mean()


def persona_param(name: str) -> np.ndarray:
    """One persona parameter as an array indexed by persona."""
    return np.array([getattr(p, name) for p in PERSONAS], dtype=float)

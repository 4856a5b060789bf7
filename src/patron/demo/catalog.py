"""What the synthetic café chain sells, where, and the codes the columnar output uses.

Prices are in hundredths of the currency's major unit (``350`` is 3.50 USD). For a
currency with another minor-unit exponent the same figures are read as minor units
scaled to it (see ``scale_prices``), so a latte costs 350 JPY, a plausible price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def words(text: str) -> tuple[str, ...]:
    """A table of single-word names written as one string."""
    return tuple(text.split())


CATEGORIES: tuple[str, ...] = ("coffee", "tea", "bakery", "sandwiches", "merchandise", "beans")


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price: int  # hundredths of the major unit
    popularity: float  # relative weight within its category


PRODUCTS: tuple[Product, ...] = (
    Product("ESPRESSO", "Espresso", "coffee", 240, 0.5),
    Product("AMERICANO-M", "Americano (medium)", "coffee", 290, 1.2),
    Product("LATTE-S", "Latte (small)", "coffee", 310, 0.9),
    Product("LATTE-M", "Latte (medium)", "coffee", 350, 2.0),
    Product("LATTE-L", "Latte (large)", "coffee", 390, 0.8),
    Product("CAPPUCCINO-M", "Cappuccino (medium)", "coffee", 350, 1.4),
    Product("FLAT-WHITE", "Flat white", "coffee", 340, 1.6),
    Product("MOCHA-M", "Mocha (medium)", "coffee", 380, 0.5),
    Product("COLD-BREW", "Cold brew", "coffee", 360, 0.4),
    Product("ICED-LATTE", "Iced latte", "coffee", 390, 0.5),
    Product("ENGLISH-BREAKFAST", "English breakfast tea", "tea", 240, 1.4),
    Product("EARL-GREY", "Earl Grey", "tea", 240, 0.7),
    Product("GREEN-TEA", "Green tea", "tea", 250, 0.5),
    Product("CHAI-LATTE-M", "Chai latte (medium)", "tea", 360, 1.0),
    Product("MATCHA-LATTE-M", "Matcha latte (medium)", "tea", 390, 0.8),
    Product("PEPPERMINT-TEA", "Peppermint tea", "tea", 240, 0.5),
    Product("CROISSANT", "Butter croissant", "bakery", 260, 1.6),
    Product("PAIN-AU-CHOC", "Pain au chocolat", "bakery", 290, 1.2),
    Product("ALMOND-CROISSANT", "Almond croissant", "bakery", 340, 0.8),
    Product("CINNAMON-BUN", "Cinnamon bun", "bakery", 320, 1.0),
    Product("BLUEBERRY-MUFFIN", "Blueberry muffin", "bakery", 295, 0.8),
    Product("BANANA-BREAD", "Banana bread", "bakery", 310, 0.9),
    Product("BROWNIE", "Chocolate brownie", "bakery", 280, 0.8),
    Product("SCONE", "Fruit scone", "bakery", 270, 0.5),
    Product("COOKIE", "Chocolate chip cookie", "bakery", 190, 0.9),
    Product("HAM-CHEESE-TOASTIE", "Ham and cheese toastie", "sandwiches", 595, 1.4),
    Product("BLT", "BLT", "sandwiches", 550, 0.9),
    Product("AVOCADO-TOAST", "Avocado toast", "sandwiches", 750, 1.0),
    Product("EGG-MAYO", "Egg mayo sandwich", "sandwiches", 475, 0.7),
    Product("CHICKEN-PESTO", "Chicken pesto ciabatta", "sandwiches", 625, 1.0),
    Product("FALAFEL-WRAP", "Falafel wrap", "sandwiches", 595, 0.7),
    Product("BREAKFAST-BAP", "Bacon breakfast bap", "sandwiches", 525, 1.1),
    Product("BEANS-HOUSE-250", "House blend beans 250 g", "beans", 850, 2.0),
    Product("BEANS-ETHIOPIA-250", "Ethiopia Yirgacheffe beans 250 g", "beans", 1100, 1.0),
    Product("BEANS-COLOMBIA-250", "Colombia Huila beans 250 g", "beans", 1000, 1.1),
    Product("BEANS-DECAF-250", "Decaf beans 250 g", "beans", 900, 0.5),
    Product("BEANS-HOUSE-1KG", "House blend beans 1 kg", "beans", 2800, 0.6),
    Product("MUG", "Ceramic mug", "merchandise", 1200, 1.0),
    Product("KEEPCUP", "Reusable cup", "merchandise", 1500, 1.4),
    Product("TOTE", "Tote bag", "merchandise", 1000, 0.8),
    Product("V60-DRIPPER", "V60 dripper", "merchandise", 2200, 0.5),
    Product("FRENCH-PRESS", "French press", "merchandise", 3000, 0.4),
)

SKUS: tuple[str, ...] = tuple(p.sku for p in PRODUCTS)
PRODUCT_CATEGORY = np.array([CATEGORIES.index(p.category) for p in PRODUCTS], dtype=np.int8)
PRODUCT_PRICE = np.array([p.price for p in PRODUCTS], dtype=np.int64)


@dataclass(frozen=True)
class Store:
    code: str
    city: str
    weight: float  # share of members for whom this is the home store


STORES: tuple[Store, ...] = (
    Store("london-soho", "London", 0.21),
    Store("london-shoreditch", "London", 0.18),
    Store("london-kings-cross", "London", 0.17),
    Store("london-canary-wharf", "London", 0.14),
    Store("manchester-northern-quarter", "Manchester", 0.16),
    Store("bristol-harbourside", "Bristol", 0.14),
)
STORE_WEIGHTS = np.array([s.weight for s in STORES]) / sum(s.weight for s in STORES)
# Cities of online-only members, who may live anywhere.
ONLINE_CITIES = words(
    "London Manchester Bristol Leeds Birmingham Edinburgh Glasgow Brighton Oxford Cambridge "
    "Cardiff Liverpool Bath York"
)

# Codes of the columnar output.
CHANNELS: tuple[str, ...] = ("store", "online", "app")
STORE_CHANNEL, ONLINE_CHANNEL, APP_CHANNEL = 0, 1, 2
PAYMENTS: tuple[str, ...] = ("card", "cash", "wallet")
CARD, CASH, WALLET = 0, 1, 2
# Coupon 0 means none; the percentage comes off each unit price at the till.
COUPONS: tuple[str | None, ...] = (None, "WELCOME20", "WINTER10", "SUMMER10", "COMEBACK10")
COUPON_PERCENT = np.array([0, 20, 10, 10, 10], dtype=np.int64)
WELCOME, WINTER, SUMMER, COMEBACK = 1, 2, 3, 4
REFUND_NONE, REFUND_FULL, REFUND_PARTIAL = 0, 1, 2


def scale_prices(prices: np.ndarray, exponent: int) -> np.ndarray:
    """Catalogue prices in minor units of a currency with this exponent."""
    return prices * 10 ** (exponent - 2) if exponent >= 2 else prices


def category_mix(weights: dict[str, float]) -> np.ndarray:
    """Product probabilities from category weights, split by popularity in each category."""
    probs = np.zeros(len(PRODUCTS))
    for category, weight in weights.items():
        members = [i for i, p in enumerate(PRODUCTS) if p.category == category]
        popularity = np.array([PRODUCTS[i].popularity for i in members])
        probs[members] = weight * popularity / popularity.sum()
    return probs / probs.sum()

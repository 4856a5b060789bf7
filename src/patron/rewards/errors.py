"""Why a redemption or a coupon was refused: each a 409 with its own problem type.

The problem ``type`` is derived from the class name (``OutOfStock`` ->
``https://patron.dev/problems/out-of-stock``), so a till can branch on it.
"""

from __future__ import annotations

from patron.core.errors import Conflict


class OutOfStock(Conflict):
    title = "Out of stock"


class LimitReached(Conflict):
    title = "Limit reached"


class NotEligible(Conflict):
    title = "Not eligible"


class NotAvailable(Conflict):
    title = "Not available now"


class CouponUsed(Conflict):
    title = "Coupon already used"


class CouponExpired(Conflict):
    title = "Coupon expired"


class CouponCancelled(Conflict):
    title = "Coupon cancelled"

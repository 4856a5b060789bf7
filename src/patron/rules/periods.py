"""Cap periods: which day / ISO week / month / year an instant falls in, locally."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month", "year")


def period_key(per: str, at: datetime, tz: tzinfo | str) -> str:
    """``2026-11-22`` (day), ``2026-W47`` (ISO week), ``2026-11`` (month), ``2026`` (year).

    ``at`` is read in the program time zone ``tz``; a naive ``at`` is taken as UTC.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return local_period_key(
        per, (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(zone)
    )


def local_period_key(per: str, local: datetime) -> str:
    """``period_key`` for a time already in the program zone."""
    key = LOCAL_KEYS.get(per)
    if key is None:
        raise ValueError(f"unknown cap period {per!r}: use one of {', '.join(PERIODS)}")
    return key(local)


def _day(local: datetime) -> str:
    return local.date().isoformat()  # YYYY-MM-DD, the year zero-padded like %04d


def _week(local: datetime) -> str:
    year, week, _ = local.isocalendar()
    return f"{year:04d}-W{week:02d}"


def _month(local: datetime) -> str:
    return f"{local.year:04d}-{local.month:02d}"


def _year(local: datetime) -> str:
    return f"{local.year:04d}"


LOCAL_KEYS: dict[str, Callable[[datetime], str]] = {
    "day": _day,
    "week": _week,
    "month": _month,
    "year": _year,
}

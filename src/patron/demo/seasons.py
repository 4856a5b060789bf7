"""When people buy: an hourly intensity per persona, and its inverse.

Intensity at an hour = season(date) x weekly profile(weekday, hour), with the weekly
profile scaled to mean 1, so a member with rate ``r`` purchases per day buys on
average ``r`` times a day over a year. Purchases are placed by time change: on the
cumulative intensity scale ("busy days") a Poisson process is homogeneous, and
``Clock.to_time`` maps busy days back to seconds by inverting the piecewise-linear
cumulative sum (intensity is constant within an hour, so the time within the hour
is uniform).
"""

from __future__ import annotations

import numpy as np

from patron.demo.personas import PERSONAS, Persona, weekly_profile

HOUR = 3600
DAY = 86400
GUIDE = 4  # guide steps per hour for inverting the cumulative intensity
FLOOR = 1e-6  # intensity of a closed hour, relative to the average hour


def _bump(day_of_year: np.ndarray, centre: float, width: float) -> np.ndarray:
    distance = np.abs(day_of_year - centre)
    distance = np.minimum(distance, 365.25 - distance)  # wraps around New Year
    return np.exp(-0.5 * (distance / width) ** 2)


def season(persona: Persona, days: np.ndarray) -> np.ndarray:
    """Seasonal factor for each date (days since 1970-01-01).

    A slow January, a dip in late July and August while people are away, a
    December peak of gifts and festive drinks, quiet days between Christmas Eve
    and New Year, closed on Christmas Day.
    """
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64).astype(float)
    month = (months - dates.astype("datetime64[Y]")).astype(np.int64) + 1
    day = (dates - months).astype(np.int64) + 1
    factor = (
        1.0
        - 0.15 * _bump(day_of_year, 18, 12)
        - persona.summer_dip * _bump(day_of_year, 218, 22)
        + persona.december * _bump(day_of_year, 345, 11)
    )
    holiday = ((month == 12) & (day >= 24)) | ((month == 1) & (day == 1))
    factor = np.where(holiday, factor * persona.holiday, factor)
    closed = (month == 12) & (day == 25)
    return np.where(closed, 0.3 * factor if persona.name == "online" else 0.0, factor)


class Clock:
    """Cumulative intensities of every persona on one hourly grid over [start, end)."""

    def __init__(self, start: int, end: int, growth: float = 1.5, launch: float = 14.0):
        """``start``/``end`` in epoch seconds. Acquisition intensity additionally grows
        linearly to ``1 + growth`` times its first-day level, plus a launch wave of
        existing customers enrolling in the first weeks (``launch`` x e^(-days/10))."""
        first_hour = start // HOUR * HOUR
        self.hours = hours = int(-(-(end - first_hour) // HOUR))
        stamps = first_hour + HOUR * np.arange(hours, dtype=np.int64)
        days = stamps // DAY
        hour_of_week = ((days + 3) % 7) * 24 + (stamps % DAY) // HOUR  # Monday 00:00 is 0
        # The part of each hour inside [start, end): the first and last may be partial.
        self.opens = np.maximum(stamps, start)
        self.seconds = np.minimum(stamps + HOUR, end) - self.opens
        elapsed = (self.opens - start) / DAY
        acquisition = (
            1.0 + growth * elapsed / max(float(elapsed[-1]), 1.0) + launch * np.exp(-elapsed / 10.0)
        )
        self.buying = np.empty((len(PERSONAS), hours + 1))
        self.joining = np.empty((len(PERSONAS), hours + 1))
        for k, persona in enumerate(PERSONAS):
            # The floor keeps the cumulative strictly increasing, so even a window of
            # closed hours has somewhere to put its signups.
            rate = season(persona, days) * weekly_profile(persona)[hour_of_week] + FLOOR
            rate = rate * self.seconds / DAY
            self.buying[k] = np.concatenate(([0.0], np.cumsum(rate)))
            self.joining[k] = np.concatenate(([0.0], np.cumsum(rate * acquisition)))
        self.guides = {False: self._guide(self.buying), True: self._guide(self.joining)}

    def busy(self, persona: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Cumulative buying intensity (busy days) of each persona at epoch seconds ``at``."""
        index = np.clip(np.searchsorted(self.opens, at, side="right") - 1, 0, self.hours - 1)
        share = np.clip((at - self.opens[index]) / self.seconds[index], 0.0, 1.0)
        lower = self.buying[persona, index]
        return lower + (self.buying[persona, index + 1] - lower) * share

    def to_time(self, persona: np.ndarray, busy: np.ndarray, joining: bool = False) -> np.ndarray:
        """Epoch seconds (float) at which each persona's cumulative intensity reaches ``busy``."""
        table = self.joining if joining else self.buying
        busy = np.clip(busy, 0.0, table[persona, -1] * (1.0 - 1e-12))
        hour = self._hour_of(joining, persona.astype(np.int64), busy)
        row = persona.astype(np.int64) * (self.hours + 1) + hour
        flat = table.ravel()
        lower, upper = flat[row], flat[row + 1]
        share = np.clip((busy - lower) / np.maximum(upper - lower, 1e-300), 0.0, 1.0)
        return self.opens[hour] + share * self.seconds[hour]

    def _guide(self, table: np.ndarray) -> np.ndarray:
        """For each persona, the hour at each of ``GUIDE`` x hours equal cumulative steps."""
        marks = np.arange(GUIDE * self.hours) * (table[:, -1:] / (GUIDE * self.hours))
        rows = [np.searchsorted(table[k], marks[k], side="right") - 1 for k in range(len(table))]
        return np.clip(np.stack(rows), 0, self.hours - 1)

    def _hour_of(self, joining: bool, persona: np.ndarray, busy: np.ndarray) -> np.ndarray:
        """The hour ``h`` with ``table[p, h] <= busy < table[p, h + 1]``, for each value.

        The guide lands at most a step short; a few vectorised passes walk the rest:
        about three times faster than a binary search over millions of values.
        """
        table = self.joining if joining else self.buying
        steps = GUIDE * self.hours
        width = np.maximum(table[:, -1], 1e-300) / steps
        step = np.clip((busy / width[persona]).astype(np.int64) - 1, 0, steps - 1)
        hour = self.guides[joining][persona, step]
        flat = table.ravel()
        base = persona * (self.hours + 1)
        todo = np.flatnonzero((hour < self.hours - 1) & (flat[base + hour + 1] <= busy))
        while todo.size:
            hour[todo] += 1
            ahead = hour[todo] < self.hours - 1
            todo = todo[ahead & (flat[base[todo] + hour[todo] + 1] <= busy[todo])]
        return hour

"""From transactions to the (frequency, recency, T, monetary_value) table of the
buy-till-you-die models, in the conventions of the ``lifetimes`` library
(``summary_data_from_transaction_data`` / ``calibration_and_holdout_data``).

- Time is cut into periods of ``freq``: ``"D"`` days, ``"W"`` weeks running Monday to
  Sunday (pandas ``W``), ``"M"`` calendar months. A date-time counts in the period of
  its UTC date (naive date-times are taken as UTC).
- All of a customer's purchases in one period merge into one (amounts summed).
- ``frequency`` = number of distinct purchase periods - 1 (repeat purchases);
  ``recency`` = periods between the first and the last purchase period;
  ``T`` = periods between the first purchase period and the period of
  ``calibration_end``; ``monetary_value`` = mean of the merged repeat purchases (the
  first period excluded), 0 when frequency is 0. All are in periods of ``freq``.
- Only transactions up to ``calibration_end`` count (a bare date includes that whole
  day; a date-time is inclusive), and only customers who bought by then appear.
- With ``observation_end``, the holdout (``calibration_end``, ``observation_end``] is
  summarised too: ``frequency_holdout`` (distinct purchase periods in it),
  ``monetary_value_holdout`` (mean merged purchase in it, 0 if none) and
  ``duration_holdout`` (periods from calibration_end's to observation_end's period).

Differences from lifetimes, deliberately: "M" counts calendar months (lifetimes divides
days between month starts by an average month length); ``monetary_value_holdout`` is the
mean of period-merged purchases like ``monetary_value`` (lifetimes averages the raw
holdout rows). Amounts (int, Decimal, str, float) become float64: these are model
inputs, not money to book.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from ._common import FloatArray

FREQUENCIES = ("D", "W", "M")


@dataclass(frozen=True)
class RFMSummary:
    """One row per customer (sorted by customer id where ids are comparable)."""

    customer: npt.NDArray[Any]
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray
    freq: str
    frequency_holdout: FloatArray | None = None
    monetary_value_holdout: FloatArray | None = None
    duration_holdout: float | None = None

    def __len__(self) -> int:
        return int(self.customer.size)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Column name -> array (holdout columns only when summarised)."""
        out: dict[str, npt.NDArray[Any]] = {
            "customer": self.customer,
            "frequency": self.frequency,
            "recency": self.recency,
            "T": self.T,
            "monetary_value": self.monetary_value,
        }
        if self.frequency_holdout is not None and self.monetary_value_holdout is not None:
            out["frequency_holdout"] = self.frequency_holdout
            out["monetary_value_holdout"] = self.monetary_value_holdout
            out["duration_holdout"] = np.full(len(self), self.duration_holdout, dtype=float)
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        """A list of plain dicts (Python scalars), one per customer."""
        cols = {name: values.tolist() for name, values in self.columns().items()}
        names = list(cols)
        return [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]


def _to_datetime64(values: Any, name: str) -> npt.NDArray[np.datetime64]:
    """Date-like values (datetime64, date, datetime, ISO strings) as datetime64[us] UTC."""
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.datetime64):
        return array.astype("datetime64[us]")
    if array.size and array.dtype.kind in "USO":
        # Fast path: numpy parses plain ISO strings itself; anything it warns about
        # (time zones) or refuses goes through the careful per-value parser below.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return np.asarray(array.astype(str), dtype="datetime64[us]").ravel()
        except (ValueError, TypeError, DeprecationWarning, UserWarning):
            pass
    out = np.empty(array.size, dtype="datetime64[us]")
    for i, value in enumerate(array.ravel().tolist()):
        out[i] = _parse_moment(value, f"{name}[{i}]")[0]
    return out


def _parse_moment(value: Any, name: str) -> tuple[np.datetime64, bool]:
    """A moment as naive-UTC datetime64[us], and whether it was a bare date."""
    if isinstance(value, np.datetime64):
        whole_days = np.datetime_data(value.dtype)[0] in ("D", "W", "M", "Y")
        return value.astype("datetime64[us]"), whole_days
    bare_date = False
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: date = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name}: not an ISO date or date-time: {value!r}") from None
        bare_date = len(text) <= 10
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return np.datetime64(value, "us"), bare_date
    if isinstance(value, date):
        return np.datetime64(value, "us"), True
    raise ValueError(f"{name}: expected a date or date-time, got {type(value).__name__}")


def _cutoff(value: Any, name: str) -> np.datetime64:
    """Exclusive upper bound: a bare date includes its whole day."""
    moment, bare_date = _parse_moment(value, name)
    if bare_date:
        return moment + np.timedelta64(1, "D")
    return moment + np.timedelta64(1, "us")


def _periods(moments: npt.NDArray[np.datetime64], freq: str) -> npt.NDArray[np.int64]:
    """Index of each moment's period: days, Monday-started weeks, or calendar months."""
    if freq == "M":
        return moments.astype("datetime64[M]").astype(np.int64)
    days = moments.astype("datetime64[D]").astype(np.int64)
    if freq == "W":
        return (days + 3) // 7  # 1970-01-01 was a Thursday; weeks start on Monday
    return days


def _factorize(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """Distinct customer ids (sorted when comparable) and each row's code."""
    try:
        uniques, codes = np.unique(values, return_inverse=True)
        return uniques, codes.ravel().astype(np.int64)
    except TypeError:  # ids of mixed, incomparable types: first-seen order
        seen: dict[Any, int] = {}
        codes = np.fromiter((seen.setdefault(v, len(seen)) for v in values.tolist()), np.int64)
        uniques = np.empty(len(seen), dtype=object)
        uniques[:] = list(seen)
        return uniques, codes


def _column(transactions: Mapping[str, Any], name: str) -> npt.NDArray[Any]:
    try:
        values = transactions[name]
    except (KeyError, IndexError):
        raise ValueError(f"transactions have no column {name!r}") from None
    array = np.asarray(values)
    if array.dtype.kind in "US":
        array = array.astype(object)
    return array.ravel()


def _period_totals(
    codes: npt.NDArray[np.int64], periods: npt.NDArray[np.int64], amounts: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
    """Merge each customer's purchases per period: (customer, period, summed amount),
    sorted by customer then period."""
    order = np.lexsort((periods, codes))
    c, p, a = codes[order], periods[order], amounts[order]
    new = np.ones(c.size, dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (p[1:] != p[:-1])
    starts = np.flatnonzero(new)
    totals = np.add.reduceat(a, starts) if starts.size else np.zeros(0)
    return c[starts], p[starts], totals


def summarize(
    transactions: Mapping[str, Sequence[Any]] | Any,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    calibration_end: date | datetime | str | np.datetime64,
    observation_end: date | datetime | str | np.datetime64 | None = None,
    freq: str = "W",
) -> RFMSummary:
    """Summarise transactions per customer (see the module docstring for conventions).

    ``transactions`` maps column names to equal-length sequences (a dict of lists or
    arrays, or a pandas DataFrame). Without ``amount_col`` monetary values are 0.
    Raises ``ValueError`` naming the problem for a missing column, an unreadable date
    or amount, and when there is no transaction up to ``calibration_end``.
    """
    if freq not in FREQUENCIES:
        raise ValueError(f"freq must be one of {FREQUENCIES}, got {freq!r}")
    customers = _column(transactions, customer_col)
    moments = _to_datetime64(_column(transactions, date_col), date_col)
    if amount_col is None:
        amounts = np.zeros(customers.size)
    else:
        try:
            amounts = np.asarray(_column(transactions, amount_col), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{amount_col}: amounts must be numbers ({exc})") from None
        if not np.all(np.isfinite(amounts)):
            raise ValueError(f"{amount_col}: amounts must be finite numbers")
    if not customers.size == moments.size == amounts.size:
        raise ValueError("transaction columns must all have the same length")

    cal_cutoff = _cutoff(calibration_end, "calibration_end")
    cal_period = _periods(np.array([cal_cutoff - np.timedelta64(1, "us")]), freq)[0]
    in_cal = moments < cal_cutoff
    if customers.size == 0:
        raise ValueError("no transactions to summarise")
    if not in_cal.any():
        raise ValueError(
            f"no transactions on or before calibration_end ({calibration_end}); "
            f"the earliest is {moments.min()}"
        )
    ids, codes = _factorize(customers[in_cal])
    c, p, totals = _period_totals(codes, _periods(moments[in_cal], freq), amounts[in_cal])
    first_row = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if c.size else np.zeros(0, int)
    last_row = np.r_[first_row[1:] - 1, c.size - 1] if c.size else first_row
    frequency = (last_row - first_row).astype(float)
    recency = (p[last_row] - p[first_row]).astype(float)
    age = (cal_period - p[first_row]).astype(float)
    spent = np.add.reduceat(totals, first_row) - totals[first_row] if c.size else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, spent / np.maximum(frequency, 1.0), 0.0)

    summary = RFMSummary(ids, frequency, recency, age, monetary, freq)
    if observation_end is None:
        return summary

    obs_cutoff = _cutoff(observation_end, "observation_end")
    if obs_cutoff < cal_cutoff:
        raise ValueError("observation_end must not be before calibration_end")
    obs_period = _periods(np.array([obs_cutoff - np.timedelta64(1, "us")]), freq)[0]
    in_holdout = (moments >= cal_cutoff) & (moments < obs_cutoff)
    known = np.searchsorted(ids, customers[in_holdout]) if ids.dtype != object else None
    holdout_codes = _holdout_codes(ids, customers[in_holdout], known)
    seen = holdout_codes >= 0
    hc, _, htotals = _period_totals(
        holdout_codes[seen], _periods(moments[in_holdout][seen], freq), amounts[in_holdout][seen]
    )
    n_holdout = np.bincount(hc, minlength=len(summary)).astype(float)
    spent_holdout = np.bincount(hc, weights=htotals, minlength=len(summary))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_holdout = np.where(n_holdout > 0, spent_holdout / np.maximum(n_holdout, 1.0), 0.0)
    return RFMSummary(
        ids,
        frequency,
        recency,
        age,
        monetary,
        freq,
        frequency_holdout=n_holdout,
        monetary_value_holdout=mean_holdout,
        duration_holdout=float(obs_period - cal_period),
    )


def _holdout_codes(
    ids: npt.NDArray[Any], values: npt.NDArray[Any], positions: npt.NDArray[np.int64] | None
) -> npt.NDArray[np.int64]:
    """Calibration code of each holdout row's customer, -1 for customers new in the
    holdout (they are not in the calibration table)."""
    if positions is not None:
        clipped = np.minimum(positions, max(ids.size - 1, 0))
        found = (positions < ids.size) & (ids[clipped] == values) if ids.size else positions < 0
        return np.where(found, clipped, -1).astype(np.int64)
    lookup = {v: i for i, v in enumerate(ids.tolist())}
    return np.fromiter((lookup.get(v, -1) for v in values.tolist()), np.int64, values.size)


__all__ = ["FREQUENCIES", "RFMSummary", "summarize"]

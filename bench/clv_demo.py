"""CLV on the demo café: ``GET /v1/analytics/clv``'s fit, per model and time unit.

Builds the demo shop (``patron demo --no-serve``: ``--members`` members over two
years, through the real engine) into a temporary SQLite database, reads its
purchases once, then times ``fit_value`` (what the CLV endpoint and ``patron
analytics clv`` run: summary, purchase model, Gamma-Gamma, per-customer values)
with the Pareto/NBD purchase model for days, weeks and months, each beside the
BG/NBD fit of the same data in the same run, the endpoint's default model.

The demo's heavy buyers (a few hundred purchases) put the Pareto/NBD likelihood's
hypergeometric function where scipy cannot evaluate it (``clv._hypergeometric``),
which is what this figure watches. Times are the median of ``--repeat`` runs.

Run:  .venv/bin/python bench/clv_demo.py [--members 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from patron.analytics.lifetime_value import fit_value, program_transactions  # noqa: E402
from patron.core.db import Database  # noqa: E402
from patron.core.heap import settle_startup_heap  # noqa: E402
from patron.demo.build import build_demo  # noqa: E402


def timed_fit(
    columns: dict[str, Any], end: str, freq: str, model: str, repeat: int
) -> tuple[float, Any]:
    times, fit = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        fit = fit_value(
            columns,
            calibration_end=end,
            freq=freq,
            model=model,
            horizon=12,
            discount_rate=0.01,
            source_field="calibration_end",
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times), fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'demo.db'}")
        build_demo(database, members=args.members, seed=args.seed, console=Console(quiet=True))
        with database.unit_of_work() as session:
            columns, _, today = program_transactions(session)
        database.dispose()
    settle_startup_heap()
    print(f"CLV fit on the demo café, {args.members:,} members (median of {args.repeat})")
    for freq in ("D", "W", "M"):
        pareto_s, pareto = timed_fit(columns, today, freq, "pareto", args.repeat)
        bgnbd_s, bgnbd = timed_fit(columns, today, freq, "bgnbd", args.repeat)
        fitted = pareto.purchases
        print(
            f"  freq {freq}  Pareto/NBD {pareto_s:6.2f} s (LL {fitted.log_likelihood:,.3f}, "
            f"converged {fitted.converged})   "
            f"BG/NBD {bgnbd_s:6.2f} s (LL {bgnbd.purchases.log_likelihood:,.3f})"
        )


if __name__ == "__main__":
    main()

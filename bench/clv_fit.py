"""CLV fit benchmark: BG/NBD and Gamma-Gamma on a million customers, beside lifetimes.

Simulates ``--customers`` customers as transactions: first purchases spread over a
year, then repeat purchases from a BG/NBD population with the CDNOW estimates
(r=0.243, alpha=4.414, a=0.793, b=2.426, per week) and spends from a Gamma-Gamma
population (p=6.25, q=3.74, gamma=15.44), calibration ending 78 weeks after the
first acquisition day. Then, timed:

1. ``summarize`` (weekly periods, same-week purchases merged) of all transactions;
2. ``fit_bgnbd`` on the summary, beside the reference library ``lifetimes`` 0.11.3
   (``BetaGeoFitter().fit``) fitting the same summary in the same run;
3. ``fit_gamma_gamma`` on the repeat buyers, beside ``GammaGammaFitter().fit``.

lifetimes needs numpy 1 / pandas 1, so it runs in its own venv, ``.bench-venv``
(created from bench/requirements-lifetimes.txt on first use), in a subprocess given
the summary as an .npz file and a time budget. Its log-likelihood is evaluated on the
unscaled data with its own likelihood function (lifetimes fits on time rescaled to
max T = 1, whose likelihood differs by a constant), so both numbers are the full
log-likelihood in weeks and dollars. Patron's times are the median of ``--repeat``
runs; lifetimes' a single run. Wall and CPU seconds are both shown: the machine is
shared, and CPU time is the steadier of the two.

Run:  .venv/bin/python bench/clv_fit.py [--customers 1000000] [--baseline-budget 900]
      [--repeat 3] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".bench-venv"
REQUIREMENTS = ROOT / "bench" / "requirements-lifetimes.txt"
BGNBD_TRUTH = (0.243, 4.414, 0.793, 2.426)
GAMMA_GAMMA_TRUTH = (6.25, 3.74, 15.44)
START = np.datetime64("2025-01-06", "D")  # a Monday: weeks run Monday to Sunday
CALIBRATION_WEEKS = 78


# -- data -----------------------------------------------------------------------------


def simulate_transactions(customers: int, seed: int) -> dict[str, np.ndarray]:
    """Transactions of BG/NBD customers with Gamma-Gamma spends, in days.

    Each customer joins on a random day of the first year; while alive they buy at
    rate lambda ~ Gamma(r, alpha) per week and drop out after each repeat purchase
    with probability p ~ Beta(a, b). Purchase opportunities are Poisson over their
    time to the end of calibration; they take the first K ~ Geometric(p) of them.
    """
    r, alpha, a, b = BGNBD_TRUTH
    p, q, gamma = GAMMA_GAMMA_TRUTH
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, 365, customers)
    age_weeks = (CALIBRATION_WEEKS * 7 - first_day) / 7.0
    rate = rng.gamma(r, 1.0 / alpha, customers)
    lifetime_purchases = rng.geometric(rng.beta(a, b, customers))
    opportunities = rng.poisson(rate * age_weeks)
    owner = np.repeat(np.arange(customers), opportunities)
    when = rng.random(owner.size) * age_weeks[owner]
    order = np.lexsort((when, owner))
    owner, when = owner[order], when[order]
    starts = np.cumsum(opportunities) - opportunities
    rank = np.arange(owner.size) - starts[owner]
    taken = rank < lifetime_purchases[owner]
    owner, when = owner[taken], when[taken]
    customer = np.concatenate([np.arange(customers), owner])
    day = np.concatenate([first_day, first_day[owner] + np.floor(when * 7).astype(np.int64)])
    nu = rng.gamma(q, 1.0 / gamma, customers)
    amount = np.round(rng.gamma(p, 1.0 / nu[customer]), 2)
    return {"customer": customer, "date": START + day, "amount": np.maximum(amount, 0.01)}


def continuous_customers(customers: int, seed: int) -> Any:
    """The same population summarised in exact (fractional) weeks, as FHL's CDNOW data."""
    sys.path.insert(0, str(ROOT / "src"))
    from patron.analytics.clv.simulate import simulate_bgnbd

    rng = np.random.default_rng(seed)
    age_weeks = (CALIBRATION_WEEKS * 7 - rng.uniform(0, 365, customers)) / 7.0
    return simulate_bgnbd(*BGNBD_TRUTH, age_weeks, rng)


# -- Patron ---------------------------------------------------------------------------


def timed(repeat: int, work: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result of ``work`` and the median wall and CPU seconds over ``repeat`` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, statistics.median(walls), statistics.median(cpus)


# -- lifetimes, in its own venv -------------------------------------------------------


def bench_python() -> Path | None:
    """``.bench-venv``'s python with lifetimes importable, creating the venv if needed."""
    python = BENCH_VENV / "bin" / "python"
    if python.exists() and _imports_lifetimes(python):
        return python
    print(f"creating {BENCH_VENV.name} from {REQUIREMENTS.relative_to(ROOT)} (once)...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"  could not build the baseline venv: {exc}")
        return None
    return python if _imports_lifetimes(python) else None


def _imports_lifetimes(python: Path) -> bool:
    check = [str(python), "-c", "import lifetimes, autograd"]
    return subprocess.run(check, capture_output=True).returncode == 0


def run_baseline(python: Path, model: str, data: Path, budget: float) -> dict[str, Any]:
    """One lifetimes fit in a subprocess; {"timeout": budget} if it runs out of time."""
    out = data.with_suffix(f".{model}.json")
    command = [str(python), __file__, "--baseline-worker", model, str(data), str(out)]
    try:
        subprocess.run(command, check=True, timeout=budget)
    except subprocess.TimeoutExpired:
        return {"timeout": budget}
    except subprocess.CalledProcessError as exc:
        return {"error": f"exit status {exc.returncode}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def baseline_worker(model: str, data_path: str, out_path: str) -> None:
    """Runs inside .bench-venv: fit with lifetimes, write times, params and the full
    log-likelihood of the unscaled data."""
    import warnings

    warnings.filterwarnings("ignore")
    import lifetimes

    data = np.load(data_path)
    if model == "bgnbd":
        x, t_x, age = data["frequency"], data["recency"], data["T"]
        weights = data["weights"] if "weights" in data else np.ones_like(x)
        fitter = lifetimes.BetaGeoFitter()
        wall, cpu = time.perf_counter(), time.process_time()
        fitter.fit(x, t_x, age, weights=weights)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        params = [float(fitter.params_[k]) for k in ("r", "alpha", "a", "b")]
        mean_nll = fitter._negative_log_likelihood(
            np.log(params), x.astype(int), t_x, age, weights, 0.0
        )
    else:
        x, m = data["frequency"], data["monetary_value"]
        weights = np.ones_like(x)
        fitter = lifetimes.GammaGammaFitter()
        wall, cpu = time.perf_counter(), time.process_time()
        fitter.fit(x, m, weights=weights)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        params = [float(fitter.params_[k]) for k in ("p", "q", "v")]
        mean_nll = fitter._negative_log_likelihood(np.log(params), x, m, weights, 0.0)
    result = {
        "wall": wall,
        "cpu": cpu,
        "params": params,
        "log_likelihood": -float(mean_nll) * float(np.sum(weights)),
        "version": lifetimes.__version__,
    }
    Path(out_path).write_text(json.dumps(result))


# -- the run --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2005)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each Patron step")
    parser.add_argument(
        "--baseline-budget", type=float, default=900.0, help="seconds per lifetimes fit"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        baseline_worker(*args.baseline_worker)
        return

    sys.path.insert(0, str(ROOT / "src"))
    from patron.analytics.clv import (
        bgnbd_log_likelihood,
        fit_bgnbd,
        fit_gamma_gamma,
        gamma_gamma_log_likelihood,
        summarize,
    )

    n = args.customers
    print(f"Patron CLV fit benchmark: {n:,} customers, {os.cpu_count()} cores, ", end="")
    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}")
    transactions = simulate_transactions(n, args.seed)
    print(
        f"simulated {transactions['customer'].size:,} transactions (BG/NBD {BGNBD_TRUTH}, ", end=""
    )
    print(f"Gamma-Gamma {GAMMA_GAMMA_TRUTH})")

    summary, summarize_wall, summarize_cpu = timed(
        args.repeat,
        lambda: summarize(
            transactions,
            customer_col="customer",
            date_col="date",
            amount_col="amount",
            calibration_end=START + CALIBRATION_WEEKS * 7 - 1,
            freq="W",
        ),
    )
    x, t_x, age, m = summary.frequency, summary.recency, summary.T, summary.monetary_value
    bgnbd, bgnbd_wall, bgnbd_cpu = timed(args.repeat, lambda: fit_bgnbd(x, t_x, age))
    repeat_buyers = x > 0
    gg, gg_wall, gg_cpu = timed(
        args.repeat, lambda: fit_gamma_gamma(x[repeat_buyers], m[repeat_buyers])
    )
    rows, counts = np.unique(np.c_[x, t_x, age], axis=0, return_counts=True)
    print(
        f"summary: {len(summary):,} customers, {int(repeat_buyers.sum()):,} repeat buyers, "
        f"{rows.shape[0]:,} distinct (frequency, recency, T) rows"
    )
    # The worst case for Patron: exact (continuous) times, no two rows alike.
    exact = continuous_customers(n, args.seed + 1)
    cx, ct, cT = exact.frequency, exact.recency, exact.T
    exact_fit, exact_wall, exact_cpu = timed(args.repeat, lambda: fit_bgnbd(cx, ct, cT))

    baselines: dict[str, dict[str, Any]] = {}
    if not args.skip_baseline:
        python = bench_python()
        if python is None:
            print("lifetimes baseline unavailable (see above)")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp) / "summary.npz"
                np.savez(data, frequency=x, recency=t_x, T=age, monetary_value=m)
                repeat_data = Path(tmp) / "repeat.npz"
                np.savez(repeat_data, frequency=x[repeat_buyers], monetary_value=m[repeat_buyers])
                weighted = Path(tmp) / "weighted.npz"
                np.savez(
                    weighted,
                    frequency=rows[:, 0],
                    recency=rows[:, 1],
                    T=rows[:, 2],
                    weights=counts.astype(float),
                )
                budget = args.baseline_budget
                print(f"running lifetimes (time budget {budget:.0f} s per fit)...")
                baselines["bgnbd"] = run_baseline(python, "bgnbd", data, budget)
                baselines["gg"] = run_baseline(python, "gg", repeat_data, budget)
                baselines["bgnbd_weighted"] = run_baseline(python, "bgnbd", weighted, budget)
                exact_data = Path(tmp) / "exact.npz"
                np.savez(exact_data, frequency=cx, recency=ct, T=cT)
                baselines["bgnbd_exact"] = run_baseline(python, "bgnbd", exact_data, budget)

    def ours_at(key: str, params: list[float]) -> float:
        if key == "bgnbd_exact":
            return float(bgnbd_log_likelihood(params, cx, ct, cT).sum())
        if key.startswith("bgnbd"):
            return float(bgnbd_log_likelihood(params, x, t_x, age).sum())
        return float(gamma_gamma_log_likelihood(params, x[repeat_buyers], m[repeat_buyers]).sum())

    print()
    print_table(
        (summarize_wall, summarize_cpu),
        [
            ("BG/NBD fit", "bgnbd", bgnbd_wall, bgnbd_cpu, bgnbd.log_likelihood),
            ("Gamma-Gamma fit", "gg", gg_wall, gg_cpu, gg.log_likelihood),
            (
                "BG/NBD fit; lifetimes given distinct rows + counts",
                "bgnbd_weighted",
                bgnbd_wall,
                bgnbd_cpu,
                bgnbd.log_likelihood,
            ),
            (
                "BG/NBD fit, exact times (no two rows alike)",
                "bgnbd_exact",
                exact_wall,
                exact_cpu,
                exact_fit.log_likelihood,
            ),
        ],
        baselines,
    )
    print()
    print(
        f"Patron BG/NBD: r={bgnbd.r:.5f} alpha={bgnbd.alpha:.5f} a={bgnbd.a:.5f} "
        f"b={bgnbd.b:.5f} (converged: {bgnbd.converged})"
    )
    print(
        f"Patron Gamma-Gamma: p={gg.p:.5f} q={gg.q:.5f} gamma={gg.gamma:.5f} "
        f"(converged: {gg.converged})"
    )
    for key, names, label in (
        ("bgnbd", "r alpha a b", "BG/NBD"),
        ("gg", "p q gamma", "G-G"),
        ("bgnbd_exact", "r alpha a b", "BG/NBD, exact times"),
    ):
        base = baselines.get(key)
        if base and "params" in base:
            pairs = zip(names.split(), base["params"], strict=True)
            shown = " ".join(f"{name}={value:.5f}" for name, value in pairs)
            print(
                f"lifetimes {base['version']} {label}: {shown}; "
                f"Patron's log-likelihood there: {ours_at(key, base['params']):,.3f}"
            )
    if bgnbd_wall >= 5.0:
        print(f"NOTE: the BG/NBD fit took {bgnbd_wall:.2f} s, above the 5 s target")


def print_table(
    summarize_time: tuple[float, float],
    lines: list[tuple[str, str, float, float, float]],
    baselines: dict[str, dict[str, Any]],
) -> None:
    print(
        "| step | Patron wall / CPU | lifetimes wall / CPU | speed-up wall / CPU "
        "| LL Patron | LL lifetimes | LL difference |"
    )
    print("|---|---|---|---|---|---|---|")
    wall, cpu = summarize_time
    print(f"| summarize, freq W | {wall:.2f} s / {cpu:.2f} s | - | - | - | - | - |")
    for label, key, wall, cpu, ll in lines:
        base = baselines.get(key)
        ours = f"{wall:.2f} s / {cpu:.2f} s"
        if base is None:
            theirs, ratio, their_ll, gap = "not run", "-", "-", "-"
        elif "timeout" in base:
            theirs = f"> {base['timeout']:.0f} s (stopped at the budget)"
            ratio, their_ll, gap = f"> {base['timeout'] / wall:.0f}x", "-", "-"
        elif "error" in base:
            theirs, ratio, their_ll, gap = f"failed ({base['error']})", "-", "-", "-"
        else:
            theirs = f"{base['wall']:.2f} s / {base['cpu']:.2f} s"
            ratio = f"{base['wall'] / wall:.1f}x / {base['cpu'] / cpu:.1f}x"
            their_ll = f"{base['log_likelihood']:,.3f}"
            gap = f"{ll - base['log_likelihood']:+.5f}"
        print(f"| {label} | {ours} | {theirs} | {ratio} | {ll:,.3f} | {their_ll} | {gap} |")


if __name__ == "__main__":
    main()

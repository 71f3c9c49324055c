"""The global significance beyond the toys: the excursion tail against brute force (issue 44).

``bumphunt run`` measures the global p-value of its largest local significance by counting background-only
toys (``statistics.global_toys``, default 200; the demo runs 500) and, where fewer than 10 of them reach
the observed value, extrapolates with the Gross-Vitells expected Euler characteristic fitted to the same
toys (``bumphunt.stats.excursion_tail``). This benchmark checks that extrapolation against brute force on
the same search: tens of thousands of toys of ``uniform_score_statistic`` for the demo's windows and
statistics on the shipped demo events (background only), run in chunks through
``bumphunt.executors.run_tasks`` (one file per chunk under ``--out``: a rerun resumes).

It prints, at levels of the largest local Z, the brute-force p-value and Z with their binomial errors
next to the tail model fitted to the first ``--fit-toys`` toys (each fit size a row block), with the
model's bootstrap error; and where the model stands among the brute-force toys.

Usage::

    python benchmarks/global_tail.py --out tail/ --toys 40000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bumphunt.config import StatisticsConfig
from bumphunt.executors import ExecutorConfig, ResultStore, Task, run_tasks, spawn_seeds

CHUNK = 500


def _statistic(params: dict[str, Any]) -> Any:
    from bumphunt.demo import demo_config
    from bumphunt.search import _null_fit, build_windows, load_data
    from bumphunt.stats.look_elsewhere import uniform_score_statistic

    config = demo_config(Path(params["out"]) / "unused")
    windows_config = config.windows.model_copy(update={"sideband_mode": params["sideband_mode"]})
    statistics = config.statistics.model_copy(update={"efficiency_degree": params["efficiency_degree"]})
    config = config.model_copy(update={"windows": windows_config, "statistics": statistics})
    plain = config.model_copy(update={"data": config.data.model_copy(update={"injection": None})})
    events = load_data(plain).events
    windows = build_windows(config.windows, config.data.mass_range)
    return uniform_score_statistic(
        _null_fit(windows, events, config), windows, **config.statistics.selection()
    )


def chunk(task: Task) -> dict[str, Any]:
    """``CHUNK`` toys: the grid of local significances of each."""
    statistic = _statistic(task.params)
    for child in np.random.SeedSequence(task.seed).spawn(CHUNK):
        statistic(np.random.default_rng(child))
    return {"grids": statistic.grids.round(4).tolist()}


def _brute(maxima: np.ndarray, level: float) -> tuple[float, float, int]:
    n = int(np.sum(maxima >= level))
    p = n / maxima.size
    return p, math.sqrt(max(p * (1 - p), 1.0 / maxima.size) / maxima.size), n


def _z(p: float) -> float:
    return float(stats.norm.isf(p)) if p > 0 else math.inf


def summarize(grids: np.ndarray, fit_sizes: list[int], seed: int) -> None:
    from bumphunt.stats.excursion_tail import tail_p_value

    maxima = grids.max(axis=(1, 2))
    print(f"{grids.shape[0]} brute-force toys, grid {grids.shape[1]} windows x {grids.shape[2]} efficiencies")
    print("local Z of each point, pooled over the windows: P(Z > u) / Phi_bar(u) (1 = standard normal)")
    for k in range(grids.shape[2]):
        values = grids[:, :, k].ravel()
        ratios = []
        for u in (2.0, 3.0, 3.5):
            n_above = int(np.sum(values > u))
            expected = values.size * stats.norm.sf(u)
            ratios.append(
                f"u={u:g}: {n_above / expected:4.2f} +- {math.sqrt(max(n_above, 1)) / expected:4.2f}"
            )
        print(f"  efficiency column {k}: " + "   ".join(ratios))
    levels = [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5]
    for n_fit in fit_sizes:
        print(f"\n-- tail fitted to the first {n_fit} toys (the brute force counts all of them)")
        print("  local Z   brute force: p, Z (toys above)        tail model: p, Z +- error   pull")
        for level in levels:
            p_b, p_err, n_above = _brute(maxima, level)
            tail = tail_p_value(level, grids[:n_fit], n_bootstrap=200, seed=seed)
            z_b = _z(p_b)
            if n_above:
                z_err = p_err * math.sqrt(2 * math.pi) * math.exp(0.5 * z_b**2)
                brute = f"{p_b:9.3g}, {z_b:4.2f} +- {z_err:4.2f} ({n_above:>5})"
                pull = (tail.z - z_b) / math.hypot(tail.z_error, z_err)
                pull_text = f"{pull:+5.1f}"
            else:
                brute = f"< {1 / maxima.size:7.2g}, > {_z(1 / maxima.size):4.2f}     (    0)"
                pull_text = "  -"
            model = f"{tail.p:9.3g}, {tail.z:4.2f} +- {tail.z_error:4.2f}"
            print(f"  {level:6.2f}   {brute}   {model}   {pull_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--toys", type=int, default=40_000, help="brute-force toys (multiple of 500)")
    parser.add_argument("--fit-toys", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--sideband-mode", choices=["adjacent", "range"], default="range")
    parser.add_argument(
        "--efficiency-degree",
        default=str(StatisticsConfig().efficiency_degree),
        help="an integer or auto (default: the search's)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=44)
    parser.add_argument("--out", required=True)
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    degree: int | str = (
        args.efficiency_degree if args.efficiency_degree == "auto" else int(args.efficiency_degree)
    )
    params = {
        "out": str(Path(args.out).resolve()),
        "sideband_mode": args.sideband_mode,
        "efficiency_degree": degree,
    }
    n_chunks = math.ceil(args.toys / CHUNK)
    tasks = [Task(f"toys-{i:04d}", seed, params) for i, seed in enumerate(spawn_seeds(args.seed, n_chunks))]
    store = ResultStore(Path(args.out) / "chunks")
    if not args.summary_only:
        t0 = time.perf_counter()
        run = run_tasks(chunk, tasks, store, executor=ExecutorConfig(kind="local", n_workers=args.workers))
        seconds = time.perf_counter() - t0
        print(f"ran {run.n_run} chunks of {CHUNK} toys in {seconds:.0f} s; failed: {run.n_failed}")
    wanted = {t.key: i for i, t in enumerate(tasks)}
    records = sorted((r for r in store.read_all() if r["key"] in wanted), key=lambda r: wanted[r["key"]])
    grids = np.concatenate([np.asarray(r["result"]["grids"]) for r in records])
    print(json.dumps(params))
    summarize(grids, args.fit_toys, args.seed)


if __name__ == "__main__":
    main()

"""Discovery reach: how much signal each method needs for a 3 and a 5 sigma global significance (issue 44).

The figure of merit of a bump hunt. Pseudo-experiments at several injected signal strengths, each the
whole search of every method on the same pseudo-dataset:

(a) ``mass_only``: the classic bump hunt without machine learning, the dijet fit of the uncut spectrum
    in the same windows (the search at sideband efficiency 1 only) and its own look-elsewhere toys;
(b) ``cathode``, (c) ``cwola``: the weakly supervised searches with the library's detector defaults;
(d) ``iad``: the idealized anomaly detector (a perfect background sample: the other half of the
    background file), the reference of weak supervision;
(e) ``supervised``: a classifier trained on the truth labels, the ceiling.

Pseudo-dataset ``i`` at strength S/B: a random half of the background file (the other half is the
IAD's background sample), with a fresh draw of signal events injected at S/B in the reference SR
(``bumphunt.search.inject_signal``). Halves, not bootstraps: a bootstrap repeats events, and a
classifier trained in k folds then scores the copies of its training events out of fold, which inflates
every weakly supervised significance (measured: CWoLa read 36 sigma local on a 2 % injection). Every
method sees the same events (the dataset's seed does not depend on the method). The weakly supervised
methods share one set of look-elsewhere toys per dataset (``uniform_score_statistic`` with their
selections), the mass-only scan has its own (one efficiency); a global significance that fewer than 10
toys reach is extrapolated by the Gross-Vitells excursion tail (``bumphunt.stats.excursion_tail``).

Tasks run through ``bumphunt.executors.run_tasks`` with one result file each under ``--out``, as
``bumphunt ensemble`` does: an interrupted run resumes where it stopped (``--workers`` local processes;
``--executor dask`` for a Dask cluster). The summary prints, per method and strength, the median and
16-84 % band of the global significance and of the local one in the window holding the signal; the
signal events each method needs for a median 3 and 5 sigma global (linear interpolation of the median
global Z in the number of injected events between the strengths run; ">" where the largest strength did
not reach it) and each one's ratio to the mass-only fit; and ``reach.png``, global Z against the
injected signal, one line per method.

Seeds follow the order of the tasks (strengths within each pseudo-dataset index): ``--n`` can grow and
keep the finished tasks, but adding a strength gives the later tasks other seeds (use a new ``--out``).

Usage::

    python benchmarks/discovery_reach.py --out reach/ --s-over-b 0.005 0.01 0.02 0.04 0.08 --n 10
    python benchmarks/discovery_reach.py --out reach/ --summary-only
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bumphunt.config import CATHODE_FEATURES, parse_config
from bumphunt.executors import ExecutorConfig, ResultStore, Task, run_tasks, spawn_seeds

METHODS = ("mass_only", "cathode", "cwola", "iad", "supervised")
TRAINED = ("cathode", "cwola", "iad", "supervised")


def _config(params: dict[str, Any], method: str) -> Any:
    """The search of one method: the library's defaults, the benchmark's windows and statistics."""
    values = {
        "name": f"reach {method}",
        "data": {
            "path": params["background"],
            "features": list(CATHODE_FEATURES),
            "mass_range": params["range"],
            **({"background": params["background"]} if method == "iad" else {}),  # replaced by the half
        },
        "windows": {
            "sideband_width": params["min_sideband"],
            "sideband_mode": params["sideband_mode"],
            "scan": {
                "start": params["range"][0],
                "stop": params["range"][1],
                "sr_width": params["sr_width"],
                "step": params["step"],
            },
        },
        "method": {"name": "cwola" if method == "mass_only" else method},  # mass_only trains nothing
        "statistics": {**params["statistics"], "global_toys": 0},
    }
    if method == "mass_only":
        values["statistics"]["efficiencies"] = [1.0]
    return parse_config(values, f"reach configuration of {method}")


def _significance(observed: float, toys: np.ndarray, grids: np.ndarray, seed: int) -> dict[str, Any]:
    from bumphunt.errors import ConfigError
    from bumphunt.stats.look_elsewhere import counted_significance, with_excursion_tail

    g = counted_significance(observed, toys)
    with contextlib.suppress(ConfigError):  # too few toys reach the fit's levels: the bound stands
        g = with_excursion_tail(g, grids, seed=seed)
    return {
        "global_z": g.z,
        "global_z_error": g.z_error,
        "estimate": g.estimate,
        "n_above": g.n_above,
    }


def _toys(config: Any, events: Any, n_toys: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The look-elsewhere toys of a configuration on these events: maxima and grids."""
    from bumphunt.search import _null_fit, build_windows
    from bumphunt.stats.look_elsewhere import uniform_score_statistic

    windows = build_windows(config.windows, config.data.mass_range)
    statistic = uniform_score_statistic(
        _null_fit(windows, events, config), windows, **config.statistics.selection()
    )
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_toys)]
    maxima = np.array([statistic(rng) for rng in rngs])
    return maxima, statistic.grids


def _mass_only(config: Any, events: Any) -> tuple[list[Any], list[float]]:
    """The classic bump hunt: the uncut dijet fit's local Z in every window (no score, no training)."""
    from bumphunt.search import build_windows
    from bumphunt.stats.selection import selection_scan

    windows = build_windows(config.windows, config.data.mass_range)
    local = []
    for window in windows:
        mass = events.mass[window.in_window(events.mass)]
        local.append(selection_scan(mass, np.zeros(mass.size), window, **config.statistics.selection()).max_z)
    return windows, local


def pseudo_experiment(task: Task) -> dict[str, Any]:
    """Every method on one pseudo-dataset: local Z in the signal's window, largest local Z, global Z."""
    import torch
    from threadpoolctl import threadpool_limits

    from bumphunt.events import EventSet
    from bumphunt.search import LoadedData, inject_signal, run_search

    torch.set_num_threads(1)
    p = task.params
    rng = np.random.default_rng(task.seed)
    pool = EventSet.from_parquet(p["background"]).with_features(CATHODE_FEATURES)
    halves = np.array_split(rng.permutation(len(pool)), 2)
    events, iad_background = (pool.take(np.sort(half)) for half in halves)
    record = None
    if p["s_over_b"] > 0:
        signal = EventSet.from_parquet(p["signal"]).with_features(CATHODE_FEATURES)
        events, record = inject_signal(
            events, signal, s_over_b=p["s_over_b"], sr=tuple(p["reference_sr"]), seed=int(rng.integers(2**31))
        )
    else:
        events = dataclasses.replace(events, label=np.zeros(len(events)))
    centre = 0.5 * sum(p["reference_sr"])
    toy_seed = int(rng.integers(2**31))
    out: dict[str, Any] = {
        "s_over_b": p["s_over_b"],
        "n_signal": 0 if record is None else record["n_signal"],
        "n_signal_sr": 0 if record is None else record["n_signal_sr"],
        "n_background_sr": int(np.count_nonzero((events.label == 0) & (np.abs(events.mass - centre) < 200))),
        "methods": {},
    }
    shared_toys: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    with threadpool_limits(limits=1):
        for method in p["methods"]:
            t0 = time.perf_counter()
            config = _config(p, method)
            config = config.model_copy(
                update={"method": config.method.model_copy(update={"seed": int(rng.integers(2**31))})}
            )
            background = iad_background if method == "iad" else None
            result = run_search(
                config, data=LoadedData(events=events, background=background, injection=record)
            )
            local = [w.local_z for w in result.windows]
            holding = [
                i for i, w in enumerate(result.windows) if w.window.sr_low <= centre < w.window.sr_high
            ]
            mass_only = method == "mass_only"
            search_seconds = time.perf_counter() - t0
            if mass_only not in shared_toys:
                shared_toys[mass_only] = _toys(config, events, p["toys"], toy_seed + mass_only)
            toys, grids = shared_toys[mass_only]
            out["methods"][method] = {
                "local_z": local,
                "z_at_signal": max(local[i] for i in holding),
                "max_local_z": max(local),
                **_significance(max(local), toys, grids, toy_seed),
                "seconds": time.perf_counter() - t0,
                "search_seconds": search_seconds,
            }
    return out


def _band(values: list[float]) -> tuple[float, float, float]:
    low, median, high = np.quantile(np.asarray(values, dtype=np.float64), [0.16, 0.5, 0.84])
    return float(median), float(low), float(high)


def _needed(n_signal: np.ndarray, median_z: np.ndarray, target: float) -> tuple[float | None, str]:
    """Signal events for a median ``target`` sigma and how they relate to it: ``"="`` (linear
    interpolation between two strengths), ``"<="`` (the smallest strength already reached it) or ``">"``
    (the largest did not)."""
    order = np.argsort(n_signal)
    n, z = n_signal[order], median_z[order]
    if not n.size:
        return None, ">"
    if z[0] >= target:
        return float(n[0]), "<="
    for i in range(1, n.size):
        if z[i - 1] < target <= z[i]:
            return float(n[i - 1] + (target - z[i - 1]) * (n[i] - n[i - 1]) / (z[i] - z[i - 1])), "="
    return float(n[-1]), ">"


def summarize(records: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Print the reach tables and write ``reach.json`` and ``reach.png`` into ``out``."""
    from bumphunt.report.html import save_figure
    from bumphunt.report.reach_plots import reach_curves, reach_figure

    by_strength: dict[float, list[dict[str, Any]]] = {}
    for record in records:
        by_strength.setdefault(record["result"]["s_over_b"], []).append(record["result"])
    methods = [m for m in METHODS if any(m in r["methods"] for rs in by_strength.values() for r in rs)]
    table: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    print(f"{'method':<11} {'S/B':>6} {'n_sig':>6} {'n':>3}  global Z median [16, 84]   local Z in SR  est.")
    for s_over_b in sorted(by_strength):
        results = by_strength[s_over_b]
        n_signal = float(np.median([r["n_signal"] for r in results]))
        for method in methods:
            rows = [r["methods"][method] for r in results if method in r["methods"]]
            if not rows:  # a strength at which only the mass-only fit ran
                continue
            g, z = _band([r["global_z"] for r in rows]), _band([r["z_at_signal"] for r in rows])
            estimates = sorted({r["estimate"] for r in rows})
            table[method].append(
                {"s_over_b": s_over_b, "n_signal": n_signal, "n": len(rows), "global": g, "local": z}
            )
            print(
                f"{method:<11} {s_over_b:>6.3f} {n_signal:>6.0f} {len(rows):>3}  {g[0]:5.2f} [{g[1]:5.2f}, "
                f"{g[2]:5.2f}]   {z[0]:5.2f} [{z[1]:.2f}, {z[2]:.2f}]  {','.join(estimates)}"
            )
    print("\nsignal events for a median global significance (ratio to the mass-only fit):")
    needed: dict[str, dict[str, Any]] = {}
    for method in methods:
        rows = [r for r in table[method] if r["s_over_b"] > 0]
        n = np.array([r["n_signal"] for r in rows])
        z = np.array([r["global"][0] for r in rows])
        needed[method] = {str(t): _needed(n, z, t) for t in (3.0, 5.0)}
    for method in methods:
        cells = []
        for target in ("3.0", "5.0"):
            value, relation = needed[method][target]
            reference, ref_relation = needed.get("mass_only", {}).get(target, (None, ">"))
            text = "-" if value is None else f"{'' if relation == '=' else relation}{value:.0f}"
            if value is not None and reference is not None and relation == ref_relation == "=":
                text += f" ({value / reference:.2f})"
            cells.append(f"{target[0]} sigma: {text}")
        print(f"  {method:<11} " + "   ".join(cells))
    summary = {"table": table, "needed": needed}
    (out / "reach.json").write_text(json.dumps(summary, indent=1))
    save_figure(reach_figure(reach_curves(table)), out / "reach.png")
    return summary


def main() -> None:
    from bumphunt.demo import demo_data_dir

    folder = demo_data_dir()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--background",
        default=str(folder / "background.parquet"),
        help="background-only events: each pseudo-dataset is half of them, the IAD's sample the other half",
    )
    parser.add_argument("--signal", default=str(folder / "signal.parquet"))
    parser.add_argument("--range", type=float, nargs=2, default=[2900.0, 4500.0], help="scan range (GeV)")
    parser.add_argument("--reference-sr", type=float, nargs=2, default=[3300.0, 3700.0])
    parser.add_argument("--sr-width", type=float, default=400.0)
    parser.add_argument("--step", type=float, default=200.0)
    parser.add_argument("--min-sideband", type=float, default=200.0, help="windows.sideband_width (GeV)")
    parser.add_argument("--sideband-mode", choices=["adjacent", "range"], default="range")
    parser.add_argument("--statistics", type=json.loads, default={}, help="JSON of statistics settings")
    parser.add_argument(
        "--s-over-b", type=float, nargs="+", default=[0.005, 0.01, 0.02, 0.04, 0.08, 0.12, 0.16]
    )
    parser.add_argument(
        "--trained-up-to",
        type=float,
        default=0.04,
        help="largest S/B at which the trained methods run (above it only the cheap mass-only fit, "
        "which needs more signal)",
    )
    parser.add_argument("--n", type=int, default=10, help="pseudo-experiments per strength")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--toys", type=int, default=300, help="look-elsewhere toys per pseudo-dataset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executor", choices=["local", "dask"], default="local")
    parser.add_argument("--seed", type=int, default=44)
    parser.add_argument("--out", required=True)
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = {
        "background": str(Path(args.background).resolve()),
        "signal": str(Path(args.signal).resolve()),
        "range": args.range,
        "reference_sr": args.reference_sr,
        "sr_width": args.sr_width,
        "step": args.step,
        "min_sideband": args.min_sideband,
        "sideband_mode": args.sideband_mode,
        "statistics": args.statistics,
        "toys": args.toys,
        "methods": args.methods,
    }
    keys = [(s, i) for i in range(args.n) for s in args.s_over_b]  # strengths interleaved
    seeds = spawn_seeds(args.seed, len(keys))
    tasks = [
        Task(
            f"sb{s:.4f}-{i:03d}",
            seed,
            {
                **base,
                "s_over_b": s,
                "methods": args.methods if s <= args.trained_up_to else ["mass_only"],
            },
        )
        for (s, i), seed in zip(keys, seeds, strict=True)
    ]
    store = ResultStore(out / "tasks")
    if not args.summary_only:
        t0 = time.perf_counter()
        run = run_tasks(
            pseudo_experiment,
            tasks,
            store,
            executor=ExecutorConfig(kind=args.executor, n_workers=args.workers),
        )
        print(f"ran {run.n_run} tasks in {time.perf_counter() - t0:.0f} s; failed: {run.n_failed}")
    wanted = {t.key for t in tasks}
    records = [r for r in store.read_all() if r["key"] in wanted]
    settings = json.dumps({k: v for k, v in base.items() if k != "methods"})
    print(f"{len(records)} pseudo-datasets; settings: {settings}")
    summarize(records, out)


if __name__ == "__main__":
    main()

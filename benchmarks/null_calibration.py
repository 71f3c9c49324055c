"""Calibration of the search on background-only data: full searches, training included (issue 11).

A search is honest when, on data with no signal, its local significances are standard normal and its
global p-values uniform. This benchmark measures both on background-only pseudo-datasets, each searched
from scratch by the same code as ``bumphunt run``: the detector is trained in every window
(``bumphunt.search.build_detector`` with the default settings of ``bumphunt.config.MethodConfig``), every
event gets its score (``window_scores``), the scores are cut at the default sideband efficiencies and the
SR count is tested against each background estimate of ``bumphunt.stats.selection.BACKGROUNDS``
(``selection_scan``). For CATHODE a third estimate is measured beside them: the uncut sideband fit times
the fraction of flow samples passing the cut (``flow_samples``).

Pseudo-datasets: the background-only sample is shuffled (seeded) and split into disjoint parts, one per
pseudo-experiment. Events of a generated sample are independent and identically distributed, so the
parts are independent samples of the same process; unlike bootstraps of one sample (which scatter
around that sample's own fluctuations, not around the truth), their significances can be compared with
the standard normal distribution directly. The price is size: each part holds ``1 / n`` of the events.

Two modes:

``window``  one window (``--sr``; as sidebands every mass of ``--scan`` outside the SR, the search's
            default, or 200 GeV with ``--sideband-mode adjacent``), ``--n`` parts: the distribution of
            the local Z at each efficiency (mean, width, KS test against N(0, 1), fraction above 2).
``scan``    a sliding scan (``--scan start stop``, SR 400 GeV in steps of 200), ``--n`` parts: the local Z
            per window and efficiency, the largest local Z, and the global p-value of each scan from
            ``--toys`` background-only toys of the same estimate (``uniform_score_statistic``), tested for
            uniformity (KS) with the fraction beyond 2 sigma.

The IAD (reference) of part ``i`` uses part ``i + 1`` as its background-only sample.

Pseudo-experiments run through ``bumphunt.executors.run_tasks`` (``--workers`` local processes, or a Dask
LocalCluster with ``--executor dask``; one result file each under ``--out``: a rerun resumes). Usage:

    python benchmarks/null_calibration.py --data qcd.h5 --mode window --sr 3000 3400 --n 50 \
        --methods cathode cwola iad --out calib-window
    python benchmarks/null_calibration.py --data qcd.h5 --mode scan --scan 2800 4600 --n 20 \
        --methods cathode cwola --toys 200 --out calib-scan
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bumphunt.config import MethodConfig, StatisticsConfig, WindowsConfig
from bumphunt.events import Window
from bumphunt.executors import ExecutorConfig, ResultStore, Task, run_tasks, spawn_seeds
from bumphunt.stats import sliding_windows
from bumphunt.stats.selection import BACKGROUNDS, selection_scan

SIDEBAND_WIDTH = 200.0
SIDEBAND_MODE = WindowsConfig.model_fields["sideband_mode"].default
"""The search's default sidebands (``--sideband-mode``)."""
STATISTICS = StatisticsConfig()
"""The default statistics settings: efficiencies, shape, bin width."""
ESTIMATES = list(BACKGROUNDS)
"""Background estimates analysed (``--backgrounds``; each costs look-elsewhere toys in scan mode)."""

MIN_SIDEBAND_EVENTS = [STATISTICS.min_sideband_events]
"""Fewest selected events per sideband (``--min-sideband-events`` to analyse small parts at tight cuts)."""

EFFICIENCY_DEGREE: list[int | str] = [STATISTICS.efficiency_degree]
"""Degree of the efficiency fit (``--efficiency-degree``: an integer or ``auto``)."""


def _windows(params: dict[str, Any]) -> list[Window]:
    mode = params.get("sideband_mode", "adjacent")
    start, stop = params["scan"]
    if params["mode"] == "window":
        if mode == "range":
            return [Window.from_edges(start, *params["sr"], stop)]
        return [Window.around(tuple(params["sr"]), SIDEBAND_WIDTH)]
    return sliding_windows(start, stop, sr_width=400.0, sb_width=SIDEBAND_WIDTH, step=200.0, sidebands=mode)


def _parts(data: str, n: int, seed: int) -> tuple[Any, list[np.ndarray]]:
    from bumphunt.io import read_events

    events = read_events(data)
    order = np.random.default_rng(seed).permutation(len(events))
    return events, np.array_split(order, n)


def pseudo_experiment(task: Task) -> dict[str, Any]:
    """Train the detector in every window of one part; keep masses and scores (and flow samples)."""
    import torch
    from threadpoolctl import threadpool_limits

    from bumphunt.search import build_detector, window_scores

    p = task.params
    torch.set_num_threads(1)
    events, parts = _parts(p["data"], p["n"], p["split_seed"])
    part = events.take(np.sort(parts[p["index"]]))
    background = events.take(np.sort(parts[(p["index"] + 1) % p["n"]])) if p["method"] == "iad" else None
    out: dict[str, Any] = {"windows": [], "n_events": len(part)}
    with threadpool_limits(limits=1):
        for window in _windows(p):
            t0 = time.perf_counter()
            inside = part.take(window.in_window(part.mass))
            settings = {**p.get("method_settings", {}), "name": p["method"], "seed": task.seed % 2**31}
            detector = build_detector(MethodConfig.model_validate(settings))
            scores = window_scores(detector, inside, window, background)
            entry = {
                "sr": list(window.sr),
                "sb": [list(s) for s in window.sb],
                "mass": inside.mass.round(3).tolist(),
                "scores": scores.astype(np.float32).tolist(),
                "seconds": time.perf_counter() - t0,
            }
            if p["method"] == "cathode":
                entry["sample_scores"] = detector.reference_scores_.astype(np.float32).tolist()
                check = detector.background_check_
                entry["flow_check_auc"] = None if check is None else check.auc
                # the group of each sideband event (in window order): its flow never saw it
                entry["sb_groups"] = detector.sideband_groups_.tolist()
            out["windows"].append(entry)
    return out


def _selection(background: str) -> dict[str, Any]:
    return {
        "bin_width": STATISTICS.bin_width,
        "efficiencies": STATISTICS.efficiencies,
        "shape": STATISTICS.shape,
        "method": "cut_and_count",
        "background": background,
        "min_sideband_events": MIN_SIDEBAND_EVENTS[0],
        "efficiency_degree": EFFICIENCY_DEGREE[0],
    }


def _flow_sample_z(mass: np.ndarray, scores: np.ndarray, samples: np.ndarray, window: Window) -> list[float]:
    """Signed Z of the flow-samples estimate: uncut sideband fit x fraction of samples passing."""
    from bumphunt.stats import cut_and_count, fit_sidebands
    from bumphunt.stats.selection import sideband_thresholds

    fit = fit_sidebands(mass, window, STATISTICS.shape, bin_width=STATISTICS.bin_width)
    b_all, b_err = fit.integral(window.sr_low, window.sr_high)
    in_sr = window.in_sr(mass)
    out = []
    for cut in sideband_thresholds(scores[~in_sr], STATISTICS.efficiencies):
        fraction = max(float(np.mean(samples >= cut)), 1.0 / samples.size)
        err = math.hypot(b_err * fraction, b_all * math.sqrt(fraction * (1 - fraction) / samples.size))
        out.append(cut_and_count(float(np.sum(scores[in_sr] >= cut)), b_all * fraction, err).z_signed)
    return out


def window_z(entry: dict[str, Any]) -> dict[str, list[float | None]]:
    """Signed local Z at each efficiency for each background estimate (None: the point failed)."""
    window = Window(sr=tuple(entry["sr"]), sb=tuple(tuple(s) for s in entry["sb"]))
    mass, scores = np.asarray(entry["mass"]), np.asarray(entry["scores"], dtype=np.float64)
    out: dict[str, list[float | None]] = {}
    for background in ESTIMATES:
        scan = selection_scan(mass, scores, window, **_selection(background))
        out[background] = [p.count.z_signed if p.status == "ok" else None for p in scan.points]
    if "sample_scores" in entry:
        out["flow_samples"] = _flow_sample_z(mass, scores, np.asarray(entry["sample_scores"]), window)
    return out


def _moments(z: np.ndarray) -> str:
    n = z.size
    if n < 3:
        return f"{n:>3}  (too few)"
    mean, std = z.mean(), z.std(ddof=1)
    ks = stats.kstest(z, "norm").pvalue
    beyond = np.mean(z > 2.0)
    expected = stats.norm.sf(2.0)
    return (
        f"{n:>3}  mean {mean:+.2f} +- {std / math.sqrt(n):.2f}  width {std:.2f} +- "
        f"{std / math.sqrt(2 * (n - 1)):.2f}  KS p {ks:.3f}  Z>2 {beyond:.3f} "
        f"(expected {expected:.3f} +- {math.sqrt(expected * (1 - expected) / n):.3f})"
    )


def summarize(records: list[dict[str, Any]], toys: int) -> None:
    """Print the calibration tables."""
    from bumphunt.stats import fit_background, get_shape
    from bumphunt.stats.look_elsewhere import global_significance, uniform_score_statistic

    by_method: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_method.setdefault(record["params"]["method"], []).append(record)
    effs = STATISTICS.efficiencies
    for method, recs in sorted(by_method.items()):
        zs = [[window_z(w) for w in r["result"]["windows"]] for r in recs]
        estimates = list(zs[0][0])
        n_events = np.mean([r["result"]["n_events"] for r in recs])
        seconds = np.mean([w["seconds"] for r in recs for w in r["result"]["windows"]])
        print(
            f"\n== {method}: {len(recs)} pseudo-experiments of {n_events:.0f} events, {seconds:.1f} s/window"
        )
        checks = [w.get("flow_check_auc") for r in recs for w in r["result"]["windows"]]
        if any(c is not None for c in checks):
            c = np.array([x for x in checks if x is not None])
            print(
                f"   flow check AUC: median {np.median(c):.3f}, 68% [{np.quantile(c, 0.16):.3f}, "
                f"{np.quantile(c, 0.84):.3f}]"
            )
        for estimate in estimates:
            print(f"-- background estimate: {estimate}")
            for k, eff in enumerate(effs):
                values = [w[estimate][k] for per in zs for w in per if w[estimate][k] is not None]
                print(f"   eff {eff:<5g} {_moments(np.asarray(values))}")
            if recs[0]["params"]["mode"] == "scan" and estimate in ESTIMATES:
                _global(
                    recs,
                    zs,
                    estimate,
                    toys,
                    fit_background,
                    get_shape,
                    global_significance,
                    uniform_score_statistic,
                )


_TOYS: dict[tuple[int, str], np.ndarray] = {}
"""Look-elsewhere toys per (part, estimate): their null does not depend on the detector, so all share."""


def _global(recs, zs, estimate, toys, fit_background, get_shape, global_significance, statistic_of) -> None:
    """Largest local Z and global p-value of each scan, from toys of the same background estimate."""
    params = recs[0]["params"]
    windows = _windows(params)
    low, high = windows[0].sb_low, windows[-1].sb_high
    p_values, maxima = [], []
    for record, per in zip(recs, zs, strict=True):
        observed = max(max((z for z in w[estimate] if z is not None), default=0.0) for w in per)
        observed = max(observed, 0.0)
        key = (record["params"]["index"], estimate)
        if key not in _TOYS:
            mass = np.concatenate([np.asarray(w["mass"]) for w in record["result"]["windows"]])
            mass = np.unique(mass)  # windows overlap: every event once
            edges = np.linspace(low, high, round((high - low) / STATISTICS.bin_width) + 1)
            counts = np.histogram(mass, bins=edges)[0].astype(np.float64)
            null = fit_background(counts, edges, get_shape(STATISTICS.shape, (low, high)))
            statistic = statistic_of(null, windows, **_selection(estimate))
            _TOYS[key] = global_significance(0.0, statistic, n_toys=toys, seed=key[0]).toys
        p_values.append(float(np.mean(_TOYS[key] >= observed)))
        maxima.append(observed)
    p = np.asarray(p_values)
    n = p.size
    beyond = np.mean(p < stats.norm.sf(2.0))
    expected = stats.norm.sf(2.0)
    print(f"   largest local Z: median {np.median(maxima):.2f}, max {np.max(maxima):.2f}")
    print(
        f"   global p-values ({toys} toys each): KS p {stats.kstest(p, 'uniform').pvalue:.3f}, "
        f"global Z > 2 in {beyond:.3f} (expected {expected:.3f} +- "
        f"{math.sqrt(expected * (1 - expected) / n):.3f}); p = {np.round(np.sort(p), 3).tolist()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--data", required=True, help="background-only events (any format of bumphunt run)")
    parser.add_argument("--mode", choices=["window", "scan"], default="window")
    parser.add_argument("--sr", type=float, nargs=2, default=[3000.0, 3400.0], help="SR of window mode")
    parser.add_argument("--scan", type=float, nargs=2, default=[2800.0, 4600.0], help="scan range (GeV)")
    parser.add_argument("--n", type=int, default=50, help="pseudo-experiments (disjoint parts)")
    parser.add_argument("--methods", nargs="+", default=["cathode", "cwola", "iad"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="local processes or a Dask LocalCluster with --workers workers",
    )
    parser.add_argument("--toys", type=int, default=200, help="look-elsewhere toys per scan")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", required=True, help="directory of the per-experiment result files")
    parser.add_argument("--summary-only", action="store_true", help="summarise what is stored")
    parser.add_argument(
        "--method-settings",
        type=json.loads,
        default={},
        help='JSON of method settings other than the defaults, e.g. \'{"flow": {"kind": "maf"}}\'',
    )
    parser.add_argument(
        "--min-sideband-events",
        type=float,
        default=STATISTICS.min_sideband_events,
        help="fewest selected events per sideband in the analysis (default: the search's)",
    )
    parser.add_argument(
        "--backgrounds",
        nargs="+",
        choices=BACKGROUNDS,
        default=list(BACKGROUNDS),
        help="background estimates to analyse (default: all)",
    )
    parser.add_argument(
        "--sideband-mode",
        choices=["adjacent", "range"],
        default=SIDEBAND_MODE,
        help="sidebands of 200 GeV, or every mass of --scan outside the SR (also in window mode; "
        "default: the search's)",
    )
    parser.add_argument(
        "--efficiency-degree", default=None, help="an integer or auto (default: the search's)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.efficiency_degree is not None:
        degree = args.efficiency_degree
        EFFICIENCY_DEGREE[0] = degree if degree == "auto" else int(degree)
    ESTIMATES[:] = args.backgrounds
    MIN_SIDEBAND_EVENTS[0] = args.min_sideband_events

    base = {
        "data": str(Path(args.data).resolve()),
        "n": args.n,
        "split_seed": args.seed,
        "mode": args.mode,
        "sr": args.sr,
        "scan": args.scan,
        "method_settings": args.method_settings,
        "sideband_mode": args.sideband_mode,
    }
    keys = [(m, i) for i in range(args.n) for m in args.methods]  # methods interleaved
    seeds = spawn_seeds(args.seed, len(keys))
    tasks = [
        Task(f"{m}-{args.mode}-{i:03d}", s, {**base, "method": m, "index": i})
        for (m, i), s in zip(keys, seeds, strict=True)
    ]
    store = ResultStore(args.out)
    if not args.summary_only:
        t0 = time.perf_counter()
        summary = run_tasks(
            pseudo_experiment,
            tasks,
            store,
            executor=ExecutorConfig(kind=args.executor, n_workers=args.workers),
        )
        print(
            f"ran {summary.n_run} tasks in "
            f"{time.perf_counter() - t0:.0f} s on {args.workers} {args.executor} workers; "
            f"failed: {summary.n_failed}"
        )
    wanted = {t.key for t in tasks}
    records = [r for r in store.read_all() if r["key"] in wanted]
    summarize(records, args.toys)
    print(json.dumps({"n_records": len(records)}))


if __name__ == "__main__":
    main()

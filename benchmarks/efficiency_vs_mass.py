"""Why background-only data looked like a discovery: the selection efficiency of real detectors (issue 11).

On background-only generated events, each detector (CATHODE, CWoLa and the IAD, default settings of
``bumphunt.config.MethodConfig``) is trained in one window, exactly as ``bumphunt run`` does, and its
scores are cut at the default sideband efficiencies. Printed for each cut:

* the fraction of SR and of sideband (SB) events passing, with the sideband events scored two ways:
  ``averaged`` by the mean of the fold models (what bumphunt did before), ``one fold`` by a single fold
  model each, like the SR events' out-of-fold scores (what it does now);
* the pass fraction per mass bin across the window (the efficiency-versus-mass curve);
* the local significance of the SR count with each background estimate (``sideband_fit``: fit of the
  selected sidebands; ``efficiency_fit``: uncut sideband fit times the efficiency fitted across the
  sidebands), and with the old averaged sideband scores and the selected-sideband fit;
* for CATHODE the flow check (AUC of held-out sideband data against flow samples), and for every
  detector the features' correlation with the mass in the window.

The events are split in two halves (seeded): the search runs on the first, the IAD takes its
background-only sample from the second.

Usage: python benchmarks/efficiency_vs_mass.py --data qcd.parquet [--sr 3000 3400] [--methods ...]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from bumphunt.config import MethodConfig, StatisticsConfig
from bumphunt.events import Window
from bumphunt.io import read_events
from bumphunt.search import build_detector
from bumphunt.stats import sideband_thresholds
from bumphunt.stats.selection import selection_scan

STATISTICS = StatisticsConfig()


def _fraction(passed: np.ndarray) -> str:
    n = passed.size
    p = float(np.mean(passed)) if n else float("nan")
    return f"{p:.4f} +- {np.sqrt(p * (1 - p) / max(n, 1)):.4f}"


def _z(mass: np.ndarray, scores: np.ndarray, window: Window, background: str) -> list[str]:
    scan = selection_scan(
        mass,
        scores,
        window,
        bin_width=STATISTICS.bin_width,
        efficiencies=STATISTICS.efficiencies,
        shape=STATISTICS.shape,
        background=background,
    )
    return [f"{p.count.z_signed:+.2f}" if p.status == "ok" else "failed" for p in scan.points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="background-only events")
    parser.add_argument("--sr", type=float, nargs=2, default=[3000.0, 3400.0])
    parser.add_argument("--methods", nargs="+", default=["cathode", "cwola", "iad"])
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    events = read_events(args.data)
    order = np.random.default_rng(args.seed).permutation(len(events))
    half_a, half_b = (events.take(np.sort(h)) for h in np.array_split(order, 2))
    window = Window.around(tuple(args.sr), 200.0)
    inside = half_a.take(window.in_window(half_a.mass))
    in_sr = window.in_sr(inside.mass)
    print(
        f"{len(events)} background-only events from {events.source}; window {window.label}: "
        f"{int(in_sr.sum())} SR and {int((~in_sr).sum())} SB events in the searched half"
    )
    corr = [np.corrcoef(inside.mass, inside.features[:, j])[0, 1] for j in range(inside.features.shape[1])]
    print(
        "features' correlation with the mass in the window: "
        + ", ".join(f"{n} {c:+.3f}" for n, c in zip(inside.feature_names, corr, strict=True))
    )
    edges = np.arange(window.sb_low, window.sb_high + 1.0, 100.0)
    for method in args.methods:
        t0 = time.perf_counter()
        detector = build_detector(MethodConfig(name=method, seed=args.seed))
        if method == "iad":
            detector.fit(inside, window, background=half_b)
        else:
            detector.fit(inside, window)
        scores = detector.window_scores(inside, window)
        averaged = scores.copy()
        averaged[~in_sr] = detector.score(inside.take(~in_sr))
        print(f"\n== {method} ({time.perf_counter() - t0:.0f} s)")
        check = getattr(detector, "background_check_", None)
        if check is not None:
            print(
                f"flow check: AUC {check.auc:.4f} (statistics alone +- {check.null_std:.4f}, "
                f"pull {check.pull:.1f})"
            )
        print(
            f"SB score spread: one fold {np.std(scores[~in_sr]):.4f}, averaged {np.std(averaged[~in_sr]):.4f}"
            f"; SR out-of-fold {np.std(scores[in_sr]):.4f}"
        )
        for eff in STATISTICS.efficiencies[1:]:
            cut_new = sideband_thresholds(scores[~in_sr], [eff])[0]
            cut_old = sideband_thresholds(averaged[~in_sr], [eff])[0]
            print(
                f"cut {eff:<5g} SR pass: one-fold cut {_fraction(scores[in_sr] >= cut_new)}, averaged cut "
                f"{_fraction(scores[in_sr] >= cut_old)}; SB pass {_fraction(scores[~in_sr] >= cut_new)}"
            )
            per_bin = [
                np.mean(scores[(inside.mass >= lo) & (inside.mass < hi)] >= cut_new) / eff
                for lo, hi in itertools.pairwise(edges)
            ]
            print("   efficiency / target per 100 GeV bin: " + " ".join(f"{v:.2f}" for v in per_bin))
        effs = " ".join(f"{e:g}" for e in STATISTICS.efficiencies)
        print(f"local Z at efficiencies {effs}:")
        old = " ".join(_z(inside.mass, averaged, window, "sideband_fit"))
        print(f"   old (averaged SB scores, sideband_fit): {old}")
        for background in ("sideband_fit", "efficiency_fit"):
            new = " ".join(_z(inside.mass, scores, window, background))
            print(f"   one-fold SB scores, {background}: {new}")


if __name__ == "__main__":
    main()

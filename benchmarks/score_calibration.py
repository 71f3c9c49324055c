"""Does a cut on a real anomaly score sculpt a bump in background-only generated events?

Calibration of the bump-hunt significance with a real score (issue: statistics). Input: a QCD
features file written by ``bumphunt generate dijet`` (background only). Steps:

1. The events are read with the CATHODE features and split in two halves A and B (seeded).
2. CWoLa (SR vs sidebands, ``bumphunt.methods.CWoLa``) is trained on half A; its average fold classifier
   scores every event of half B: a real anomaly score, trained on independent events, that can pick up
   the correlation of the jet masses with mjj, the usual way a selection sculpts the spectrum.
3. Background-only pseudo-experiments: each toy draws a Poisson number of masses (mean: the size of B
   divided by ``--toy-fraction``) from the ``--shape`` fitted to all of B's window, and gives each toy event
   the score of a random B event from the same mass bin. The toys are independent in their counts and
   keep B's score distribution at each mass, so a score that sculpts a bump would show it in every toy.
   B's finite size is shared by all toys: its per-bin efficiency noise is about ``sqrt(--toy-fraction)``
   of a toy's own Poisson noise and adds to it in every toy. Keep the fraction small (default 0.05, so
   5 % extra variance); at 0.2 the shared noise visibly widens the low-efficiency p-value distributions.
4. In every toy the score is cut at fixed sideband efficiencies, the sidebands are fitted, the SR is
   counted (``bumphunt.stats.selection_scan``), and the local p-values are tested for uniformity (KS) and
   for the fraction beyond 2 sigma (expected 2.275 %).

Usage: python benchmarks/score_calibration.py QCD.h5 [--toys 500] [--window 3000 3300 3700 4400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bumphunt.events import Window
from bumphunt.io.lhco_features import read_lhco_features
from bumphunt.methods import CWoLa, HGBEnsemble
from bumphunt.stats import fit_background, get_shape, sample_masses, selection_scan, summarize_p_values
from bumphunt.stats.fit import window_histogram


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qcd")
    parser.add_argument("--toys", type=int, default=500)
    parser.add_argument("--window", type=float, nargs=4, default=[3000.0, 3300.0, 3700.0, 4400.0],
                        metavar=("SB_LOW", "SR_LOW", "SR_HIGH", "SB_HIGH"))  # fmt: skip
    parser.add_argument("--bin-width", type=float, default=50.0)
    parser.add_argument("--shape", default="dijet3", choices=["dijet3", "dijet4", "dijet5"])
    parser.add_argument("--efficiencies", type=float, nargs="+", default=[1.0, 0.25, 0.1, 0.05])
    parser.add_argument("--toy-fraction", type=float, default=0.05, help="toy size / size of half B")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    window = Window.from_edges(*args.window)
    events = read_lhco_features(args.qcd)
    events = events.take(window.in_window(events.mass))
    half_a, half_b = events.split([0.5, 0.5], seed=args.seed)
    start = time.perf_counter()
    detector = CWoLa(HGBEnsemble(args.members), seed=args.seed).fit(half_a, window)
    scores = detector.score(half_b)
    print(f"{args.qcd}: {len(events)} background events in {window.label}; CWoLa trained on {len(half_a)} "
          f"in {time.perf_counter() - start:.0f} s, scores {len(half_b)}")  # fmt: skip

    counts, edges = window_histogram(half_b.mass, window, args.bin_width)
    shape = get_shape(args.shape, (window.sb_low, window.sb_high))
    truth = fit_background(counts, edges, shape)
    print(f"{args.shape} fitted to all of B's window: chi2/ndf = {truth.chi2:.1f}/{truth.ndf}, "
          f"p = {truth.p_value:.3f}")  # fmt: skip
    params = np.array(truth.values, dtype=np.float64)
    params[0] *= args.toy_fraction  # the dijet functions are linear in p0

    bin_of = np.clip(np.searchsorted(edges, half_b.mass, side="right") - 1, 0, len(edges) - 2)
    order = np.argsort(bin_of, kind="stable")
    sorted_scores = scores[order]
    first = np.searchsorted(bin_of[order], np.arange(len(edges) - 1))
    size = np.bincount(bin_of, minlength=len(edges) - 1)

    rng = np.random.default_rng(args.seed)
    p_values: dict[float, list[float]] = {e: [] for e in args.efficiencies}
    failed = dict.fromkeys(args.efficiencies, 0)
    start = time.perf_counter()
    for _ in range(args.toys):
        mass = sample_masses(shape, params, window.sb_low, window.sb_high, rng)
        b = np.clip(np.searchsorted(edges, mass, side="right") - 1, 0, len(edges) - 2)
        toy_scores = sorted_scores[first[b] + (rng.random(len(mass)) * size[b]).astype(int)]
        scan = selection_scan(mass, toy_scores, window, bin_width=args.bin_width,
                              efficiencies=args.efficiencies, shape=args.shape)  # fmt: skip
        for point in scan.points:
            if point.p_value is None:
                failed[point.efficiency] += 1
            else:
                p_values[point.efficiency].append(point.p_value)
    print(f"{args.toys} toys of about {round(len(half_b) * args.toy_fraction)} events in "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    print("SB efficiency   toys   KS p-value   fraction beyond 2 sigma (expected 0.0228)")
    for efficiency in args.efficiencies:
        summary = summarize_p_values(p_values[efficiency], failed[efficiency])
        print(f"{efficiency:>13}   {len(p_values[efficiency]):>4}   {summary.ks_p_value:10.3f}   "
              f"{summary.fraction_beyond_2sigma:.4f} +- {summary.fraction_beyond_2sigma_error:.4f}"
              f"{f'  ({failed[efficiency]} failed)' if failed[efficiency] else ''}")  # fmt: skip


if __name__ == "__main__":
    main()

"""CATHODE's flow check against the number of events each flow trains on (issue 13).

Is the flows' mismodelling of the sidebands a limit of the model (bias) or of the training events
(variance)? This benchmark holds the check's events fixed and gives the flow more training events.

Inputs are files of ``bumphunt generate dijet``: ``--qcd`` plays the data as in
``benchmarks/peer_cathode.py`` (shuffled with the seed, its first two thirds; no signal, since the check
concerns the sidebands' background), ``--extra-qcd`` one or more independent QCD samples. For each seed
the data's sideband events (every event outside ``--sr``) are split in two groups as ``Cathode`` splits
them, and for each group:

* a ``ConditionalFlow`` (the library's default, or ``--preprocessing minmax-logit``) trains on the other
  group's events plus ``(k - 1)`` times as many independent sideband events (the rest of ``--qcd`` and
  ``--extra-qcd``), for each ``k`` of ``--multiples``; the group's events stop its training, as in
  ``Cathode``;
* ``bumphunt.methods.flow_check`` compares the group's events with one sample each at their masses:
  out-of-fold AUC and pull (AUC - 0.5 in units of its Mann-Whitney standard deviation for a perfect
  model);
* the same check with independent real sideband events in place of the samples measures what a
  perfect model reads (the null reference, measured in the same run).

``Cathode`` reports the mean of its two groups' AUCs with the combined standard deviation; the summary
gives that combined pull for each ``k``, and the bar a check within 2 standard deviations must stay
under.

Usage:
    python benchmarks/flow_check_scaling.py --qcd qcd_2026.h5 --extra-qcd qcd_2027.h5 \
        --sr 3000 3400 --seeds 1 2 3 --multiples 1 2 3 [--preprocessing default|minmax-logit]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bumphunt.io import read_events
from bumphunt.methods import BackgroundCheck, ConditionalFlow, flow_check
from bumphunt.methods.kfold import assign_folds
from bumphunt.methods.preprocessing import Chain, MinMaxLogit, Standardize
from bumphunt.seeding import child_seeds
from peer_cathode import FEATURES  # this directory's peer benchmark: the same four features


class RealEvents:
    """Plays a perfect flow: its "samples" are independent real sideband events (the null reference)."""

    def __init__(self, features: np.ndarray) -> None:
        self.features = features

    def sample(self, n: int, m: np.ndarray, *, seed: int) -> np.ndarray:
        if n > len(self.features):
            raise SystemExit(f"the null reference needs {n} independent events, has {len(self.features)}")
        rows = np.random.default_rng(seed).choice(len(self.features), size=n, replace=False)
        return self.features[rows]


def table(path: str) -> np.ndarray:
    """``[mjj, features...]`` of one file (GeV)."""
    events = read_events(path).with_features(FEATURES)
    return np.column_stack([events.mass, events.features])


def make_flow(preprocessing: str, seed: int) -> ConditionalFlow:
    if preprocessing == "minmax-logit":
        return ConditionalFlow(preprocessing=Chain([MinMaxLogit(alpha=1e-3), Standardize()]), seed=seed)
    return ConditionalFlow(seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qcd", required=True, help="QCD events that play the data")
    parser.add_argument("--extra-qcd", nargs="+", required=True, help="independent QCD events")
    parser.add_argument("--sr", type=float, nargs=2, default=[3000.0, 3400.0], help="signal region (GeV)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--preprocessing", choices=["default", "minmax-logit"], default="default")
    args = parser.parse_args()
    if min(args.multiples) < 1:
        raise SystemExit(f"--multiples must be >= 1, got {args.multiples}")

    lo, hi = args.sr
    qcd = table(args.qcd)
    extra = np.concatenate([table(path) for path in args.extra_qcd])
    outside = lambda rows: rows[(rows[:, 0] < lo) | (rows[:, 0] >= hi)]  # noqa: E731
    print(f"flow check vs training events; SR [{lo:g}, {hi:g}) GeV, preprocessing {args.preprocessing}")
    print(f"{'seed':>4} {'group':>5} {'train':>7} {'check':>6} {'AUC':>7} {'pull':>6} {'fit s':>6}")
    results: dict[int, list[BackgroundCheck]] = {k: [] for k in args.multiples}
    nulls: list[BackgroundCheck] = []
    for seed in args.seeds:
        shuffled = np.random.default_rng(seed).permutation(qcd)
        cut = 2 * len(shuffled) // 3
        sideband = outside(shuffled[:cut])
        independent = outside(np.concatenate([shuffled[cut:], extra]))
        pool = np.random.default_rng(seed + 1000).permutation(independent)
        group_seed, flow_seed, check_seed = child_seeds(seed, 3)
        groups = assign_folds(len(sideband), 2, group_seed)
        for j, (fs, cs) in enumerate(zip(child_seeds(flow_seed, 2), child_seeds(check_seed, 2), strict=True)):
            held, train = sideband[groups == j], sideband[groups != j]
            null = flow_check(RealEvents(pool[:, 1:]), held[:, 1:], held[:, 0], seed=cs)
            nulls.append(null)
            print(f"{seed:>4} {j:>5} {'(real)':>7} {len(held):>6} {null.auc:>7.4f} {null.pull:>+6.1f}")
            for k in args.multiples:
                n_extra = (k - 1) * len(train)
                if n_extra > len(pool):
                    raise SystemExit(f"--multiples {k} needs {n_extra} independent events, has {len(pool)}")
                events = np.concatenate([train, pool[:n_extra]])
                start = time.perf_counter()
                flow = make_flow(args.preprocessing, fs).fit(
                    events[:, 1:], events[:, 0], validation=(held[:, 1:], held[:, 0])
                )
                seconds = time.perf_counter() - start
                check = flow_check(flow, held[:, 1:], held[:, 0], seed=cs)
                results[k].append(check)
                row = (
                    f"{seed:>4} {j:>5} {len(events):>7} {len(held):>6} {check.auc:>7.4f} {check.pull:>+6.1f}"
                )
                print(f"{row} {seconds:>6.1f}", flush=True)

    print("\ntwo-group check (the mean of a seed's two groups, as Cathode reports it):")
    print(f"  real events in place of samples: {summary(nulls)}")
    for k in args.multiples:
        print(f"  flows on {k}x the events: {summary(results[k])}")


def summary(checks: list[BackgroundCheck]) -> str:
    """Mean AUC, each seed's two-group pull (as ``Cathode`` combines its groups) and the 2-sigma bar."""
    seeds = [BackgroundCheck.combine(checks[i : i + 2]) for i in range(0, len(checks), 2)]
    mean = np.mean([check.auc for check in checks])
    listed = ", ".join(f"{check.pull:+.1f}" for check in seeds)
    bar = 0.5 + 2 * np.mean([check.null_std for check in seeds])
    return f"mean AUC {mean:.4f}, pulls {listed} (2 sigma: AUC < {bar:.4f})"


if __name__ == "__main__":
    main()

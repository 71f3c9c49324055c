"""Supervised, IAD, CATHODE and CWoLa compared on generated LHCO-style events (issue: weak supervision).

Inputs are files written by ``bumphunt generate dijet`` (any layout ``bumphunt run`` reads):

* ``--qcd``: the QCD background that plays the data (at least 100k events for the figures of record);
* ``--extra-qcd``: a separate QCD sample; its SR events are split in half, one half the background-only
  sample of the idealized anomaly detector (and of the supervised reference), the other the test set;
* ``--signal``: W' -> X Y events; one part is injected into the data, the rest trains the supervised
  reference and fills the test set.

For each injected S/B in the signal region and each seed, every detector is fitted on the data and
scored on the test set (SR background of the extra sample plus held-out SR signal): AUC and max SIC
(counted where at least ``--min-background`` test background events survive), and the wall time of
the fit. The table gives the median and the 68 % band (16th-84th percentiles) over seeds.

Usage:
  python benchmarks/weak_supervision.py --qcd qcd.h5 --extra-qcd qcd_extra.h5 --signal wprime.h5 \
      [--s-over-b 0 0.01 0.02 0.05] [--seeds 3] [--methods supervised iad cathode cwola]
      [--members 10] [--flow-kind nsf] [--flow-epochs 100] [--flow-patience 6] [--flow-schedule cosine]
      [--flow-preprocessing default] [--flow-snapshots 10] [--flow-members 1] [--mass-scaled none]
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np

from bumphunt.events import EventSet, Window, concatenate
from bumphunt.io import read_events
from bumphunt.methods import (
    Cathode,
    ConditionalFlow,
    CWoLa,
    FlowMixture,
    HGBEnsemble,
    IdealizedAD,
    Supervised,
)
from bumphunt.methods.preprocessing import Chain, MinMaxLogit, QuantileNormal, Standardize
from bumphunt.stats.metrics import auc, max_sic

METHODS = ("supervised", "iad", "cathode", "cwola")
Detector = Supervised | IdealizedAD | Cathode | CWoLa


def _with_label(events: EventSet, label: int) -> EventSet:
    return EventSet(
        events.mass, events.features, events.feature_names, label=np.full(len(events), label),
        provenance=events.provenance,
    )  # fmt: skip


def build_samples(args: argparse.Namespace, window: Window) -> dict[str, EventSet]:
    """Read the files and cut them into the data background, IAD background, signal pools, test set."""
    qcd = _with_label(read_events(args.qcd), 0)
    extra_sr = _with_label(read_events(args.extra_qcd), 0).signal_region(window)
    signal = _with_label(read_events(args.signal), 1)
    iad_background, test_background = extra_sr.split([0.5, 0.5], seed=args.split_seed)
    injection_pool, supervised_signal, test_signal = signal.split([0.5, 0.25, 0.25], seed=args.split_seed)
    return {
        "data_background": qcd.take(window.in_window(qcd.mass)),
        "iad_background": iad_background,
        "injection_pool": injection_pool,
        "supervised": concatenate([iad_background, supervised_signal.signal_region(window)]),
        "test": concatenate([test_background, test_signal.signal_region(window)]),
    }


def inject(samples: dict[str, EventSet], window: Window, s_over_b: float, seed: int) -> tuple[EventSet, int]:
    """Data = background + signal events drawn from the pool so that S/B in the SR is ``s_over_b``."""
    background = samples["data_background"]
    pool = samples["injection_pool"]
    n_sr_background = int(np.count_nonzero(window.in_sr(background.mass)))
    fraction_in_sr = np.count_nonzero(window.in_sr(pool.mass)) / len(pool)
    n_inject = round(s_over_b * n_sr_background / fraction_in_sr)
    if n_inject > len(pool):
        raise SystemExit(f"S/B {s_over_b}: needs {n_inject} signal events, the pool has {len(pool)}")
    chosen = np.random.default_rng(seed).choice(len(pool), n_inject, replace=False)
    injected = pool.take(np.sort(chosen))
    data = concatenate([background, injected.take(window.in_window(injected.mass))])
    return data, int(np.count_nonzero(window.in_sr(injected.mass)))


def make_detector(name: str, args: argparse.Namespace, seed: int) -> Detector:
    """The detector with the library's defaults, except for the flow settings given on the command line."""
    classifier = HGBEnsemble(args.members)
    if name == "cathode":
        given = {
            "kind": args.flow_kind,
            "max_epochs": args.flow_epochs,
            "patience": args.flow_patience,
            "lr_schedule": args.flow_schedule,
            "snapshots": args.flow_snapshots,
        }
        if args.flow_preprocessing == "minmax-logit":
            given["preprocessing"] = Chain([MinMaxLogit(alpha=1e-3), Standardize()])
        elif args.flow_preprocessing == "quantile":
            given["preprocessing"] = Chain([QuantileNormal(), Standardize()])
        flow: ConditionalFlow | FlowMixture = ConditionalFlow(
            **{k: v for k, v in given.items() if v is not None}
        )
        if args.flow_members > 1:
            flow = FlowMixture(flow, members=args.flow_members)
        mass_scaled = {"auto": "auto", "none": None}[args.mass_scaled]
        return Cathode(classifier, flow=flow, mass_scaled=mass_scaled, seed=seed)
    return {"supervised": Supervised, "iad": IdealizedAD, "cwola": CWoLa}[name](classifier, seed=seed)


def run_one(
    name: str,
    data: EventSet,
    samples: dict[str, EventSet],
    window: Window,
    args: argparse.Namespace,
    seed: int,
) -> tuple[float, float, float, str]:
    """Fit one detector; its test-set AUC and max SIC, the fit's wall time (s) and a note."""
    detector = make_detector(name, args, seed)
    start = time.perf_counter()
    if name == "supervised":
        detector.fit(samples["supervised"], window)
    elif name == "iad":
        detector.fit(data, window, background=samples["iad_background"])
    else:
        detector.fit(data, window)
    seconds = time.perf_counter() - start
    test = samples["test"]
    scores = detector.score(test)
    extra = ""
    if name == "cathode":
        check = detector.background_check_
        extra = f" flow check AUC {check.auc:.4f} (pull {check.pull:+.1f})"
    return (
        auc(scores, test.label),
        max_sic(scores, test.label, min_background=args.min_background),
        seconds,
        extra,
    )


def band(values: list[float]) -> str:
    lo, med, hi = np.percentile(values, [16, 50, 84])
    return f"{med:7.3f} [{lo:.3f}, {hi:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qcd", required=True)
    parser.add_argument("--extra-qcd", required=True)
    parser.add_argument("--signal", required=True)
    parser.add_argument("--s-over-b", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.05])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--sr", type=float, nargs=2, default=[3300.0, 3700.0], help="signal region (GeV)")
    parser.add_argument("--sideband-width", type=float, default=400.0, help="GeV on each side")
    parser.add_argument("--members", type=int, default=10, help="boosted-tree ensemble size")
    parser.add_argument("--flow-epochs", type=int, help="default: ConditionalFlow's")
    parser.add_argument("--flow-kind", choices=["maf", "nsf"], help="default: ConditionalFlow's")
    parser.add_argument("--flow-patience", type=int, help="default: ConditionalFlow's")
    parser.add_argument("--flow-schedule", choices=["cosine", "plateau"], help="default: ConditionalFlow's")
    parser.add_argument(
        "--flow-preprocessing",
        choices=["default", "quantile", "minmax-logit"],
        default="default",
        help="features before the flow: ConditionalFlow's default (min-max + logit), or QuantileNormal, "
        "or min-max + logit",
    )
    parser.add_argument("--flow-snapshots", type=int, help="default: ConditionalFlow's")
    parser.add_argument("--flow-members", type=int, default=1, help="flows per group (FlowMixture)")
    parser.add_argument(
        "--mass-scaled",
        choices=["auto", "none"],
        default="none",
        help="Cathode mass_scaled: jet masses divided by mjj before the flow (auto) or not (the default)",
    )
    parser.add_argument("--min-background", type=int, default=50)
    parser.add_argument("--split-seed", type=int, default=2024)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)

    window = Window.around(args.sr, args.sideband_width)
    samples = build_samples(args, window)
    test = samples["test"]
    print(f"window {window.label}; {os.cpu_count()} CPU cores")
    print(f"data background in window: {len(samples['data_background'])} events "
          f"({np.count_nonzero(window.in_sr(samples['data_background'].mass))} in the SR); "
          f"IAD background {len(samples['iad_background'])}; test set {np.sum(test.label == 0)} background + "
          f"{np.sum(test.label == 1)} signal")  # fmt: skip
    print(f"{'S/B':>5} {'method':>10} {'AUC median [68 %]':>26} {'max SIC median [68 %]':>26} {'fit s':>8}")
    for s_over_b in args.s_over_b:
        results: dict[str, list[tuple[float, float, float]]] = {m: [] for m in args.methods}
        for seed in range(args.seeds):
            data, n_sr_signal = inject(samples, window, s_over_b, seed)
            for name in args.methods:
                area, sic, seconds, extra = run_one(name, data, samples, window, args, seed)
                results[name].append((area, sic, seconds))
                logging.info("S/B %g seed %d %s: AUC %.3f max SIC %.2f (%.0f s)%s; %d SR signal events",
                             s_over_b, seed, name, area, sic, seconds, extra, n_sr_signal)  # fmt: skip
        for name in args.methods:
            areas, sics, times = zip(*results[name], strict=True)
            print(f"{s_over_b:5.3f} {name:>10} {band(list(areas)):>26} {band(list(sics)):>26} "
                  f"{np.median(times):8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Interpretable anomaly detection on generated jets (issue 16): autoencoder against its mimickers.

Inputs are jets files of ``bumphunt generate jets`` (QCD background, top, W and scalar signals). For each
of ``--seeds`` seeds the script runs :func:`bumphunt.interpretable.run_interpretation` (the autoencoder
trained on the first ``--train`` background jets, the greedy selection for the HLN and the PNN, AUCs on
``--test`` held-out background jets) and prints

1. per seed: the chosen observables of each mimicker, its ADO with the autoencoder on held-out
   background, and the AUCs of the autoencoder, HLN and PNN for each signal;
2. medians over the seeds, the number of observables each mimicker needs to reach ``--target-ado``
   on the validation jets, and the AUC differences mimicker minus autoencoder (goal: within 0.02);
3. the ADO between the autoencoders of different seeds on the same test jets: how reproducible the
   score to be mimicked is, a ceiling for any mimicker's ADO;
4. the wall time of each run.

With ``--out DIR`` each seed's summary, figures and per-jet scores (``scores.npz``) are written there.
``--jets-cache FILE.npz`` keeps the images and observables of the jets read (computing the EFPs of tens
of thousands of jets takes minutes), so that a rerun with the same files and sizes starts at once.

Usage:
  python benchmarks/interpretable_ad.py --background qcd.h5 --signal top=top.h5 --signal w=w.h5 \\
      --signal scalar=scalar.h5 [--seeds 3] [--steps 8] [--start mass,pt] [--tries 5] \\
      [--train 50000] [--test 20000] \\
      [--ae-epochs 60] [--ae-schedule cosine|plateau] [--ae-learning-rate 1e-2]
      [--ae-warmup 2] [--autoencoders 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bumphunt._files import atomic_path
from bumphunt.interpretable import (
    InterpretPlan,
    JetTable,
    read_interpretation_jets,
    run_interpretation,
    write_interpretation,
)
from bumphunt.physics.jet_images import image_observables, is_image_observable
from bumphunt.stats._records import jsonable
from bumphunt.stats.ordering import average_decision_ordering


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--background", required=True)
    parser.add_argument("--signal", action="append", required=True, help="NAME=FILE, repeatable")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--start", default="", help="comma-separated start observables (paper: mass,pt)")
    parser.add_argument("--tries", type=int, default=5, help="candidates retrained per selection step")
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--validation", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=20_000)
    parser.add_argument("--signal-jets", type=int, default=20_000)
    parser.add_argument("--target-ado", type=float, default=0.9)
    parser.add_argument("--ae-epochs", type=int, default=60)
    parser.add_argument("--ae-schedule", choices=("plateau", "cosine"), default="cosine")
    parser.add_argument("--ae-learning-rate", type=float, default=1e-2)
    parser.add_argument("--ae-warmup", type=int, default=2, help="warm-up epochs (cosine schedule)")
    parser.add_argument("--autoencoders", type=int, default=5, help="autoencoders averaged per seed")
    parser.add_argument("--out", type=Path, default=None, help="write each seed's summary and figures here")
    parser.add_argument("--jets-cache", type=Path, default=None, help="npz of the jets read (reused)")
    args = parser.parse_args()
    signals = dict(item.split("=", 1) for item in args.signal)
    runs, ae_test = [], []
    jets = _load_jets(args.jets_cache) if args.jets_cache and args.jets_cache.exists() else None
    for seed in range(args.seeds):
        plan = InterpretPlan(
            background=args.background,
            signals=signals,
            n_train=args.train,
            n_validation=args.validation,
            n_test=args.test,
            n_signal=args.signal_jets,
            n_steps=args.steps,
            start=tuple(name for name in args.start.split(",") if name),
            selection_tries=args.tries,
            autoencoder_epochs=args.ae_epochs,
            autoencoder_schedule=args.ae_schedule,
            autoencoder_learning_rate=args.ae_learning_rate,
            autoencoder_warmup_epochs=args.ae_warmup,
            n_autoencoders=args.autoencoders,
            seed=seed,
        )
        start = time.perf_counter()
        if jets is not None and seed == 0:
            jets = _check_cache(jets, plan, args.jets_cache)
        if jets is None:
            jets = read_interpretation_jets(plan, progress=lambda text: print("  ", text, flush=True))
            print(f"   read in {time.perf_counter() - start:.0f} s", flush=True)
            if args.jets_cache is not None:
                _save_jets(args.jets_cache, jets)
            start = time.perf_counter()
        summary = run_interpretation(plan, jets=jets, progress=lambda text: print("  ", text, flush=True))
        seconds = time.perf_counter() - start
        if args.out is not None:
            write_interpretation(summary, args.out / f"seed{seed}")
            _save_scores(args.out / f"seed{seed}" / "scores.npz", summary["scores"])
        runs.append({k: v for k, v in summary.items() if k != "scores"} | {"seconds": seconds})
        ae_test.append(summary["scores"]["autoencoder"]["test"])
        print(f"\nseed {seed}: {seconds:.0f} s, sizes {summary['sizes']}")
        losses = [round(v, 1) for v in summary["autoencoder"]["validation_loss"]]
        ae = summary["autoencoder"]
        discarded = [round(v, 1) for v in ae["discarded_validation_loss"]]
        print(
            f"  autoencoders: validation loss {losses}, restarts {ae['restarts']}, "
            f"retrained {ae['retrains']} (losses dropped {discarded})"
        )
        for kind, result in summary["mimickers"].items():
            print(
                f"  {kind.upper()}: ADO validation {result['ado_validation']:.4f}, "
                f"test {result['ado_test']:.4f}; observables {result['chosen']}"
            )
        for name, aucs in summary["auc"].items():
            print(f"  AUC {name}: " + ", ".join(f"{m} {v:.3f}" for m, v in aucs.items()))
    print("\n| signal | autoencoder AUC | HLN AUC | PNN AUC | HLN - AE | PNN - AE |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in signals:
        ae = np.median([r["auc"][name]["autoencoder"] for r in runs])
        hln = np.median([r["auc"][name]["hln"] for r in runs])
        pnn = np.median([r["auc"][name]["pnn"] for r in runs])
        print(f"| {name} | {ae:.3f} | {hln:.3f} | {pnn:.3f} | {hln - ae:+.3f} | {pnn - ae:+.3f} |")
    for kind in ("hln", "pnn"):
        ado = np.median([r["mimickers"][kind]["ado_test"] for r in runs])
        needed = []
        for r in runs:
            steps = r["mimickers"][kind]["selection"]
            reached = [i for i, s in enumerate(steps) if s["validation_ado"] >= args.target_ado]
            needed.append(len(steps[reached[0]]["observables"]) if reached else None)
        print(
            f"{kind.upper()}: median test ADO {ado:.4f}; observables to reach ADO {args.target_ado}: "
            f"{needed} (None: not reached)"
        )
    between = [average_decision_ordering(a, b) for i, a in enumerate(ae_test) for b in ae_test[i + 1 :]]
    if between:
        print(
            f"ADO between autoencoders of different seeds on the test jets: "
            f"{', '.join(f'{v:.4f}' for v in between)} (a ceiling for the mimickers' ADO)"
        )
    print("wall time per seed: " + ", ".join(f"{r['seconds']:.0f} s" for r in runs))
    if args.out is not None:
        (args.out / "runs.json").write_text(json.dumps(jsonable(runs), indent=1))


def _save_jets(path: Path, jets: tuple[JetTable, dict[str, JetTable]]) -> None:
    background, signals = jets
    arrays = {}
    for name, table in {"background": background, **signals}.items():
        arrays[f"{name}/images"] = table.images
        arrays.update({f"{name}/obs/{k}": v for k, v in table.observables.items()})
    with atomic_path(path) as tmp, tmp.open("wb") as stream:  # a file object: savez adds no suffix
        np.savez(stream, **arrays)


def _save_scores(path: Path, scores: dict[str, dict[str, np.ndarray]]) -> None:
    """Each method's per-jet scores (``autoencoder/test``, ``pnn/signal:w``, ...), for later studies."""
    arrays = {f"{method}/{sample}": values for method, by in scores.items() for sample, values in by.items()}
    with atomic_path(path) as tmp, tmp.open("wb") as stream:
        np.savez(stream, **arrays)


def _load_jets(path: Path) -> tuple[JetTable, dict[str, JetTable]]:
    tables: dict[str, JetTable] = {}
    with np.load(path) as data:
        for name in {key.split("/")[0] for key in data.files}:
            observables = {
                key.split("/", 2)[2]: data[key] for key in data.files if key.startswith(f"{name}/obs/")
            }
            tables[name] = JetTable(data[f"{name}/images"], observables)
    background = tables.pop("background")
    return background, tables


def _check_cache(
    jets: tuple[JetTable, dict[str, JetTable]], plan: InterpretPlan, path: Path
) -> tuple[JetTable, dict[str, JetTable]]:
    """The cached jets, checked against ``plan``; candidate image observables the cache lacks are computed
    from its images (the plan's) and the cache is rewritten, any other missing candidate is an error."""
    background, signals = jets
    n_background = plan.n_train + plan.n_validation + plan.n_test
    sizes = {name: len(table) for name, table in signals.items()}
    if len(background) != n_background or set(sizes) != set(plan.signals):
        raise SystemExit(
            f"{path}: cached jets ({len(background)} background, signals {sizes}) do not match "
            f"this run ({n_background} background, signals {sorted(plan.signals)}); delete it or drop "
            "--jets-cache"
        )
    missing = [name for name in plan.candidates if name not in background.observables]
    if not missing:
        return jets
    lacking = [name for name in missing if not is_image_observable(name)]
    if lacking:
        raise SystemExit(
            f"{path}: cached jets lack the candidate observables {lacking}; delete it or drop --jets-cache"
        )
    print(f"   adding {len(missing)} image observables to {path}: {missing}", flush=True)

    def completed(table: JetTable) -> JetTable:
        added = image_observables(table.images, missing, half_width=plan.images.half_width)
        return JetTable(table.images, table.observables | added)

    jets = completed(background), {name: completed(table) for name, table in signals.items()}
    _save_jets(path, jets)
    return jets


if __name__ == "__main__":
    main()

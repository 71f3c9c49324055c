"""Lepton flavour from kinematics (issue 18): baseline, MLP and trees on real files and a generated sample.

For each file given (the real CMS files in ``../shared/data`` by default, plus a generated top-pair sample
made with ``bumphunt generate ttbar-leptons`` if ``--generated`` names a file, created when missing) the
script runs :func:`bumphunt.lepton_id.run_lepton_study` with ``--seeds`` seeds and prints

1. the sample size (electrons, muons) and the wall time;
2. the test accuracy of the majority flavour, the mass-cut baseline, the MLP and the boosted trees on each
   representation: median and 16-84 % band over the seeds;
3. the overtraining study's final train - test accuracy gap for each training-set size (median and band
   over seeds and bootstrap training sets).

Usage:
  python benchmarks/lepton_id.py [--generated ttbar_leptons.root --events 10000] [--seeds 3] [--out DIR]
      [FILE ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch

from bumphunt.io.lepton_files import read_lepton_sample
from bumphunt.lepton_id import LeptonStudyPlan, run_lepton_study, write_lepton_study

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = (
    "nanoAOD_2015_CMS_Open_Data_ttbar.root",
    "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root",
    "uproot-HZZ.root",
)


def _band(b: dict) -> str:
    return f"{b['median']:.4f} [{b['low']:.4f}, {b['high']:.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path, help=f"lepton files [default: {', '.join(REAL)}]")
    parser.add_argument("--generated", type=Path, default=None, help="generated sample (made if missing)")
    parser.add_argument("--events", type=int, default=10_000, help="events of the generated sample")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--curve-epochs", type=int, default=100)
    parser.add_argument("--bootstrap", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write each file's report here")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads")  # fmt: skip
    files = [(f, "Open Data") for f in (args.files or [SHARED / name for name in REAL])]
    if args.generated is not None:
        if not args.generated.exists():
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bumphunt.cli", "generate", "ttbar-leptons", "-n", str(args.events),
                 "-o", str(args.generated), "--workers", "2", "--seed", "11"],
                check=True,
            )  # fmt: skip
            print(f"generated {args.events} events in {time.perf_counter() - start:.0f} s")
        files.append((args.generated, "Simulation"))
    for path, text in files:
        table = read_lepton_sample(path)
        plan = LeptonStudyPlan(
            str(path),
            seeds=tuple(range(args.seeds)),
            curve_epochs=args.curve_epochs,
            n_bootstrap=args.bootstrap,
            device="cpu",
        )
        start = time.perf_counter()
        summary = run_lepton_study(plan, table=table)
        wall = time.perf_counter() - start
        agg = summary["aggregate"]
        n_train, n_test = summary["per_seed"][0]["n_train"], summary["per_seed"][0]["n_test"]
        print(f"\n## {path.name}: {summary['n_leptons']} leptons ({summary['n_electrons']} e, "
              f"{summary['n_muons']} mu), {n_train} for training, {n_test} for test; "
              f"{args.seeds} seeds, {wall:.0f} s")  # fmt: skip
        print("| classifier | representation | test accuracy | test AUC |")
        print("| --- | --- | --- | --- |")
        print(f"| majority flavour | - | {_band(agg['majority_accuracy'])} | - |")
        print(
            f"| mass cut | p2_minus_E2 | {_band(agg['baseline_accuracy'])} | {_band(agg['baseline_auc'])} |"
        )
        for kind, by_name in agg["models"].items():
            for name, metrics in by_name.items():
                print(f"| {kind} | {name} | {_band(metrics['accuracy'])} | {_band(metrics['auc'])} |")
        print(
            f"\nOvertraining (MLP on {plan.curve_representation}, {plan.curve_epochs} epochs): "
            "final gap by size"
        )
        print("| training leptons | train - test accuracy |")
        print("| --- | --- |")
        for size, entry in agg["curves"].items():
            print(f"| {int(size):,} | {_band(entry['final_gap'])} |")
        if args.out is not None:
            write_lepton_study(
                summary,
                args.out / path.stem,
                table=table,
                text=text,
                com=13.0 if text == "Simulation" else None,
            )


if __name__ == "__main__":
    main()

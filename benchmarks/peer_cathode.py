"""Our CATHODE against sk_cathode's (uhh-pd-ml/sk_cathode) on identical data splits (issue 13).

Inputs are files of ``bumphunt generate dijet``: ``--qcd`` (the background that plays the data and
fills the test set) and ``--signal`` (W' -> X Y events). For each S/B and seed:

* the QCD events are shuffled (seed) and cut in three: two thirds are the data, the last third's SR
  events are the test background;
* the signal events are shuffled (seed) and cut in half: signal from the first half is injected into
  the data so that the SR holds ``S/B`` times the SR background; the second half's SR events are the
  test signal;
* the data's SR is ``--sr``, and every data event outside it is a sideband event, as in the
  sk_cathode walkthrough.

sk_cathode runs its CATHODE walkthrough (``demos/cathode_walkthrough.ipynb``): logit and standard
scaling, its MAF flow with early stopping on the sidebands (the data split 3:1 into training and
validation as its data preparation does), a Gaussian KDE of the logit SR masses, four samples per SR
event, its neural-network classifier with early stopping. Ours runs ``bumphunt.methods.Cathode()``
with its defaults (which include the flow check). Both read the same data and score the same test set;
each runs in its own process with torch on ``--threads`` threads, and the time is that of the fit and
the scoring of the test set, imports excluded. The sk_cathode checkout is imported from ``--sk-cathode``
and is never copied into this repository; besides what bumphunt installs it needs ``tqdm``
(``pip install tqdm``).

Usage:
    python benchmarks/peer_cathode.py --sk-cathode ../sk_cathode --qcd qcd.h5 --signal wprime.h5 \
        --sr 3000 3400 --s-over-b 0.01 0.031 --seeds 1 2 3 --workdir peer-work
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ("ours", "sk_cathode")
FEATURES = ("mj_min", "delta_mj", "tau21_jmin", "tau21_jmax")
"""The LHCO features of the CATHODE paper, in the order of sk_cathode's data preparation."""


def build_split(args: argparse.Namespace, s_over_b: float, seed: int) -> dict[str, np.ndarray]:
    """Data and test arrays ``[mjj, features..., label]`` with masses in TeV (sk_cathode's layout)."""
    from bumphunt.io import read_events

    def table(path: str, label: int) -> np.ndarray:
        events = read_events(path).with_features(FEATURES)
        return np.column_stack([events.mass, events.features, np.full(len(events), label)])

    rng = np.random.default_rng(seed)
    qcd = rng.permutation(table(args.qcd, 0))
    signal = rng.permutation(table(args.signal, 1))
    lo, hi = args.sr
    in_sr = lambda rows: (rows[:, 0] >= lo) & (rows[:, 0] < hi)  # noqa: E731
    data_bkg, test_bkg = qcd[: 2 * len(qcd) // 3], qcd[2 * len(qcd) // 3 :]
    pool, test_sig = signal[: len(signal) // 2], signal[len(signal) // 2 :]
    n_sr_signal = round(s_over_b * np.count_nonzero(in_sr(data_bkg)))
    pool_sr = pool[in_sr(pool)]
    if n_sr_signal > len(pool_sr):
        raise SystemExit(f"S/B {s_over_b}: needs {n_sr_signal} SR signal events, the pool has {len(pool_sr)}")
    # inject whole signal events: as many as give n_sr_signal in the SR, with their SB companions
    n_inject = round(n_sr_signal * len(pool) / len(pool_sr)) if n_sr_signal else 0
    injected = pool[:n_inject]
    data = rng.permutation(np.concatenate([data_bkg, injected]))
    test = np.concatenate([test_bkg[in_sr(test_bkg)], test_sig[in_sr(test_sig)]])
    scale = np.array([1e-3, 1e-3, 1e-3, 1.0, 1.0, 1.0])  # GeV -> TeV for masses
    return {"data": data * scale, "test": test * scale, "sr": np.array(args.sr) * 1e-3}


def run_ours(split: dict[str, np.ndarray], seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """``Cathode()`` with its defaults; scores of the test set and the flow check (AUC, pull)."""
    from bumphunt.events import EventSet, Window
    from bumphunt.methods import Cathode

    data, test = split["data"], split["test"]
    lo, hi = split["sr"]
    window = Window(sr=(lo, hi), sb=((0.0, lo), (hi, 100.0)))
    events = EventSet(data[:, 0], data[:, 1:5], FEATURES, provenance={"source": "peer_cathode data"})
    detector = Cathode(seed=seed).fit(events, window)
    check = detector.background_check_
    scores = detector.score(EventSet(test[:, 0], test[:, 1:5], FEATURES, provenance={"source": "test"}))
    return scores, {"check_auc": check.auc, "check_pull": check.pull}


def run_sk_cathode(
    split: dict[str, np.ndarray], seed: int, checkout: str
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """sk_cathode's CATHODE walkthrough on the same data; scores of the test set, and for the flow
    check its validation sideband events with one flow sample each at their masses."""
    import torch
    from sklearn.neighbors import KernelDensity
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils import shuffle

    sys.path.insert(0, checkout)
    from sk_cathode.classifier_models.neural_network_classifier import NeuralNetworkClassifier
    from sk_cathode.generative_models.conditional_normalizing_flow_torch import ConditionalNormalizingFlow
    from sk_cathode.utils.preprocessing import LogitScaler

    torch.manual_seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (sk_cathode draws from numpy's global generator)
    data, test = split["data"], split["test"]
    lo, hi = split["sr"]
    n_train = 3 * len(data) // 4
    train, val = data[:n_train], data[n_train:]
    inner = lambda rows: rows[(rows[:, 0] >= lo) & (rows[:, 0] < hi)]  # noqa: E731
    outer = lambda rows: rows[~((rows[:, 0] >= lo) & (rows[:, 0] < hi))]  # noqa: E731
    outer_train, outer_val, inner_train, inner_val = outer(train), outer(val), inner(train), inner(val)
    with tempfile.TemporaryDirectory() as workdir:
        outer_scaler = make_pipeline(LogitScaler(), StandardScaler())
        X_train = outer_scaler.fit_transform(outer_train[:, 1:-1])
        X_val = outer_scaler.transform(outer_val[:, 1:-1])
        flow = ConditionalNormalizingFlow(
            save_path=f"{workdir}/flow", num_inputs=4, early_stopping=True, epochs=None, verbose=False
        )
        flow.fit(X_train, outer_train[:, 0:1], X_val, outer_val[:, 0:1])
        m_scaler = LogitScaler(epsilon=1e-8)
        kde = KernelDensity(bandwidth=0.01, kernel="gaussian")
        kde.fit(m_scaler.fit_transform(inner_train[:, 0:1]))
        m_logit = kde.sample(4 * len(inner_train), random_state=seed).astype(np.float32)
        m_samples = m_scaler.inverse_transform(m_logit)
        X_samples = outer_scaler.inverse_transform(flow.sample(n_samples=len(m_samples), m=m_samples))
        check_samples = outer_scaler.inverse_transform(
            flow.sample(n_samples=len(outer_val), m=outer_val[:, 0:1].astype(np.float32))
        )
        check = (outer_val[:, 1:-1], check_samples)
        samples = np.hstack([m_samples, X_samples, np.zeros((len(m_samples), 1))])
        clsf_train, clsf_val = inner_train.copy(), inner_val.copy()
        clsf_train[:, -1] = 1
        clsf_val[:, -1] = 1
        n_samples_train = int(len(clsf_train) / (len(clsf_train) + len(clsf_val)) * len(samples))
        train_set = shuffle(np.vstack([clsf_train, samples[:n_samples_train]]), random_state=seed)
        val_set = shuffle(np.vstack([clsf_val, samples[n_samples_train:]]), random_state=seed)
        inner_scaler = StandardScaler().fit(clsf_train[:, 1:-1])
        classifier = NeuralNetworkClassifier(
            save_path=f"{workdir}/classifier", n_inputs=4, early_stopping=True, epochs=None, verbose=False
        )
        classifier.fit(
            inner_scaler.transform(train_set[:, 1:-1]),
            train_set[:, -1],
            inner_scaler.transform(val_set[:, 1:-1]),
            val_set[:, -1],
        )
        return np.asarray(classifier.predict(inner_scaler.transform(test[:, 1:-1]))).ravel(), check


def flow_check(data: np.ndarray, samples: np.ndarray, seed: int) -> dict[str, float]:
    """The flow check of ``Cathode`` (5-fold boosted trees, data against samples) for sk_cathode's flow:
    the sideband events that only stopped its training against one flow sample each."""
    import math

    from bumphunt.methods.kfold import KFoldClassifier, assign_folds
    from bumphunt.stats.metrics import auc

    n = len(data)
    labels = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
    folds = np.tile(assign_folds(n, 5, seed), 2)  # each event in the fold of its sample, as in Cathode
    model = KFoldClassifier(seed=seed).fit(np.concatenate([data, samples]), labels, folds=folds)
    value = auc(model.oof_scores_, labels)
    return {"check_auc": value, "check_pull": (value - 0.5) / math.sqrt((2 * n + 1) / (12.0 * n * n))}


def child(method: str, split_file: str, seed: int, threads: int, checkout: str, out: str) -> None:
    """One method on one split, in this process; writes scores and seconds to ``out``."""
    import torch

    torch.set_num_threads(threads)
    split = dict(np.load(split_file))
    check: dict[str, float] = {}
    if method == "sk_cathode":
        import contextlib
        import io

        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # sk_cathode prints every epoch
            scores, check_events = run_sk_cathode(split, seed, checkout)
        seconds = time.perf_counter() - start
        check = flow_check(*check_events, seed)  # not timed: sk_cathode has no check of its own
        np.savez(out, scores=scores, seconds=seconds, **check)
        return
    else:
        from threadpoolctl import threadpool_limits

        start = time.perf_counter()
        with threadpool_limits(limits=threads):
            scores, check = run_ours(split, seed)
    seconds = time.perf_counter() - start
    np.savez(out, scores=scores, seconds=seconds, **check)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sk-cathode", required=True, help="path of a checkout of uhh-pd-ml/sk_cathode")
    parser.add_argument("--qcd", required=True)
    parser.add_argument("--signal", required=True)
    parser.add_argument("--sr", type=float, nargs=2, default=[3000.0, 3400.0], help="signal region (GeV)")
    parser.add_argument("--s-over-b", type=float, nargs="+", default=[0.01, 0.031])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--min-background", type=int, default=50, help="fewest test background at max SIC")
    parser.add_argument("--workdir", default="peer-cathode-work")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, split_file, seed, out = args.child
        child(method, split_file, int(seed), args.threads, args.sk_cathode, out)
        return

    from bumphunt.stats.metrics import auc, max_sic

    if not (Path(args.sk_cathode) / "sk_cathode").is_dir():
        raise SystemExit(f"--sk-cathode {args.sk_cathode!r} is not a checkout of uhh-pd-ml/sk_cathode")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPU cores, torch on {args.threads} threads; SR {args.sr} GeV")
    print(f"{'S/B':>6} {'seed':>4} {'method':>10} {'max SIC':>8} {'AUC':>6} {'time s':>7}  flow check")
    rows: list[dict[str, float | str]] = []
    for s_over_b in args.s_over_b:
        for seed in args.seeds:
            split = build_split(args, s_over_b, seed)
            split_file = work / f"split-{s_over_b:g}-{seed}.npz"
            np.savez(split_file, **split)
            labels = split["test"][:, -1]
            for method in args.methods:
                out = work / f"{method}-{s_over_b:g}-{seed}.npz"
                if not out.exists():
                    cmd = [sys.executable, __file__, "--sk-cathode", args.sk_cathode, "--qcd", args.qcd,
                           "--signal", args.signal, "--threads", str(args.threads),
                           "--child", method, str(split_file), str(seed), str(out)]  # fmt: skip
                    subprocess.run(cmd, check=True)
                result = np.load(out)
                row = {
                    "s_over_b": s_over_b,
                    "seed": seed,
                    "method": method,
                    "max_sic": max_sic(result["scores"], labels, min_background=args.min_background),
                    "auc": auc(result["scores"], labels),
                    "seconds": float(result["seconds"]),
                }
                check = ""
                if "check_auc" in result:
                    row["check_auc"] = float(result["check_auc"])
                    row["check_pull"] = float(result["check_pull"])
                    check = f"  AUC {row['check_auc']:.4f}, pull {row['check_pull']:+.1f}"
                rows.append(row)
                print(f"{s_over_b:6.3f} {seed:4d} {method:>10} {row['max_sic']:8.2f} {row['auc']:6.3f} "
                      f"{row['seconds']:7.1f}{check}", flush=True)  # fmt: skip
    (work / "results.json").write_text(json.dumps(rows, indent=1))
    summarize(rows, args.methods, args.s_over_b)


def summarize(rows: list[dict[str, float | str]], methods: list[str], s_over_bs: list[float]) -> None:
    """Medians over seeds per S/B and method, and the speed-up of ours over sk_cathode per pair."""
    print("\nmedians over seeds")
    seconds = {(r["method"], r["s_over_b"], r["seed"]): float(r["seconds"]) for r in rows}
    ratios = []
    for s_over_b in s_over_bs:
        for method in methods:
            sel = [r for r in rows if r["method"] == method and r["s_over_b"] == s_over_b]
            med = {k: float(np.median([float(r[k]) for r in sel])) for k in ("max_sic", "auc", "seconds")}
            pulls = [float(r["check_pull"]) for r in sel if "check_pull" in r]
            listed = f", flow check pulls {', '.join(f'{x:+.1f}' for x in pulls)}" if pulls else ""
            print(f"S/B {s_over_b:.3f} {method:>10}: max SIC {med['max_sic']:.2f}, AUC {med['auc']:.3f}, "
                  f"{med['seconds']:.1f} s{listed}")  # fmt: skip
        if set(METHODS) <= set(methods):
            pairs = [
                seconds["sk_cathode", s_over_b, r["seed"]] / seconds["ours", s_over_b, r["seed"]]
                for r in rows
                if r["method"] == "ours" and r["s_over_b"] == s_over_b
            ]
            ratios += pairs
            listed = ", ".join(f"{x:.1f}" for x in pairs)
            print(f"S/B {s_over_b:.3f} speed-up (sk_cathode time / ours): {listed}")
    if ratios:
        print(f"median speed-up over all pairs: {np.median(ratios):.1f}x")


if __name__ == "__main__":
    main()

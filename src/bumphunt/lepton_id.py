"""Lepton flavour from kinematics: electron or muon from (pT, eta, phi, E), with an overtraining study.

:func:`run_lepton_study` reads a lepton sample (:func:`bumphunt.io.lepton_files.read_lepton_sample`), and
for each seed splits it (stratified by flavour) into a training and a test set and measures on the test set:

- the *majority* accuracy (always answering the more common flavour in training), the floor;
- the *mass-cut baseline*: the best single cut on ``p**2 - E**2`` (minus the squared mass, GeV**2), chosen
  on the training set (:class:`~bumphunt.methods.threshold.ThresholdClassifier`), also in bins of energy;
- an MLP (torch, early stopping) and boosted trees (scikit-learn) on each representation
  (:mod:`bumphunt.physics.lepton_representations`): accuracy (probability above 0.5) and ROC AUC;
- the *overtraining study*: an MLP trained for a fixed number of epochs on bootstrap training sets of each
  size (drawn with replacement from the training set), train and test accuracy and loss recorded along
  the training; medians and 16-84 % bands over the bootstrap sets and seeds.

Labels: 1 is a muon, 0 an electron. All random choices derive from the seed, so a seed reproduces its
numbers exactly on the same machine and library versions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from bumphunt.errors import ConfigError
from bumphunt.io.lepton_files import read_lepton_sample
from bumphunt.methods.classifiers import HGBEnsemble, MLPEnsemble, stratified_split
from bumphunt.methods.threshold import ThresholdClassifier
from bumphunt.methods.training_curves import mlp_training_curves
from bumphunt.physics.lepton_representations import REPRESENTATIONS, Precision, representation
from bumphunt.seeding import child_seeds

__all__ = [
    "DEFAULT_ENERGY_EDGES",
    "MODELS",
    "LeptonStudyPlan",
    "curve_sizes",
    "run_lepton_study",
    "write_lepton_study",
]

#: Model names of the study.
MODELS = ("mlp", "trees")
#: Energy bins (GeV) of the baseline's accuracy.
DEFAULT_ENERGY_EDGES = (0.0, 20.0, 50.0, 100.0, 200.0, 400.0, 1000.0, 14000.0)
_DEFAULT_SIZES = (10, 30, 100, 300, 1000, 3000, 10_000, 30_000)


def curve_sizes(n_train: int, sizes: Sequence[int] | None = None) -> tuple[int, ...]:
    """Training-set sizes of the overtraining study: ``sizes`` checked against ``n_train``, or by default
    10, 30, 100, 300, ... up to half of ``n_train``, and ``n_train`` itself."""
    if sizes is None:
        return (*(s for s in _DEFAULT_SIZES if 2 * s <= n_train), n_train)
    chosen = tuple(sorted(set(sizes)))
    too_large = [s for s in chosen if s > n_train]
    if too_large:
        raise ConfigError(
            f"curve_sizes: training-set sizes {too_large} exceed the {n_train} training leptons of the sample"
        )
    return chosen


@dataclass(frozen=True)
class LeptonStudyPlan:
    """Settings of a lepton-flavour study.

    Attributes
    ----------
    source
        The lepton file (ROOT flat ntuple or NanoAOD, or a table; :func:`read_lepton_sample`).
    tree, label
        As in :func:`~bumphunt.io.lepton_files.read_lepton_sample`.
    representations
        Representations the MLP and the trees are trained on.
    precision
        ``"float32"`` (default) rounds pT, eta, phi and E to single precision, as an ntuple stores them.
    test_fraction
        Fraction of each flavour held out as the test set.
    seeds
        One split, training and overtraining study per seed.
    hidden_layers, mlp_epochs, batch_size, learning_rate
        The MLP; the model for the accuracy table stops early (patience 20 epochs).
    curve_representation
        Representation of the overtraining study.
    curve_sizes
        Training-set sizes of the study (``None``: :func:`curve_sizes`); none may exceed the training set.
    curve_epochs, record_every, n_bootstrap
        Epochs trained (no early stopping), recording interval, bootstrap training sets per size and seed.
    energy_edges
        Energy bins (GeV) of the baseline's accuracy.
    device
        Torch device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    source: str
    tree: str | None = None
    label: str | None = None
    representations: tuple[str, ...] = tuple(REPRESENTATIONS)
    precision: Precision = "float32"
    test_fraction: float = 0.3
    seeds: tuple[int, ...] = (0, 1, 2)
    hidden_layers: tuple[int, ...] = (64, 64, 64)
    mlp_epochs: int = 200
    batch_size: int = 256
    learning_rate: float = 1e-3
    curve_representation: str = "pt_eta_phi_E"
    curve_sizes: tuple[int, ...] | None = None
    curve_epochs: int = 100
    record_every: int = 5
    n_bootstrap: int = 3
    energy_edges: tuple[float, ...] = DEFAULT_ENERGY_EDGES
    device: str = "auto"
    models: tuple[str, ...] = field(default=MODELS)

    def __post_init__(self) -> None:
        for name in ("representations", "curve_representation"):
            values = getattr(self, name)
            for value in [values] if isinstance(values, str) else values:
                if value not in REPRESENTATIONS:
                    raise ConfigError(
                        f"{name}: unknown representation {value!r}; choose from {', '.join(REPRESENTATIONS)}"
                    )
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown:
            raise ConfigError(f"models: unknown {unknown}; choose from {', '.join(MODELS)}")
        if self.precision not in ("float32", "float64"):
            raise ConfigError(f"precision must be 'float32' or 'float64', got {self.precision!r}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must lie in (0, 1), got {self.test_fraction!r}")
        if not self.seeds or any(not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ConfigError(f"seeds must be non-negative integers, got {self.seeds!r}")
        for name in ("mlp_epochs", "batch_size", "curve_epochs", "record_every", "n_bootstrap"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.curve_sizes is not None and any(not isinstance(s, int) or s < 2 for s in self.curve_sizes):
            raise ConfigError(f"curve_sizes must be integers of at least 2, got {self.curve_sizes!r}")
        if len(self.energy_edges) < 2 or np.any(np.diff(self.energy_edges) <= 0):
            raise ConfigError(f"energy_edges must increase, got {self.energy_edges!r}")


def _features(table: pd.DataFrame, name: str, precision: Precision) -> np.ndarray:
    return representation(name, table["pt"], table["eta"], table["phi"], table["E"], precision=precision)


def _scores(y: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"accuracy": float(np.mean(predicted == y)), "auc": float(roc_auc_score(y, score))}


def _baseline(
    m2: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, energy: np.ndarray, edges: np.ndarray
) -> dict[str, Any]:
    """The mass cut: chosen on ``train``, evaluated on ``test`` overall and in energy bins."""
    cut = ThresholdClassifier().fit(m2[train], y[train])
    predicted = cut.predict(m2[test])
    correct = predicted == y[test]
    bins = np.digitize(energy[test], edges) - 1
    inside = (bins >= 0) & (bins < len(edges) - 1)
    n = np.bincount(bins[inside], minlength=len(edges) - 1)
    right = np.bincount(bins[inside], weights=correct[inside], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_energy = np.where(n > 0, right / n, np.nan)
    return {
        "cut_p2_minus_E2": cut.threshold_,
        "muon_side": "above" if cut.direction_ > 0 else "below",
        "train_accuracy": cut.train_accuracy_,
        **_scores(y[test], cut.decision_function(m2[test]), predicted),
        "by_energy": {
            "edges": edges.tolist(),
            "n": n.tolist(),
            "accuracy": [None if np.isnan(a) else float(a) for a in by_energy],
        },
    }


def _model(kind: str, plan: LeptonStudyPlan, seed: int) -> MLPEnsemble | HGBEnsemble:
    if kind == "mlp":
        return MLPEnsemble(
            1,
            hidden_layers=plan.hidden_layers,
            max_epochs=plan.mlp_epochs,
            batch_size=plan.batch_size,
            learning_rate=plan.learning_rate,
            patience=20,
            class_weight=None,
            device=plan.device,
            seed=seed,
        )
    return HGBEnsemble(1, class_weight=None, seed=seed)


def _curves(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    sizes: Sequence[int],
    plan: LeptonStudyPlan,
    seed: int,
) -> dict[str, Any]:
    """Training curves on bootstrap training sets of each size: ``{size: {metric: [per set]}}``."""
    out: dict[str, Any] = {}
    rng = np.random.default_rng(seed)
    for size in sizes:
        runs = []
        for run_seed in child_seeds(int(rng.integers(2**63)), plan.n_bootstrap):
            draw = np.random.default_rng(run_seed).choice(train, size=size, replace=True)
            if len(np.unique(y[draw])) < 2:  # a tiny draw of one flavour: one lepton of each swapped in
                draw = np.concatenate([draw[:-2], train[y[train] == 0][:1], train[y[train] == 1][:1]])
            curves = mlp_training_curves(
                X[draw],
                y[draw],
                X[test],
                y[test],
                hidden_layers=plan.hidden_layers,
                epochs=plan.curve_epochs,
                record_every=plan.record_every,
                batch_size=plan.batch_size,
                learning_rate=plan.learning_rate,
                device=plan.device,
                seed=run_seed,
            )
            runs.append(curves)
        out[str(size)] = {
            "epochs": runs[0].epochs.tolist(),
            **{
                metric: [getattr(r, metric).tolist() for r in runs]
                for metric in ("train_accuracy", "test_accuracy", "train_loss", "test_loss")
            },
        }
    return out


def _one_seed(
    table: pd.DataFrame,
    features: Mapping[str, np.ndarray],
    y: np.ndarray,
    plan: LeptonStudyPlan,
    seed: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    split_seed, model_seed, curve_seed = child_seeds(seed, 3)
    train, test = stratified_split(y, plan.test_fraction, np.random.default_rng(split_seed))
    m2 = features["p2_minus_E2"]
    energy = table["E"].to_numpy(dtype=np.float64)
    majority = int(np.mean(y[train]) >= 0.5)
    record: dict[str, Any] = {
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "majority_accuracy": float(np.mean(y[test] == majority)),
        "baseline": _baseline(m2, y, train, test, energy, np.asarray(plan.energy_edges, dtype=np.float64)),
        "models": {kind: {} for kind in plan.models},
    }
    for name in plan.representations:
        X = features[name]
        for kind in plan.models:
            start = time.perf_counter()
            model = _model(kind, plan, model_seed).fit(X[train], y[train])
            probability = model.predict_proba(X[test])[:, 1]
            scores = _scores(y[test], probability, (probability >= 0.5).astype(np.int64))
            scores["train_accuracy"] = float(np.mean(model.predict(X[train]) == y[train]))
            scores["fit_seconds"] = time.perf_counter() - start
            record["models"][kind][name] = scores
            progress(f"seed {seed}: {kind} on {name}: test accuracy {scores['accuracy']:.4f}")
    sizes = curve_sizes(len(train), plan.curve_sizes)
    start = time.perf_counter()
    record["curves"] = _curves(features[plan.curve_representation], y, train, test, sizes, plan, curve_seed)
    record["curve_seconds"] = time.perf_counter() - start
    progress(f"seed {seed}: overtraining study, sizes {list(sizes)}, {record['curve_seconds']:.0f} s")
    return record


def _band(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    low, median, high = np.nanpercentile(values, [16, 50, 84])
    return {"median": float(median), "low": float(low), "high": float(high)}


def _aggregate(per_seed: Sequence[Mapping[str, Any]], plan: LeptonStudyPlan) -> dict[str, Any]:
    """Medians and 16-84 % bands over seeds (accuracies) and over seeds and bootstrap sets (curves)."""
    out: dict[str, Any] = {
        "majority_accuracy": _band([r["majority_accuracy"] for r in per_seed]),
        "baseline_accuracy": _band([r["baseline"]["accuracy"] for r in per_seed]),
        "baseline_auc": _band([r["baseline"]["auc"] for r in per_seed]),
        "models": {
            kind: {
                name: {
                    metric: _band([r["models"][kind][name][metric] for r in per_seed])
                    for metric in ("accuracy", "auc", "train_accuracy")
                }
                for name in plan.representations
            }
            for kind in plan.models
        },
    }
    sizes = sorted({int(s) for r in per_seed for s in r["curves"]})
    curves: dict[str, Any] = {}
    for size in sizes:
        runs = [r["curves"][str(size)] for r in per_seed if str(size) in r["curves"]]
        entry: dict[str, Any] = {"epochs": runs[0]["epochs"]}
        for metric in ("train_accuracy", "test_accuracy", "train_loss", "test_loss"):
            stacked = np.array([run for r in runs for run in r[metric]])
            low, median, high = np.percentile(stacked, [16, 50, 84], axis=0)
            entry[metric] = {"median": median.tolist(), "low": low.tolist(), "high": high.tolist()}
        gaps = np.array([run[-1] for r in runs for run in r["train_accuracy"]]) - np.array(
            [run[-1] for r in runs for run in r["test_accuracy"]]
        )
        entry["final_gap"] = _band(gaps)
        curves[str(size)] = entry
    out["curves"] = curves
    return out


def run_lepton_study(
    plan: LeptonStudyPlan,
    *,
    table: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the study of ``plan``; returns its summary (JSON-able).

    Parameters
    ----------
    plan
        The settings.
    table
        The lepton table, if already read (else read from ``plan.source``).
    progress
        Called with a line of text after each step.

    Returns
    -------
    dict
        ``plan``, the sample's counts, ``per_seed`` results and their ``aggregate`` (module docstring).
    """
    say = progress or (lambda _: None)
    start = time.perf_counter()
    if table is None:
        table = read_lepton_sample(plan.source, tree=plan.tree, label=plan.label)
    y = (table["flavour"] == "mu").to_numpy().astype(np.int64)
    for flavour, n in (("electrons", np.sum(y == 0)), ("muons", np.sum(y == 1))):
        if n < 3:
            raise ConfigError(f"{plan.source}: {n} {flavour}; the study needs at least 3 of each flavour")
    train, _ = stratified_split(y, plan.test_fraction, np.random.default_rng(0))
    curve_sizes(
        len(train), plan.curve_sizes
    )  # fail before any training (split sizes do not depend on the seed)
    say(f"{len(y)} leptons: {int(np.sum(y == 0))} electrons, {int(np.sum(y == 1))} muons")
    names = {"p2_minus_E2", plan.curve_representation, *plan.representations}
    features = {name: _features(table, name, plan.precision) for name in names}
    per_seed = [_one_seed(table, features, y, plan, seed, say) for seed in plan.seeds]
    return {
        "plan": asdict(plan),
        "n_leptons": len(y),
        "n_electrons": int(np.sum(y == 0)),
        "n_muons": int(np.sum(y == 1)),
        "per_seed": per_seed,
        "aggregate": _aggregate(per_seed, plan),
        "wall_seconds": time.perf_counter() - start,
    }


def _markdown(summary: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    plan, agg = summary["plan"], summary["aggregate"]

    def band(b: Mapping[str, float]) -> str:
        return f"{b['median']:.4f} [{b['low']:.4f}, {b['high']:.4f}]"

    lines = [
        "# Lepton flavour from kinematics",
        "",
        f"Sample: `{plan['source']}`: {summary['n_leptons']} leptons ({summary['n_electrons']} electrons, "
        f"{summary['n_muons']} muons); inputs rounded to {plan['precision']}; test fraction "
        f"{plan['test_fraction']}; seeds {list(plan['seeds'])}. Median [16 %, 84 %] over seeds.",
        "",
        "| classifier | representation | test accuracy | test AUC | train accuracy |",
        "| --- | --- | --- | --- | --- |",
        f"| majority flavour | - | {band(agg['majority_accuracy'])} | - | - |",
        f"| mass cut | p2_minus_E2 | {band(agg['baseline_accuracy'])} | {band(agg['baseline_auc'])} | - |",
    ]
    for kind, by_name in agg["models"].items():
        for name, metrics in by_name.items():
            lines.append(
                f"| {kind} | {name} | {band(metrics['accuracy'])} | {band(metrics['auc'])} | "
                f"{band(metrics['train_accuracy'])} |"
            )
    lines += [
        "",
        f"## Overtraining: MLP on {plan['curve_representation']}, {plan['curve_epochs']} epochs, "
        f"{plan['n_bootstrap']} bootstrap training sets per size and seed",
        "",
        "| training leptons | final train accuracy | final test accuracy | gap (train - test) |",
        "| --- | --- | --- | --- |",
    ]
    for size, entry in agg["curves"].items():
        train = {k: v[-1] for k, v in entry["train_accuracy"].items()}
        test = {k: v[-1] for k, v in entry["test_accuracy"].items()}
        lines.append(f"| {size} | {band(train)} | {band(test)} | {band(entry['final_gap'])} |")
    lines.append("")
    lines += [f"![{name}]({Path(path).name})" for name, path in figures.items()]
    return "\n".join(lines) + "\n"


def write_lepton_study(
    summary: Mapping[str, Any],
    output: str | os.PathLike[str],
    *,
    table: pd.DataFrame | None = None,
    text: str = "Simulation",
    com: float | None = 13.0,
) -> dict[str, str]:
    """Write ``summary.json``, ``report.md`` and the figures into ``output``; return the paths written.

    ``table`` (the lepton sample) adds the figure of the baseline variable by flavour. ``text`` is the
    figures' label ("Simulation", "Open Data"), ``com`` the centre-of-mass energy in TeV (None: not shown).
    """
    import json

    from bumphunt._files import atomic_path
    from bumphunt.report.lepton_plots import (
        baseline_by_energy_figure,
        baseline_variable_figure,
        final_gap_figure,
        training_curves_figure,
    )
    from bumphunt.stats._records import jsonable

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    agg, plan = summary["aggregate"], summary["plan"]
    figures: dict[str, str] = {}

    def save(name: str, figure: Any) -> None:
        path = out / f"{name}.png"
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png")
        figures[name] = str(path)

    for metric in ("accuracy", "loss"):
        save(f"overtraining_{metric}", training_curves_figure(agg["curves"], metric, text=text, com=com))
    save("final_gap", final_gap_figure(agg["curves"], text=text, com=com))
    save("baseline_by_energy", baseline_by_energy_figure(summary["per_seed"], text=text, com=com))
    if table is not None:
        m2 = _features(table, "p2_minus_E2", plan["precision"])[:, 0]
        cuts = [r["baseline"]["cut_p2_minus_E2"] for r in summary["per_seed"]]
        save(
            "baseline_variable",
            baseline_variable_figure(m2, table["flavour"].to_numpy(), cuts, text=text, com=com),
        )
    files = dict(figures)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(_markdown(summary, figures))
    files["report"] = str(out / "report.md")
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(jsonable({**summary, "files": files}), indent=1))
    files["summary"] = str(out / "summary.json")
    return files

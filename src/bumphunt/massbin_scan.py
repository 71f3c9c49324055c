"""Mass-bin scan with Particle Flow Networks: where along the dijet mass do the jets change?

Events (two jets each, with their particles; :func:`bumphunt.io.read_mod_dijet_particles`) are binned in
dijet mass. For each pair of adjacent bins a PFN (:class:`bumphunt.methods.pfn.PFNClassifier`) learns to
tell the jets of the upper bin from those of the lower one, from scale-free particle inputs
(:mod:`bumphunt.physics.particle_features`: pT fractions and positions relative to the jet axis, so the
jet pT, which grows with the mass, cannot be read off). Training is per jet; an event is scored by the
mean logit of its two jets, each from the fold models that did not see it (k folds over events, and in
each fold an ensemble of ``n_ensemble`` PFNs trained from different seeds whose logits are averaged), and
the pair's AUC is that of the events of the two bins. A single training on a few thousand jets is noisy:
its AUC moves by more than the test sample's statistical error from seed to seed. The error therefore
adds in quadrature the test noise (the Hanley-McNeil error of an AUC on that many events) and the
training noise of the ensemble (the spread of the members' own AUCs divided by sqrt(n_ensemble)); where
the spread of the per-fold AUCs over sqrt(k) is larger, it is the error instead. With one member the
training noise is not measured and the error is the larger of the fold spread and the Hanley-McNeil error.

Far from a resonance the jets of neighbouring bins differ only by the smooth change of jet kinematics
with the mass, and the AUC sits at a small offset above 0.5 that the *null* measures:

- ``null="background"``: the same scan on background-only files (independent events, e.g. a QCD sample),
  which carries the smooth offset; the local significance of a pair is
  ``(AUC - AUC_null) / sqrt(err**2 + err_null**2)``;
- ``null="shuffle"``: the scan with the bin labels shuffled among the events of each pair (``n_null``
  times), which measures how far from 0.5 training noise alone goes. It tests "any difference between
  the bins", smooth trends included, not "a resonance".

With ``emd_pairs``, the energy mover's distance between the jets of the two bins is measured as well
(:func:`bumphunt.physics.emd.bin_distance`, with POT), the distance the seed study used.

Signal events from a separate file can be injected (``n_signal`` events drawn at random) to measure
sensitivity on generated samples with known truth.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
from sklearn.metrics import roc_auc_score

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.io.mod_hdf5 import read_mod_dijet_particles
from bumphunt.methods.kfold import assign_folds
from bumphunt.methods.pfn import PFNClassifier
from bumphunt.physics.particle_features import jet_particle_features
from bumphunt.seeding import child_seeds

__all__ = [
    "DEFAULT_EDGES",
    "MassBinScanPlan",
    "ScanSample",
    "auc_standard_error",
    "load_scan_sample",
    "pair_auc",
    "run_massbin_scan",
    "sample_features",
    "scan_sample",
    "write_massbin_scan",
]

#: Default dijet-mass bin edges (GeV) for the CMS 2011A selection (two jets above 375 GeV).
DEFAULT_EDGES = (800.0, 900.0, 1000.0, 1100.0, 1200.0, 1300.0, 1400.0)


@dataclass(frozen=True)
class MassBinScanPlan:
    """Settings of a mass-bin scan.

    Attributes
    ----------
    sources
        MOD HDF5 files of the data (recorded, or generated background).
    edges
        Dijet-mass bin edges (GeV), increasing.
    null
        ``"background"`` (needs ``null_sources``), ``"shuffle"`` or ``None`` (module docstring).
    null_sources
        Background-only MOD files of the null.
    n_null
        Label-shuffled scans of ``null="shuffle"``.
    signal, n_signal
        A MOD file of signal events and how many of them to add to the data.
    particles
        ``"auto"``, ``"pfcs"`` or ``"gens"`` (:func:`~bumphunt.io.read_mod_dijet_particles`).
    max_particles, pid
        Particles per jet (the hardest) and whether the species code is an input.
    min_events
        Fewest events a bin needs (a smaller bin stops the scan with an error).
    max_events
        Most events used per bin (a seeded random subset), or ``None``.
    n_folds
        Folds over events.
    n_ensemble
        PFNs trained per fold (different seeds), their logits averaged; at least 2 to measure the training
        noise in the error.
    phi_sizes, f_sizes, max_epochs, batch_size, learning_rate, patience
        The PFN and its training.
    emd_pairs
        Jet pairs per pair of bins for the energy mover's distance between the bins
        (:func:`bumphunt.physics.emd.bin_distance`; needs the ``emd`` extra); 0 skips it.
    device, seed
        Torch device; the seed of folds, subsets, injection and training.
    """

    sources: tuple[str, ...]
    edges: tuple[float, ...] = DEFAULT_EDGES
    null: Literal["background", "shuffle"] | None = "shuffle"
    null_sources: tuple[str, ...] = ()
    n_null: int = 1
    signal: str | None = None
    n_signal: int = 0
    particles: Literal["auto", "pfcs", "gens"] = "auto"
    max_particles: int = 100
    pid: bool = False
    min_events: int = 200
    max_events: int | None = None
    n_folds: int = 5
    n_ensemble: int = 3
    phi_sizes: tuple[int, ...] = (100, 100, 128)
    f_sizes: tuple[int, ...] = (100, 100, 100)
    max_epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    patience: int = 5
    emd_pairs: int = 0
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.emd_pairs, int) or self.emd_pairs < 0 or self.emd_pairs == 1:
            raise ConfigError(f"emd_pairs must be 0 (no EMD) or at least 2, got {self.emd_pairs!r}")
        if not self.sources:
            raise ConfigError("sources: give at least one MOD HDF5 file")
        edges = np.asarray(self.edges, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 3 or not np.all(np.diff(edges) > 0):
            raise ConfigError(
                f"edges: need at least three increasing bin edges (GeV), got {list(self.edges)}"
            )
        if self.null not in ("background", "shuffle", None):
            raise ConfigError(f"null must be 'background', 'shuffle' or None, got {self.null!r}")
        if self.null == "background" and not self.null_sources:
            raise ConfigError("null='background' needs null_sources (background-only MOD files)")
        if (self.signal is None) != (self.n_signal == 0):
            raise ConfigError(
                "signal and n_signal go together: a signal file and a positive number of events"
            )
        for name in (
            "n_null",
            "max_particles",
            "min_events",
            "n_folds",
            "n_ensemble",
            "max_epochs",
            "batch_size",
            "patience",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.n_signal < 0:
            raise ConfigError(f"n_signal must not be negative, got {self.n_signal!r}")
        if self.n_folds < 2:
            raise ConfigError(f"n_folds must be at least 2, got {self.n_folds!r}")
        if self.max_events is not None and self.max_events < self.min_events:
            raise ConfigError(f"max_events ({self.max_events}) is below min_events ({self.min_events})")


@dataclass(frozen=True)
class ScanSample:
    """Events of a scan: dijet mass, the particles of their two jets, and which are injected signal."""

    mass: np.ndarray
    particles: ak.Array
    is_signal: np.ndarray


def load_scan_sample(
    sources: Sequence[str | os.PathLike[str]],
    plan: MassBinScanPlan,
    *,
    inject: bool = False,
) -> ScanSample:
    """Read ``sources`` (and with ``inject`` the plan's signal events) into one :class:`ScanSample`."""
    samples = [read_mod_dijet_particles(path, particles=plan.particles) for path in sources]
    for sample in samples:
        if len(sample.mass) == 0:
            raise DataFormatError(f"file {sample.source!r} holds no event with two jets")
    mass = [s.mass for s in samples]
    particles = [s.particles for s in samples]
    flags = [np.zeros(len(s.mass), dtype=bool) for s in samples]
    if inject and plan.signal is not None:
        signal = read_mod_dijet_particles(plan.signal, particles=plan.particles)
        if plan.n_signal > len(signal.mass):
            raise ConfigError(
                f"n_signal: {plan.n_signal} events asked for, the signal file {plan.signal!r} holds "
                f"{len(signal.mass)} with two jets"
            )
        pick = np.sort(
            np.random.default_rng(child_seeds(plan.seed, 4)[3]).permutation(len(signal.mass))[: plan.n_signal]
        )
        mass.append(signal.mass[pick])
        particles.append(signal.particles[pick])
        flags.append(np.ones(len(pick), dtype=bool))
    return ScanSample(np.concatenate(mass), ak.concatenate(particles), np.concatenate(flags))


def _bin_events(
    mass: np.ndarray, plan: MassBinScanPlan, rng: np.random.Generator, what: str
) -> list[np.ndarray]:
    """Event indices of each mass bin (a random subset of ``max_events`` where set); checks the counts."""
    edges = np.asarray(plan.edges)
    index = np.digitize(mass, edges) - 1
    bins = []
    for b in range(len(edges) - 1):
        members = np.flatnonzero(index == b)
        if len(members) < plan.min_events:
            raise DataFormatError(
                f"{what}: bin {edges[b]:g}-{edges[b + 1]:g} GeV holds {len(members)} events, fewer than "
                f"min_events={plan.min_events} needed to train; widen the bins or lower min_events"
            )
        if plan.max_events is not None and len(members) > plan.max_events:
            members = np.sort(rng.choice(members, plan.max_events, replace=False))
        bins.append(members)
    return bins


def _jet_rows(events: np.ndarray) -> np.ndarray:
    """Rows of both jets of each event in the per-jet arrays (two consecutive rows per event)."""
    return (2 * events[:, None] + np.arange(2)).ravel()


def sample_features(sample: ScanSample, plan: MassBinScanPlan) -> tuple[np.ndarray, np.ndarray]:
    """The PFN inputs of every jet of ``sample``, two consecutive rows per event."""
    return jet_particle_features(ak.flatten(sample.particles, axis=1), plan.max_particles, pid=plan.pid)


def auc_standard_error(auc: float, n_positive: int, n_negative: int) -> float:
    """Standard error of an AUC measured on ``n_positive`` and ``n_negative`` events (Hanley and McNeil,
    Radiology 143 (1982) 29): the spread from the finite test sample alone."""
    q1, q2 = auc / (2.0 - auc), 2.0 * auc**2 / (1.0 + auc)
    variance = auc * (1.0 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2)
    return float(np.sqrt(max(variance, 0.0) / (n_positive * n_negative)))


def pair_auc(
    features: np.ndarray,
    mask: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    plan: MassBinScanPlan,
    seed: int,
    *,
    shuffle: bool = False,
) -> dict[str, Any]:
    """Out-of-fold AUC of the events ``high`` (label 1) against ``low`` (label 0).

    Parameters
    ----------
    features, mask
        Per-jet PFN inputs, two consecutive rows per event (:func:`jet_particle_features`).
    low, high
        Event indices of the two classes.
    plan
        The PFN, its training and the number of folds.
    seed
        Seed of the folds, the shuffle and the trainings.
    shuffle
        Shuffle the labels among the events first (a null).

    Returns
    -------
    dict
        ``auc`` (events scored by the averaged logits of the fold's ensemble that did not see them);
        ``error`` (module docstring) with its parts: ``test_error`` (Hanley-McNeil,
        :func:`auc_standard_error`), ``training_error`` (spread of the ``member_aucs``, the AUC of each
        member's out-of-fold scores, over sqrt(n_ensemble); ``None`` with one member) and
        ``fold_spread`` (of the ``fold_aucs`` over sqrt(k)); ``n_low``, ``n_high``,
        ``train_seconds_per_fold`` (all members) and ``train_seconds_per_model``.
    """
    events = np.concatenate([low, high])
    labels = np.repeat([0, 1], [len(low), len(high)])
    n_members = plan.n_ensemble
    fold_seed, shuffle_seed, *train_seeds = child_seeds(seed, 2 + plan.n_folds * n_members)
    if shuffle:
        labels = np.random.default_rng(shuffle_seed).permutation(labels)
    folds = assign_folds(len(events), plan.n_folds, fold_seed)
    member_scores = np.empty((n_members, len(events)))
    start = time.perf_counter()
    for k in range(plan.n_folds):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        jets, test_jets = _jet_rows(events[train]), _jet_rows(events[test])
        for member in range(n_members):
            model = PFNClassifier(
                phi_sizes=plan.phi_sizes,
                f_sizes=plan.f_sizes,
                max_epochs=plan.max_epochs,
                batch_size=plan.batch_size,
                learning_rate=plan.learning_rate,
                patience=plan.patience,
                device=plan.device,
                seed=train_seeds[k * n_members + member],
            ).fit(features[jets], mask[jets], np.repeat(labels[train], 2))
            logits = model.decision_function(features[test_jets], mask[test_jets])
            member_scores[member, test] = logits.reshape(-1, 2).mean(axis=1)
    seconds = time.perf_counter() - start
    scores = member_scores.mean(axis=0)
    fold_aucs = [float(roc_auc_score(labels[folds == k], scores[folds == k])) for k in range(plan.n_folds)]
    auc = float(roc_auc_score(labels, scores))
    spread = float(np.std(fold_aucs, ddof=1) / np.sqrt(plan.n_folds))
    test_error = auc_standard_error(auc, len(high), len(low))
    member_aucs = [float(roc_auc_score(labels, member_scores[m])) for m in range(n_members)]
    training_error = float(np.std(member_aucs, ddof=1) / np.sqrt(n_members)) if n_members > 1 else None
    statistical = test_error if training_error is None else float(np.hypot(test_error, training_error))
    return {
        "auc": auc,
        "error": max(spread, statistical),
        "test_error": test_error,
        "training_error": training_error,
        "fold_spread": spread,
        "fold_aucs": fold_aucs,
        "member_aucs": member_aucs,
        "n_low": len(low),
        "n_high": len(high),
        "train_seconds_per_fold": seconds / plan.n_folds,
        "train_seconds_per_model": seconds / (plan.n_folds * n_members),
    }


def scan_sample(
    sample: ScanSample,
    plan: MassBinScanPlan,
    seed: int,
    what: str,
    *,
    shuffle: bool,
    say: Callable[[str], None],
    features_and_mask: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """One AUC per adjacent pair of the plan's bins for the events of ``sample`` (:func:`pair_auc`);
    ``what`` names the sample in errors and progress lines; ``features_and_mask`` are the sample's
    :func:`sample_features` if already computed."""
    features, mask = features_and_mask if features_and_mask is not None else sample_features(sample, plan)
    subset_seed, *pair_seeds = child_seeds(seed, len(plan.edges))
    bins = _bin_events(sample.mass, plan, np.random.default_rng(subset_seed), what)
    pairs = []
    for i in range(len(bins) - 1):
        result = pair_auc(features, mask, bins[i], bins[i + 1], plan, pair_seeds[i], shuffle=shuffle)
        if plan.emd_pairs:
            from bumphunt.physics.emd import bin_distance

            low_jets, high_jets = _jet_rows(bins[i]), _jet_rows(bins[i + 1])
            result["emd"] = bin_distance(
                features[low_jets], mask[low_jets], features[high_jets], mask[high_jets],
                n_pairs=plan.emd_pairs, seed=pair_seeds[i] % 2**32,
            )  # fmt: skip
        result["low_bin"] = [plan.edges[i], plan.edges[i + 1]]
        result["high_bin"] = [plan.edges[i + 1], plan.edges[i + 2]]
        result["signal_low"] = int(sample.is_signal[bins[i]].sum())
        result["signal_high"] = int(sample.is_signal[bins[i + 1]].sum())
        pairs.append(result)
        low, mid, high = plan.edges[i : i + 3]
        auc, error = result["auc"], result["error"]
        say(f"{what}: {low:g}-{mid:g} vs {mid:g}-{high:g} GeV: AUC {auc:.4f} +- {error:.4f}")
    return pairs


def run_massbin_scan(
    plan: MassBinScanPlan, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run the scan of ``plan``; returns its summary (JSON-able).

    Returns
    -------
    dict
        ``plan``; ``pairs``: per adjacent pair its bins, AUC, error, per-fold AUCs, event and injected
        signal counts, training time; ``null``: the null's AUC and error per pair (mean and spread over
        shuffles for ``"shuffle"``); ``z``: each pair's local significance against the null;
        ``bin_counts``; ``wall_seconds``.
    """
    say = progress or (lambda _: None)
    start = time.perf_counter()
    data_seed, null_seed = child_seeds(plan.seed, 2)
    sample = load_scan_sample(plan.sources, plan, inject=True)
    counts = np.histogram(sample.mass, np.asarray(plan.edges))[0]
    n_signal = int(sample.is_signal.sum())
    say(f"{len(sample.mass)} events ({n_signal} injected signal); per bin {counts.tolist()}")
    inputs = sample_features(sample, plan)
    pairs = scan_sample(sample, plan, data_seed, "data", shuffle=False, say=say, features_and_mask=inputs)
    null: list[dict[str, Any]] | None = None
    if plan.null == "background":
        background = load_scan_sample(plan.null_sources, plan)
        null = scan_sample(background, plan, null_seed, "null (background)", shuffle=False, say=say)
        null = [{"auc": p["auc"], "error": p["error"]} for p in null]
    elif plan.null == "shuffle":
        runs = [
            scan_sample(
                sample, plan, s, f"null (shuffle {i + 1})", shuffle=True, say=say, features_and_mask=inputs
            )
            for i, s in enumerate(child_seeds(null_seed, plan.n_null))
        ]
        null = []
        for i in range(len(pairs)):
            aucs = np.array([run[i]["auc"] for run in runs])
            errors = np.array([run[i]["error"] for run in runs])
            spread = float(np.std(aucs, ddof=1)) if len(aucs) > 1 else float(errors[0])
            null.append({"auc": float(aucs.mean()), "error": max(spread, float(np.median(errors)))})
    z = None
    if null is not None:
        z = [
            (p["auc"] - n["auc"]) / float(np.hypot(p["error"], n["error"]))
            for p, n in zip(pairs, null, strict=True)
        ]
    return {
        "plan": asdict(plan),
        "n_events": len(sample.mass),
        "n_signal": int(sample.is_signal.sum()),
        "bin_counts": counts.tolist(),
        "pairs": pairs,
        "null": null,
        "z": z,
        "wall_seconds": time.perf_counter() - start,
    }


def _markdown(summary: Mapping[str, Any]) -> str:
    plan = summary["plan"]
    lines = [
        "# Mass-bin scan with Particle Flow Networks",
        "",
        f"Data: {', '.join(f'`{s}`' for s in plan['sources'])}; {summary['n_events']} events"
        + (f", {summary['n_signal']} injected from `{plan['signal']}`" if summary["n_signal"] else "")
        + f". Null: {plan['null'] or 'none'}. {plan['n_folds']} folds of {plan['n_ensemble']} PFNs each; "
        f"seed {plan['seed']}.",
        "",
        "| lower bin (GeV) | upper bin (GeV) | events | AUC | null AUC | local Z | EMD distance "
        "| train s/fold |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, pair in enumerate(summary["pairs"]):
        null = summary["null"][i] if summary["null"] else None
        null_text = f"{null['auc']:.4f} +- {null['error']:.4f}" if null else "-"
        z_text = f"{summary['z'][i]:+.2f}" if summary["z"] else "-"
        emd = pair.get("emd")
        emd_text = f"{emd['distance']:.4f} +- {emd['error']:.4f}" if emd else "-"
        low, high = pair["low_bin"], pair["high_bin"]
        lines.append(
            f"| {low[0]:g}-{low[1]:g} | {high[0]:g}-{high[1]:g} | {pair['n_low']} / {pair['n_high']} | "
            f"{pair['auc']:.4f} +- {pair['error']:.4f} | {null_text} | {z_text} | {emd_text} | "
            f"{pair['train_seconds_per_fold']:.1f} |"
        )
    return "\n".join([*lines, "", "![AUC along the mass](auc_scan.png)", ""])


def write_massbin_scan(
    summary: Mapping[str, Any],
    output: str | os.PathLike[str],
    *,
    text: str = "Simulation",
    com: float | None = 7.0,
) -> dict[str, str]:
    """Write ``summary.json``, ``report.md`` and ``auc_scan.png`` (AUC per pair along the mass, with the
    null band) into ``output``; return the paths."""
    import json

    from bumphunt._files import atomic_path
    from bumphunt.report.massbin_plots import auc_scan_figure
    from bumphunt.stats._records import jsonable

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "auc_scan": str(out / "auc_scan.png"),
        "report": str(out / "report.md"),
        "summary": str(out / "summary.json"),
    }
    with atomic_path(files["report"]) as tmp:
        tmp.write_text(_markdown(summary))
    with atomic_path(files["auc_scan"]) as tmp:
        auc_scan_figure(summary["pairs"], summary["null"], summary["z"], text=text, com=com).savefig(
            tmp, format="png"
        )
    with atomic_path(files["summary"]) as tmp:
        tmp.write_text(json.dumps(jsonable({**summary, "files": files}), indent=1))
    return files

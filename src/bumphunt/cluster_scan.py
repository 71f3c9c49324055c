"""Cluster scanning end to end: observed statistic, background-only bootstraps, signal-contamination runs.

Every run is a :class:`~bumphunt.executors.Task` of the resumable executors (local processes, Dask,
SLURM) with its own seed, and writes one result file:

``observed``
    the events as they are (no resampling);
``null-NNNN``
    a bootstrap of the background (its events drawn with replacement, as many as there are): the null
    distribution of the statistics;
``signal-EPS-NNNN``
    a bootstrap of the background with ``round(EPS * n_background)`` signal events injected (drawn
    without replacement from the signal store): how large the statistics get with that much signal.

In each run, for each of ``n_inits`` k-means initialisations,
:class:`~bumphunt.methods.cluster_scanning.JetKMeans` trains on the jets of the events in
``train_range`` (default: the scan range), every jet gets its cluster, and the cluster counts per mass
bin give the statistic of :mod:`bumphunt.stats.cluster_scan`; the run's statistic is the mean over the
initialisations (the paper's ensembling). On the same events the baseline bump hunt fits a dijet
function to the mass histogram (:func:`bumphunt.stats.fit.fit_background`) and takes the largest pull,
``max_b (n_b - f_b) / sqrt(f_b)``.

Significances of both come from their null distributions (:func:`bumphunt.stats.null_tail.null_p_value`:
counted among the null values, and beyond their reach from a generalized Pareto fit to their tail). The
null of cluster scanning is its bootstraps; the null of the fit baseline is the bootstraps' fits plus
``n_baseline_resamplings`` cheap resamplings of the background's mass histogram made in the observed run
(a bootstrap of the events draws the histogram from a multinomial distribution with the observed bin
fractions, so the fit needs no k-means to get the same null).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats

from bumphunt.config import ExecutorConfig
from bumphunt.errors import ConfigError, FitError
from bumphunt.executors import ResultStore, RunSummary, Task, run_tasks
from bumphunt.io.image_store import ImageStore, open_image_store
from bumphunt.methods.cluster_scanning import JetKMeans, bootstrap_multiplicities, cluster_counts
from bumphunt.seeding import seed_sequence, spawn_seeds
from bumphunt.stats.cluster_scan import STATISTICS, cluster_scan_statistic
from bumphunt.stats.fit import fit_background
from bumphunt.stats.null_tail import NullPValue, null_p_value
from bumphunt.stats.shapes import get_shape

__all__ = [
    "ClusterScanPlan",
    "StackedImages",
    "check_scan_range",
    "cluster_scan_tasks",
    "read_cluster_scan",
    "run_cluster_scan",
    "run_cluster_scan_task",
    "summarize_cluster_scan",
    "write_cluster_scan_outputs",
]


@dataclass(frozen=True)
class ClusterScanPlan:
    """What a cluster scan runs.

    Attributes
    ----------
    background
        Image store of the data (background-only for the bootstraps; :mod:`bumphunt.io.image_store`).
    signal
        Image store of the signal pool for contamination runs, or ``None``.
    edges
        Mass bin edges of the scan (GeV), bins ``[edges[b], edges[b + 1])``.
    n_clusters, batch_size, n_epochs
        The k-means (:class:`~bumphunt.methods.cluster_scanning.JetKMeans`).
    n_inits
        k-means initialisations per run; the run's statistic is their mean.
    threshold, statistic
        The labelling threshold and the statistic (:mod:`bumphunt.stats.cluster_scan`).
    train_range
        Mass range of the k-means training events (GeV); ``None``: the scan range.
    baseline_shape
        Background shape of the fit baseline (:func:`bumphunt.stats.shapes.get_shape`).
    n_bootstraps
        Background-only bootstraps (the null).
    signal_fractions
        Injected signal events per background event, one contamination point each.
    n_signal_runs
        Runs per contamination point.
    n_baseline_resamplings
        Extra resamplings of the background mass histogram for the null of the fit baseline.
    seed
        Master seed; every run's seed derives from it.
    """

    background: str
    signal: str | None = None
    edges: tuple[float, ...] = tuple(float(x) for x in np.linspace(3000.0, 4600.0, 17))
    n_clusters: int = 50
    batch_size: int = 2048
    n_epochs: int = 1
    n_inits: int = 1
    threshold: float = 3.0
    statistic: str = "max_deviation"
    train_range: tuple[float, float] | None = None
    baseline_shape: str = "dijet4"
    n_bootstraps: int = 200
    signal_fractions: tuple[float, ...] = ()
    n_signal_runs: int = 20
    n_baseline_resamplings: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 3 or np.any(np.diff(edges) <= 0):
            raise ConfigError(
                f"cluster scan: edges must be 3 or more increasing masses, got {list(self.edges)!r}"
            )
        if self.statistic not in STATISTICS:
            raise ConfigError(
                f"cluster scan: statistic {self.statistic!r} is not one of {', '.join(STATISTICS)}"
            )
        for name, minimum in (
            ("n_inits", 1),
            ("n_bootstraps", 0),
            ("n_signal_runs", 0),
            ("n_baseline_resamplings", 0),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < minimum:
                raise ConfigError(f"cluster scan: {name} must be an integer >= {minimum}, got {value!r}")
        if self.signal_fractions and self.signal is None:
            raise ConfigError("cluster scan: signal_fractions need a signal image store (signal)")
        if any(not 0 < f < 1 for f in self.signal_fractions):
            raise ConfigError(
                f"cluster scan: signal_fractions must lie in (0, 1), got {list(self.signal_fractions)!r}"
            )
        get_shape(self.baseline_shape, self.scan_range)
        JetKMeans(self.n_clusters, self.batch_size, self.n_epochs)  # checks the k-means settings

    @property
    def scan_range(self) -> tuple[float, float]:
        return float(self.edges[0]), float(self.edges[-1])


class StackedImages:
    """Two image arrays seen as one, indexable by sorted integer arrays (background, then signal)."""

    def __init__(self, first: np.ndarray, second: np.ndarray) -> None:
        self.first, self.second = first, second
        self.shape = (len(first) + len(second), *first.shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index)
        split = np.searchsorted(index, len(self.first))
        parts = [
            np.asarray(self.first[index[:split]]),
            np.asarray(self.second[index[split:] - len(self.first)]),
        ]
        return np.concatenate(parts)


def check_scan_range(plan: ClusterScanPlan, store: ImageStore) -> None:
    """Refuse a scan whose bins hold no events of the store, or whose training range has fewer jets than
    clusters (the message names the store and the setting)."""
    low, high = plan.scan_range
    inside = int(np.count_nonzero((store.mjj >= low) & (store.mjj < high)))
    if inside == 0:
        span = f"[{store.mjj.min():.0f}, {store.mjj.max():.0f}] GeV" if len(store) else "no events"
        raise ConfigError(
            f"cluster scan: the mass bins [{low:g}, {high:g}) GeV hold none of the events of image store "
            f"{str(store.directory)!r} (its masses: {span})"
        )
    train_low, train_high = plan.train_range or plan.scan_range
    n_jets = 2 * int(np.count_nonzero((store.mjj >= train_low) & (store.mjj < train_high)))
    if n_jets < plan.n_clusters:
        raise ConfigError(
            f"cluster scan: n_clusters = {plan.n_clusters} is larger than the {n_jets} jets of image store "
            f"{str(store.directory)!r} in the training range [{train_low:g}, {train_high:g}) GeV"
        )


def cluster_scan_tasks(plan: ClusterScanPlan) -> list[Task]:
    """The observed run, the bootstraps and the contamination runs of ``plan``, each with its seed."""
    keys = ["observed"] + [f"null-{i:04d}" for i in range(plan.n_bootstraps)]
    keys += [f"signal-{f:.6g}-{i:04d}" for f in plan.signal_fractions for i in range(plan.n_signal_runs)]
    seeds = spawn_seeds(plan.seed, len(keys))
    settings = asdict(plan)
    tasks = []
    for key, seed in zip(keys, seeds, strict=True):
        kind = key.split("-")[0]
        params: dict[str, Any] = {"plan": settings, "kind": kind}
        if kind == "signal":
            params["fraction"] = float(key.split("-")[1])
        tasks.append(Task(key=key, seed=seed, params=params))
    return tasks


def _baseline(mjj: np.ndarray, weights: np.ndarray, edges: np.ndarray, shape: str) -> float:
    """Largest pull of the mass histogram over a dijet-function fit to all bins (nan if the fit fails)."""
    counts, _ = np.histogram(mjj, bins=edges, weights=weights)
    return _largest_pull(counts, edges, shape)


def _baseline_null(mjj: np.ndarray, edges: np.ndarray, shape: str, n: int, rng: np.random.Generator) -> list:
    """The fit baseline on ``n`` bootstraps of the events ``mjj``, drawn as multinomial histograms."""
    counts, _ = np.histogram(mjj, bins=edges)
    outside = len(mjj) - counts.sum()
    draws = rng.multinomial(len(mjj), np.append(counts, outside) / len(mjj), size=n)[:, :-1]
    values = [_largest_pull(draw, edges, shape) for draw in draws]
    return [v for v in values if math.isfinite(v)]


def _largest_pull(counts: np.ndarray, edges: np.ndarray, shape: str) -> float:
    """``max_b (n_b - f_b) / sqrt(f_b)`` over a fit of ``shape`` to all bins (nan if the fit fails)."""
    try:
        fit = fit_background(counts, edges, get_shape(shape, (edges[0], edges[-1])))
    except FitError:
        return math.nan
    expected = fit.expected()
    return float(np.max((counts - expected) / np.sqrt(np.where(expected > 0, expected, 1.0))))


def run_cluster_scan_task(task: Task) -> dict[str, Any]:
    """One run (see the module documentation) on one core; the executors call it in worker processes."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # OpenMP/BLAS of k-means: the executor runs one task per core
        return _cluster_scan_run(task)


def _cluster_scan_run(task: Task) -> dict[str, Any]:
    plan = ClusterScanPlan(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in task.params["plan"].items()}
    )
    kind = task.params["kind"]
    rng = np.random.default_rng(seed_sequence(task.seed))
    store = open_image_store(plan.background)
    weights = np.ones(len(store))
    if kind != "observed":
        weights = bootstrap_multiplicities(len(store), rng.integers(2**63)).astype(np.float64)
    images: Any = store.images
    mjj = store.mjj
    n_signal = 0
    if kind == "signal":
        signal = open_image_store(plan.signal)  # type: ignore[arg-type]
        n_signal = round(task.params["fraction"] * len(store))
        if n_signal > len(signal):
            raise ConfigError(
                f"cluster scan: {n_signal} signal events asked, the signal store {plan.signal!r} "
                f"has {len(signal)}"
            )
        pick = np.sort(rng.choice(len(signal), n_signal, replace=False))
        images = StackedImages(store.images, signal.images[pick])
        mjj = np.concatenate([store.mjj, signal.mjj[pick]])
        weights = np.concatenate([weights, np.ones(n_signal)])
    low, high = plan.train_range or plan.scan_range
    edges = np.asarray(plan.edges)
    values, counts_per_init = [], []
    for init in range(plan.n_inits):
        model = JetKMeans(
            plan.n_clusters, plan.batch_size, plan.n_epochs, seed=np.random.SeedSequence([task.seed, init])
        )
        model.fit(images, weights, select=(mjj >= low) & (mjj < high))
        counts = cluster_counts(model.predict(images), mjj, edges, plan.n_clusters, weights)
        values.append(
            cluster_scan_statistic(counts, threshold=plan.threshold, statistic=plan.statistic).value
        )  # type: ignore[arg-type]
        counts_per_init.append(counts.astype(np.int64).tolist())
    record = {
        "kind": kind,
        "fraction": task.params.get("fraction", 0.0),
        "n_signal": n_signal,
        "n_events": float(weights.sum()),
        "statistic": float(np.mean(values)),
        "statistic_per_init": values,
        "baseline": _baseline(mjj, weights, edges, plan.baseline_shape),
        "counts": counts_per_init,
    }
    if kind == "observed":
        record["baseline_null"] = _baseline_null(
            mjj, edges, plan.baseline_shape, plan.n_baseline_resamplings, rng
        )
    return record


def run_cluster_scan(
    plan: ClusterScanPlan,
    directory: str | os.PathLike[str],
    *,
    executor: ExecutorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Run every task of ``plan`` not yet in ``directory`` (one JSON result file per task)."""
    store = open_image_store(plan.background)
    check_scan_range(plan, store)
    if plan.signal is not None:
        open_image_store(plan.signal)
    return run_tasks(
        run_cluster_scan_task,
        cluster_scan_tasks(plan),
        ResultStore(directory),
        executor=executor or ExecutorConfig(),
        progress=progress,
    )


def _band(values: Sequence[float]) -> dict[str, float]:
    low, median, high = np.percentile(np.asarray(values, dtype=np.float64), [16, 50, 84])
    return {"median": float(median), "low": float(low), "high": float(high)}


def _crossing(x: np.ndarray, z: np.ndarray, level: float = 3.0) -> float | None:
    """Where the median Z first reaches ``level``, linearly interpolated (None if it never does)."""
    above = np.flatnonzero(z >= level)
    if not len(above):
        return None
    i = above[0]
    if i == 0:
        return float(x[0]) if z[0] == level else None
    return float(x[i - 1] + (level - z[i - 1]) * (x[i] - x[i - 1]) / (z[i] - z[i - 1]))


def _z_band(values: Sequence[NullPValue]) -> dict[str, Any]:
    """Median and 68 % band of the significances, and how many came from the tail fit or are limits."""
    band = _band([v.z for v in values])
    band["extrapolated"] = sum(v.method != "empirical" for v in values)
    band["limits"] = sum(v.is_limit for v in values)
    return band


def _reach(n_null: int, min_beyond: int = 10) -> float:
    """Z beyond which fewer than ``min_beyond`` of ``n_null`` null values lie (the tail fit takes over)."""
    return float(scipy.stats.norm.isf(min(min_beyond / n_null, 0.5)))


def summarize_cluster_scan(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Significances of the observed run and of each contamination point, for cluster scanning and the
    fit baseline, and the injected signal each needs for a median of 3 sigma.

    Significances come from :func:`bumphunt.stats.null_tail.null_p_value`; ``z_reach`` gives, for each
    method, the Z beyond which its p-values come from the generalized Pareto tail fit, and each band
    counts its ``extrapolated`` runs.
    """
    null = [r for r in records if r["kind"] == "null"]
    if not null:
        raise ConfigError("cluster scan: no background-only bootstrap finished; run the bootstraps first")
    null_cs = np.array([r["statistic"] for r in null])
    observed = next((r for r in records if r["kind"] == "observed"), None)
    null_fit = np.array(
        [r["baseline"] for r in null] + ([] if observed is None else observed.get("baseline_null", [])),
        dtype=np.float64,
    )
    null_fit = null_fit[np.isfinite(null_fit)]
    summary: dict[str, Any] = {
        "n_bootstraps": len(null),
        "n_baseline_null": len(null_fit),
        "null_statistic": null_cs.tolist(),
        "z_reach": {"cluster_scan": _reach(len(null_cs)), "fit": _reach(max(len(null_fit), 1))},
    }
    if observed is not None:
        summary["observed"] = {
            "statistic": observed["statistic"],
            **null_p_value(observed["statistic"], null_cs).to_dict(),
        }
        if len(null_fit) and math.isfinite(observed["baseline"]):
            summary["observed_fit"] = {
                "statistic": observed["baseline"],
                **null_p_value(observed["baseline"], null_fit).to_dict(),
            }
    points = []
    for fraction in sorted({r["fraction"] for r in records if r["kind"] == "signal"}):
        runs = [r for r in records if r["kind"] == "signal" and r["fraction"] == fraction]
        z_cs = [null_p_value(r["statistic"], null_cs) for r in runs]
        z_fit = [null_p_value(r["baseline"], null_fit) for r in runs if np.isfinite(r["baseline"])]
        points.append(
            {
                "fraction": fraction,
                "n_signal": runs[0]["n_signal"],
                "runs": len(runs),
                "z_cluster_scan": _z_band(z_cs),
                "z_fit": _z_band(z_fit) if z_fit and len(null_fit) else None,
            }
        )
    summary["points"] = points
    if points:
        n = np.array([p["n_signal"] for p in points], dtype=np.float64)
        need_cs = _crossing(n, np.array([p["z_cluster_scan"]["median"] for p in points]))
        fit_medians = np.array([p["z_fit"]["median"] if p["z_fit"] else np.nan for p in points])
        need_fit = _crossing(n, fit_medians)
        summary["signal_for_3_sigma"] = {"cluster_scan": need_cs, "fit": need_fit}
        summary["ratio"] = need_cs / need_fit if need_cs is not None and need_fit else None
    return summary


def read_cluster_scan(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The finished results of a cluster-scan directory.

    Raises
    ------
    bumphunt.errors.ConfigError
        If the directory holds no result.
    """
    records = [record["result"] for record in ResultStore(directory).read_all()]
    if not records:
        raise ConfigError(f"cluster scan: {str(Path(directory))!r} holds no finished run")
    return records


def write_cluster_scan_outputs(
    directory: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    extra: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """Summarize the runs in ``directory`` and write ``summary.json`` and the figures into ``output``.

    ``extra`` directories add their bootstraps and contamination runs (e.g. more signal points run later
    as plans of their own, with other seeds); their observed runs are left out.

    Returns the summary (:func:`summarize_cluster_scan`) with the paths written under ``"files"``.
    """
    import json

    from bumphunt._files import atomic_path
    from bumphunt.report.cluster_scan_plots import (
        cluster_shares_figure,
        null_distribution_figure,
        significance_figure,
    )

    stored = ResultStore(directory).read_all()
    records = [record["result"] for record in stored]
    if not records:
        raise ConfigError(f"cluster scan: {str(Path(directory))!r} holds no finished run")
    for more in extra:
        records += [r["result"] for r in ResultStore(more).read_all() if r["result"]["kind"] != "observed"]
    summary = summarize_cluster_scan(records)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    settings = stored[0]["params"]["plan"]
    observed = next((r for r in records if r["kind"] == "observed"), None)
    if observed is not None:
        counts = np.asarray(observed["counts"][0], dtype=np.float64)
        rich = cluster_scan_statistic(
            counts, threshold=settings["threshold"], statistic=settings["statistic"]
        ).rich
        files["cluster_shares"] = out / "cluster_shares.png"
        cluster_shares_figure(counts, settings["edges"], rich).savefig(files["cluster_shares"])
    files["null_distribution"] = out / "null_distribution.png"
    null_distribution_figure(
        summary["null_statistic"], None if observed is None else observed["statistic"]
    ).savefig(files["null_distribution"])
    if summary["points"]:
        files["significance"] = out / "significance.png"
        significance_figure(
            summary["points"],
            z_reach=summary["z_reach"]["cluster_scan"],
            needed=summary["signal_for_3_sigma"],
        ).savefig(files["significance"])
    summary["settings"] = settings
    files["summary"] = out / "summary.json"
    with atomic_path(files["summary"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    summary["files"] = {k: str(v) for k, v in files.items()}
    return summary

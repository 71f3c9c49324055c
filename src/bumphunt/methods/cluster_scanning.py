"""Cluster scanning: k-means on jet images, and the populations of the clusters along the dijet mass.

Each event brings the images of its two leading jets (:mod:`bumphunt.io.image_store`). A
:class:`JetKMeans` (scikit-learn's ``MiniBatchKMeans``, fed block by block so that the images never sit
in memory together) splits the image space into ``k`` clusters; every jet gets a cluster, and
:func:`cluster_counts` counts the jets of each cluster in each mass bin, ``N[i, b]`` (an event adds
its two jets, as in arXiv:2402.17714). :mod:`bumphunt.stats.cluster_scan` turns the counts into the
test statistic.

Bootstraps (background-only resamplings with replacement) weigh each event by its multiplicity
(:func:`bootstrap_multiplicities`): k-means takes them as sample weights and the counts add them up,
which is the same as training on and counting the resampled events.

In a windowed search (``bumphunt run`` with ``method: cluster_scan``) the same idea works on any event
features: :class:`ClusterHistogramClassifier` clusters the events of a mass window and scores each
cluster by the share of signal-region events among its training events, so that a cut on the score keeps
the clusters whose population rises in the signal region
(:class:`~bumphunt.methods.detectors.ClusterScan`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import MiniBatchKMeans

from bumphunt.errors import ConfigError, NotFittedError
from bumphunt.methods._validation import as_matrix, binary_labels, event_weights
from bumphunt.seeding import SeedLike, seed_sequence

__all__ = ["ClusterHistogramClassifier", "JetKMeans", "bootstrap_multiplicities", "cluster_counts"]


def bootstrap_multiplicities(n_events: int, seed: SeedLike) -> np.ndarray:
    """How often each of ``n_events`` events is drawn in a resampling of ``n_events`` with replacement."""
    rng = np.random.default_rng(seed_sequence(seed))
    return np.bincount(rng.integers(0, n_events, n_events), minlength=n_events).astype(np.int64)


def _flat(images: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The jet images of events ``index`` (sorted, for memory-map locality) as ``(2 len, pixels^2)``."""
    block = np.asarray(images[index], dtype=np.float32)
    return block.reshape(len(index) * block.shape[1], -1)


@dataclass
class JetKMeans:
    """k-means on jet images with scikit-learn's ``MiniBatchKMeans``, trained block by block.

    Parameters
    ----------
    n_clusters
        Clusters ``k`` (the paper: 50).
    batch_size
        Jets per mini-batch (the paper: 2048).
    n_epochs
        Passes over the training events.
    seed
        Seed of the initialisation (k-means++ on the first mini-batch) and of the order of the events.

    Attributes
    ----------
    kmeans_
        The fitted ``MiniBatchKMeans``.
    """

    n_clusters: int = 50
    batch_size: int = 2048
    n_epochs: int = 1
    seed: SeedLike = 0
    kmeans_: MiniBatchKMeans | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("n_clusters", "batch_size", "n_epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"cluster scanning: {name} must be a positive integer, got {value!r}")
        if self.batch_size < 2 * self.n_clusters:
            raise ConfigError(
                f"cluster scanning: batch_size ({self.batch_size}) must be at least twice n_clusters "
                f"({self.n_clusters}) for the k-means++ initialisation on the first mini-batch"
            )

    def fit(
        self, images: np.ndarray, weights: np.ndarray | None = None, select: np.ndarray | None = None
    ) -> JetKMeans:
        """Train on the jets of the events with a positive weight (both jets of each).

        Parameters
        ----------
        images
            ``(n, 2, pixels, pixels)`` (an array or a memory map).
        weights
            ``(n,)`` event weights (bootstrap multiplicities); ``None``: all 1.
        select
            ``(n,)`` boolean: the events to train on (e.g. the scan range); ``None``: all.

        Raises
        ------
        bumphunt.errors.ConfigError
            If there are fewer training jets than clusters.
        """
        n = len(images)
        weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        use = weights > 0 if select is None else (weights > 0) & np.asarray(select, dtype=bool)
        train = np.flatnonzero(use)
        n_jets = 2 * len(train)
        if n_jets < max(self.n_clusters, 2):
            raise ConfigError(
                f"cluster scanning: n_clusters = {self.n_clusters} is larger than the {n_jets} jets "
                "to train on; lower n_clusters or widen the training range"
            )
        rng = np.random.default_rng(seed_sequence(self.seed))
        kmeans = MiniBatchKMeans(
            n_clusters=self.n_clusters,
            batch_size=self.batch_size,
            n_init=1,
            random_state=int(rng.integers(2**31 - 1)),
        )
        events_per_batch = max(self.batch_size // 2, self.n_clusters)
        for _ in range(self.n_epochs):
            order = rng.permutation(train)
            for start in range(0, len(order), events_per_batch):
                index = np.sort(order[start : start + events_per_batch])
                kmeans.partial_fit(_flat(images, index), sample_weight=np.repeat(weights[index], 2))
        self.kmeans_ = kmeans
        return self

    def predict(self, images: np.ndarray, block: int = 4096) -> np.ndarray:
        """Cluster of each jet: ``(n, 2)`` int, computed ``block`` events at a time."""
        if self.kmeans_ is None:
            raise NotFittedError("JetKMeans is not fitted; call fit() first")
        n = len(images)
        labels = np.empty((n, 2), dtype=np.int32)
        for start in range(0, n, block):
            index = np.arange(start, min(start + block, n))
            labels[index] = self.kmeans_.predict(_flat(images, index)).reshape(-1, 2)
        return labels


def cluster_counts(
    labels: np.ndarray,
    mjj: np.ndarray,
    edges: np.ndarray,
    n_clusters: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Jets of each cluster in each mass bin.

    Parameters
    ----------
    labels
        ``(n, 2)`` clusters of the two jets of each event.
    mjj
        ``(n,)`` dijet masses (GeV).
    edges
        Increasing bin edges (GeV); bins are ``[edges[b], edges[b + 1])``.
    n_clusters
        ``k``.
    weights
        ``(n,)`` event weights (bootstrap multiplicities); ``None``: all 1.

    Returns
    -------
    numpy.ndarray
        ``(k, len(edges) - 1)`` float64.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ConfigError(f"cluster scanning: mass bin edges must increase, got {edges.tolist()!r}")
    labels = np.asarray(labels)
    mjj = np.asarray(mjj, dtype=np.float64)
    weights = np.ones(len(mjj)) if weights is None else np.asarray(weights, dtype=np.float64)
    n_bins = len(edges) - 1
    bin_index = np.searchsorted(edges, mjj, side="right") - 1
    inside = (bin_index >= 0) & (bin_index < n_bins)
    flat = labels[inside].astype(np.int64) * n_bins + bin_index[inside, None]
    counts = np.bincount(
        flat.ravel(), weights=np.repeat(weights[inside], labels.shape[1]), minlength=n_clusters * n_bins
    )
    return counts.reshape(n_clusters, n_bins)


class ClusterHistogramClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier that clusters the events and scores each cluster by its share of class 1.

    The features are standardised (mean 0, variance 1 on the training events), scikit-learn's
    ``MiniBatchKMeans`` splits them into ``n_clusters`` clusters, and an event's probability of class 1
    is the weighted share of class-1 training events in its cluster, shrunk towards the overall share
    ``pi`` by ``prior`` pseudo-events: ``p_c = (w1_c + prior * pi) / (w_c + prior)``. A cluster met by
    no training event scores ``pi``.

    Parameters
    ----------
    n_clusters
        Clusters ``k``.
    batch_size
        Events per k-means mini-batch.
    n_init
        k-means++ initialisations; the one with the lowest inertia is kept.
    prior
        Pseudo-events of the shrinkage towards the overall share (weight units).
    seed
        Seed of the k-means.
    """

    def __init__(
        self,
        n_clusters: int = 50,
        *,
        batch_size: int = 2048,
        n_init: int = 3,
        prior: float = 10.0,
        seed: SeedLike = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.n_init = n_init
        self.prior = prior
        self.seed = seed

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> ClusterHistogramClassifier:
        """Cluster the events ``X`` and count the classes ``y`` (0, 1) of each cluster; returns self.

        Raises
        ------
        bumphunt.errors.ConfigError
            If ``n_clusters`` is larger than the number of events, or a setting is out of range.
        """
        for name in ("n_clusters", "batch_size", "n_init"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"ClusterHistogramClassifier: {name} must be a positive integer, got {value!r}"
                )
        if not self.prior >= 0:
            raise ConfigError(f"ClusterHistogramClassifier: prior must not be negative, got {self.prior!r}")
        features = as_matrix(X)
        labels = binary_labels(y, len(features))
        weights = event_weights(sample_weight, len(features))
        if self.n_clusters > len(features):
            raise ConfigError(
                f"ClusterHistogramClassifier: n_clusters = {self.n_clusters} is larger than the "
                f"{len(features)} training events; lower n_clusters"
            )
        self.mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        rng = np.random.default_rng(seed_sequence(self.seed))
        self.kmeans_ = MiniBatchKMeans(
            n_clusters=self.n_clusters,
            batch_size=self.batch_size,
            n_init=self.n_init,
            random_state=int(rng.integers(2**31 - 1)),
        ).fit(self._standardised(features), sample_weight=weights)
        cluster = self.kmeans_.labels_
        total = np.bincount(cluster, weights=weights, minlength=self.n_clusters)
        signal = np.bincount(cluster, weights=weights * labels, minlength=self.n_clusters)
        self.share_ = float(signal.sum() / total.sum())
        self.cluster_probability_ = (signal + self.prior * self.share_) / np.maximum(
            total + self.prior, np.finfo(float).tiny
        )
        self.cluster_probability_[total + self.prior == 0] = self.share_
        self.classes_ = np.array([0, 1])
        return self

    def _standardised(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean_) / self.scale_

    def predict_cluster(self, X: npt.ArrayLike) -> np.ndarray:
        """Cluster of each event of ``X``."""
        if not hasattr(self, "kmeans_"):
            raise NotFittedError("ClusterHistogramClassifier is not fitted; call fit() first")
        return self.kmeans_.predict(self._standardised(as_matrix(X)))

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """``(n, 2)``: probabilities of class 0 and 1 (the share of class 1 in each event's cluster)."""
        clusters = self.predict_cluster(X)
        p = self.cluster_probability_[clusters]
        return np.column_stack([1.0 - p, p])

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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import MiniBatchKMeans

from bumphunt.errors import ConfigError, NotFittedError
from bumphunt.seeding import SeedLike, seed_sequence

__all__ = ["JetKMeans", "bootstrap_multiplicities", "cluster_counts"]


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

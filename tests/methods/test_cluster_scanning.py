"""k-means on jet images and cluster counts along the mass."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError, NotFittedError
from bumphunt.methods.cluster_scanning import (
    ClusterHistogramClassifier,
    JetKMeans,
    bootstrap_multiplicities,
    cluster_counts,
)


def _images(
    rng: np.random.Generator, n: int, kinds: int = 3, pixels: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Events whose two jets are each one of ``kinds`` blob positions (plus noise); the kind of each jet."""
    kind = rng.integers(0, kinds, size=(n, 2))
    images = rng.uniform(0, 0.02, size=(n, 2, pixels, pixels))
    rows = np.arange(n)[:, None]
    images[rows, np.arange(2)[None, :], 2 * kind, 2 * kind] += 1.0
    return images / images.sum(axis=(2, 3), keepdims=True), kind


def test_kmeans_recovers_the_kinds_of_jets():
    rng = np.random.default_rng(0)
    images, kind = _images(rng, 600)
    model = JetKMeans(n_clusters=3, batch_size=128, n_epochs=2, seed=1).fit(images)
    labels = model.predict(images, block=97)
    assert labels.shape == (600, 2)
    # each cluster is one kind of jet
    for cluster in range(3):
        assert len(np.unique(kind[labels == cluster])) == 1
    # the same seed gives the same clusters
    again = JetKMeans(n_clusters=3, batch_size=128, n_epochs=2, seed=1).fit(images).predict(images)
    assert np.array_equal(labels, again)


def test_weights_act_like_repeated_events():
    rng = np.random.default_rng(1)
    images, kind = _images(rng, 400, kinds=4)
    # events of kind 3 weighted 0: no cluster is made for them when k = 3
    weights = np.where((kind == 3).any(axis=1), 0, 1)
    model = JetKMeans(n_clusters=3, batch_size=64, n_epochs=3, seed=2).fit(images, weights=weights)
    kept = weights > 0
    labels = model.predict(images[kept])
    for cluster in range(3):
        assert len(np.unique(kind[kept][labels == cluster])) == 1
    with pytest.raises(ConfigError, match="larger than the 4 jets"):
        JetKMeans(n_clusters=5, batch_size=64).fit(images, select=np.arange(400) < 2)
    with pytest.raises(NotFittedError):
        JetKMeans().predict(images)
    with pytest.raises(ConfigError, match="batch_size"):
        JetKMeans(n_clusters=50, batch_size=64)


def test_counts_add_both_jets_of_each_event_in_its_mass_bin():
    labels = np.array([[0, 1], [1, 1], [2, 0], [0, 0]])
    mjj = np.array([1.0, 2.5, 3.5, 9.0])  # the last outside
    counts = cluster_counts(labels, mjj, [1.0, 2.0, 3.0, 4.0], n_clusters=3)
    assert counts.tolist() == [[1, 0, 1], [1, 2, 0], [0, 0, 1]]
    weighted = cluster_counts(labels, mjj, [1.0, 2.0, 3.0, 4.0], 3, weights=[2, 0, 1, 5])
    assert weighted.tolist() == [[2, 0, 1], [2, 0, 0], [0, 0, 1]]
    with pytest.raises(ConfigError, match="edges must increase"):
        cluster_counts(labels, mjj, [2.0, 1.0], 3)


def test_bootstrap_multiplicities_resample_with_replacement():
    counts = bootstrap_multiplicities(10_000, seed=3)
    assert counts.sum() == 10_000
    assert np.mean(counts == 0) == pytest.approx(np.exp(-1), abs=0.02)
    assert np.array_equal(counts, bootstrap_multiplicities(10_000, seed=3))
    assert not np.array_equal(counts, bootstrap_multiplicities(10_000, seed=4))


def test_cluster_histogram_classifier_scores_clusters_by_their_share_of_class_one():
    rng = np.random.default_rng(3)
    # four blobs; one of them is mostly class 1
    centres = np.array([[0, 0], [5, 0], [0, 5], [5, 5]], dtype=float)
    kind = rng.integers(0, 4, 4000)
    X = centres[kind] + rng.normal(0, 0.3, (4000, 2))
    y = np.where(kind == 3, rng.uniform(size=4000) < 0.8, rng.uniform(size=4000) < 0.2).astype(int)
    model = ClusterHistogramClassifier(n_clusters=4, prior=0.0, seed=1).fit(X, y)
    p = model.predict_proba(centres)[:, 1]
    assert p[3] == pytest.approx(np.mean(y[kind == 3]), abs=1e-9)
    assert np.all(p[:3] < 0.3)
    # shrinkage pulls a cluster towards the overall share
    shrunk = ClusterHistogramClassifier(n_clusters=4, prior=1e6, seed=1).fit(X, y)
    assert shrunk.predict_proba(centres)[:, 1] == pytest.approx(np.full(4, y.mean()), abs=1e-3)
    # the same seed gives the same clusters
    again = ClusterHistogramClassifier(n_clusters=4, prior=0.0, seed=1).fit(X, y)
    np.testing.assert_array_equal(again.predict_cluster(X), model.predict_cluster(X))


def test_cluster_histogram_classifier_names_bad_settings():
    X, y = np.zeros((5, 2)), np.array([0, 1, 0, 1, 0])
    with pytest.raises(ConfigError, match="n_clusters = 10 is larger than the 5 training events"):
        ClusterHistogramClassifier(n_clusters=10).fit(X, y)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        ClusterHistogramClassifier(batch_size=0).fit(X, y)
    with pytest.raises(NotFittedError):
        ClusterHistogramClassifier().predict_proba(X)

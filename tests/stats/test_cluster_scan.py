"""Cluster-scanning statistics on toy cluster counts."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.stats.cluster_scan import (
    cluster_scan_statistic,
    label_clusters,
    robust_standardise,
)


def _toy(rng: np.random.Generator, k: int = 50, bins: int = 16, total: float = 4e5) -> np.ndarray:
    """Background counts: a falling spectrum, each cluster a fixed share in every bin (Poisson)."""
    spectrum = total * np.exp(-np.arange(bins) / 4.0)
    spectrum /= spectrum.sum() / total
    shares = rng.dirichlet(np.full(k, 5.0))
    return rng.poisson(np.outer(shares, spectrum)).astype(float)


def test_robust_standardisation_ignores_outliers():
    rng = np.random.default_rng(0)
    values = rng.normal(2.0, 0.5, size=(1000, 3))
    values[:5] = 100.0
    z = robust_standardise(values)
    assert np.median(z[5:], axis=0) == pytest.approx(0.0, abs=0.1)
    assert np.std(z[5:], axis=0) == pytest.approx(1.0, abs=0.1)
    assert np.all(z[:5] > 50)


def test_a_cluster_rising_in_one_bin_gives_a_large_statistic():
    rng = np.random.default_rng(1)
    background = _toy(rng)
    flat = cluster_scan_statistic(background)
    bump = background.copy()
    bump[7, 9] += 6 * np.sqrt(bump[7, 9]) + 300  # a resonance in cluster 7, bin 9
    bumped = cluster_scan_statistic(bump)
    assert bumped.rich[7]
    assert bumped.value > 8
    assert bumped.value > 3 * max(flat.value, 1.0)
    assert np.argmax(np.abs(bumped.rich_spectrum - bumped.expected)) == 9


def test_flat_toys_give_small_statistics():
    rng = np.random.default_rng(2)
    values = [cluster_scan_statistic(_toy(rng)).value for _ in range(40)]
    assert np.median(values) < 3.0
    chi2 = [cluster_scan_statistic(_toy(rng), statistic="chi2_ndof").value for _ in range(20)]
    assert np.median(chi2) < 2.0


def test_no_rich_cluster_gives_zero():
    counts = np.full((10, 8), 100.0)
    result = cluster_scan_statistic(counts)
    assert result.value == 0.0 and not result.rich.any()
    assert not label_clusters(np.zeros((4, 3))).any()


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="clusters, bins"):
        cluster_scan_statistic(np.ones(5))
    with pytest.raises(ValueError, match="negative"):
        cluster_scan_statistic(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="unknown statistic"):
        cluster_scan_statistic(np.ones((3, 3)), statistic="nope")

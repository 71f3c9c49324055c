"""Test statistics of cluster scanning: do some clusters' populations change along the mass?

Cluster scanning (arXiv:2402.17714) splits the events (or jets) into ``k`` clusters and counts each
cluster in ``B`` mass bins, ``N[i, b]``. Background keeps each cluster's share of the spectrum smooth
in mass; a resonance raises the share of the clusters its events fall into, in its bins. The functions
here take the counts and return the statistic; they know nothing of images or k-means.

Notation: ``S_i = sum_b N[i, b]`` (clusters with ``S_i = 0`` are dropped), ``N_b = sum_i N[i, b]``,
``S = sum_b N_b``.

**Labelling** (:func:`label_clusters`, the paper's "maxdev"): the deviation of each cluster's
normalised spectrum from the inclusive one, ``d[i, b] = N[i, b] / S_i - N_b / S``, is standardised per
bin across clusters with robust estimates (the 20 % of clusters farthest from the bin's median left
out; location the mean of the rest, scale 1.51 times their standard deviation, which makes it
consistent for a Gaussian), ``z[i, b] = (d[i, b] - mu_b) / sigma_b``. A cluster is *signal-rich* when
``max_b z[i, b] > threshold`` (default 3).

**Statistics** (:func:`cluster_scan_statistic`), from the rich spectrum ``R_b`` (sum over rich
clusters) and the poor one ``P_b`` scaled to the rich total, ``E_b = P_b sum(R) / sum(P)``:

* ``"max_deviation"`` (the paper's recommended "max-sumnorm-dev-rs"):
  ``T = max_b |R_b - E_b| / sqrt(E_b)``;
* ``"chi2_ndof"``: ``T = (1 / B) sum_b (R_b - E_b)^2 / (E_b (1 + sum(R) / sum(P)))``, the mean squared
  pull with the errors of both spectra.

Bins with ``E_b = 0`` use an error of 1. With no rich cluster, ``T = 0``. Significances come from the
distribution of ``T`` over background-only resamplings
(:func:`bumphunt.stats.null_tail.null_p_value`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "STATISTICS",
    "ClusterScanStatistic",
    "cluster_scan_statistic",
    "label_clusters",
    "robust_standardise",
]

Statistic = Literal["max_deviation", "chi2_ndof"]
#: The test statistics by name.
STATISTICS: tuple[str, ...] = ("max_deviation", "chi2_ndof")
#: Scale factor of the robust standard deviation (1.51: consistent for Gaussian deviations with 20 % cut).
_ROBUST_SCALE = 1.51
_OUTLIER_FRACTION = 0.2


def _counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"counts must be a (clusters, bins) array, got shape {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("counts must be finite and not negative")
    return counts


def robust_standardise(values: np.ndarray, outlier_fraction: float = _OUTLIER_FRACTION) -> np.ndarray:
    """Standardise each column of ``values`` (rows: clusters) with a location and scale that ignore the
    ``outlier_fraction`` of rows farthest from the column median."""
    values = np.asarray(values, dtype=np.float64)
    distance = np.abs(values - np.median(values, axis=0))
    cut = np.quantile(distance, 1.0 - outlier_fraction, axis=0)
    kept = distance <= cut
    n = kept.sum(axis=0)
    mean = np.where(kept, values, 0.0).sum(axis=0) / n
    spread = np.sqrt(np.where(kept, (values - mean) ** 2, 0.0).sum(axis=0) / n) * _ROBUST_SCALE
    return np.divide(values - mean, spread, out=np.zeros_like(values), where=spread > 0)


def label_clusters(counts: np.ndarray, threshold: float = 3.0) -> np.ndarray:
    """Which clusters are signal-rich: boolean ``(k,)``, False for empty clusters.

    Parameters
    ----------
    counts
        ``(k, B)`` counts of each cluster in each mass bin.
    threshold
        A cluster is rich if its robustly standardised deviation exceeds this in some bin.
    """
    counts = _counts(counts)
    filled = counts.sum(axis=1) > 0
    rich = np.zeros(len(counts), dtype=bool)
    if filled.sum() < 2:
        return rich
    kept = counts[filled]
    inclusive = kept.sum(axis=0)
    deviation = kept / kept.sum(axis=1, keepdims=True) - inclusive / inclusive.sum()
    rich[filled] = robust_standardise(deviation).max(axis=1) > threshold
    return rich


@dataclass(frozen=True)
class ClusterScanStatistic:
    """The statistic of one set of cluster counts and what it was computed from.

    Attributes
    ----------
    value
        The test statistic ``T``.
    rich
        ``(k,)`` the signal-rich clusters.
    rich_spectrum, expected
        ``R_b`` and ``E_b`` (events per mass bin).
    """

    value: float
    rich: np.ndarray
    rich_spectrum: np.ndarray
    expected: np.ndarray


def cluster_scan_statistic(
    counts: np.ndarray, *, threshold: float = 3.0, statistic: Statistic = "max_deviation"
) -> ClusterScanStatistic:
    """The cluster-scanning test statistic of ``(k, B)`` counts (see the module documentation)."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; choose one of {', '.join(STATISTICS)}")
    counts = _counts(counts)
    rich = label_clusters(counts, threshold)
    rich_spectrum = counts[rich].sum(axis=0)
    poor = counts[~rich].sum(axis=0)
    if not rich.any() or poor.sum() == 0:
        return ClusterScanStatistic(0.0, rich, rich_spectrum, rich_spectrum.copy())
    ratio = rich_spectrum.sum() / poor.sum()
    expected = poor * ratio
    variance = np.where(expected > 0, expected, 1.0)
    if statistic == "max_deviation":
        value = float(np.max(np.abs(rich_spectrum - expected) / np.sqrt(variance)))
    else:
        value = float(np.mean((rich_spectrum - expected) ** 2 / (variance * (1.0 + ratio))))
    return ClusterScanStatistic(value, rich, rich_spectrum, expected)

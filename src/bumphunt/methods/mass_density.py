"""Density of the signal-region mass spectrum, to draw the masses at which CATHODE samples its flow.

:class:`KDEMassDensity` is a Gaussian kernel density estimate (``scipy.stats.gaussian_kde``) of the SR
data masses, truncated to the SR interval by rejection: draws outside ``[low, high)`` are discarded and
redrawn. Truncation by rejection renormalizes the estimate inside the interval but does not correct the
edges, where a KDE of a spectrum that is cut at the edges underestimates the density by up to a factor
2 over about one bandwidth (Scott's rule: ``~ n^(-1/5)`` of the spread, tens of GeV for typical SR
widths and event counts). A background model sampled at such masses is correspondingly off at the edges
of the SR only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.stats import gaussian_kde
from sklearn.base import BaseEstimator

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.events import Interval
from bumphunt.seeding import SeedLike, seed_sequence

__all__ = ["KDEMassDensity"]


class KDEMassDensity(BaseEstimator):
    """Gaussian KDE of masses in an interval, sampled by rejection inside the interval.

    Parameters
    ----------
    bandwidth
        ``"scott"`` (default), ``"silverman"`` or a number: the kernel width as a fraction of the
        masses' standard deviation (``scipy.stats.gaussian_kde``'s ``bw_method``).

    Attributes
    ----------
    interval_ : tuple of float
        The interval ``[low, high)`` in GeV.
    kde_ : scipy.stats.gaussian_kde
        The fitted estimate.
    """

    def __init__(self, bandwidth: str | float = "scott") -> None:
        self.bandwidth = bandwidth

    def fit(self, m: npt.ArrayLike, interval: Interval) -> KDEMassDensity:
        """Fit to masses ``m`` (GeV), all inside ``interval = (low, high)``; returns self.

        Raises
        ------
        bumphunt.errors.DataFormatError
            If fewer than 2 distinct masses are given or a mass lies outside ``interval``.
        bumphunt.errors.ConfigError
            If ``bandwidth`` or ``interval`` is not valid.
        """
        low, high = (float(v) for v in interval)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"interval must be finite (low, high) with low < high in GeV, got {interval}")
        masses = np.asarray(m, dtype=np.float64)
        if masses.ndim != 1 or len(np.unique(masses)) < 2:
            raise DataFormatError(
                f"KDEMassDensity needs at least 2 distinct masses, got {masses.size} values"
            )
        outside = int(np.count_nonzero((masses < low) | (masses >= high)))
        if outside:
            raise DataFormatError(f"{outside} masses lie outside the interval [{low:g}, {high:g}) GeV")
        bandwidth = self.bandwidth
        named = isinstance(bandwidth, str) and bandwidth in ("scott", "silverman")
        if not (named or (isinstance(bandwidth, int | float) and bandwidth > 0)):
            raise ConfigError(
                f"bandwidth must be 'scott', 'silverman' or a positive number, got {bandwidth!r}"
            )
        self.kde_ = gaussian_kde(masses, bw_method=bandwidth)
        self.interval_ = (low, high)
        return self

    def sample(self, n: int, *, seed: SeedLike) -> np.ndarray:
        """``n`` masses (GeV) drawn from the truncated estimate with generator seed ``seed``."""
        if not hasattr(self, "kde_"):
            raise NotFittedError("KDEMassDensity is not fitted; call fit(m, interval) first")
        if not (isinstance(n, int | np.integer) and n >= 0):
            raise ConfigError(f"n must be a non-negative integer, got {n!r}")
        rng = np.random.default_rng(seed_sequence(seed))
        low, high = self.interval_
        kept: list[np.ndarray] = []
        missing = int(n)
        # Each kernel is centred inside the interval, so at least ~1/2 of the draws are accepted unless
        # the bandwidth exceeds the interval; the loop then still ends, only more slowly.
        while missing:
            draws = self.kde_.resample(missing, seed=rng)[0]
            draws = draws[(draws >= low) & (draws < high)]
            kept.append(draws)
            missing -= len(draws)
        return np.concatenate(kept) if kept else np.zeros(0)

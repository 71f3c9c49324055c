"""Calibration of local p-values on background-only pseudo-experiments.

A local p-value is calibrated if it is uniform on [0, 1] when there is no signal. :func:`null_p_values`
draws background-only mass spectra from a known shape, runs the whole chain (sideband fit and count, or
signal-plus-background fit) on each, and tests the p-values for uniformity with a Kolmogorov-Smirnov test.
:func:`summarize_p_values` does the same for p-values collected elsewhere, e.g. after a selection on a
real anomaly score in background-only events.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from bumphunt.errors import ConfigError, FitError
from bumphunt.stats._records import Record
from bumphunt.stats.selection import selection_scan
from bumphunt.stats.shapes import Shape, sample_masses
from bumphunt.stats.significance import p_from_z
from bumphunt.stats.windows import Window

__all__ = ["PValueCalibration", "null_p_values", "summarize_p_values"]

logger = logging.getLogger(__name__)

TWO_SIGMA_TAIL = p_from_z(2.0)
"""One-sided p-value of 2 sigma (0.02275)."""


@dataclasses.dataclass(frozen=True)
class PValueCalibration(Record):
    """Uniformity of local p-values under the background-only hypothesis.

    Attributes
    ----------
    p_values
        The p-values of the successful pseudo-experiments.
    n_failed
        Pseudo-experiments whose fit failed (not in ``p_values``).
    ks_statistic, ks_p_value
        Kolmogorov-Smirnov test of ``p_values`` against the uniform distribution.
    fraction_beyond_2sigma, fraction_beyond_2sigma_error
        Fraction of p-values below the one-sided 2-sigma tail (expected 0.02275) and its binomial error.
    """

    p_values: np.ndarray
    n_failed: int
    ks_statistic: float
    ks_p_value: float
    fraction_beyond_2sigma: float
    fraction_beyond_2sigma_error: float


def summarize_p_values(p_values: npt.ArrayLike, n_failed: int = 0) -> PValueCalibration:
    """KS test for uniformity and the fraction beyond 2 sigma of background-only p-values.

    Raises
    ------
    ConfigError
        If fewer than 2 p-values are given or any is outside [0, 1].
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size < 2 or not np.all((p >= 0) & (p <= 1)):
        raise ConfigError(f"need at least 2 p-values in [0, 1] to test calibration, got {p.size}")
    ks = stats.kstest(p, "uniform")
    beyond = float(np.mean(p < TWO_SIGMA_TAIL))
    return PValueCalibration(
        p_values=p,
        n_failed=int(n_failed),
        ks_statistic=float(ks.statistic),
        ks_p_value=float(ks.pvalue),
        fraction_beyond_2sigma=beyond,
        fraction_beyond_2sigma_error=math.sqrt(TWO_SIGMA_TAIL * (1 - TWO_SIGMA_TAIL) / p.size),
    )


def null_p_values(
    shape: Shape,
    params: Sequence[float],
    window: Window,
    *,
    bin_width: float,
    n_toys: int,
    seed: int | np.random.SeedSequence,
    method: str = "cut_and_count",
    fit_shape: str | Shape | None = None,
    signal_width: float | None = None,
    min_sideband_events: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> PValueCalibration:
    """Local p-values of ``n_toys`` background-only spectra drawn from ``shape`` in ``window``.

    Parameters
    ----------
    shape, params
        True background: masses are drawn on ``[window.sb_low, window.sb_high)`` with a Poisson total.
    window
        SR and sidebands.
    bin_width
        Largest bin width of the fitted histograms (GeV).
    n_toys
        Number of pseudo-experiments.
    seed
        Seed; toy ``i`` uses the ``i``-th generator spawned from it.
    method
        ``"cut_and_count"`` or ``"signal_fit"`` (see :func:`~bumphunt.stats.selection.selection_scan`).
    fit_shape
        Shape fitted to each toy (default ``shape``).
    signal_width
        Width of the Gaussian signal (GeV) for ``"signal_fit"``.
    min_sideband_events
        Fewest events each sideband must hold.
    progress
        Called as ``progress(done, n_toys)`` after each pseudo-experiment.

    Raises
    ------
    ConfigError
        If ``n_toys`` is below 2 or a setting is invalid.
    """
    if n_toys < 2:
        raise ConfigError(f"n_toys must be at least 2, got {n_toys!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    p_values, n_failed = [], 0
    for i, child in enumerate(seq.spawn(n_toys)):
        masses = sample_masses(shape, params, window.sb_low, window.sb_high, np.random.default_rng(child))
        point = selection_scan(
            masses,
            np.zeros_like(masses),
            window,
            bin_width=bin_width,
            efficiencies=(1.0,),
            shape=shape if fit_shape is None else fit_shape,
            method=method,
            min_sideband_events=min_sideband_events,
            signal_width=signal_width,
        ).points[0]
        if point.status == "ok":
            p_values.append(point.p_value)
        else:
            n_failed += 1
            logger.info("toy %d failed: %s", i, point.message)
        if progress is not None:
            progress(i + 1, n_toys)
    if len(p_values) < 2:
        raise FitError(f"only {len(p_values)} of {n_toys} pseudo-experiments could be fitted")
    return summarize_p_values(p_values, n_failed)

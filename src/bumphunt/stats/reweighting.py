"""Likelihood reweighting: weight events by the classifier's likelihood ratio instead of cutting (dimuonAD).

A classifier trained to separate SR data from a background model estimates the likelihood ratio
``r(x) = p_data(x) / p_bkg(x) = (1 - mu) + mu p_sig(x) / p_bkg(x)``, with ``mu`` the signal fraction in
the SR. Solving for the signal-to-background density ratio gives the per-event weight

    w(x) = (r(x) - (1 - mu)) / mu,   clipped at 0,

the optimal event weight for testing for signal. The weighted mass spectrum is fitted in the sidebands
with the scaled-Poisson likelihood of weighted events (Bohm and Zech, NIM A 748 (2014) 1); in the SR the
weighted count is turned into an effective count ``n' = (sum w)^2 / sum w^2`` with the prediction scaled
by the same factor, and tested as in :func:`~bumphunt.stats.significance.cut_and_count`. By default
``mu`` is estimated from the unweighted excess in the SR, ``(n_SR - b) / n_SR``, as dimuonAD does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.stats._records import Record
from bumphunt.stats.fit import (
    BackgroundFit,
    check_sideband_counts,
    check_window_in_range,
    fit_background,
    window_histogram,
)
from bumphunt.stats.shapes import SQRT_S, Shape, get_shape
from bumphunt.stats.significance import CountResult, cut_and_count
from bumphunt.stats.windows import Window

__all__ = [
    "ReweightedResult",
    "likelihood_ratio_from_probability",
    "reweighted_significance",
    "signal_weights",
]


def likelihood_ratio_from_probability(probability: npt.ArrayLike, prior_ratio: float = 1.0) -> np.ndarray:
    """Likelihood ratio ``p / (1 - p) * prior_ratio`` from a classifier's output probability ``p``.

    ``prior_ratio`` is (background-model events) / (data events) in the training set; it is 1 for balanced
    classes.

    Raises
    ------
    DataFormatError
        If a probability is outside [0, 1).
    """
    p = np.asarray(probability, dtype=np.float64)
    if not np.all((p >= 0) & (p < 1)):
        raise DataFormatError("classifier probabilities must lie in [0, 1) to give a finite likelihood ratio")
    return p / (1.0 - p) * prior_ratio


def signal_weights(likelihood_ratio: npt.ArrayLike, signal_fraction: float) -> np.ndarray:
    """Per-event weights ``max((r - (1 - mu)) / mu, 0)`` for signal fraction ``mu`` in (0, 1].

    Raises
    ------
    ConfigError
        If ``signal_fraction`` is outside (0, 1].
    """
    if not 0 < signal_fraction <= 1:
        raise ConfigError(f"signal_fraction must lie in (0, 1], got {signal_fraction!r}")
    r = np.asarray(likelihood_ratio, dtype=np.float64)
    return np.clip((r - (1.0 - signal_fraction)) / signal_fraction, 0.0, None)


@dataclasses.dataclass(frozen=True)
class ReweightedResult(Record):
    """Outcome of the likelihood-reweighted test in one window.

    Attributes
    ----------
    signal_fraction
        The ``mu`` used for the weights (None if there was no excess to estimate it from).
    fit
        The weighted sideband fit (None without weights).
    sum_weights, sum_weights2
        Sum of weights and of squared weights in the SR.
    count
        The counting test on effective counts (None without weights).
    z
        One-sided local significance (0 if there is no excess to reweight).
    status, message
        ``"ok"`` or ``"no_excess"`` (the unweighted SR count is not above the prediction, so ``mu`` cannot
        be estimated and the significance is 0).
    """

    signal_fraction: float | None
    fit: BackgroundFit | None
    sum_weights: float
    sum_weights2: float
    count: CountResult | None
    z: float
    status: str = "ok"
    message: str = ""


def reweighted_significance(
    mass: npt.ArrayLike,
    likelihood_ratio: npt.ArrayLike,
    window: Window,
    *,
    bin_width: float,
    shape: str | Shape = "dijet4",
    signal_fraction: float | None = None,
    min_sideband_events: float = 10.0,
    sqrt_s: float = SQRT_S,
    max_calls: int | None = None,
) -> ReweightedResult:
    """Significance of the SR excess with events weighted by the likelihood ratio.

    Parameters
    ----------
    mass
        Event masses (GeV).
    likelihood_ratio
        Per-event likelihood ratio ``p_data / p_bkg`` from the classifier (see
        :func:`likelihood_ratio_from_probability`).
    window
        SR and sidebands.
    bin_width
        Largest bin width of the fitted histograms (GeV).
    shape
        Background shape (name or :class:`Shape`).
    signal_fraction
        Signal fraction ``mu`` in the SR; None estimates it from the unweighted excess.
    min_sideband_events
        Fewest events (sum of weights) each sideband must hold.
    sqrt_s
        Centre-of-mass energy of the dijet functions (GeV).
    max_calls
        Most cost-function calls per MIGRAD run.

    Raises
    ------
    ConfigError
        If the SR lies outside the data range or a setting is invalid.
    DataFormatError
        If the likelihood ratios do not match the masses or are negative.
    FitError
        If a sideband holds too few events (weighted or not) or a fit fails.
    """
    m = np.asarray(mass, dtype=np.float64)
    r = np.asarray(likelihood_ratio, dtype=np.float64)
    if r.shape != m.shape or not np.all(np.isfinite(r) & (r >= 0)):
        raise DataFormatError(
            f"likelihood_ratio must hold one finite, non-negative value per event ({m.shape}), got {r.shape}"
        )
    check_window_in_range(window, m)
    fit_shape = get_shape(shape, (window.sb_low, window.sb_high), sqrt_s=sqrt_s)
    if signal_fraction is None:
        counts, edges = window_histogram(m, window, bin_width)
        check_sideband_counts(counts, edges, window, min_sideband_events)
        sb = ~window.in_sr(0.5 * (edges[1:] + edges[:-1]))
        fit = fit_background(counts, edges, fit_shape, fitted=sb, max_calls=max_calls)
        n_sr = float(counts[~sb].sum())
        b, _ = fit.integral(window.sr_low, window.sr_high)
        if n_sr <= b:
            return ReweightedResult(
                signal_fraction=None,
                fit=None,
                sum_weights=0.0,
                sum_weights2=0.0,
                count=None,
                z=0.0,
                status="no_excess",
                message=f"SR count {n_sr:g} is not above the predicted background {b:.6g}",
            )
        signal_fraction = (n_sr - b) / n_sr
    w = signal_weights(r, signal_fraction)
    counts, edges = window_histogram(m, window, bin_width, weights=w)
    check_sideband_counts(counts, edges, window, min_sideband_events)
    sb = ~window.in_sr(0.5 * (edges[1:] + edges[:-1]))
    fit = fit_background(counts, edges, fit_shape, fitted=sb, max_calls=max_calls)
    b_w, b_w_err = fit.integral(window.sr_low, window.sr_high)
    sum_w, sum_w2 = (float(v) for v in counts[~sb].sum(axis=0))
    scale = sum_w2 / sum_w if sum_w > 0 else 1.0
    count = cut_and_count(sum_w / scale, b_w / scale, b_w_err / scale)
    return ReweightedResult(
        signal_fraction=float(signal_fraction),
        fit=fit,
        sum_weights=sum_w,
        sum_weights2=sum_w2,
        count=count,
        z=count.z,
    )

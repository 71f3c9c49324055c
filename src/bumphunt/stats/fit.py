"""Binned maximum-likelihood fits of a background shape to the sidebands, the SR masked (GeV).

The fit minimises iminuit's :class:`~iminuit.cost.ExtendedBinnedNLL` (Poisson likelihood per bin; for
weighted events the scaled-Poisson likelihood of Bohm and Zech) over the sideband bins only. Its minimum
is the Baker-Cousins likelihood chi2, which gives the fit quality. The background predicted in the SR is
the integral of the fitted density with an error propagated from the fit covariance.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from bumphunt.errors import ConfigError, DataFormatError, FitError
from bumphunt.stats._minuit import BinnedPoissonCost, minimize
from bumphunt.stats._records import Record
from bumphunt.stats.shapes import SQRT_S, Shape, get_shape
from bumphunt.stats.windows import Window, window_edges

__all__ = [
    "BackgroundFit",
    "check_sideband_counts",
    "check_window_in_range",
    "fit_background",
    "fit_sidebands",
    "window_histogram",
]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class BackgroundFit(Record):
    """A background shape fitted to binned data.

    Attributes
    ----------
    shape
        The fitted shape.
    values, errors, covariance
        Best-fit parameters, their (Hesse) errors and covariance matrix. Dijet fits run in ``ln p0``
        (see :meth:`Shape.to_internal`), so the error of ``p0`` is ``p0`` times that of ``ln p0``; for
        pulls or intervals of the normalisation use ``ln p0``, in which the likelihood is near Gaussian.
    edges
        Bin edges (GeV).
    counts
        Events (sum of weights) per bin.
    fitted
        Boolean per bin: True for bins in the fit (the sidebands), False for masked bins (the SR).
    chi2
        Baker-Cousins likelihood chi2 over the fitted bins (minimum of the cost function).
    ndf
        Fitted bins minus fitted parameters.
    p_value
        Chi2 probability of ``chi2`` with ``ndf`` degrees of freedom (goodness of fit).
    n_calls
        Number of cost-function evaluations used.
    internal_covariance
        Covariance in the fit's coordinates (:meth:`Shape.to_internal`: ``ln p0`` for dijet functions),
        which stays finite when a narrow window drives ``p0`` to extreme values (``covariance`` may then
        overflow); :meth:`integral` uses it.
    """

    shape: Shape
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    edges: np.ndarray
    counts: np.ndarray
    fitted: np.ndarray
    chi2: float
    ndf: int
    p_value: float
    n_calls: int
    internal_covariance: np.ndarray | None = None

    @property
    def chi2_per_ndf(self) -> float:
        """Fit quality ``chi2 / ndf``."""
        return self.chi2 / self.ndf

    def expected(self, edges: npt.ArrayLike | None = None) -> np.ndarray:
        """Expected background events per bin of ``edges`` (GeV; default: the fitted binning)."""
        return self.shape.bin_integrals(self.edges if edges is None else edges, self.values)

    def integral(self, low: float, high: float) -> tuple[float, float]:
        """Expected background events in ``[low, high)`` (GeV) and its error from the fit covariance.

        The error is linear error propagation, ``sqrt(J C J^T)`` with ``J`` the gradient of the integral
        with respect to the parameters and ``C`` the covariance.
        """
        sub = np.linspace(low, high, 33)
        value = float(np.sum(self.shape.bin_integrals(sub, self.values)))
        grad = np.sum(self.shape.bin_jacobian(sub, self.values), axis=0)
        if self.internal_covariance is not None:
            # in the fit's own coordinates (ln p0 for the dijet functions): finite even when p0 is huge
            _, scale = self.shape.from_internal(self.shape.to_internal(self.values))
            grad, covariance = grad * scale, self.internal_covariance
        else:
            covariance = self.covariance
        return value, math.sqrt(max(float(grad @ covariance @ grad), 0.0))


def _as_counts(counts: npt.ArrayLike, n_bins: int) -> np.ndarray:
    """Counts ``(n,)`` or weighted counts ``(n, 2)`` (sum of weights, sum of squared weights)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.shape not in ((n_bins,), (n_bins, 2)):
        raise DataFormatError(
            f"counts must have shape ({n_bins},) or ({n_bins}, 2) to match {n_bins + 1} bin edges, "
            f"got {c.shape}"
        )
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise DataFormatError("counts must be finite and non-negative")
    return c


def _as_edges(edges: npt.ArrayLike) -> np.ndarray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise DataFormatError("bin edges must be a 1-d, finite, strictly increasing array in GeV")
    return e


def fit_background(
    counts: npt.ArrayLike,
    edges: npt.ArrayLike,
    shape: Shape,
    *,
    fitted: npt.ArrayLike | None = None,
    start: npt.ArrayLike | None = None,
    max_calls: int | None = None,
) -> BackgroundFit:
    """Fit ``shape`` to a histogram by binned extended maximum likelihood with iminuit.

    Parameters
    ----------
    counts
        Events per bin ``(n,)``, or ``(n, 2)`` with sum of weights and sum of squared weights per bin for
        weighted events (scaled-Poisson likelihood).
    edges
        ``n + 1`` bin edges (GeV).
    shape
        Background shape.
    fitted
        Boolean mask of the bins to fit (e.g. the sidebands); default all bins.
    start
        Start values; default from a linear least-squares fit (:meth:`Shape.start_values`).
    max_calls
        Most cost-function calls per MIGRAD run; None lets iminuit choose.

    Raises
    ------
    FitError
        If fewer bins than ``n_params + 1`` are fitted, the fitted bins hold no events, the fit does not
        converge, or the fitted expectation is not positive in every bin.
    """
    e = _as_edges(edges)
    c = _as_counts(counts, e.size - 1)
    sumw = c[:, 0] if c.ndim == 2 else c
    mask = np.ones(e.size - 1, dtype=bool) if fitted is None else np.asarray(fitted, dtype=bool)
    if mask.shape != sumw.shape:
        raise DataFormatError(f"fitted mask must have one entry per bin ({sumw.size}), got {mask.shape}")
    what = f"{shape.name} fit to [{e[0]:g}, {e[-1]:g}] GeV"
    n_fit = int(mask.sum())
    if n_fit <= shape.n_params:
        raise FitError(f"{what}: {n_fit} fitted bins for {shape.n_params} parameters; need more bins")
    if sumw[mask].sum() <= 0:
        raise FitError(f"{what}: the fitted bins hold no events")
    if start is None:
        p0 = shape.start_values(e, sumw, use=mask)
    else:
        p0 = np.asarray(start, dtype=np.float64)
        if p0.shape != (shape.n_params,):
            raise ConfigError(f"start must hold {shape.n_params} values for {shape.name}, got {p0.shape}")
    theta0 = shape.to_internal(p0)
    binned = shape.binned(e)
    m = minimize(BinnedPoissonCost(c, binned, mask), theta0, what=what, max_calls=max_calls)
    values, scale = shape.from_internal(m.values)
    covariance = m.covariance * np.outer(scale, scale)
    if not np.all(shape.bin_integrals(e, values) > 0):
        raise FitError(f"{what}: the fitted background is not positive in every bin")
    ndf = n_fit - shape.n_params
    return BackgroundFit(
        shape=shape,
        values=values,
        errors=np.sqrt(np.diag(covariance)),
        covariance=covariance,
        edges=e,
        counts=sumw.copy(),
        fitted=mask.copy(),
        chi2=float(m.fval),
        ndf=ndf,
        p_value=float(stats.chi2.sf(m.fval, ndf)),
        n_calls=m.n_calls,
        internal_covariance=m.covariance,
    )


def check_window_in_range(window: Window, mass: npt.ArrayLike) -> None:
    """Raise :class:`ConfigError` unless the signal region lies inside the range of ``mass`` (GeV)."""
    m = np.asarray(mass, dtype=np.float64)
    if m.size == 0:
        raise ConfigError(f"no events to place the window {window.label} in")
    lo, hi = float(np.min(m)), float(np.max(m))
    if window.sr_low < lo or window.sr_high > hi:
        raise ConfigError(
            f"signal region [{window.sr_low:g}, {window.sr_high:g}) GeV is outside the data range "
            f"[{lo:g}, {hi:g}] GeV"
        )


def window_histogram(
    mass: npt.ArrayLike, window: Window, bin_width: float, weights: npt.ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the masses (GeV) in the window, binned by :func:`window_edges`.

    Returns
    -------
    counts, edges
        ``counts`` is ``(n,)`` without weights and ``(n, 2)`` (sum of weights, sum of squared weights)
        with weights; ``edges`` has ``n + 1`` entries (GeV).
    """
    m = np.asarray(mass, dtype=np.float64)
    edges = window_edges(window, bin_width)
    if weights is None:
        return np.histogram(m, bins=edges)[0].astype(np.float64), edges
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != m.shape:
        raise DataFormatError(f"weights must have one entry per event ({m.size}), got shape {w.shape}")
    sumw = np.histogram(m, bins=edges, weights=w)[0]
    sumw2 = np.histogram(m, bins=edges, weights=w**2)[0]
    return np.stack([sumw, sumw2], axis=1), edges


def check_sideband_counts(
    counts: npt.ArrayLike, edges: npt.ArrayLike, window: Window, min_events: float
) -> None:
    """Raise :class:`FitError` if either sideband holds fewer than ``min_events`` events (sum of weights)."""
    c = np.asarray(counts, dtype=np.float64)
    sumw = c[:, 0] if c.ndim == 2 else c
    centers = 0.5 * (np.asarray(edges)[1:] + np.asarray(edges)[:-1])
    for side, in_side in (("low", centers < window.sr_low), ("high", centers >= window.sr_high)):
        n = float(sumw[in_side].sum())
        if n < min_events:
            raise FitError(
                f"too few events in the {side} sideband of {window.label}: {n:g}, need at least "
                f"{min_events:g} (min_sideband_events)"
            )


def fit_sidebands(
    mass: npt.ArrayLike,
    window: Window,
    shape: str | Shape = "dijet4",
    *,
    bin_width: float,
    weights: npt.ArrayLike | None = None,
    min_sideband_events: float = 10.0,
    sqrt_s: float = SQRT_S,
    max_calls: int | None = None,
) -> BackgroundFit:
    """Fit a background shape to the sidebands of ``window``, the signal region masked.

    Parameters
    ----------
    mass
        Event masses (GeV).
    window
        Signal region and sidebands.
    shape
        Shape name (``"dijet3"``, ``"dijet4"``, ``"dijet5"``, ``"poly<d>"``) or a :class:`Shape`;
        polynomials are written over ``[window.sb_low, window.sb_high]``.
    bin_width
        Largest bin width (GeV); the SR boundaries are bin edges.
    weights
        Optional per-event weights (scaled-Poisson likelihood).
    min_sideband_events
        Fewest events (sum of weights) each sideband must hold.
    sqrt_s
        Centre-of-mass energy of the dijet functions (GeV).
    max_calls
        Most cost-function calls per MIGRAD run.

    Raises
    ------
    ConfigError
        If the signal region is outside the data range or a setting is invalid.
    FitError
        If a sideband holds too few events or the fit fails.
    """
    check_window_in_range(window, mass)
    counts, edges = window_histogram(mass, window, bin_width, weights)
    check_sideband_counts(counts, edges, window, min_sideband_events)
    centers = 0.5 * (edges[1:] + edges[:-1])
    return fit_background(
        counts,
        edges,
        get_shape(shape, (window.sb_low, window.sb_high), sqrt_s=sqrt_s),
        fitted=~window.in_sr(centers),
        max_calls=max_calls,
    )

"""Binned profile-likelihood fit of a Gaussian signal on top of a background shape (GeV).

The whole spectrum (sidebands and SR) is fitted twice with iminuit's ExtendedBinnedNLL: background only,
and background plus ``s`` events of a Gaussian of fixed mean and width. ``s`` may be negative, so that
``z_signed = sign(s) sqrt(q0)`` is standard normal under the background-only hypothesis. With no width
given, the width is profiled on a grid and the best one is kept; the p-value then no longer follows the
asymptotic formula exactly (the width is not defined without signal), so calibrate it with toys.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from bumphunt.errors import ConfigError, FitError
from bumphunt.stats._minuit import BinnedPoissonCost, minimize
from bumphunt.stats._records import Record
from bumphunt.stats.fit import BackgroundFit, fit_background
from bumphunt.stats.shapes import BinnedShape, Shape
from bumphunt.stats.significance import p_from_z

__all__ = ["SignalFit", "fit_signal"]


@dataclasses.dataclass(frozen=True)
class SignalFit(Record):
    """Outcome of the signal-plus-background fit.

    Attributes
    ----------
    mass, width
        Mean and width of the Gaussian signal (GeV); ``width`` is the best grid point if it was profiled.
    width_profiled
        True if the width was chosen by the fit, False if it was given.
    signal, signal_error
        Fitted signal events (negative for a deficit) and their Hesse error.
    background
        The background-only fit over all bins.
    chi2
        Likelihood chi2 of the signal-plus-background fit; ``ndf`` its degrees of freedom.
    q0, z, z_signed, p_value
        ``q0 = chi2(background only) - chi2(signal + background)``; ``z = sqrt(q0)`` for an excess, else 0;
        ``z_signed = sign(signal) sqrt(q0)``; ``p_value = 1 - Phi(z_signed)``.
    """

    mass: float
    width: float
    width_profiled: bool
    signal: float
    signal_error: float
    background: BackgroundFit
    chi2: float
    ndf: int
    q0: float
    z: float
    z_signed: float
    p_value: float


def _gaussian_fractions(edges: np.ndarray, mass: float, width: float) -> np.ndarray:
    """Fraction of a Gaussian (GeV) in each bin."""
    return np.diff(stats.norm.cdf(edges, loc=mass, scale=width))


class _SignalPlusBackground:
    """Background shape plus ``theta[-1]`` signal events distributed in ``fractions`` over the bins."""

    def __init__(self, background: BinnedShape, fractions: np.ndarray) -> None:
        self.background = background
        self.fractions = fractions

    def expected(self, theta: np.ndarray) -> np.ndarray:
        return self.background.expected(theta[:-1]) + theta[-1] * self.fractions

    def expected_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, jac = self.background.expected_and_jacobian(theta[:-1])
        return mu + theta[-1] * self.fractions, np.column_stack([jac, self.fractions])

    def curvature(self, theta: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        out = np.zeros((theta.size, theta.size))
        out[:-1, :-1] = self.background.curvature(theta[:-1], coefficients)
        return out


def _fit_fixed_width(
    counts: np.ndarray,
    edges: np.ndarray,
    background: BackgroundFit,
    mass: float,
    width: float,
    max_calls: int | None,
) -> tuple[float, float, float]:
    """Signal-plus-background fit at one width: ``(chi2, signal, signal_error)``."""
    shape = background.shape
    model = _SignalPlusBackground(shape.binned(edges), _gaussian_fractions(edges, mass, width))

    start = np.append(shape.to_internal(background.values), 0.0)
    what = f"{shape.name} + Gaussian(mass={mass:g}, width={width:g}) fit to [{edges[0]:g}, {edges[-1]:g}] GeV"
    cost = BinnedPoissonCost(counts, model, np.ones(edges.size - 1, dtype=bool))
    m = minimize(cost, start, what=what, max_calls=max_calls)
    return m.fval, float(m.values[-1]), math.sqrt(m.covariance[-1, -1])


def fit_signal(
    counts: npt.ArrayLike,
    edges: npt.ArrayLike,
    shape: Shape,
    *,
    mass: float,
    width: float | None = None,
    width_grid: Sequence[float] | None = None,
    max_calls: int | None = None,
) -> SignalFit:
    """Fit background plus a Gaussian signal at ``mass`` to the whole histogram; profile-likelihood test.

    Parameters
    ----------
    counts
        Events per bin ``(n,)`` or weighted ``(n, 2)`` (sum of weights, sum of squared weights).
    edges
        ``n + 1`` bin edges (GeV).
    shape
        Background shape.
    mass
        Mean of the Gaussian signal (GeV), inside the histogram range.
    width
        Width of the Gaussian (GeV). If None, the width is profiled over ``width_grid``.
    width_grid
        Widths (GeV) to profile over when ``width`` is None; default 8 log-spaced values from two bin
        widths to a tenth of the histogram range.
    max_calls
        Most cost-function calls per MIGRAD run.

    Raises
    ------
    ConfigError
        If the mass is outside the histogram or a width is not positive.
    FitError
        If a fit fails to converge or there are too few bins.
    """
    e = np.asarray(edges, dtype=np.float64)
    if not e[0] < mass < e[-1]:
        raise ConfigError(
            f"signal mass {mass:g} GeV is outside the histogram range [{e[0]:g}, {e[-1]:g}] GeV"
        )
    if width is not None:
        widths = np.array([width], dtype=np.float64)
    elif width_grid is not None:
        widths = np.asarray(width_grid, dtype=np.float64)
    else:
        widths = np.geomspace(2 * np.min(np.diff(e)), 0.1 * (e[-1] - e[0]), 8)
    if widths.size == 0 or not np.all(np.isfinite(widths) & (widths > 0)):
        raise ConfigError(f"signal widths must be positive numbers of GeV, got {widths.tolist()}")
    c = np.asarray(counts, dtype=np.float64)
    background = fit_background(c, e, shape, max_calls=max_calls)
    if background.ndf <= 1:
        raise FitError(f"{shape.name} + signal fit: {background.ndf + 1} bins are too few for a signal")
    results = [_fit_fixed_width(c, e, background, mass, float(w), max_calls) for w in widths]
    best = int(np.argmin([r[0] for r in results]))
    chi2, signal, signal_error = results[best]
    q0 = max(background.chi2 - chi2, 0.0)
    z_signed = math.copysign(math.sqrt(q0), signal)
    return SignalFit(
        mass=float(mass),
        width=float(widths[best]),
        width_profiled=width is None,
        signal=signal,
        signal_error=signal_error,
        background=background,
        chi2=chi2,
        ndf=background.ndf - 1,
        q0=q0,
        z=max(z_signed, 0.0),
        z_signed=z_signed,
        p_value=p_from_z(z_signed),
    )

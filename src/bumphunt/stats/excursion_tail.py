"""The tail of a scan's largest local significance beyond the reach of its toys (Gross-Vitells).

A search evaluates a local significance ``Z`` at every point of a grid: windows along the mass, times the
selection efficiencies of the score cut. Its statistic is the largest ``Z`` of the grid, and the global
p-value of an observed value ``u`` is the probability that the largest ``Z`` of a background-only
pseudo-experiment reaches ``u``. Counting pseudo-experiments measures it only while some of them reach
``u``: ``N`` toys end near ``p = 10 / N``, a 5 sigma discovery (``p = 2.9e-7``) would need 10^8.

Gross and Vitells (Eur. Phys. J. C 70 (2010) 525; Vitells and Gross, Astropart. Phys. 35 (2011) 230)
extrapolate with the Euler characteristic ``phi(A_u)`` of the excursion set ``A_u`` (the grid points with
``Z > u``). For a Gaussian random field on a two-dimensional domain whose own Euler characteristic is 1,

``E[phi(A_u)] = Phi_bar(u) + (N1 + N2 u) exp(-u^2 / 2)``,

and at high ``u``, where the excursion set is a single blob or empty, ``P(max Z > u) = E[phi(A_u)]``.
The expected Euler characteristic is measured precisely at low levels, where every toy contributes, so a
few hundred toys fix ``N1`` and ``N2``. Here the grid is the cubical complex of the scan: a point with
``Z > u`` counts +1, each pair of neighbours above (along the windows or along the efficiencies) -1, each
square of four +1. :func:`fit_excursion_tail` fits ``N1`` and ``N2`` to the mean Euler characteristic of
the toys at levels from 1 up to the tenth largest toy maximum, weighted by the standard errors of the
means, with both coefficients non-negative (they are intrinsic volumes of the parameter space); a
grid with one row or column is a line, and ``N2`` is 0. The error of an extrapolated p-value comes
from refitting bootstrap resamplings of the toys (:func:`tail_p_value`).

The formula is exact for smooth Gaussian fields; local significances of counts are close to Gaussian
but not exactly so in their far tails, which is why ``benchmarks/global_tail.py`` checks the model
fitted on the default number of toys against tens of thousands of brute-force toys.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from bumphunt.errors import ConfigError
from bumphunt.stats._records import Record

__all__ = ["ExcursionTail", "TailPValue", "euler_characteristic", "fit_excursion_tail", "tail_p_value"]

#: Lowest level of the fit (sigma): below it the excursion sets fill the grid and the formula for a
#: smooth field describes a coarse grid poorly.
LOWEST_LEVEL = 1.0

#: Step between the levels of the fit (sigma).
LEVEL_STEP = 0.25

#: Toys whose maximum must reach the highest level of the fit.
MIN_ABOVE = 10


def _grids(z_grids: npt.ArrayLike) -> np.ndarray:
    z = np.asarray(z_grids, dtype=np.float64)
    if z.ndim == 2:  # one row of points per toy
        z = z[:, None, :]
    if z.ndim != 3 or z.shape[0] == 0 or z.shape[1] == 0 or z.shape[2] == 0:
        raise ConfigError(
            f"the toys' local significances must have shape (toys, windows, efficiencies), got {z.shape}"
        )
    return np.where(np.isfinite(z), z, 0.0)


def euler_characteristic(above: npt.ArrayLike) -> np.ndarray:
    """Euler characteristic of the points marked ``True`` on a grid (cubical complex).

    Parameters
    ----------
    above
        Booleans of shape ``(..., rows, columns)``: which grid points are in the set.

    Returns
    -------
    numpy.ndarray
        ``vertices - edges + squares`` of each grid: the number of connected blobs minus their holes.
    """
    a = np.asarray(above, dtype=bool)
    vertices = a.sum(axis=(-1, -2))
    edges = (a[..., 1:, :] & a[..., :-1, :]).sum(axis=(-1, -2)) + (a[..., :, 1:] & a[..., :, :-1]).sum(
        axis=(-1, -2)
    )
    squares = (a[..., 1:, 1:] & a[..., :-1, 1:] & a[..., 1:, :-1] & a[..., :-1, :-1]).sum(axis=(-1, -2))
    return (vertices - edges + squares).astype(np.int64)


def _powers(u: np.ndarray, n: int) -> np.ndarray:
    """``1, u`` (the first ``n``): the terms of ``N1 + N2 u`` at each level."""
    return np.stack([np.ones_like(u), u], axis=-1)[..., :n]


@dataclasses.dataclass(frozen=True)
class ExcursionTail(Record):
    """``E[phi(A_u)] = Phi_bar(u) + (N1 + N2 u) exp(-u^2 / 2)`` fitted to toys (see the module text).

    Attributes
    ----------
    coefficients
        ``(N1, N2)``, or ``(N1,)`` for a grid that is a line.
    levels
        Levels of the fit (sigma).
    euler_mean, euler_error
        Mean Euler characteristic of the toys' excursion sets at each level, and its standard error.
    n_toys
        Toys behind the fit.
    grid_shape
        Windows and efficiencies of each toy's grid.
    chi2, ndf
        Goodness of the fit to the means (their covariance between levels is not included, so ``chi2``
        is a rough guide).
    """

    coefficients: np.ndarray
    levels: np.ndarray
    euler_mean: np.ndarray
    euler_error: np.ndarray
    n_toys: int
    grid_shape: tuple[int, int]
    chi2: float
    ndf: int

    def p_value(self, level: npt.ArrayLike) -> np.ndarray:
        """Global p-value of the largest local significance ``level`` (sigma), at most 1."""
        return np.clip(np.exp(self.log_p_value(level)), 0.0, 1.0)

    def log_p_value(self, level: npt.ArrayLike) -> np.ndarray:
        """Natural logarithm of :meth:`p_value`, finite far beyond where the p-value underflows.

        ``ln p = -u^2 / 2 + ln(erfcx(u / sqrt 2) / 2 + N1 + N2 u)``, with ``erfcx(x) = exp(x^2) erfc(x)``.
        """
        u = np.asarray(level, dtype=np.float64)
        inner = (
            0.5 * special.erfcx(u / math.sqrt(2.0)) + _powers(u, self.coefficients.size) @ self.coefficients
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.minimum(np.where(inner > 0, -0.5 * u**2 + np.log(inner), -np.inf), 0.0)

    def z(self, level: float) -> float:
        """One-sided global significance of ``level``: ``Phi^-1(1 - p)``, 0 where ``p`` reaches 0.5."""
        log_p = float(self.log_p_value(level))
        if log_p == -math.inf:
            return math.inf
        return max(-float(special.ndtri_exp(log_p)), 0.0)


def fit_excursion_tail(z_grids: npt.ArrayLike, *, min_above: int = MIN_ABOVE) -> ExcursionTail:
    """Fit the Gross-Vitells expected Euler characteristic to toys' grids of local significances.

    Parameters
    ----------
    z_grids
        Local significances of background-only toys, shape ``(toys, windows, efficiencies)`` (or
        ``(toys, points)`` for one line of points); failed points count as 0.
    min_above
        Toys whose maximum must reach the highest level fitted.

    Raises
    ------
    ConfigError
        If the array has the wrong shape, or too few toys reach the lowest level for a fit.
    """
    z = _grids(z_grids)
    n_toys, rows, columns = z.shape
    maxima = np.sort(z.max(axis=(1, 2)))
    if maxima.size < min_above or maxima[-min_above] < LOWEST_LEVEL + LEVEL_STEP:
        raise ConfigError(
            f"the tail fit needs at least {min_above} toys whose largest local significance exceeds "
            f"{LOWEST_LEVEL + LEVEL_STEP:g} sigma; {n_toys} toys reach {maxima[-1]:.2f} at most "
            "(raise statistics.global_toys)"
        )
    levels = np.arange(LOWEST_LEVEL, maxima[-min_above] + 1e-9, LEVEL_STEP)
    euler = np.stack([euler_characteristic(z > u) for u in levels], axis=1).astype(np.float64)
    mean = euler.mean(axis=0)
    error = np.maximum(euler.std(axis=0, ddof=1), 1.0 / n_toys) / math.sqrt(n_toys)
    n_coefficients = 2 if rows > 1 and columns > 1 else 1
    design = _powers(levels, n_coefficients) * (np.exp(-0.5 * levels**2) / error)[:, None]
    target = (mean - stats.norm.sf(levels)) / error
    # N1 and N2 are intrinsic volumes of the search's parameter space (Lipschitz-Killing curvatures):
    # never negative, which also keeps a noisy fit from sending the extrapolated p-value to zero
    solution = optimize.lsq_linear(design, target, bounds=(0.0, np.inf))
    coefficients = np.asarray(solution.x, dtype=np.float64)
    residual = design @ coefficients - target
    return ExcursionTail(
        coefficients=coefficients,
        levels=levels,
        euler_mean=mean,
        euler_error=error,
        n_toys=int(n_toys),
        grid_shape=(int(rows), int(columns)),
        chi2=float(residual @ residual),
        ndf=int(levels.size - coefficients.size),
    )


@dataclasses.dataclass(frozen=True)
class TailPValue(Record):
    """A global p-value extrapolated by the excursion tail, with its bootstrap error.

    Attributes
    ----------
    p, p_error
        Global p-value and its error: half the central 68 % interval of its values over bootstrap
        resamplings of the toys (robust against the odd resampling whose fit runs off).
    z, z_error
        One-sided global significance and its error, the same way.
    tail
        The fit to all toys.
    n_bootstrap
        Resamplings behind the errors.
    """

    p: float
    p_error: float
    z: float
    z_error: float
    tail: ExcursionTail
    n_bootstrap: int


def _spread(values: list[float]) -> float:
    """Half the central 68 % interval (a standard deviation for a normal spread)."""
    if len(values) < 2:
        return math.nan
    low, high = np.quantile(values, [0.15865, 0.84135])
    return float(0.5 * (high - low))


def tail_p_value(
    observed: float,
    z_grids: npt.ArrayLike,
    *,
    n_bootstrap: int = 200,
    seed: int | np.random.SeedSequence = 0,
) -> TailPValue:
    """Global p-value of ``observed`` from the excursion tail fitted to the toys, with its error.

    Parameters
    ----------
    observed
        The data's largest local significance (sigma).
    z_grids
        The toys' local significances (see :func:`fit_excursion_tail`).
    n_bootstrap
        Resamplings of the toys (with replacement) refitted for the errors.
    seed
        Seed of the resamplings.

    Raises
    ------
    ConfigError
        As :func:`fit_excursion_tail`, or if ``n_bootstrap`` is below 2.
    """
    if n_bootstrap < 2:
        raise ConfigError(f"n_bootstrap must be at least 2, got {n_bootstrap!r}")
    z = _grids(z_grids)
    tail = fit_excursion_tail(z)
    rng = np.random.default_rng(seed)
    ps, zs = [], []
    for _ in range(n_bootstrap):
        sample = z[rng.integers(0, z.shape[0], z.shape[0])]
        try:
            refit = fit_excursion_tail(sample)
        except ConfigError:  # a resampling with too few high toys: left out
            continue
        ps.append(float(refit.p_value(observed)))
        zs.append(min(refit.z(observed), 40.0))
    p = float(tail.p_value(observed))
    return TailPValue(
        p=p,
        p_error=_spread(ps),
        z=tail.z(observed),
        z_error=_spread(zs),
        tail=tail,
        n_bootstrap=len(ps),
    )

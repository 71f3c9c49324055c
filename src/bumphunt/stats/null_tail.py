"""p-values of a statistic against its null distribution sampled by resamplings, in and beyond their reach.

A test statistic whose null distribution has no closed form (the cluster-scanning statistic, the largest
pull over a fitted mass spectrum) is calibrated on ``N`` background-only resamplings ``T_1 .. T_N``.
Inside their reach the p-value of an observed ``t`` is the empirical one,

``p = (#{T_j >= t} + #{T_j > t}) / (2 N)``   (ties count half).

Beyond their reach (fewer than ``min_beyond`` null values as large as ``t``, where the empirical p-value
is mostly noise and is 0 past the largest one) the tail is extrapolated by the peaks-over-threshold
method of extreme-value theory: the ``tail_fraction`` largest null values exceed a threshold ``u`` by
amounts that follow a generalized Pareto distribution (Pickands-Balkema-de Haan theorem), fitted by
maximum likelihood, and

``p = (n_u / N) * GPD.sf(t - u; xi, sigma)``

with ``n_u`` the number of null values above ``u``. This is the method of Knijnenburg et al.,
"Fewer permutations, more accurate P-values", Bioinformatics 25 (2009) i161, for permutation tests.
Its goodness of fit (a Kolmogorov-Smirnov test of the exceedances against the fitted distribution) is
reported with each extrapolated p-value. Past the end point of a fitted tail (``xi < 0``) or past
``z_cap`` the significance is reported as the cap with the flag ``is_limit``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy import stats

from bumphunt.stats._records import Record

__all__ = ["NullPValue", "empirical_p_value", "null_p_value"]

#: Methods a :class:`NullPValue` can come from.
METHODS = ("empirical", "gpd tail")


@dataclasses.dataclass(frozen=True)
class NullPValue(Record):
    """The p-value of one observed statistic against its null sample.

    Attributes
    ----------
    p, z
        p-value and one-sided significance ``Z = Phi^-1(1 - p)``.
    method
        ``"empirical"`` (counted among the null values) or ``"gpd tail"`` (generalized Pareto tail fit).
    is_limit
        True when ``z`` is a lower limit (past the end point of the fitted tail, or capped).
    n_null
        Null values used.
    tail_gof_p
        Kolmogorov-Smirnov p-value of the tail fit (``None`` for empirical p-values).
    """

    p: float
    z: float
    method: str
    is_limit: bool
    n_null: int
    tail_gof_p: float | None = None


def _null(null: npt.ArrayLike) -> np.ndarray:
    values = np.asarray(null, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("the null distribution is empty: run background-only resamplings first")
    return values


def empirical_p_value(observed: float, null: npt.ArrayLike) -> float:
    """``(#{T >= t} + #{T > t}) / (2 N)``: the share of the null at least as large, ties counted half."""
    values = _null(null)
    above = np.count_nonzero(values >= observed) + np.count_nonzero(values > observed)
    return float(above / (2.0 * values.size))


@dataclasses.dataclass(frozen=True)
class _Tail:
    threshold: float
    fraction: float
    shape: float
    scale: float
    gof_p: float


def _fit_tail(values: np.ndarray, tail_fraction: float) -> _Tail | None:
    """Generalized Pareto fit to the exceedances over the ``1 - tail_fraction`` quantile (None: too few)."""
    threshold = float(np.quantile(values, 1.0 - tail_fraction))
    excess = values[values > threshold] - threshold
    if excess.size < 10 or np.ptp(excess) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shape, _, scale = stats.genpareto.fit(excess, floc=0.0)
    if shape < 0.0:  # a bounded tail is not extrapolated: the exponential tail (xi = 0) is the lightest used
        shape, scale = 0.0, float(np.mean(excess))
    gof = stats.kstest(excess, stats.genpareto(shape, 0.0, scale).cdf).pvalue
    return _Tail(threshold, excess.size / values.size, float(shape), float(scale), float(gof))


def null_p_value(
    observed: float,
    null: npt.ArrayLike,
    *,
    min_beyond: int = 10,
    tail_fraction: float = 0.25,
    z_cap: float = 8.0,
) -> NullPValue:
    """p-value and Z of ``observed`` against the null sample ``null`` (see the module documentation).

    Parameters
    ----------
    observed
        The observed statistic (larger = more signal-like).
    null
        Values of the statistic on background-only resamplings (non-finite ones are left out).
    min_beyond
        The empirical p-value is used while at least this many null values are as large as ``observed``.
    tail_fraction
        Share of the null sample (its largest values) that the generalized Pareto tail is fitted to.
    z_cap
        Largest significance reported; larger ones are given as this cap with ``is_limit``.

    Raises
    ------
    ValueError
        If the null sample holds no finite value or a setting is out of range.
    """
    if not 0 < tail_fraction <= 0.5:
        raise ValueError(f"tail_fraction must lie in (0, 0.5], got {tail_fraction!r}")
    if min_beyond < 1:
        raise ValueError(f"min_beyond must be at least 1, got {min_beyond!r}")
    values = _null(null)
    n_beyond = np.count_nonzero(values >= observed)
    p = empirical_p_value(observed, values)
    if n_beyond >= min_beyond or observed <= np.quantile(values, 1.0 - tail_fraction):
        return _result(p, "empirical", values.size, None, z_cap)
    tail = _fit_tail(values, tail_fraction)
    if tail is None:  # a tail with no spread: only the bound of the resamplings is known
        return _result(max(p, 1.0 / values.size), "empirical", values.size, None, z_cap, limit=p == 0)
    p_tail = tail.fraction * float(stats.genpareto.sf(observed - tail.threshold, tail.shape, 0.0, tail.scale))
    return _result(p_tail, "gpd tail", values.size, tail.gof_p, z_cap)


def _result(
    p: float, method: str, n: int, gof: float | None, z_cap: float, *, limit: bool = False
) -> NullPValue:
    z = max(float(stats.norm.isf(p)), -z_cap) if p > 0 else math.inf  # p = 1: Z = -z_cap, not -inf
    if z > z_cap:
        z, p, limit = z_cap, float(stats.norm.sf(z_cap)), True
    return NullPValue(p=float(p), z=z, method=method, is_limit=limit, n_null=n, tail_gof_p=gof)

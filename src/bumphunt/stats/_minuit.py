"""Shared machinery of the binned likelihood fits: iminuit cost, preconditioning, convergence checks."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from iminuit import Minuit
from iminuit.cost import ExtendedBinnedNLL

from bumphunt.errors import FitError

__all__ = ["Minimum", "binned_cost", "minimize"]

logger = logging.getLogger(__name__)

_TINY = 1e-300  # floor of a bin expectation inside the fit: keeps the log finite, forbids mu <= 0

PerBin = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""A function of ``(edges, params)`` giving the expected events per bin."""


@dataclasses.dataclass(frozen=True)
class Minimum:
    """Parameters, covariance and cost value at a valid minimum."""

    values: np.ndarray
    covariance: np.ndarray
    fval: float
    n_calls: int


def binned_cost(
    counts: np.ndarray, edges: np.ndarray, per_bin: PerBin, fitted: np.ndarray
) -> ExtendedBinnedNLL:
    """iminuit's extended binned likelihood of ``per_bin`` on the ``fitted`` bins.

    Bin expectations are floored at a tiny positive number, so a trial point with a negative expectation
    costs a lot instead of producing an undefined logarithm.
    """

    def scaled_cdf(xe: np.ndarray, *params: float) -> np.ndarray:
        mu = np.maximum(per_bin(xe, np.asarray(params)), _TINY)
        return np.concatenate([[0.0], np.cumsum(mu)])

    cost = ExtendedBinnedNLL(counts, edges, scaled_cdf)
    cost.mask = fitted
    return cost


def minimize(
    cost: ExtendedBinnedNLL,
    start: npt.ArrayLike,
    jacobian: Callable[[np.ndarray], np.ndarray],
    *,
    what: str,
    free: npt.ArrayLike | None = None,
    max_calls: int | None = None,
) -> Minimum:
    """Minimise ``cost`` with MIGRAD and HESSE in whitened coordinates; raise unless the minimum is valid.

    Shape parameters of mass spectra are nearly degenerate (correlations of 0.999 and more are common for
    the dijet functions), which defeats the numerical second derivatives of HESSE. The fit therefore runs
    in coordinates ``z`` with ``params = start + W z``, where ``W`` whitens the Fisher information
    ``J^T diag(1 / mu) J`` at the start values (computed from the singular values of
    ``diag(mu)^(-1/2) J``, which keep the digits the information matrix itself would lose); the
    covariance is transformed back exactly.

    Parameters
    ----------
    cost
        The cost function.
    start
        Start values of all parameters.
    jacobian
        Derivatives of the per-bin expectations with respect to the parameters, ``(n_bins, n_params)``.
    what
        Description of the fit for error messages, e.g. ``"dijet4 fit to [2500, 6000] GeV"``.
    free
        Boolean mask of the parameters to fit; the others stay at their start values. Default all.
    max_calls
        Most cost-function calls per MIGRAD run; None lets iminuit choose.

    Raises
    ------
    FitError
        If the minimum is not valid after a SIMPLEX retry, or the covariance is not accurate.
    """
    p_start = np.asarray(start, dtype=np.float64)
    is_free = np.ones(p_start.size, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    fitted = np.ones(len(cost.prediction(p_start)), dtype=bool) if cost.mask is None else cost.mask
    mu = np.maximum(cost.prediction(p_start)[fitted], _TINY)
    weighted_jac = jacobian(p_start)[fitted][:, is_free] / np.sqrt(mu)[:, None]
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(weighted_jac))):
        raise FitError(f"{what}: the expectation is not finite at the start values")
    _, sv, vt = np.linalg.svd(weighted_jac, full_matrices=False)
    if not np.all(np.isfinite(sv)) or sv[0] <= 0:
        raise FitError(f"{what}: the likelihood does not depend on the parameters at the start values")
    whiten = vt.T / np.maximum(sv, sv[0] * 1e-12)

    def params(z: np.ndarray) -> np.ndarray:
        p = p_start.copy()
        p[is_free] += whiten @ z
        return p

    m = Minuit(lambda z: cost(*params(z)), np.zeros(int(is_free.sum())))
    m.errordef = cost.errordef
    m.errors = 1.0
    m.migrad(ncall=max_calls)
    if not m.valid:
        logger.debug("%s: MIGRAD minimum not valid, retrying after SIMPLEX", what)
        m.simplex(ncall=max_calls)
        m.migrad(ncall=max_calls)
    if not m.valid:
        reason = "call limit reached" if m.fmin.has_reached_call_limit else "minimum not valid"
        raise FitError(f"{what} did not converge ({reason} after {m.nfcn} calls)")
    m.hesse()
    if m.covariance is None or not m.fmin.has_accurate_covar:
        raise FitError(f"{what}: no accurate covariance matrix at the minimum")
    cov = np.zeros((p_start.size, p_start.size))
    cov[np.ix_(is_free, is_free)] = whiten @ np.array(m.covariance) @ whiten.T
    values = params(np.array(m.values))
    if not (math.isfinite(m.fval) and np.all(np.isfinite(values)) and np.all(np.isfinite(cov))):
        raise FitError(f"{what}: the minimum or its covariance is not finite")
    return Minimum(values=values, covariance=cov, fval=float(m.fval), n_calls=int(m.nfcn))

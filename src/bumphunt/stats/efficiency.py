"""Selection efficiency as a function of the mass: measured per bin, fitted across the sidebands.

A cut on an anomaly score keeps a fraction ``eps(m)`` of the background at mass ``m``. The score of a
real classifier depends on the mass through the features (jet masses grow with the dijet mass), so
``eps(m)`` is not flat, and the fraction kept in the signal region (SR) differs from the one measured in
the sidebands. :func:`fit_efficiency` fits ``eps(m)`` to the pass counts of the sideband bins (binomial
likelihood, a logistic polynomial in the mass) and interpolates it into the SR, with the uncertainty of
the interpolation. :func:`~bumphunt.stats.selection.selection_scan` uses it for the ``efficiency_fit``
background estimate: the background predicted in the SR before the cut, times the interpolated SR
efficiency.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError, DataFormatError, FitError
from bumphunt.stats._records import Record

#: Largest condition number of the Fisher information accepted at the maximum (beyond it the covariance
#: has no correct digit left in double precision).
_MAX_CONDITION = 1e13

__all__ = ["EfficiencyFit", "choose_efficiency_fit", "fit_efficiency"]


@dataclasses.dataclass(frozen=True)
class EfficiencyFit(Record):
    """A logistic polynomial ``eps(m) = 1 / (1 + exp(-sum_k c_k u**k))`` fitted to binned pass counts.

    ``u = 2 (m - lo) / (hi - lo) - 1`` runs over [-1, 1] on ``domain = (lo, hi)`` (GeV). A selection that
    keeps every fitted event is represented exactly: ``constant`` is then 1 and the coefficients empty.

    Attributes
    ----------
    coefficients, covariance
        Fitted ``c_k`` (degree + 1 values) and their covariance (binomial likelihood).
    domain
        Mass range (GeV) mapped to ``u`` in [-1, 1].
    centers, n_total, n_passed
        The bins behind the fit: mass at each bin centre (GeV), events and events passing (all bins of
        the window, fitted or not, for plots).
    fitted
        Which bins entered the fit (the sidebands).
    constant
        The efficiency when it is the same exact value everywhere (1: no event failed), else None.
    """

    coefficients: np.ndarray
    covariance: np.ndarray
    domain: tuple[float, float]
    centers: np.ndarray
    n_total: np.ndarray
    n_passed: np.ndarray
    fitted: np.ndarray
    constant: float | None = None

    @property
    def degree(self) -> int:
        """Degree of the fitted polynomial (-1 for a constant efficiency of exactly ``constant``)."""
        return self.coefficients.size - 1

    def log_likelihood(self) -> float:
        """Binomial log-likelihood of the fitted bins at the fitted efficiency, up to a constant that
        does not depend on the model (the binomial coefficients)."""
        use = self.fitted
        eps = self.efficiency(self.centers[use])
        n, k = self.n_total[use], self.n_passed[use]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(k > 0, k * np.log(eps), 0.0) + np.where(n - k > 0, (n - k) * np.log1p(-eps), 0.0)
        return float(np.sum(terms))

    def _basis(self, mass: npt.ArrayLike) -> np.ndarray:
        lo, hi = self.domain
        u = 2.0 * (np.asarray(mass, dtype=np.float64) - lo) / (hi - lo) - 1.0
        return np.stack([u**k for k in range(self.coefficients.size)], axis=-1)

    def efficiency(self, mass: npt.ArrayLike) -> np.ndarray:
        """Fitted efficiency at ``mass`` (GeV)."""
        if self.constant is not None:
            return np.full(np.shape(mass), self.constant)
        return _logistic(self._basis(mass) @ self.coefficients)

    def average(self, mass: npt.ArrayLike, weights: npt.ArrayLike) -> tuple[float, float]:
        """Weighted mean efficiency over masses ``mass`` (GeV) with ``weights``, and its uncertainty.

        Use the expected background per SR bin as weights: the mean is then the fraction of the SR
        background that passes the cut. The uncertainty propagates the coefficients' covariance.
        """
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum()
        if self.constant is not None:
            return self.constant, 0.0
        basis = self._basis(mass)
        eps = _logistic(basis @ self.coefficients)
        grad = (w * eps * (1.0 - eps)) @ basis
        return float(w @ eps), math.sqrt(max(float(grad @ self.covariance @ grad), 0.0))


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # 1 / (1 + exp(-x)) without overflow


def fit_efficiency(
    centers: npt.ArrayLike,
    n_total: npt.ArrayLike,
    n_passed: npt.ArrayLike,
    *,
    fitted: npt.ArrayLike,
    domain: tuple[float, float],
    degree: int = 1,
    max_iterations: int = 50,
) -> EfficiencyFit:
    """Fit the pass fraction of binned events with a logistic polynomial of ``degree`` in the mass.

    Maximum likelihood with a binomial count per bin, by Newton's method (iteratively reweighted least
    squares); the covariance is the inverse of the Fisher information at the maximum.

    Parameters
    ----------
    centers
        Bin centres (GeV).
    n_total, n_passed
        Events in each bin, and how many of them pass the cut.
    fitted
        Which bins enter the fit (the sidebands: the SR is interpolated).
    domain
        Mass range (GeV) over which the polynomial's variable runs from -1 to 1.
    degree
        Degree of the polynomial (1: the efficiency's logit is linear in the mass).
    max_iterations
        Most Newton steps.

    Raises
    ------
    ConfigError
        If ``degree`` is negative.
    DataFormatError
        If the arrays disagree in shape or ``n_passed`` exceeds ``n_total``.
    FitError
        If the fitted bins hold too few events or no pass (or no fail) for the fit to exist, or the
        iteration does not converge.
    """
    if not (isinstance(degree, int | np.integer) and degree >= 0):
        raise ConfigError(f"the efficiency fit's degree must be a non-negative integer, got {degree!r}")
    m = np.asarray(centers, dtype=np.float64)
    n = np.asarray(n_total, dtype=np.float64)
    k = np.asarray(n_passed, dtype=np.float64)
    use = np.asarray(fitted, dtype=bool)
    if not (m.shape == n.shape == k.shape == use.shape and m.ndim == 1):
        raise DataFormatError("centers, n_total, n_passed and fitted must be 1-d arrays of one shape")
    if np.any(k > n) or np.any(k < 0):
        raise DataFormatError("n_passed must lie between 0 and n_total in every bin")
    record = {
        "domain": (float(domain[0]), float(domain[1])),
        "centers": m,
        "n_total": n,
        "n_passed": k,
        "fitted": use,
    }
    total, passed = float(n[use].sum()), float(k[use].sum())
    if total > 0 and passed == total:
        return EfficiencyFit(np.zeros(0), np.zeros((0, 0)), constant=1.0, **record)
    n_filled = int(np.count_nonzero(n[use] > 0))
    if passed == 0 or n_filled <= degree:
        raise FitError(
            f"efficiency fit: {passed:g} of {total:g} sideband events pass in {n_filled} filled bins; "
            f"a degree-{degree} fit needs passing events in more than {degree} bins"
        )
    lo, hi = record["domain"]
    basis = np.stack([(2.0 * (m[use] - lo) / (hi - lo) - 1.0) ** j for j in range(degree + 1)], axis=-1)
    nu, ku = n[use], k[use]
    coef = np.zeros(degree + 1)
    coef[0] = math.log(passed / (total - passed)) if passed < total else 0.0
    for _ in range(max_iterations):
        eps = _logistic(basis @ coef)
        information = (basis * (nu * eps * (1.0 - eps))[:, None]).T @ basis
        score = basis.T @ (ku - nu * eps)
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            raise FitError("efficiency fit: the Fisher information is singular") from None
        coef = coef + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        raise FitError(f"efficiency fit did not converge in {max_iterations} Newton steps")
    eps = _logistic(basis @ coef)
    information = (basis * (nu * eps * (1.0 - eps))[:, None]).T @ basis
    # the logit can run off to where eps(1 - eps) underflows in some bins (a degenerate maximum); whether
    # LAPACK then raises or returns a meaningless inverse depends on the machine, so test the matrix
    singular = FitError(
        "efficiency fit: the Fisher information is singular at the maximum (the efficiency "
        "saturates at 0 or 1 across the fitted bins)"
    )
    if not np.all(np.isfinite(information)) or np.linalg.cond(information) > _MAX_CONDITION:
        raise singular
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        raise singular from None
    if not np.all(np.diag(covariance) > 0):
        raise singular
    return EfficiencyFit(coef, covariance, **record)


def choose_efficiency_fit(
    centers: npt.ArrayLike,
    n_total: npt.ArrayLike,
    n_passed: npt.ArrayLike,
    *,
    fitted: npt.ArrayLike,
    domain: tuple[float, float],
    max_degree: int = 4,
    alpha: float = 0.05,
) -> EfficiencyFit:
    """The efficiency fit whose degree the data choose: nested likelihood-ratio tests from degree 0 up.

    Starting from a constant logit (degree 0), the degree goes up by one while the fit of the next
    degree improves the binomial likelihood significantly: ``2 (ln L_{d+1} - ln L_d)`` is ``chi2`` with
    one degree of freedom when the lower degree is true (Wilks), and the step is taken when its p-value
    is below ``alpha``. This is the test the dimuon search's polynomial choice and
    :func:`~bumphunt.stats.shape_choice.choose_shape` make for the background shape: a score whose
    efficiency does not depend on the mass keeps a constant, and a real classifier's mass dependence
    gets the terms it needs, across sidebands of any width.

    Parameters
    ----------
    centers, n_total, n_passed, fitted, domain
        As for :func:`fit_efficiency`.
    max_degree
        Highest degree tried.
    alpha
        Significance level of each step.

    Raises
    ------
    ConfigError
        If ``max_degree`` is negative or ``alpha`` is not in (0, 1).
    FitError
        If not even the degree-0 fit exists (no passing sideband event).
    """
    from scipy import stats

    if not (isinstance(max_degree, int | np.integer) and max_degree >= 0):
        raise ConfigError(f"max_degree must be a non-negative integer, got {max_degree!r}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie in (0, 1), got {alpha!r}")
    args = (centers, n_total, n_passed)
    best = fit_efficiency(*args, fitted=fitted, domain=domain, degree=0)
    if best.constant is not None:
        return best
    for degree in range(1, max_degree + 1):
        try:
            candidate = fit_efficiency(*args, fitted=fitted, domain=domain, degree=degree)
        except FitError:  # too few filled bins, or a degenerate maximum: the lower degree stays
            break
        q = 2.0 * (candidate.log_likelihood() - best.log_likelihood())
        if not float(stats.chi2.sf(max(q, 0.0), 1)) < alpha:
            break
        best = candidate
    return best

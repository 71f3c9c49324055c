"""Smooth background shapes in the mass: the dijet functions and polynomials (GeV).

Every shape is a density in events per GeV, linear in a basis either directly (polynomials) or in the
exponent (dijet functions), which gives exact Jacobians for error propagation and linear least-squares
start values for the fits.

Dijet functions, with ``x = m / sqrt(s)`` (the CMS and ATLAS dijet-search forms):

* 3 parameters: ``f = p0 (1 - x)**p1 / x**p2``
* 4 parameters: ``f = p0 (1 - x)**p1 / x**(p2 + p3 ln x)``
* 5 parameters: ``f = p0 (1 - x)**p1 / x**(p2 + p3 ln x + p4 ln**2 x)``

Polynomials of degree ``d`` in the mass, written in ``u = 2 (m - lo) / (hi - lo) - 1`` (``u`` runs over
[-1, 1] on the fit range ``[lo, hi]``) so that the coefficients are well conditioned:
``f = c0 + c1 u + ... + cd u**d``.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError, FitError
from bumphunt.stats._records import Record

__all__ = [
    "SQRT_S",
    "BinnedShape",
    "Shape",
    "dijet",
    "get_shape",
    "polynomial",
    "sample_masses",
]

SQRT_S = 13000.0
"""Default centre-of-mass energy of the dijet functions (GeV)."""

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


@dataclasses.dataclass(frozen=True)
class Shape(Record):
    """A background density in the mass (events per GeV), linear in a basis or in its exponent.

    Build shapes with :func:`dijet`, :func:`polynomial` or :func:`get_shape`.

    Attributes
    ----------
    name
        ``"dijet3"``, ``"dijet4"``, ``"dijet5"`` or ``"poly<degree>"``.
    param_names
        Names of the parameters in order.
    sqrt_s
        Centre-of-mass energy in GeV (dijet functions; ``x = m / sqrt_s``), else None.
    domain
        ``(lo, hi)`` in GeV that maps to ``u`` in [-1, 1] (polynomials), else None.
    reference
        Dijet functions only: mass (GeV) at which the exponent's basis functions are taken as zero, so
        that ``p0`` is the density there (None: ``p0`` is the density's scale at ``x = 1``, the usual
        convention, which runs to extreme values in narrow windows).
    """

    name: str
    param_names: tuple[str, ...]
    sqrt_s: float | None = None
    domain: tuple[float, float] | None = None
    reference: float | None = None

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.param_names)

    @property
    def log_linear(self) -> bool:
        """True if the basis sits in the exponent (``f = p0 exp(B @ p[1:])``), False if ``f = B @ p``."""
        return self.sqrt_s is not None

    def basis(self, mass: npt.ArrayLike) -> np.ndarray:
        """Basis functions at ``mass`` (GeV), shape ``(n, n_params)``; column 0 is the constant."""
        m = np.asarray(mass, dtype=np.float64)
        if self.sqrt_s is not None:
            cols = self._dijet_columns(m)
            if self.reference is not None:
                at_reference = self._dijet_columns(np.float64(self.reference))
                cols = [cols[0]] + [c - r for c, r in zip(cols[1:], at_reference[1:], strict=True)]
        else:
            lo, hi = self.domain
            u = 2.0 * (m - lo) / (hi - lo) - 1.0
            cols = [u**k for k in range(self.n_params)]
        return np.stack(cols, axis=-1)

    def _dijet_columns(self, m: np.ndarray) -> list[np.ndarray]:
        assert self.sqrt_s is not None
        x = m / self.sqrt_s
        lx = np.log(x)
        return [np.ones_like(x), np.log1p(-x)] + [-(lx ** (k + 1)) for k in range(self.n_params - 2)]

    def density(self, mass: npt.ArrayLike, params: npt.ArrayLike) -> np.ndarray:
        """Density at ``mass`` (events per GeV)."""
        p = np.asarray(params, dtype=np.float64)
        b = self.basis(mass)
        if self.log_linear:
            return p[0] * np.exp(b[..., 1:] @ p[1:])
        return b @ p

    def jacobian(self, mass: npt.ArrayLike, params: npt.ArrayLike) -> np.ndarray:
        """Derivatives of the density with respect to the parameters, shape ``(n, n_params)``."""
        p = np.asarray(params, dtype=np.float64)
        b = self.basis(mass)
        if not self.log_linear:
            return b
        f = np.exp(b[..., 1:] @ p[1:])
        return np.concatenate([f[..., None], (p[0] * f)[..., None] * b[..., 1:]], axis=-1)

    def to_internal(self, params: npt.ArrayLike) -> np.ndarray:
        """Parameters in which the fits run: ``(ln p0, p1, ...)`` for dijet functions, unchanged otherwise.

        The dijet functions are exactly log-linear in these, which keeps the fit well conditioned.
        """
        theta = np.array(params, dtype=np.float64)
        if self.log_linear:
            if theta[0] <= 0:
                raise FitError(f"{self.name} normalisation p0 must be positive, got {theta[0]!r}")
            theta[0] = math.log(theta[0])
        return theta

    def from_internal(self, theta: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Parameters from :meth:`to_internal` coordinates, with the diagonal of ``d params / d theta``."""
        params = np.array(theta, dtype=np.float64)
        scale = np.ones_like(params)
        if self.log_linear:  # clipped so that trial points of a fit stay finite
            params[0] = math.exp(min(max(params[0], -745.0), 709.0))
            scale[0] = params[0]
        return params, scale

    def bin_integrals(self, edges: npt.ArrayLike, params: npt.ArrayLike) -> np.ndarray:
        """Expected events in each bin: the density integrated over ``edges`` (GeV)."""
        nodes, half = _bin_nodes(edges)
        return half * (self.density(nodes, params) @ _GL_WEIGHTS)

    def bin_jacobian(self, edges: npt.ArrayLike, params: npt.ArrayLike) -> np.ndarray:
        """Derivatives of :meth:`bin_integrals` with respect to the parameters, ``(n_bins, n_params)``."""
        nodes, half = _bin_nodes(edges)
        return half[:, None] * np.einsum("bjk,j->bk", self.jacobian(nodes, params), _GL_WEIGHTS)

    def binned(self, edges: npt.ArrayLike) -> BinnedShape:
        """The shape on fixed bins ``edges`` (GeV), its basis at the quadrature nodes computed once.

        Fits evaluate the expected counts thousands of times on the same bins; this keeps each
        evaluation to a few array operations (see :class:`BinnedShape`).
        """
        nodes, half = _bin_nodes(edges)
        weights = half[:, None] * _GL_WEIGHTS[None, :]  # (n_bins, n_nodes): quadrature weight per node
        basis = self.basis(nodes)  # (n_bins, n_nodes, n_params)
        if self.log_linear:
            return BinnedShape(self, weights, basis[..., 1:])
        return BinnedShape(self, weights, np.einsum("bj,bjk->bk", weights, basis))

    def start_values(
        self, edges: npt.ArrayLike, counts: npt.ArrayLike, use: npt.ArrayLike | None = None
    ) -> np.ndarray:
        """Start values from a weighted linear least-squares fit to the binned density.

        Dijet functions are fitted in the logarithm of the density (bins with counts only), polynomials in
        the density itself. ``use`` selects the bins to fit (default all).
        """
        e = np.asarray(edges, dtype=np.float64)
        n = np.asarray(counts, dtype=np.float64)
        sel = np.ones(n.shape, dtype=bool) if use is None else np.asarray(use, dtype=bool)
        if self.log_linear:
            sel = sel & (n > 0)
        width = np.diff(e)[sel]
        b = self.basis(0.5 * (e[1:] + e[:-1])[sel])
        n = n[sel]
        if self.log_linear:
            y = np.log(n / width)
            w = np.sqrt(n)
        else:
            y = n / width
            w = width / np.sqrt(np.maximum(n, 1.0))
        coef, *_ = np.linalg.lstsq(b * w[:, None], y * w, rcond=None)
        if self.log_linear and not self._finite_on(e, coef):
            # too few filled bins for all parameters (a tight selection): start from the two-parameter
            # member of the family, whose log-linear fit cannot run away, with the others at zero
            coef = np.zeros(b.shape[1])
            coef[:2], *_ = np.linalg.lstsq(b[:, :2] * w[:, None], y * w, rcond=None)
        return self.from_internal(coef)[0]

    def _finite_on(self, edges: np.ndarray, internal: np.ndarray) -> bool:
        """Whether the bin integrals over ``edges`` are finite for internal parameters ``internal``."""
        with np.errstate(over="ignore", invalid="ignore"):
            values = self.bin_integrals(edges, self.from_internal(internal)[0])
        return bool(np.all(np.isfinite(values)))


class BinnedShape:
    """A :class:`Shape` on fixed bins, in the fit's internal parameters (:meth:`Shape.to_internal`).

    For dijet functions ``mu_b = sum_j w_bj exp(theta_0 + B_bj . theta_1:)`` (Gauss-Legendre nodes ``j``
    of bin ``b``), for polynomials ``mu = A theta``; the bases ``B`` and ``A`` are computed once.
    Build it with :meth:`Shape.binned`.
    """

    def __init__(self, shape: Shape, weights: np.ndarray, basis: np.ndarray) -> None:
        self.shape = shape
        self._weights = weights
        self._basis = basis

    def expected(self, theta: np.ndarray) -> np.ndarray:
        """Expected events per bin at internal parameters ``theta``."""
        if not self.shape.log_linear:
            return self._basis @ theta
        return np.einsum("bj,bj->b", self._weights, self._node_exp(theta))

    def expected_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected events per bin and their derivatives ``(n_bins, n_params)`` in ``theta``."""
        if not self.shape.log_linear:
            return self._basis @ theta, self._basis
        weighted = self._weights * self._node_exp(theta)
        mu = weighted.sum(axis=1)
        return mu, np.concatenate([mu[:, None], np.einsum("bj,bjk->bk", weighted, self._basis)], axis=1)

    def curvature(self, theta: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """``sum_b c_b d2 mu_b / d theta d theta``, shape ``(n_params, n_params)``, for ``c = coefficients``.

        The second-derivative term of a likelihood's Hessian; zero for the polynomials (linear in theta).
        """
        n = self.shape.n_params
        if not self.shape.log_linear:
            return np.zeros((n, n))
        weighted = self._weights * self._node_exp(theta) * coefficients[:, None]
        full = np.concatenate([np.ones((*self._basis.shape[:2], 1)), self._basis], axis=2)
        return np.einsum("bj,bja,bjc->ac", weighted, full, full)

    def _node_exp(self, theta: np.ndarray) -> np.ndarray:
        # clipped like Shape.from_internal, so that trial points of a fit stay finite
        return np.exp(np.clip(theta[0] + self._basis @ theta[1:], -745.0, 709.0))


def _bin_nodes(edges: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes ``(n_bins, 8)`` and half widths ``(n_bins,)`` of each bin."""
    e = np.asarray(edges, dtype=np.float64)
    half = 0.5 * np.diff(e)
    mid = 0.5 * (e[1:] + e[:-1])
    return mid[:, None] + half[:, None] * _GL_NODES[None, :], half


def dijet(n_params: int, *, sqrt_s: float = SQRT_S, reference: float | None = None) -> Shape:
    """The dijet function with 3, 4 or 5 parameters in ``x = m / sqrt_s`` (``sqrt_s`` in GeV).

    ``f(m) = p0 (1 - x)^p1 x^-(p2 + p3 ln x + p4 ln^2 x)``. With ``reference`` (GeV), the exponent is
    written relative to its value there, ``f = p0 exp(sum_i p_i (B_i(m) - B_i(reference)))``: the same
    family and the same ``p1...``, but ``p0`` is the density at ``reference``. Fits over narrow windows
    need this: there ``ln p0`` and the exponents are nearly degenerate and the usual ``p0`` wanders over
    hundreds of decades, past floating-point range.

    Raises
    ------
    ConfigError
        If ``n_params`` is not 3, 4 or 5, or ``sqrt_s`` is not positive.
    """
    if n_params not in (3, 4, 5):
        raise ConfigError(f"the dijet function has 3, 4 or 5 parameters, got n_params={n_params!r}")
    if not (math.isfinite(sqrt_s) and sqrt_s > 0):
        raise ConfigError(f"sqrt_s must be a positive number of GeV, got {sqrt_s!r}")
    if reference is not None and not (math.isfinite(reference) and 0 < reference < sqrt_s):
        raise ConfigError(f"reference must be a mass in (0, sqrt_s) GeV, got {reference!r}")
    return Shape(
        f"dijet{n_params}",
        tuple(f"p{i}" for i in range(n_params)),
        sqrt_s=float(sqrt_s),
        reference=None if reference is None else float(reference),
    )


def polynomial(degree: int, domain: tuple[float, float]) -> Shape:
    """A polynomial of ``degree`` in the mass, written in ``u`` in [-1, 1] over ``domain`` (GeV).

    Raises
    ------
    ConfigError
        If ``degree`` is negative or the domain is empty.
    """
    if not (isinstance(degree, (int, np.integer)) and degree >= 0):
        raise ConfigError(f"polynomial degree must be a non-negative integer, got {degree!r}")
    lo, hi = (float(v) for v in domain)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"polynomial domain must be (lo, hi) with lo < hi in GeV, got {domain!r}")
    return Shape(f"poly{degree}", tuple(f"c{i}" for i in range(degree + 1)), domain=(lo, hi))


def get_shape(spec: str | Shape, domain: tuple[float, float], *, sqrt_s: float = SQRT_S) -> Shape:
    """Resolve a shape name (``"dijet3"``, ``"dijet4"``, ``"dijet5"``, ``"poly<d>"``) or pass a Shape through.

    Parameters
    ----------
    spec
        Shape name or an existing :class:`Shape` (returned unchanged).
    domain
        Fit range ``(lo, hi)`` in GeV; polynomials are written in ``u`` in [-1, 1] over it, and dijet
        functions take its centre as ``reference`` (``p0`` is the density there).
    sqrt_s
        Centre-of-mass energy of the dijet functions (GeV).

    Raises
    ------
    ConfigError
        If the name is none of the above.
    """
    if isinstance(spec, Shape):
        return spec
    match = re.fullmatch(r"(dijet|poly)(\d+)", str(spec).strip().lower())
    if match is None:
        raise ConfigError(f"shape must be 'dijet3', 'dijet4', 'dijet5' or 'poly<degree>', got {spec!r}")
    family, number = match.group(1), int(match.group(2))
    if family == "dijet":
        return dijet(number, sqrt_s=sqrt_s, reference=0.5 * (float(domain[0]) + float(domain[1])))
    return polynomial(number, domain)


def sample_masses(
    shape: Shape,
    params: npt.ArrayLike,
    low: float,
    high: float,
    rng: np.random.Generator,
    *,
    grid_bins: int = 4000,
) -> np.ndarray:
    """Draw an unbinned mass sample (GeV) from ``shape`` on ``[low, high)``: a Poisson number of events.

    The number of events is Poisson with mean equal to the integral of the density; masses follow the
    density, drawn by inverting its cumulative on a grid of ``grid_bins`` bins (linear within a grid bin).

    Raises
    ------
    FitError
        If the density is negative somewhere in the range (polynomials can be).
    """
    grid = np.linspace(low, high, grid_bins + 1)
    per_bin = shape.bin_integrals(grid, params)
    if np.any(per_bin < 0) or not np.all(np.isfinite(per_bin)):
        raise FitError(f"{shape.name} density is negative or not finite in [{low:g}, {high:g}] GeV")
    cumulative = np.concatenate([[0.0], np.cumsum(per_bin)])
    n = rng.poisson(cumulative[-1])
    return np.interp(rng.uniform(0.0, cumulative[-1], size=n), cumulative, grid)

"""Invertible feature transforms with exact inverses and per-event log-Jacobians.

A density model trained on transformed features ``y = T(x)`` gives a density in the original feature
space through the change of variables

.. math:: \\log p_X(x) = \\log p_Y(T(x)) + \\log \\left|\\det \\frac{\\partial T}{\\partial x}\\right| ,

so every transform here offers :meth:`~InvertibleTransform.log_abs_det_jacobian`, one value per event.
The transforms act column by column (the Jacobian is diagonal) and compose with :class:`Chain`. They are
fitted on the training side only (for CATHODE: the sidebands) and then applied unchanged elsewhere.

Values outside the fitted range
-------------------------------
:class:`MinMaxLogit` maps the fitted range ``[min, max]`` of each column onto
``[logit(alpha), logit(1 - alpha)]``. A value outside ``[min, max]`` (a signal-region event beyond the
sideband range, say) has no place in that map. The policy is explicit, chosen with ``out_of_range``:

``"raise"`` (default)
    :class:`~bumphunt.errors.OutOfRangeError` naming the column, the count and the fitted range.
``"clip"``
    Clip to ``[min, max]`` first and log a warning with the counts; the inverse then returns the clipped
    value, not the original one.

:class:`QuantileNormal` follows the same policies on its fitted range. ``in_range`` of either gives the
mask of the events inside the range, to select them beforehand.
No policy ever produces NaN. :class:`Log` raises the same error for values <= 0.

Example
-------
>>> import numpy as np
>>> x = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
>>> chain = Chain([MinMaxLogit(alpha=0.01), Standardize()]).fit(x)
>>> bool(np.allclose(chain.inverse_transform(chain.transform(x)), x))
True
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.interpolate import PchipInterpolator
from scipy.special import expit, ndtr, ndtri
from sklearn.base import BaseEstimator, TransformerMixin, clone

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError, OutOfRangeError
from bumphunt.methods._validation import as_matrix

__all__ = [
    "Asinh",
    "Chain",
    "InvertibleTransform",
    "Log",
    "MinMaxLogit",
    "OutOfRangePolicy",
    "QuantileNormal",
    "SpreadAtom",
    "Standardize",
    "spread_atoms",
]

logger = logging.getLogger(__name__)

#: What :class:`MinMaxLogit` does with values outside the fitted range.
OutOfRangePolicy = Literal["raise", "clip"]


class InvertibleTransform(TransformerMixin, BaseEstimator, ABC):
    """A column-wise bijection fitted on training data, with exact inverse and log-Jacobian.

    Subclasses implement :meth:`_fit`, :meth:`_forward` (values and log-derivatives in one pass) and
    :meth:`_inverse` on validated float64 matrices; this class checks shapes, names the columns in
    errors and sums the log-derivatives over columns.

    Attributes
    ----------
    column_names_ : tuple of str
        Names used in error messages: the ``column_names`` given to :meth:`fit`, or ``"column j"``.
    n_columns_ : int
        Number of columns seen in :meth:`fit`.
    """

    def fit(
        self, X: npt.ArrayLike, y: object = None, *, column_names: Sequence[str] | None = None
    ) -> InvertibleTransform:
        """Fit the transform on the rows of ``X`` (shape ``(n_events, n_columns)``); returns self."""
        matrix = as_matrix(X)
        if len(matrix) == 0:
            raise DataFormatError(f"{type(self).__name__}.fit needs at least one event, got none")
        names = tuple(column_names) if column_names is not None else None
        if names is not None and len(names) != matrix.shape[1]:
            raise ConfigError(f"column_names has {len(names)} names but X has {matrix.shape[1]} columns")
        self.column_names_ = names or tuple(f"column {j}" for j in range(matrix.shape[1]))
        self.n_columns_ = matrix.shape[1]
        self._fit(matrix)
        return self

    def transform(self, X: npt.ArrayLike) -> np.ndarray:
        """The transformed values, shape ``(n_events, n_columns)``."""
        return self._forward(self._checked(X))[0]

    def inverse_transform(self, Y: npt.ArrayLike) -> np.ndarray:
        """The values in the original space whose transform is ``Y``."""
        return self._inverse(self._checked(Y, "Y"))

    def log_abs_det_jacobian(self, X: npt.ArrayLike) -> np.ndarray:
        """``log |det dT/dx|`` at each row of ``X`` (original space), shape ``(n_events,)``."""
        return self.transform_with_log_det(X)[1]

    def transform_with_log_det(self, X: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`transform` and :meth:`log_abs_det_jacobian` in one pass."""
        values, log_derivative = self._forward(self._checked(X))
        return values, log_derivative.sum(axis=1)

    def _checked(self, X: npt.ArrayLike, what: str = "X") -> np.ndarray:
        if not hasattr(self, "n_columns_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted; call fit(X) on the training data first"
            )
        matrix = as_matrix(X, what)
        if matrix.shape[1] != self.n_columns_:
            raise DataFormatError(
                f"{what} has {matrix.shape[1]} columns but {type(self).__name__} was fitted on "
                f"{self.n_columns_} ({', '.join(self.column_names_)})"
            )
        return matrix

    @abstractmethod
    def _fit(self, X: np.ndarray) -> None: ...

    @abstractmethod
    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``y`` and ``log |dy_j / dx_j|``, both of shape ``(n_events, n_columns)``."""

    @abstractmethod
    def _inverse(self, Y: np.ndarray) -> np.ndarray: ...


class Standardize(InvertibleTransform):
    """Subtract the mean and divide by the standard deviation of each column.

    Attributes
    ----------
    mean_, scale_ : numpy.ndarray
        Per-column mean and (population) standard deviation of the training data.

    Raises
    ------
    bumphunt.errors.DataFormatError
        From :meth:`fit`, if a column is constant (zero standard deviation).
    """

    def _fit(self, X: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        constant = [name for name, s in zip(self.column_names_, self.scale_, strict=True) if not s > 0]
        if constant:
            raise DataFormatError(f"cannot standardize constant columns {constant}: their spread is zero")

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (X - self.mean_) / self.scale_, np.broadcast_to(-np.log(self.scale_), X.shape)

    def _inverse(self, Y: np.ndarray) -> np.ndarray:
        return Y * self.scale_ + self.mean_


class Log(InvertibleTransform):
    """Natural logarithm of each column (for positive quantities such as masses in GeV).

    Raises
    ------
    bumphunt.errors.OutOfRangeError
        If a value is <= 0.
    """

    def _fit(self, X: np.ndarray) -> None:
        self._check_positive(X)

    def _check_positive(self, X: np.ndarray) -> None:
        bad = np.count_nonzero(X <= 0, axis=0)
        for name, count, low in zip(self.column_names_, bad, X.min(axis=0, initial=np.inf), strict=True):
            if count:
                raise OutOfRangeError(
                    f"{name}: {int(count)} values are <= 0 (minimum {low:g}); the logarithm needs values > 0"
                )

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._check_positive(X)
        log_x = np.log(X)
        return log_x, -log_x

    def _inverse(self, Y: np.ndarray) -> np.ndarray:
        return np.exp(Y)


class Asinh(InvertibleTransform):
    """``y = asinh(x / s)`` on chosen columns, the others unchanged: a logarithm-like compression of
    heavy tails (impact parameters in cm, isolation sums) that is defined for every real ``x``.

    For ``|x| >> s`` it is ``sign(x) log(2 |x| / s)``, for ``|x| << s`` linear; ``dy/dx = 1 / sqrt(s^2 +
    x^2)``.

    Parameters
    ----------
    columns
        Indices of the columns to transform; ``None``: all.
    quantile
        Each column's scale ``s`` is this quantile of its ``|x|`` over the fit data (the smaller, the
        more of the column is in the logarithmic regime).
    """

    def __init__(self, columns: Sequence[int] | None = None, quantile: float = 0.25) -> None:
        self.columns = columns
        self.quantile = quantile

    def _fit(self, X: np.ndarray) -> None:
        if not 0 < self.quantile < 1:
            raise ConfigError(f"Asinh quantile must lie in (0, 1), got {self.quantile!r}")
        columns = range(X.shape[1]) if self.columns is None else self.columns
        self.columns_ = np.asarray(sorted(int(c) for c in columns), dtype=np.int64)
        if np.any((self.columns_ < 0) | (self.columns_ >= X.shape[1])):
            raise ConfigError(
                f"Asinh columns {list(self.columns_)} are not all among the {X.shape[1]} columns"
            )
        magnitude = np.abs(X[:, self.columns_])
        scale = np.quantile(magnitude, self.quantile, axis=0) if len(X) else np.ones(len(self.columns_))
        fallback = magnitude.max(axis=0, initial=0.0)
        self.scale_ = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y = X.copy()
        log_derivative = np.zeros_like(X)
        x = X[:, self.columns_]
        Y[:, self.columns_] = np.arcsinh(x / self.scale_)
        log_derivative[:, self.columns_] = -0.5 * np.log(self.scale_**2 + x**2)
        return Y, log_derivative

    def _inverse(self, Y: np.ndarray) -> np.ndarray:
        X = Y.copy()
        X[:, self.columns_] = self.scale_ * np.sinh(Y[:, self.columns_])
        return X


class _FittedRange(InvertibleTransform):
    """A transform defined on each column's fitted range ``[min_, max_]``."""

    min_: np.ndarray
    max_: np.ndarray
    out_of_range: OutOfRangePolicy

    def in_range(self, X: npt.ArrayLike) -> np.ndarray:
        """Boolean mask ``(n_events,)``: the events whose values all lie in the fitted range."""
        matrix = self._checked(X)
        return np.all((matrix >= self.min_) & (matrix <= self.max_), axis=1)


class MinMaxLogit(_FittedRange):
    """Scale each column's fitted range ``[min, max]`` to ``[alpha, 1 - alpha]``, then take the logit.

    ``y = logit(alpha + (1 - 2 alpha) (x - min) / (max - min))``. The margin ``alpha`` keeps the extreme
    training values finite (at ``logit(alpha)``) and leaves room beyond them: the inverse maps any real
    ``y`` into ``(min - d, max + d)`` with ``d = alpha / (1 - 2 alpha) (max - min)``, so samples of a
    density model are always finite.

    Parameters
    ----------
    alpha
        Margin in ``(0, 0.5)``; ``logit(alpha)`` is where the extreme training values land
        (``alpha=1e-3``: about ``-6.9`` and ``+6.9``).
    out_of_range
        ``"raise"`` or ``"clip"``: what to do with values outside the fitted range (module docstring).

    Attributes
    ----------
    min_, max_ : numpy.ndarray
        Per-column range of the training data.
    """

    def __init__(self, alpha: float = 1e-3, out_of_range: OutOfRangePolicy = "raise") -> None:
        self.alpha = alpha
        self.out_of_range = out_of_range

    def _fit(self, X: np.ndarray) -> None:
        if not 0 < self.alpha < 0.5:
            raise ConfigError(f"MinMaxLogit alpha must lie in (0, 0.5), got {self.alpha!r}")
        _check_policy(self)
        self.min_ = X.min(axis=0)
        self.max_ = X.max(axis=0)
        ranges = zip(self.column_names_, self.min_, self.max_, strict=True)
        constant = [name for name, low, high in ranges if not high > low]
        if constant:
            raise DataFormatError(f"cannot min-max scale constant columns {constant}: their range is zero")

    def _unit(self, X: np.ndarray) -> np.ndarray:
        """``(x - min) / (max - min)`` with the out-of-range policy applied."""
        X = _within_range(self, X)
        return (X - self.min_) / (self.max_ - self.min_)

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = self.alpha + (1.0 - 2.0 * self.alpha) * self._unit(X)
        log_v, log_1mv = np.log(v), np.log1p(-v)
        scale = np.log1p(-2.0 * self.alpha) - np.log(self.max_ - self.min_)
        return log_v - log_1mv, scale - log_v - log_1mv

    def _inverse(self, Y: np.ndarray) -> np.ndarray:
        unit = (expit(Y) - self.alpha) / (1.0 - 2.0 * self.alpha)
        return self.min_ + unit * (self.max_ - self.min_)


class QuantileNormal(_FittedRange):
    """Map each column to a standard normal variable through its smoothed distribution function.

    ``y = Phi^-1(F(x))``, where ``F`` is the monotone cubic (PCHIP) interpolation of the empirical
    distribution function through ``knots + 1`` evenly spaced quantiles of the training values, from
    their minimum to their maximum, placed at the levels ``(0.5 + k (n - 1) / knots) / n`` of ``n``
    events (the extremes land at ``Phi^-1(1 / 2n)``: about -4.1 and +4.1 for 25,000 events). Each
    feature is then normal, whatever its shape (hard edges, peaks, long tails), and a density model
    of the transformed features only has to learn how they depend on each other and on the mass.
    The inverse is exact to float64 rounding (Newton's method on the knot interval's cubic, kept
    inside a shrinking bracket); normal values beyond the extreme levels map to the ends of the
    fitted range, and near those ends, where the interpolated distribution function flattens, to
    about 1e-7 relative.

    Fit it on the density model's training events only: fitted on held-out events too, it passes
    their fluctuations to the samples, which then look closer to those events than to new ones. On
    the sidebands of the CATHODE benchmark (issue 13: 4 LHCO features, 25.7k events per flow) the flow
    check read AUC 0.512-0.516 on average after it against 0.5085 after :class:`MinMaxLogit`, and its
    errors are less signal-like (:class:`~bumphunt.methods.flows.ConditionalFlow`,
    ``preprocessing``).

    Parameters
    ----------
    knots
        Number of quantile intervals (>= 2, and fewer than the training events), or ``"auto"``: one
        per 50 training events, at least 10 (fewer for fewer than 11 events) and at most 1000.
    out_of_range
        ``"raise"`` or ``"clip"``: values outside the fitted range (module docstring).

    Attributes
    ----------
    min_, max_ : numpy.ndarray
        Per-column range of the training data.
    knots_ : int
        Number of quantile intervals used.
    levels_ : numpy.ndarray
        Distribution-function values at the knots, shape ``(knots_ + 1,)``.
    quantiles_ : list of numpy.ndarray
        Per column, the training quantiles at ``levels_``.

    Raises
    ------
    bumphunt.errors.DataFormatError
        From :meth:`fit`, if a column repeats a value across knots (an atom: spread it first with
        :func:`spread_atoms`, or use fewer knots).
    """

    def __init__(
        self, knots: int | Literal["auto"] = "auto", out_of_range: OutOfRangePolicy = "raise"
    ) -> None:
        self.knots = knots
        self.out_of_range = out_of_range

    def _fit(self, X: np.ndarray) -> None:
        _check_policy(self)
        knots = min(max(len(X) // 50, 10), 1000, len(X) - 1) if self.knots == "auto" else self.knots
        if not (isinstance(knots, int | np.integer) and not isinstance(knots, bool) and 2 <= knots < len(X)):
            raise ConfigError(
                f"QuantileNormal knots must be an integer >= 2 and below the number of training "
                f"events ({len(X)}) or 'auto', got {knots!r}"
            )
        n = len(X)
        self.knots_ = knots
        self.levels_ = (0.5 + np.linspace(0.0, n - 1.0, knots + 1)) / n
        self.quantiles_ = [np.quantile(X[:, j], np.linspace(0.0, 1.0, knots + 1)) for j in range(X.shape[1])]
        repeated = [
            name
            for name, q in zip(self.column_names_, self.quantiles_, strict=True)
            if np.any(np.diff(q) <= 0)
        ]
        if repeated:
            raise DataFormatError(
                f"QuantileNormal: columns {repeated} repeat a value across knots (an atom); spread it "
                f"first (spread_atoms) or use fewer than {knots} knots"
            )
        self.min_ = np.array([q[0] for q in self.quantiles_])
        self.max_ = np.array([q[-1] for q in self.quantiles_])
        self._cdfs = [PchipInterpolator(q, self.levels_) for q in self.quantiles_]
        self._densities = [cdf.derivative() for cdf in self._cdfs]

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = _within_range(self, X)
        Y = np.empty_like(X)
        log_derivative = np.empty_like(X)
        tiny = np.finfo(np.float64).tiny
        for j, (cdf, density) in enumerate(zip(self._cdfs, self._densities, strict=True)):
            Y[:, j] = ndtri(cdf(X[:, j]))
            # dy/dx = F'(x) / phi(y)
            log_derivative[:, j] = (
                np.log(np.maximum(density(X[:, j]), tiny)) + 0.5 * Y[:, j] ** 2 + 0.5 * np.log(2.0 * np.pi)
            )
        return Y, log_derivative

    def _inverse(self, Y: np.ndarray) -> np.ndarray:
        levels = np.clip(ndtr(Y), self.levels_[0], self.levels_[-1])
        interval = np.clip(np.searchsorted(self.levels_, levels, side="right") - 1, 0, self.knots_ - 1)
        X = np.empty_like(Y)
        for j, (cdf, quantiles) in enumerate(zip(self._cdfs, self.quantiles_, strict=True)):
            k = interval[:, j]
            # F(x_k + d) - F(x_k) = ((a d + b) d + c) d on the knot interval: solve for d by Newton's
            # method kept inside a shrinking bracket (bisection where a step would leave it)
            a, b, c = cdf.c[0, k], cdf.c[1, k], cdf.c[2, k]
            target = levels[:, j] - self.levels_[k]
            width = quantiles[k + 1] - quantiles[k]
            low, high = np.zeros_like(target), width
            d = width * target / (self.levels_[k + 1] - self.levels_[k])
            for _ in range(100):
                residual = ((a * d + b) * d + c) * d - target
                low, high = np.where(residual < 0, d, low), np.where(residual < 0, high, d)
                slope = (3.0 * a * d + 2.0 * b) * d + c
                with np.errstate(divide="ignore", invalid="ignore"):
                    step = d - residual / slope
                inside = (step > low) & (step < high)
                d_next = np.where(inside, step, 0.5 * (low + high))
                converged = np.all(np.abs(d_next - d) <= 1e-15 * width)
                d = d_next
                if converged:
                    break
            X[:, j] = quantiles[k] + d
        return X


def _check_policy(transform: _FittedRange) -> None:
    if transform.out_of_range not in ("raise", "clip"):
        raise ConfigError(
            f"{type(transform).__name__} out_of_range must be 'raise' or 'clip', got "
            f"{transform.out_of_range!r}"
        )


def _within_range(transform: _FittedRange, X: np.ndarray) -> np.ndarray:
    """``X`` with the transform's out-of-range policy applied to values outside its fitted range."""
    low, high = transform.min_, transform.max_
    below = np.count_nonzero(low > X, axis=0)
    above = np.count_nonzero(high < X, axis=0)
    if not np.any(below + above):
        return X
    name = type(transform).__name__
    details = "; ".join(
        f"{column}: {int(b)} below and {int(a)} above the fitted range [{lo:g}, {hi:g}]"
        for column, b, a, lo, hi in zip(transform.column_names_, below, above, low, high, strict=True)
        if b + a
    )
    if transform.out_of_range == "raise":
        raise OutOfRangeError(
            f"values outside the range {name} was fitted on: {details}; select the events inside "
            f"with in_range(X) or build {name}(out_of_range='clip')"
        )
    logger.warning("%s clipped values to the fitted range: %s", name, details)
    return np.clip(X, low, high)


class Chain(InvertibleTransform):
    """Apply ``steps`` in order; the inverse runs them backwards and the log-Jacobians add up.

    Parameters
    ----------
    steps
        Unfitted transforms; :meth:`fit` fits clones of them, each on the output of the previous one,
        and keeps them in ``steps_``.
    """

    def __init__(self, steps: Sequence[InvertibleTransform]) -> None:
        self.steps = steps

    def _fit(self, X: np.ndarray) -> None:
        if not self.steps:
            raise ConfigError("Chain needs at least one step")
        fitted = []
        for step in self.steps:
            if not isinstance(step, InvertibleTransform):
                raise ConfigError(f"Chain steps must be InvertibleTransform instances, got {step!r}")
            step = clone(step).fit(X, column_names=self.column_names_)
            X = step._forward(X)[0]
            fitted.append(step)
        self.steps_ = tuple(fitted)

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.zeros_like(X)
        for step in self.steps_:
            X, log_derivative = step._forward(X)
            total = total + log_derivative
        return X, total

    def _inverse(self, Y: np.ndarray) -> np.ndarray:
        for step in reversed(self.steps_):
            Y = step._inverse(Y)
        return Y


@dataclass(frozen=True)
class SpreadAtom:
    """A point mass at a feature's minimum and the interval it was spread over.

    Attributes
    ----------
    feature
        Column name.
    value
        The atom (the column minimum).
    fraction
        Share of the events at it.
    width
        Width of the interval ``[value, value + width)`` the events were spread over (the gap to the
        column's next value).
    """

    feature: str
    value: float
    fraction: float
    width: float


def spread_atoms(
    features: npt.ArrayLike,
    names: Sequence[str],
    rng: np.random.Generator,
    *,
    min_fraction: float = 0.01,
    atoms: Sequence[SpreadAtom] | None = None,
) -> tuple[np.ndarray, tuple[SpreadAtom, ...]]:
    """Spread point masses at the column minima (uniform dequantization) so that densities exist.

    A density model (CATHODE's flow) cannot learn a point mass: an isolation sum that is exactly 0 for a
    quarter of the muons has an infinite density there, and the flow's samples never reproduce it, which
    a classifier then tells apart from data. Every column whose minimum holds at least ``min_fraction``
    of the events gets those events moved to ``value + width * u``, ``u ~ U(0, 1)``, where ``width`` is
    the gap to the column's next value: the atom fills the gap below the continuous part, so the density
    has no hole, and the order of the events along the column is kept (an event at the atom stays below
    every other; boosted trees, which only see the order, are unaffected). Apply it to all events of a
    search (signal and sideband regions alike) before training, so that data and background model see
    the same feature. ``atoms`` (from an earlier call) spreads the same atoms over the same widths
    instead of finding them, for a second sample of the same search.

    Returns
    -------
    features, atoms
        The new ``(n, k)`` float64 matrix and the atoms spread.
    """
    if not 0 < min_fraction < 1:
        raise ConfigError(f"spread_atoms needs 0 < min_fraction < 1, got {min_fraction!r}")
    matrix = np.array(features, dtype=np.float64, copy=True)
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        raise DataFormatError(f"features must be (n, {len(names)}) for the names given, got {matrix.shape}")
    if atoms is not None:
        index = {str(name): j for j, name in enumerate(names)}
        for atom in atoms:
            column = matrix[:, index[atom.feature]]
            at = column == atom.value
            column[at] = atom.value + atom.width * rng.random(int(at.sum()))
        return matrix, tuple(atoms)
    found = []
    for j, name in enumerate(names):
        column = matrix[:, j]
        if not len(column):
            continue
        low = column.min()
        at = column == low
        fraction = float(at.mean())
        if fraction < min_fraction or at.all():
            continue
        width = float(column[~at].min() - low)
        column[at] = low + width * rng.random(int(at.sum()))
        found.append(SpreadAtom(str(name), float(low), fraction, width))
    return matrix, tuple(found)

"""Choice of the number of background parameters: F-test or likelihood-ratio test of nested fits."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from bumphunt.errors import ConfigError, FitError
from bumphunt.stats._records import Record
from bumphunt.stats.fit import BackgroundFit, fit_background
from bumphunt.stats.shapes import SQRT_S, Shape, get_shape

__all__ = ["ShapeChoice", "choose_shape", "nested_test"]

logger = logging.getLogger(__name__)

TESTS = ("f", "lr")


def nested_test(smaller: BackgroundFit, larger: BackgroundFit, test: str = "f") -> tuple[float, float]:
    """Test statistic and p-value for "the larger model fits no better than the smaller one".

    Both fits must use the same bins. ``test="f"`` is Fisher's F-test on the likelihood chi2 (as in the
    CMS dijet searches):
    ``F = ((chi2_s - chi2_l) / (k_l - k_s)) / (chi2_l / ndf_l)`` with ``F(k_l - k_s, ndf_l)``;
    ``test="lr"`` is the likelihood-ratio test, ``chi2_s - chi2_l`` against ``chi2(k_l - k_s)`` (Wilks).
    A small p-value favours the larger model.

    Raises
    ------
    ConfigError
        If ``test`` is unknown or the larger model does not have more parameters.
    """
    if test not in TESTS:
        raise ConfigError(f"test must be one of {TESTS}, got {test!r}")
    extra = larger.shape.n_params - smaller.shape.n_params
    if extra <= 0:
        raise ConfigError(
            f"the larger model ({larger.shape.name}) needs more parameters than {smaller.shape.name}"
        )
    gain = max(smaller.chi2 - larger.chi2, 0.0)
    if test == "lr":
        return gain, float(stats.chi2.sf(gain, extra))
    statistic = (gain / extra) / (larger.chi2 / larger.ndf)
    return statistic, float(stats.f.sf(statistic, extra, larger.ndf))


@dataclasses.dataclass(frozen=True)
class ShapeChoice(Record):
    """Outcome of the sequential choice among nested shapes.

    Attributes
    ----------
    fits
        The fits made, smallest model first (the sequence stops at the first rejected or failed step).
    statistics, p_values
        For each fit after the first: the test against the previously accepted fit.
    chosen
        Index in ``fits`` of the chosen model.
    test
        ``"f"`` or ``"lr"``.
    alpha
        Size of each test.
    message
        Why the sequence stopped early (a failed larger fit), else empty.
    """

    fits: tuple[BackgroundFit, ...]
    statistics: tuple[float, ...]
    p_values: tuple[float, ...]
    chosen: int
    test: str
    alpha: float
    message: str = ""

    @property
    def best(self) -> BackgroundFit:
        """The chosen fit."""
        return self.fits[self.chosen]


def choose_shape(
    counts: npt.ArrayLike,
    edges: npt.ArrayLike,
    shapes: Sequence[str | Shape] = ("dijet3", "dijet4", "dijet5"),
    *,
    fitted: npt.ArrayLike | None = None,
    test: str = "f",
    alpha: float = 0.05,
    sqrt_s: float = SQRT_S,
    max_calls: int | None = None,
) -> ShapeChoice:
    """Choose the number of parameters by testing nested fits in order of size.

    Starting from the smallest model that fits (one that cannot, e.g. a polynomial that turns negative
    in some bin, is skipped and named in ``message``), the next one is fitted (started from the accepted
    fit with the new parameters at 0) and accepted if :func:`nested_test` gives ``p < alpha``; the
    sequence stops at the first model that brings no significant improvement, or that fails to fit.

    Parameters
    ----------
    counts, edges, fitted
        Histogram (events per bin, GeV edges) and the bins to fit, as for :func:`fit_background`.
    shapes
        Nested shapes, smallest first (names as for :func:`get_shape` or :class:`Shape`).
    test
        ``"f"`` (Fisher F-test) or ``"lr"`` (likelihood ratio).
    alpha
        Size of each test.
    sqrt_s
        Centre-of-mass energy of the dijet functions (GeV).
    max_calls
        Most cost-function calls per MIGRAD run.

    Raises
    ------
    ConfigError
        If the shapes are not of one family with increasing numbers of parameters, or a setting is wrong.
    FitError
        If no model can be fitted.
    """
    if test not in TESTS:
        raise ConfigError(f"test must be one of {TESTS}, got {test!r}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie in (0, 1), got {alpha!r}")
    e = np.asarray(edges, dtype=np.float64)
    resolved = [get_shape(s, (float(e[0]), float(e[-1])), sqrt_s=sqrt_s) for s in shapes]
    if len(resolved) < 2:
        raise ConfigError("shapes must list at least two nested shapes to choose from")
    for a, b in itertools.pairwise(resolved):
        if a.log_linear != b.log_linear or a.n_params >= b.n_params:
            raise ConfigError(
                f"shapes must be nested and of one family with growing parameters: {a.name} then {b.name}"
            )
    # the smallest model that fits at all is the base (a low-degree polynomial can be negative somewhere)
    failures: list[str] = []
    fits: list[BackgroundFit] = []
    for shape in resolved:
        try:
            fits = [fit_background(counts, e, shape, fitted=fitted, max_calls=max_calls)]
        except FitError as err:
            failures.append(f"{shape.name}: {err}")
            continue
        break
    if not fits:
        raise FitError(f"no shape of {[s.name for s in resolved]} fits: {'; '.join(failures)}")
    statistics: list[float] = []
    p_values: list[float] = []
    chosen, message = 0, "; ".join(f"skipped {f}" for f in failures)
    for shape in resolved[len(failures) + 1 :]:
        accepted = fits[chosen]
        start = np.concatenate([accepted.values, np.zeros(shape.n_params - accepted.shape.n_params)])
        try:
            fit = fit_background(counts, e, shape, fitted=fitted, start=start, max_calls=max_calls)
        except FitError as err:
            message = "; ".join(filter(None, [message, f"stopped at {shape.name}: {err}"]))
            logger.info("shape choice %s", message)
            break
        statistic, p = nested_test(accepted, fit, test)
        fits.append(fit)
        statistics.append(statistic)
        p_values.append(p)
        if p >= alpha:
            break
        chosen = len(fits) - 1
    return ShapeChoice(
        fits=tuple(fits),
        statistics=tuple(statistics),
        p_values=tuple(p_values),
        chosen=chosen,
        test=test,
        alpha=alpha,
        message=message,
    )

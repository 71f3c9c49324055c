"""Sliding-window search: detector, selection and significance in each SR window over a mass range.

In each window the detector scores the events of the window (SR and sidebands), the scores are cut at
fixed sideband efficiencies and the SR excess is tested (:func:`~bumphunt.stats.selection.selection_scan`).
The search statistic is the largest local significance over windows and efficiencies; its global p-value
comes from running the same search on background-only pseudo-experiments (a bootstrap of a
background-only sample, or toys from a background fit), which accounts for the look-elsewhere effect of
both the windows and the efficiencies.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from bumphunt.errors import BumphuntError, ConfigError, DataFormatError
from bumphunt.stats._records import Record
from bumphunt.stats.fit import BackgroundFit, check_window_in_range
from bumphunt.stats.selection import SelectionScan, selection_scan
from bumphunt.stats.shapes import sample_masses
from bumphunt.stats.significance import z_from_p
from bumphunt.stats.windows import Window

__all__ = [
    "Detector",
    "GlobalSignificance",
    "NullSampler",
    "SlidingSearch",
    "UniformScoreToys",
    "WindowSearch",
    "background_fit_sampler",
    "bootstrap_sampler",
    "global_significance",
    "sliding_search_statistic",
    "sliding_window_search",
    "uniform_score_statistic",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class Detector(Protocol):
    """An anomaly detector as the sliding-window search uses it.

    ``fit_score`` trains on the events of one window and returns one anomaly score per given event,
    higher = more signal-like. Scores of events used in training must come from a model that did not see
    them (k-fold), so that the cut at fixed sideband efficiency is unbiased.
    """

    def fit_score(self, mass: np.ndarray, features: np.ndarray, window: Window) -> np.ndarray:
        """Train on ``(mass, features)`` (GeV, ``(n, d)``) for ``window``; return ``n`` scores."""
        ...


NullSampler = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
"""Draws one background-only pseudo-dataset ``(mass, features)`` from a generator."""


@dataclasses.dataclass(frozen=True)
class WindowSearch(Record):
    """Result of one window of the sliding search.

    Attributes
    ----------
    window
        SR and sidebands.
    scan
        Significances at each efficiency (None if the window failed before the selection).
    z
        Largest local significance in the window (0 if it failed).
    status, message
        ``"ok"`` or ``"failed"`` and why.
    """

    window: Window
    scan: SelectionScan | None
    z: float
    status: str = "ok"
    message: str = ""


@dataclasses.dataclass(frozen=True)
class SlidingSearch(Record):
    """Result of a sliding-window search.

    Attributes
    ----------
    windows
        One :class:`WindowSearch` per window, in the given order.
    max_z
        Largest local significance over windows and efficiencies (the search statistic).
    best
        Index of the window with ``max_z`` (None if every window failed).
    """

    windows: tuple[WindowSearch, ...]
    max_z: float
    best: int | None

    @property
    def local_z(self) -> np.ndarray:
        """Local significance of each window."""
        return np.array([w.z for w in self.windows])


def _check_inputs(mass: npt.ArrayLike, features: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(mass, dtype=np.float64)
    x = np.asarray(features, dtype=np.float64)
    if m.ndim != 1 or x.ndim != 2 or x.shape[0] != m.size:
        raise DataFormatError(
            f"features must be (n_events, n_features) with n_events={m.size}, got {x.shape}"
        )
    return m, x


def sliding_window_search(
    mass: npt.ArrayLike,
    features: npt.ArrayLike,
    detector: Detector,
    windows: Sequence[Window],
    *,
    bin_width: float,
    progress: Callable[[int, int], None] | None = None,
    **selection: Any,
) -> SlidingSearch:
    """Run ``detector`` and the selection significance in every window.

    Parameters
    ----------
    mass
        Event masses (GeV).
    features
        Event features ``(n_events, n_features)`` for the detector.
    detector
        Any object with ``fit_score(mass, features, window)`` (see :class:`Detector`).
    windows
        Windows to test (e.g. from :func:`~bumphunt.stats.windows.sliding_windows`).
    bin_width
        Largest bin width of the fitted histograms (GeV).
    progress
        Called as ``progress(done, total)`` after each window.
    **selection
        Settings passed to :func:`~bumphunt.stats.selection.selection_scan` (``efficiencies``, ``shape``,
        ``method``, ``min_sideband_events``, ``signal_width``, ``sqrt_s``, ``max_calls``).

    Returns
    -------
    SlidingSearch
        A window where the detector or the selection fails with a :class:`~bumphunt.errors.BumphuntError`
        (SR outside the data, too few events) is flagged ``status="failed"`` with ``z = 0``.

    Raises
    ------
    ConfigError
        If no window is given or ``detector`` has no ``fit_score``.
    DataFormatError
        If the features do not match the masses.
    """
    m, x = _check_inputs(mass, features)
    if not windows:
        raise ConfigError("windows is empty; give at least one window to search")
    if not isinstance(detector, Detector):
        raise ConfigError(f"detector must have a fit_score(mass, features, window) method, got {detector!r}")
    results = []
    for i, window in enumerate(windows):
        inside = window.in_window(m)
        try:
            check_window_in_range(window, m)
            scores = np.asarray(detector.fit_score(m[inside], x[inside], window), dtype=np.float64)
            scan = selection_scan(m[inside], scores, window, bin_width=bin_width, **selection)
            results.append(WindowSearch(window=window, scan=scan, z=scan.max_z))
        except BumphuntError as err:
            logger.warning("window %s failed: %s", window.label, err)
            results.append(WindowSearch(window=window, scan=None, z=0.0, status="failed", message=str(err)))
        if progress is not None:
            progress(i + 1, len(windows))
    ok = [i for i, r in enumerate(results) if r.status == "ok"]
    best = max(ok, key=lambda i: results[i].z) if ok else None
    return SlidingSearch(
        windows=tuple(results), max_z=results[best].z if best is not None else 0.0, best=best
    )


def bootstrap_sampler(mass: npt.ArrayLike, features: npt.ArrayLike) -> NullSampler:
    """Pseudo-datasets drawn with replacement from a background-only sample of the same size."""
    m, x = _check_inputs(mass, features)

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        idx = rng.integers(0, m.size, size=m.size)
        return m[idx], x[idx]

    return sample


def background_fit_sampler(
    fit: BackgroundFit,
    feature_sampler: Callable[[np.random.Generator, np.ndarray], np.ndarray] | None = None,
) -> NullSampler:
    """Pseudo-datasets with masses drawn from a background fit over its whole range (Poisson total).

    Parameters
    ----------
    fit
        Background fit whose density is sampled on ``[fit.edges[0], fit.edges[-1])`` (GeV).
    feature_sampler
        Draws background features for given masses, ``(rng, masses) -> (n, d)``; None gives no features
        (for detectors that use only the mass).
    """

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        masses = sample_masses(fit.shape, fit.values, float(fit.edges[0]), float(fit.edges[-1]), rng)
        if feature_sampler is None:
            return masses, np.empty((masses.size, 0))
        return masses, np.asarray(feature_sampler(rng, masses), dtype=np.float64)

    return sample


@dataclasses.dataclass(frozen=True)
class GlobalSignificance(Record):
    """Global significance of a search statistic from background-only pseudo-experiments.

    Attributes
    ----------
    observed
        Observed search statistic (largest local significance).
    toys
        The statistic in each pseudo-experiment.
    p_value, p_value_error
        Fraction of pseudo-experiments at least as extreme as observed, and its binomial error.
    z
        One-sided global significance (0 if the p-value is 1); a lower limit from ``1 / n_toys`` when no
        pseudo-experiment reached the observed value (``z_is_lower_limit``).

    A p-value resting on fewer than :attr:`MIN_ABOVE` pseudo-experiments above the observed value is not
    measured, only bounded (:attr:`resolved`, :attr:`toys_needed`).
    """

    observed: float
    toys: np.ndarray
    p_value: float
    p_value_error: float
    z: float
    z_is_lower_limit: bool

    #: Pseudo-experiments above the observed value that a p-value needs to be known to about 30 %.
    MIN_ABOVE = 10

    @property
    def n_above(self) -> int:
        """Pseudo-experiments at least as extreme as the observed value."""
        return int(np.sum(self.toys >= self.observed))

    @property
    def toys_needed(self) -> int:
        """Pseudo-experiments needed for :attr:`MIN_ABOVE` of them above the observed value.

        When none was above, the p-value is below ``1 / n_toys`` and the estimate is ``MIN_ABOVE``
        times the number run, a lower bound.
        """
        if self.n_above == 0:
            return self.MIN_ABOVE * int(self.toys.size)
        return max(int(self.toys.size), math.ceil(self.MIN_ABOVE / self.p_value))

    @property
    def resolved(self) -> bool:
        """Whether enough pseudo-experiments were above the observed value to measure the p-value."""
        return self.n_above >= self.MIN_ABOVE


def global_significance(
    observed: float,
    statistic: Callable[[np.random.Generator], float],
    *,
    n_toys: int,
    seed: int | np.random.SeedSequence,
    progress: Callable[[int, int], None] | None = None,
) -> GlobalSignificance:
    """Global p-value of ``observed`` from ``n_toys`` evaluations of ``statistic`` on pseudo-experiments.

    Each pseudo-experiment gets its own generator spawned from ``seed``, so toy ``i`` is reproducible
    on its own.

    Parameters
    ----------
    observed
        Observed search statistic (e.g. :attr:`SlidingSearch.max_z` of the data).
    statistic
        The same statistic on one pseudo-experiment drawn with the given generator, e.g. from
        :func:`sliding_search_statistic`.
    n_toys
        Number of pseudo-experiments.
    seed
        Seed of the pseudo-experiments.
    progress
        Called as ``progress(done, n_toys)`` after each pseudo-experiment.

    Raises
    ------
    ConfigError
        If ``n_toys`` is not positive.
    """
    if n_toys < 1:
        raise ConfigError(f"n_toys must be a positive integer, got {n_toys!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    toys = np.empty(n_toys)
    for i, child in enumerate(seq.spawn(n_toys)):
        toys[i] = statistic(np.random.default_rng(child))
        if progress is not None:
            progress(i + 1, n_toys)
    n_above = int(np.sum(toys >= observed))
    p = n_above / n_toys
    lower_limit = n_above == 0
    return GlobalSignificance(
        observed=float(observed),
        toys=toys,
        p_value=p,
        p_value_error=math.sqrt(p * (1 - p) / n_toys),
        z=max(z_from_p(1.0 / n_toys if lower_limit else p), 0.0),
        z_is_lower_limit=lower_limit,
    )


def sliding_search_statistic(
    sampler: NullSampler,
    detector: Detector,
    windows: Sequence[Window],
    *,
    bin_width: float,
    **selection: Any,
) -> Callable[[np.random.Generator], float]:
    """The search statistic (largest local significance) of a sliding search on pseudo-datasets."""

    def statistic(rng: np.random.Generator) -> float:
        m, x = sampler(rng)
        return sliding_window_search(m, x, detector, windows, bin_width=bin_width, **selection).max_z

    return statistic


class UniformScoreToys:
    """The search statistic on background-only toys in which the anomaly score carries no information.

    Call it with a generator to run one toy (see :func:`uniform_score_statistic`). Points and windows
    that fail in a toy (too few selected events, a fit that does not converge) count as no excess; they
    are tallied in :attr:`failures` instead of being logged one by one, and :meth:`failure_summary`
    says it once.

    Attributes
    ----------
    n_points
        Selection points evaluated so far (windows x efficiencies x toys).
    failures
        Failed points by reason (the message with its numbers removed, so that alike reasons count
        together).
    """

    def __init__(self, fit: BackgroundFit, windows: Sequence[Window], selection: dict[str, Any]) -> None:
        self._sampler = background_fit_sampler(fit)
        self._windows = list(windows)
        self._selection = selection
        self.n_points = 0
        self.failures: collections.Counter[str] = collections.Counter()

    def __call__(self, rng: np.random.Generator) -> float:
        masses, _ = self._sampler(rng)
        best = 0.0
        for window in self._windows:
            m = masses[window.in_window(masses)]
            scores = rng.random(m.size)
            n_eff = len(self._selection.get("efficiencies", (1.0,)))
            try:
                scan = selection_scan(m, scores, window, **self._selection)
            except BumphuntError as err:
                self.n_points += n_eff
                self.failures[_reason(str(err))] += n_eff
                continue
            self.n_points += len(scan.points)
            for point in scan.points:
                if point.status != "ok":
                    self.failures[_reason(point.message)] += 1
            best = max(best, scan.max_z)
        return best

    @property
    def n_failed(self) -> int:
        """Failed points so far."""
        return sum(self.failures.values())

    def failure_summary(self) -> str:
        """One line: how many points failed and the most common reasons ("" if none failed)."""
        if not self.failures:
            return ""
        reasons = "; ".join(f"{n} x {reason}" for reason, n in self.failures.most_common(3))
        return (
            f"{self.n_failed} of {self.n_points} selection points failed in the look-elsewhere toys and "
            f"counted as no excess ({reasons})"
        )


def _reason(message: str) -> str:
    """A failure message with its numbers replaced by ``#``, so that alike failures group together."""
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", message)


def uniform_score_statistic(
    fit: BackgroundFit,
    windows: Sequence[Window],
    *,
    bin_width: float,
    **selection: Any,
) -> UniformScoreToys:
    """The search statistic on background-only toys in which the anomaly score carries no information.

    Each toy draws the masses from ``fit`` (Poisson total over its range) and, in every window, gives
    each event a score drawn uniformly and independently of its mass and of the other windows; then it
    runs the same selections (cuts at fixed sideband efficiency), background estimates and significances
    as the data and returns the largest local significance over windows and efficiencies. This is the
    null hypothesis of a search whose local significances are calibrated (standard normal for
    background), which the out-of-fold scores and the efficiency fit of the background estimate aim for
    and ``benchmarks/null_calibration.py`` checks with retrained detectors; it accounts for the
    look-elsewhere effect of the windows and of the efficiencies. Scores independent between windows
    make overlapping windows less correlated than real classifiers would, so the correction is
    conservative. It does not retrain a classifier per toy: pseudo-experiments that do are run by
    :mod:`bumphunt.ensemble`.

    Parameters
    ----------
    fit
        Background fit of the whole scanned range (GeV).
    windows
        The windows of the search.
    bin_width, **selection
        As in :func:`sliding_window_search`.
    """
    return UniformScoreToys(fit, windows, {"bin_width": bin_width, **selection})

"""Look-elsewhere correction of a scan's largest local significance with background-only toys.

A search (:func:`bumphunt.search.run_search`) tests many windows and several score cuts; its statistic
is the largest local significance among them. :func:`global_significance` turns that statistic into a
global p-value by evaluating the same statistic on background-only pseudo-experiments;
:func:`uniform_score_statistic` is the pseudo-experiment the search uses by default (masses from the
background fit, scores that carry no information), whose validity on retrained detectors
``benchmarks/null_calibration.py`` measures. Pseudo-experiments that retrain the detector run through
:mod:`bumphunt.ensemble`.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bumphunt.errors import BumphuntError, ConfigError
from bumphunt.stats._records import Record
from bumphunt.stats.excursion_tail import TailPValue, tail_p_value
from bumphunt.stats.fit import BackgroundFit
from bumphunt.stats.selection import DIMUONAD_EFFICIENCIES, selection_scan
from bumphunt.stats.shapes import sample_masses
from bumphunt.stats.significance import p_from_z, z_from_p
from bumphunt.stats.windows import Window

__all__ = [
    "GlobalSignificance",
    "UniformScoreToys",
    "background_fit_sampler",
    "counted_significance",
    "global_significance",
    "uniform_score_statistic",
    "with_excursion_tail",
]

logger = logging.getLogger(__name__)


def background_fit_sampler(
    fit: BackgroundFit,
    feature_sampler: Callable[[np.random.Generator, np.ndarray], np.ndarray] | None = None,
) -> Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]:
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
    z_error
        Standard error of ``z`` (NaN for a lower limit).
    tail
        The excursion-tail extrapolation (:mod:`bumphunt.stats.excursion_tail`) when fewer than
        :attr:`MIN_ABOVE` pseudo-experiments reached the observed value (:func:`with_excursion_tail`);
        ``p_value``, ``z`` and their errors are then its values. None otherwise.

    A p-value resting on fewer than :attr:`MIN_ABOVE` pseudo-experiments above the observed value is not
    measured by counting (:attr:`resolved`, :attr:`toys_needed`): the excursion tail then measures it, or
    it is only bounded.
    """

    observed: float
    toys: np.ndarray
    p_value: float
    p_value_error: float
    z: float
    z_is_lower_limit: bool
    z_error: float = math.nan
    tail: TailPValue | None = None

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

    @property
    def estimate(self) -> str:
        """Where ``z`` comes from: ``"toys"`` (counted), ``"tail"`` (extrapolated) or ``"bound"`` (no toy
        reached the observed value and there is no tail fit, or the tail lies beyond
        :data:`TAIL_Z_CAP`)."""
        if self.z_is_lower_limit:
            return "bound"
        return "toys" if self.tail is None else "tail"


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
        Observed search statistic (the largest local significance of the data).
    statistic
        The same statistic on one pseudo-experiment drawn with the given generator, e.g.
        :func:`uniform_score_statistic`.
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
    return counted_significance(observed, toys)


def counted_significance(observed: float, toys: np.ndarray) -> GlobalSignificance:
    """Global significance of ``observed`` counted among the statistic's values ``toys`` on
    background-only pseudo-experiments (see :func:`global_significance`, which runs them).

    Raises
    ------
    ConfigError
        If there are no toys.
    """
    toys = np.asarray(toys, dtype=np.float64)
    n_toys = toys.size
    if n_toys < 1:
        raise ConfigError("no background-only toys to count the observed statistic among")
    n_above = int(np.sum(toys >= observed))
    p = n_above / n_toys
    lower_limit = n_above == 0
    p_error = math.sqrt(p * (1 - p) / n_toys)
    z = max(z_from_p(1.0 / n_toys if lower_limit else p), 0.0)
    # error propagation dZ = dp / phi(Z); a p-value of 1 (Z = 0) has no error to propagate
    z_error = math.nan if lower_limit else p_error * math.sqrt(2 * math.pi) * math.exp(0.5 * z**2)
    return GlobalSignificance(
        observed=float(observed),
        toys=toys,
        p_value=p,
        p_value_error=p_error,
        z=z,
        z_is_lower_limit=lower_limit,
        z_error=z_error if p < 1 else 0.0,
    )


#: Largest global significance the excursion tail reports; beyond it the result is this bound (the
#: extrapolation is checked against brute force to about 3.5 sigma, and 8 sigma is far past any claim).
TAIL_Z_CAP = 8.0


def with_excursion_tail(
    significance: GlobalSignificance,
    grids: np.ndarray,
    *,
    seed: int | np.random.SeedSequence = 0,
) -> GlobalSignificance:
    """``significance`` measured by the excursion tail where too few toys reached the observed value.

    Where at least :attr:`GlobalSignificance.MIN_ABOVE` toys reached it, the counted p-value stands and
    ``significance`` comes back unchanged. Otherwise the Gross-Vitells expected Euler characteristic
    fitted to the toys' grids of local significances (:func:`~bumphunt.stats.excursion_tail.tail_p_value`)
    gives the p-value and Z, with errors from bootstrap resamplings of the toys; a Z beyond
    :data:`TAIL_Z_CAP` is reported as that bound (``z_is_lower_limit``).

    Parameters
    ----------
    significance
        The counted global significance.
    grids
        Local significances of the same toys, shape ``(toys, windows, efficiencies)``
        (:attr:`UniformScoreToys.grids`).
    seed
        Seed of the bootstrap.

    Raises
    ------
    ConfigError
        If the grids do not match the toys, or too few toys reach the levels of the fit.
    """
    if significance.resolved:
        return significance
    z_grids = np.asarray(grids, dtype=np.float64)
    if z_grids.shape[0] != significance.toys.size:
        raise ConfigError(
            f"{z_grids.shape[0]} grids of local significances for {significance.toys.size} toys"
        )
    tail = tail_p_value(significance.observed, z_grids, seed=seed)
    if tail.z > TAIL_Z_CAP:
        return dataclasses.replace(
            significance,
            p_value=p_from_z(TAIL_Z_CAP),
            p_value_error=math.nan,
            z=TAIL_Z_CAP,
            z_error=math.nan,
            z_is_lower_limit=True,
            tail=tail,
        )
    return dataclasses.replace(
        significance,
        p_value=tail.p,
        p_value_error=tail.p_error,
        z=tail.z,
        z_error=tail.z_error,
        z_is_lower_limit=False,
        tail=tail,
    )


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
    grids
        The local significance of every window (rows) and efficiency (columns) of each toy so far, 0
        where the point failed: the input of the excursion tail (:func:`with_excursion_tail`).
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
        self._grids: list[np.ndarray] = []

    @property
    def grids(self) -> np.ndarray:
        """Local significances of the toys so far, shape ``(toys, windows, efficiencies)``."""
        n_eff = len(self._selection.get("efficiencies", DIMUONAD_EFFICIENCIES))
        return np.array(self._grids).reshape(len(self._grids), len(self._windows), n_eff)

    def __call__(self, rng: np.random.Generator) -> float:
        masses, _ = self._sampler(rng)
        n_eff = len(self._selection.get("efficiencies", DIMUONAD_EFFICIENCIES))
        grid = np.zeros((len(self._windows), n_eff))
        for i, window in enumerate(self._windows):
            m = masses[window.in_window(masses)]
            scores = rng.random(m.size)
            try:
                scan = selection_scan(m, scores, window, **self._selection)
            except BumphuntError as err:
                self.n_points += n_eff
                self.failures[_reason(str(err))] += n_eff
                continue
            self.n_points += len(scan.points)
            for j, point in enumerate(scan.points):
                if point.status != "ok":
                    self.failures[_reason(point.message)] += 1
                else:
                    grid[i, j] = point.z
        self._grids.append(grid)
        return float(grid.max())

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
    bin_width
        Largest bin width of the fitted histograms (GeV).
    **selection
        Settings passed to :func:`~bumphunt.stats.selection.selection_scan` (``efficiencies``, ``shape``,
        ``method``, ``background``, ``min_sideband_events``, ...), as in the search.
    """
    return UniformScoreToys(fit, windows, {"bin_width": bin_width, **selection})

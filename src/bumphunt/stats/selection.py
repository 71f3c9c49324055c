"""Selections on an anomaly score at fixed sideband efficiency, and the significance after each.

As in the CMS dimuon anomaly search (dimuonAD), each cut on the score is set so that a target fraction
of the sideband events passes (the background efficiency, measured where no signal is expected). After
the cut, the background shape is fitted to the selected sidebands and the excess in the SR is tested
either by counting (:func:`~bumphunt.stats.significance.cut_and_count`) or by a signal-plus-background
fit of the whole selected spectrum (:func:`~bumphunt.stats.signal_fit.fit_signal`). Any score array
works: higher means more signal-like.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from bumphunt.errors import BumphuntError, ConfigError, DataFormatError, EmptySelectionError
from bumphunt.stats._records import Record
from bumphunt.stats.fit import (
    BackgroundFit,
    check_sideband_counts,
    check_window_in_range,
    fit_background,
    window_histogram,
)
from bumphunt.stats.shapes import SQRT_S, Shape, get_shape
from bumphunt.stats.signal_fit import SignalFit, fit_signal
from bumphunt.stats.significance import CountResult, cut_and_count
from bumphunt.stats.windows import Window

__all__ = [
    "DIMUONAD_EFFICIENCIES",
    "METHODS",
    "SelectionPoint",
    "SelectionScan",
    "apply_selection",
    "efficiency_grid",
    "selection_scan",
    "sideband_thresholds",
]

logger = logging.getLogger(__name__)

DIMUONAD_EFFICIENCIES = (1.0, 0.25, 0.1, 0.05, 0.01, 0.005)
"""Sideband (background) efficiencies of the dimuonAD selections."""

METHODS = ("cut_and_count", "signal_fit")


def efficiency_grid(n_log: int = 16, min_efficiency: float = 1e-3) -> np.ndarray:
    """The dimuonAD efficiencies joined with ``n_log`` log-spaced ones from 1 to ``min_efficiency``.

    Returns the distinct values in decreasing order.

    Raises
    ------
    ConfigError
        If ``min_efficiency`` is not in (0, 1] or ``n_log`` is negative.
    """
    if not 0 < min_efficiency <= 1:
        raise ConfigError(f"min_efficiency must lie in (0, 1], got {min_efficiency!r}")
    if n_log < 0:
        raise ConfigError(f"n_log must be >= 0, got {n_log!r}")
    grid = np.concatenate([DIMUONAD_EFFICIENCIES, np.geomspace(1.0, min_efficiency, n_log)])
    return np.unique(np.round(grid, 12))[::-1]


def _check_efficiencies(efficiencies: Sequence[float]) -> np.ndarray:
    eff = np.asarray(efficiencies, dtype=np.float64)
    if eff.ndim != 1 or eff.size == 0 or not np.all((eff > 0) & (eff <= 1)):
        raise ConfigError(f"efficiencies must be a non-empty list of values in (0, 1], got {eff.tolist()}")
    return eff


def sideband_thresholds(sideband_scores: npt.ArrayLike, efficiencies: Sequence[float]) -> np.ndarray:
    """Score thresholds that keep the fraction ``efficiencies`` of the sideband events (``score >= cut``).

    The threshold for efficiency ``e`` is the ``ceil(e n)``-th highest of the ``n`` sideband scores, so at
    least that many sideband events pass (more with ties).

    Raises
    ------
    EmptySelectionError
        If there are no sideband scores.
    ConfigError
        If an efficiency is outside (0, 1].
    """
    scores = np.sort(np.asarray(sideband_scores, dtype=np.float64))[::-1]
    if scores.size == 0:
        raise EmptySelectionError("no sideband events to set the score thresholds with")
    eff = _check_efficiencies(efficiencies)
    k = np.clip(np.ceil(eff * scores.size - 1e-9).astype(int), 1, scores.size)
    return scores[k - 1]


def apply_selection(mass: npt.ArrayLike, scores: npt.ArrayLike, threshold: float) -> np.ndarray:
    """Masses (GeV) of the events with ``score >= threshold``.

    Raises
    ------
    EmptySelectionError
        If no event passes.
    """
    m = np.asarray(mass, dtype=np.float64)
    keep = np.asarray(scores, dtype=np.float64) >= threshold
    if not keep.any():
        raise EmptySelectionError(f"no event has an anomaly score >= {threshold:.6g} (of {m.size} events)")
    return m[keep]


@dataclasses.dataclass(frozen=True)
class SelectionPoint(Record):
    """The significance after one cut on the score.

    Attributes
    ----------
    efficiency
        Target sideband efficiency.
    threshold
        Score cut (``score >= threshold`` passes).
    sideband_efficiency
        Fraction of sideband events that pass (the measured background efficiency).
    n_sr
        Selected events in the SR.
    background, background_error
        Background predicted in the SR by the sideband fit, and its uncertainty (events).
    z
        One-sided local significance (0 for a deficit, and for a failed point).
    p_value
        Local p-value (``1 - Phi(z_signed)``); None for a failed point.
    fit
        The sideband fit (cut-and-count) or None.
    count
        The counting result (cut-and-count) or None.
    signal_fit
        The signal-plus-background fit (``method="signal_fit"``) or None.
    status
        ``"ok"`` or ``"failed"``; ``message`` says why it failed.
    """

    efficiency: float
    threshold: float
    sideband_efficiency: float
    n_sr: int
    background: float | None = None
    background_error: float | None = None
    z: float = 0.0
    p_value: float | None = None
    fit: BackgroundFit | None = None
    count: CountResult | None = None
    signal_fit: SignalFit | None = None
    status: str = "ok"
    message: str = ""


@dataclasses.dataclass(frozen=True)
class SelectionScan(Record):
    """Significances after cuts at several sideband efficiencies in one window.

    Attributes
    ----------
    window
        The SR and sidebands.
    method
        ``"cut_and_count"`` or ``"signal_fit"``.
    shape
        Background shape name.
    points
        One :class:`SelectionPoint` per efficiency, in the given order.
    """

    window: Window
    method: str
    shape: str
    points: tuple[SelectionPoint, ...]

    @property
    def max_z(self) -> float:
        """Largest local significance over the successful points (0 if none succeeded)."""
        return max((p.z for p in self.points if p.status == "ok"), default=0.0)

    @property
    def n_failed(self) -> int:
        """Number of points that failed (flagged, not fitted)."""
        return sum(p.status != "ok" for p in self.points)


def _check_events(mass: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(mass, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if m.ndim != 1 or s.shape != m.shape:
        raise DataFormatError(f"scores must hold one value per event ({m.shape}), got shape {s.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s))):
        raise DataFormatError("masses and anomaly scores must be finite")
    return m, s


def _evaluate_point(
    mass_sel: np.ndarray,
    window: Window,
    shape: Shape,
    *,
    method: str,
    bin_width: float,
    min_sideband_events: float,
    signal_width: float | None,
    max_calls: int | None,
) -> dict[str, object]:
    """Fit and test the selected spectrum; the fields of a successful :class:`SelectionPoint`."""
    counts, edges = window_histogram(mass_sel, window, bin_width)
    check_sideband_counts(counts, edges, window, min_sideband_events)
    centers = 0.5 * (edges[1:] + edges[:-1])
    sb = ~window.in_sr(centers)
    fit = fit_background(counts, edges, shape, fitted=sb, max_calls=max_calls)
    b, b_err = fit.integral(window.sr_low, window.sr_high)
    fields: dict[str, object] = {"background": b, "background_error": b_err, "fit": fit}
    if method == "cut_and_count":
        count = cut_and_count(float(counts[~sb].sum()), b, b_err)
        fields.update(count=count, z=count.z, p_value=count.p_value)
    else:
        sig = fit_signal(counts, edges, shape, mass=window.center, width=signal_width, max_calls=max_calls)
        fields.update(signal_fit=sig, z=sig.z, p_value=sig.p_value)
    return fields


def selection_scan(
    mass: npt.ArrayLike,
    scores: npt.ArrayLike,
    window: Window,
    *,
    bin_width: float,
    efficiencies: Sequence[float] = DIMUONAD_EFFICIENCIES,
    shape: str | Shape = "dijet4",
    method: str = "cut_and_count",
    min_sideband_events: float = 10.0,
    signal_width: float | None = None,
    sqrt_s: float = SQRT_S,
    max_calls: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SelectionScan:
    """Local significance in ``window`` after cuts on the score at each sideband efficiency.

    Parameters
    ----------
    mass
        Event masses (GeV); events outside ``[window.sb_low, window.sb_high)`` are ignored.
    scores
        One anomaly score per event, higher = more signal-like (any scale).
    window
        SR and sidebands.
    bin_width
        Largest bin width of the fitted histograms (GeV).
    efficiencies
        Target sideband efficiencies (see :func:`efficiency_grid`).
    shape
        Background shape (name or :class:`Shape`).
    method
        ``"cut_and_count"`` (sideband fit, count in the SR) or ``"signal_fit"`` (background plus Gaussian
        fit of the whole selected spectrum at the SR centre).
    min_sideband_events
        Fewest selected events each sideband must hold for a point to be fitted.
    signal_width
        Width of the Gaussian (GeV) for ``"signal_fit"``; None profiles it.
    sqrt_s
        Centre-of-mass energy of the dijet functions (GeV).
    max_calls
        Most cost-function calls per MIGRAD run.
    progress
        Called as ``progress(done, total)`` after each efficiency.

    Returns
    -------
    SelectionScan
        One point per efficiency. A point whose fit fails (too few selected sideband events, no
        convergence, empty selection) is flagged ``status="failed"`` with the reason, ``z = 0``.

    Raises
    ------
    ConfigError
        If the SR lies outside the data range or a setting is invalid.
    DataFormatError
        If the scores do not match the masses.
    """
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    m, s = _check_events(mass, scores)
    check_window_in_range(window, m)
    eff = _check_efficiencies(efficiencies)
    fit_shape = get_shape(shape, (window.sb_low, window.sb_high), sqrt_s=sqrt_s)
    inside = window.in_window(m)
    m, s = m[inside], s[inside]
    sb_scores = s[window.in_sb(m)]
    thresholds = sideband_thresholds(sb_scores, eff)
    points = []
    for i, (target, cut) in enumerate(zip(eff, thresholds, strict=True)):
        passed = s >= cut
        base = {
            "efficiency": float(target),
            "threshold": float(cut),
            "sideband_efficiency": float(np.mean(sb_scores >= cut)),
            "n_sr": int(np.sum(passed & window.in_sr(m))),
        }
        try:
            if target * sb_scores.size < 1:
                raise EmptySelectionError(
                    f"efficiency {target:g} keeps less than one of the {sb_scores.size} sideband events"
                )
            fields = _evaluate_point(
                apply_selection(m, s, cut),
                window,
                fit_shape,
                method=method,
                bin_width=bin_width,
                min_sideband_events=min_sideband_events,
                signal_width=signal_width,
                max_calls=max_calls,
            )
            points.append(SelectionPoint(**base, **fields))
        except BumphuntError as err:
            if isinstance(err, ConfigError):
                raise
            logger.warning("window %s, efficiency %g: %s", window.label, target, err)
            points.append(SelectionPoint(**base, status="failed", message=str(err)))
        if progress is not None:
            progress(i + 1, eff.size)
    return SelectionScan(window=window, method=method, shape=fit_shape.name, points=tuple(points))

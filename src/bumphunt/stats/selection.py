"""Selections on an anomaly score at fixed sideband efficiency, and the significance after each.

As in the CMS dimuon anomaly search (dimuonAD), each cut on the score is set so that a target fraction
of the sideband events passes (the background efficiency, measured where no signal is expected). The
background in the SR after the cut comes from one of two estimates (``background``):

``"efficiency_fit"`` (default with counting)
    The background shape fitted to all sideband events (no cut) gives the SR background before the cut;
    the fraction of it that passes is the selection efficiency fitted across the sideband bins as a
    function of the mass (:func:`~bumphunt.stats.efficiency.fit_efficiency`) and interpolated into the
    SR. It follows a score whose efficiency changes with the mass, as the scores of real classifiers do.
``"sideband_fit"``
    The background shape fitted to the selected sideband events only, integrated over the SR.

The excess in the SR is then tested by counting (:func:`~bumphunt.stats.significance.cut_and_count`),
or, with ``"sideband_fit"``, also by a signal-plus-background fit of the whole selected spectrum
(:func:`~bumphunt.stats.signal_fit.fit_signal`). Any score array works: higher means more signal-like.
Every point keeps the events and passing events in each mass bin (:attr:`SelectionPoint.efficiency_curve`),
the efficiency-versus-mass curve the report shows.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bumphunt.errors import BumphuntError, ConfigError, DataFormatError, EmptySelectionError, FitError
from bumphunt.stats._records import Record
from bumphunt.stats.efficiency import EfficiencyFit, choose_efficiency_fit, fit_efficiency
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
from bumphunt.stats.windows import Window, window_edges

__all__ = [
    "BACKGROUNDS",
    "DIMUONAD_EFFICIENCIES",
    "METHODS",
    "SelectionPoint",
    "SelectionScan",
    "apply_selection",
    "efficiency_grid",
    "selected_spectrum",
    "selection_scan",
    "sideband_thresholds",
]

logger = logging.getLogger(__name__)

DIMUONAD_EFFICIENCIES = (1.0, 0.25, 0.1, 0.05, 0.01, 0.005)
"""Sideband (background) efficiencies of the dimuonAD selections."""

METHODS = ("cut_and_count", "signal_fit")
BACKGROUNDS = ("efficiency_fit", "sideband_fit")
"""How the SR background after a cut is estimated (see the module docstring)."""


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
    efficiency_curve
        Events and passing events in each mass bin of the window, with the efficiency fitted across the
        sidebands (empty ``coefficients`` where that fit was impossible).
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
    efficiency_curve: EfficiencyFit | None = None
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
    background
        The background estimate, one of :data:`BACKGROUNDS`.
    """

    window: Window
    method: str
    shape: str
    points: tuple[SelectionPoint, ...]
    background: str = "sideband_fit"

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


def _measured_efficiency(
    mass: np.ndarray, passed: np.ndarray, window: Window, bin_width: float, degree: int | str
) -> tuple[EfficiencyFit, str]:
    """Events and passing events per bin of the window, with the sideband fit of their ratio.

    When the fit is impossible (no passing sideband event, too few bins) the record holds the counts
    with empty coefficients, and the reason comes back as the second value ("" after a good fit).
    """
    edges = window_edges(window, bin_width)
    n_total = np.histogram(mass, bins=edges)[0].astype(np.float64)
    n_passed = np.histogram(mass[passed], bins=edges)[0].astype(np.float64)
    centers = 0.5 * (edges[1:] + edges[:-1])
    sidebands = ~window.in_sr(centers)
    domain = (window.sb_low, window.sb_high)
    try:
        if degree == "auto":
            fit = choose_efficiency_fit(centers, n_total, n_passed, fitted=sidebands, domain=domain)
        else:
            fit = fit_efficiency(centers, n_total, n_passed, fitted=sidebands, domain=domain, degree=degree)
    except FitError as err:
        empty = EfficiencyFit(np.zeros(0), np.zeros((0, 0)), domain, centers, n_total, n_passed, sidebands)
        return empty, str(err)
    return fit, ""


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
    """Fit the selected sidebands and test the SR: the fields of a ``sideband_fit`` point."""
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


def _evaluate_with_fallbacks(
    mass_sel: np.ndarray, window: Window, shapes: Sequence[Shape], **settings: Any
) -> dict[str, object]:
    """:func:`_evaluate_point` with the first of ``shapes`` whose fit succeeds; the first error if none."""
    first: FitError | None = None
    for shape in shapes:
        try:
            return _evaluate_point(mass_sel, window, shape, **settings)
        except FitError as err:
            first = first or err
    assert first is not None
    raise first


def _interpolated_point(
    n_sr: int, uncut: BackgroundFit, efficiency: EfficiencyFit, window: Window
) -> dict[str, object]:
    """The fields of an ``efficiency_fit`` point: uncut SR background times the interpolated efficiency."""
    b_all, b_all_err = uncut.integral(window.sr_low, window.sr_high)
    sr_bins = ~uncut.fitted
    centers = 0.5 * (uncut.edges[1:] + uncut.edges[:-1])
    eps, eps_err = efficiency.average(centers[sr_bins], uncut.expected()[sr_bins])
    if not eps > 0:
        raise FitError(f"the efficiency interpolated into the SR of {window.label} is zero")
    b = b_all * eps
    b_err = math.hypot(b_all_err * eps, b_all * eps_err)
    count = cut_and_count(float(n_sr), b, b_err)
    return {
        "background": b,
        "background_error": b_err,
        "fit": uncut,
        "count": count,
        "z": count.z,
        "p_value": count.p_value,
    }


def _uncut_fit(
    mass: np.ndarray,
    window: Window,
    shape: Shape,
    bin_width: float,
    min_sideband_events: float,
    max_calls: int | None,
) -> BackgroundFit:
    """The background shape fitted to every sideband event of the window (no cut), SR masked."""
    counts, edges = window_histogram(mass, window, bin_width)
    check_sideband_counts(counts, edges, window, min_sideband_events)
    centers = 0.5 * (edges[1:] + edges[:-1])
    return fit_background(counts, edges, shape, fitted=~window.in_sr(centers), max_calls=max_calls)


def selection_scan(
    mass: npt.ArrayLike,
    scores: npt.ArrayLike,
    window: Window,
    *,
    bin_width: float,
    efficiencies: Sequence[float] = DIMUONAD_EFFICIENCIES,
    shape: str | Shape = "dijet4",
    fallback_shapes: Sequence[str | Shape] = (),
    method: str = "cut_and_count",
    background: str | None = None,
    efficiency_degree: int | str = 2,
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
    fallback_shapes
        Shapes tried in order, for ``background="sideband_fit"``, at a point where the fit of ``shape``
        fails (a polynomial that turns negative on the few events a tight cut leaves); the point's
        ``fit`` records the shape used.
    method
        ``"cut_and_count"`` (count in the SR against the predicted background) or ``"signal_fit"``
        (background plus Gaussian fit of the whole selected spectrum at the SR centre; needs
        ``background="sideband_fit"``).
    background
        ``"efficiency_fit"``: uncut sideband fit times the efficiency fitted across the sideband bins
        and interpolated into the SR; ``"sideband_fit"``: fit of the selected sidebands (see the module
        docstring). None: ``"efficiency_fit"`` for ``"cut_and_count"``, ``"sideband_fit"`` for
        ``"signal_fit"``.
    efficiency_degree
        Degree of the logistic polynomial of the efficiency fit (2: its logit is quadratic in the mass,
        which follows the Gaussian-like tails of classifier scores; 1 underestimates them), or
        ``"auto"``: the degree the sideband bins call for, per cut
        (:func:`~bumphunt.stats.efficiency.choose_efficiency_fit`; not calibrated on large samples).
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
        convergence, empty selection) is flagged ``status="failed"`` with the reason and ``z = 0``;
        nothing is logged per point (callers summarise :attr:`SelectionScan.n_failed`).

    Raises
    ------
    ConfigError
        If the SR lies outside the data range or a setting is invalid.
    DataFormatError
        If the scores do not match the masses.
    """
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    if background is None:
        background = "efficiency_fit" if method == "cut_and_count" else "sideband_fit"
    if background not in BACKGROUNDS:
        raise ConfigError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    if background == "efficiency_fit" and method != "cut_and_count":
        raise ConfigError("background efficiency_fit goes with method cut_and_count; use sideband_fit")
    m, s = _check_events(mass, scores)
    check_window_in_range(window, m)
    eff = _check_efficiencies(efficiencies)
    fit_shape = get_shape(shape, (window.sb_low, window.sb_high), sqrt_s=sqrt_s)
    fallbacks = [get_shape(f, (window.sb_low, window.sb_high), sqrt_s=sqrt_s) for f in fallback_shapes]
    inside = window.in_window(m)
    m, s = m[inside], s[inside]
    in_sr = window.in_sr(m)
    sb_scores = s[~in_sr]
    thresholds = sideband_thresholds(sb_scores, eff)
    uncut: BackgroundFit | BumphuntError | None = None
    points = []
    for i, (target, cut) in enumerate(zip(eff, thresholds, strict=True)):
        passed = s >= cut
        base = {
            "efficiency": float(target),
            "threshold": float(cut),
            "sideband_efficiency": float(np.mean(sb_scores >= cut)),
            "n_sr": int(np.sum(passed & in_sr)),
        }
        measured, efficiency_error = _measured_efficiency(m, passed, window, bin_width, efficiency_degree)
        try:
            if target * sb_scores.size < 1:
                raise EmptySelectionError(
                    f"efficiency {target:g} keeps less than one of the {sb_scores.size} sideband events"
                )
            if background == "sideband_fit":
                fields = _evaluate_with_fallbacks(
                    apply_selection(m, s, cut),
                    window,
                    [fit_shape, *fallbacks],
                    method=method,
                    bin_width=bin_width,
                    min_sideband_events=min_sideband_events,
                    signal_width=signal_width,
                    max_calls=max_calls,
                )
            else:
                if uncut is None:  # one fit of the uncut sidebands serves every efficiency
                    try:
                        uncut = _uncut_fit(m, window, fit_shape, bin_width, min_sideband_events, max_calls)
                    except BumphuntError as err:
                        if isinstance(err, ConfigError):
                            raise
                        uncut = err
                if isinstance(uncut, BumphuntError):
                    raise uncut
                check_sideband_counts(
                    measured.n_passed, window_edges(window, bin_width), window, min_sideband_events
                )
                if efficiency_error:
                    raise FitError(efficiency_error)
                fields = _interpolated_point(base["n_sr"], uncut, measured, window)
            points.append(SelectionPoint(**base, **fields, efficiency_curve=measured))
        except BumphuntError as err:
            if isinstance(err, ConfigError):
                raise
            points.append(
                SelectionPoint(**base, efficiency_curve=measured, status="failed", message=str(err))
            )
        if progress is not None:
            progress(i + 1, eff.size)
    return SelectionScan(
        window=window, method=method, shape=fit_shape.name, points=tuple(points), background=background
    )


def selected_spectrum(
    point: SelectionPoint, background: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Selected events per mass bin of the window and the background predicted for them after the cut.

    Parameters
    ----------
    point
        A successful point of a :class:`SelectionScan`.
    background
        The scan's background estimate (:attr:`SelectionScan.background`). With ``"efficiency_fit"`` the
        prediction in each bin is the uncut sideband fit times the efficiency fitted across the
        sidebands at the bin's centre, with the errors of both combined; with ``"sideband_fit"`` it is
        the fit of the selected sidebands itself.

    Returns
    -------
    counts, edges, expected, expected_error
        Events passing the cut per bin, the ``n + 1`` bin edges (GeV), the predicted background per bin
        and its uncertainty (events).

    Raises
    ------
    ConfigError
        If the point failed (it has no background estimate) or ``background`` is unknown.
    """
    if background not in BACKGROUNDS:
        raise ConfigError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    if point.status != "ok" or point.fit is None:
        raise ConfigError(f"the selection at efficiency {point.efficiency:g} failed: {point.message}")
    fit = point.fit
    edges = np.asarray(fit.edges, dtype=np.float64)
    expected, error = np.array([fit.integral(lo, hi) for lo, hi in itertools.pairwise(edges)]).T
    if background == "sideband_fit":
        return np.asarray(fit.counts, dtype=np.float64), edges, expected, error
    curve = point.efficiency_curve
    assert curve is not None  # every efficiency_fit point that succeeded carries its fitted curve
    eps, eps_error = np.array([curve.average([c], [1.0]) for c in curve.centers]).T
    return curve.n_passed.copy(), edges, expected * eps, np.hypot(error * eps, expected * eps_error)

"""Performance of an anomaly score on labelled events: ROC curve, AUC, significance improvement (SIC).

A selection keeps the events with ``score >= threshold``. Its signal efficiency ``eps_S`` and background
efficiency ``eps_B`` are the (weighted) fractions of signal (label 1) and background (label 0) events
kept. The significance improvement characteristic ``SIC = eps_S / sqrt(eps_B)`` is the factor by which
the selection multiplies ``S / sqrt(B)``.

Where few background events survive, ``eps_B`` is poorly known and the SIC curve fluctuates upwards; the
maximum of an unrestricted curve would report such a fluctuation. :func:`sic_curve` and :func:`max_sic`
therefore keep only thresholds at which at least ``min_background`` background events (raw counts, not
weights) survive. The default, :data:`DEFAULT_MIN_BACKGROUND` = 50, bounds the relative statistical
uncertainty of ``eps_B`` by ``1 / sqrt(50)``, about 14 %, so that of the SIC by about 7 %.

Example
-------
>>> import numpy as np
>>> labels = np.array([0, 0, 0, 1, 1])
>>> scores = np.array([0.1, 0.4, 0.35, 0.8, 0.3])
>>> round(auc(scores, labels), 4)
0.6667
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError, DataFormatError

__all__ = [
    "DEFAULT_MIN_BACKGROUND",
    "RocCurve",
    "SicCurve",
    "auc",
    "background_rejection",
    "max_sic",
    "roc_curve",
    "sic_curve",
]

#: Background events (raw count) that must survive a threshold for its SIC to count; see module docs.
DEFAULT_MIN_BACKGROUND = 50


@dataclass(frozen=True)
class RocCurve:
    """Efficiencies of the selections ``score >= threshold``, from the tightest to the loosest.

    The first point is the empty selection (``threshold = +inf``, both efficiencies 0), the last keeps
    every event (both efficiencies 1). Every distinct score is one threshold.

    Attributes
    ----------
    thresholds
        Decreasing thresholds.
    eps_s, eps_b
        Weighted signal and background efficiencies at each threshold.
    n_background
        Raw number of background events kept at each threshold.
    """

    thresholds: np.ndarray
    eps_s: np.ndarray
    eps_b: np.ndarray
    n_background: np.ndarray


@dataclass(frozen=True)
class SicCurve:
    """SIC = ``eps_s / sqrt(eps_b)`` at the thresholds that keep at least ``min_background`` background
    events (attributes as in :class:`RocCurve`, plus ``sic`` and the ``min_background`` used)."""

    thresholds: np.ndarray
    eps_s: np.ndarray
    eps_b: np.ndarray
    n_background: np.ndarray
    sic: np.ndarray
    min_background: int


def _inputs(
    scores: npt.ArrayLike, labels: npt.ArrayLike, weights: npt.ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim != 1 or y.shape != s.shape:
        raise DataFormatError(
            f"scores and labels must be one-dimensional of equal length, got shapes {s.shape} and {y.shape}"
        )
    if not np.all(np.isfinite(s)):
        raise DataFormatError(f"scores hold {int(np.count_nonzero(~np.isfinite(s)))} NaN/inf values")
    if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)):
        raise DataFormatError("labels must be 0 (background) or 1 (signal)")
    y = y.astype(np.int64)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != s.shape or not np.all(np.isfinite(w) & (w >= 0)):
        raise DataFormatError(f"weights must be finite, >= 0 and of shape {s.shape}")
    for label, name in ((1, "signal"), (0, "background")):
        if not w[y == label].sum() > 0:
            raise DataFormatError(f"the {name} events (label {label}) are missing or have zero total weight")
    return s, y, w


def roc_curve(scores: npt.ArrayLike, labels: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> RocCurve:
    """The ROC curve of ``scores`` (higher = more signal-like) for ``labels`` (1 signal, 0 background).

    Parameters
    ----------
    scores
        One score per event.
    labels
        Truth labels, 0 or 1.
    weights
        Event weights, or ``None`` (all 1).

    Raises
    ------
    bumphunt.errors.DataFormatError
        If shapes disagree, a score or weight is not finite, or a class is missing.
    """
    s, y, w = _inputs(scores, labels, weights)
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    last_of_tie = np.append(np.flatnonzero(np.diff(s) != 0), len(s) - 1)
    signal = np.cumsum(w * y)[last_of_tie]
    background = np.cumsum(w * (1 - y))[last_of_tie]
    count = np.cumsum(1 - y)[last_of_tie]
    return RocCurve(
        thresholds=np.concatenate([[np.inf], s[last_of_tie]]),
        eps_s=np.concatenate([[0.0], signal / signal[-1]]),
        eps_b=np.concatenate([[0.0], background / background[-1]]),
        n_background=np.concatenate([[0], count]),
    )


def auc(scores: npt.ArrayLike, labels: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Area under the ROC curve (``eps_s`` against ``eps_b``); 0.5 for a score blind to the labels.

    Equals the probability that a random signal event scores higher than a random background event,
    ties counting one half.
    """
    curve = roc_curve(scores, labels, weights)
    return float(np.sum(np.diff(curve.eps_b) * (curve.eps_s[1:] + curve.eps_s[:-1])) / 2.0)


def sic_curve(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    min_background: int = DEFAULT_MIN_BACKGROUND,
) -> SicCurve:
    """SIC = ``eps_s / sqrt(eps_b)`` at each threshold that keeps >= ``min_background`` background events.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``min_background`` is not a positive integer or exceeds the number of background events.
    """
    if not (isinstance(min_background, int | np.integer) and min_background >= 1):
        raise ConfigError(f"min_background must be a positive integer, got {min_background!r}")
    curve = roc_curve(scores, labels, weights)
    n_total = int(curve.n_background[-1])
    if n_total < min_background:
        raise ConfigError(
            f"min_background={min_background} but only {n_total} background events are given; "
            "lower min_background or use more background events"
        )
    keep = curve.n_background >= min_background
    eps_s, eps_b = curve.eps_s[keep], curve.eps_b[keep]
    with np.errstate(divide="ignore"):  # a positive count with zero total weight gives eps_b = 0
        sic = np.where(eps_b > 0, eps_s / np.sqrt(eps_b), np.inf)
    return SicCurve(
        thresholds=curve.thresholds[keep],
        eps_s=eps_s,
        eps_b=eps_b,
        n_background=curve.n_background[keep],
        sic=sic,
        min_background=int(min_background),
    )


def max_sic(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    min_background: int = DEFAULT_MIN_BACKGROUND,
) -> float:
    """Largest SIC over the thresholds that keep at least ``min_background`` background events."""
    return float(np.max(sic_curve(scores, labels, weights, min_background=min_background).sic))


def background_rejection(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    signal_efficiency: float,
    weights: npt.ArrayLike | None = None,
) -> float:
    """``1 / eps_b`` of the tightest threshold whose signal efficiency reaches ``signal_efficiency``.

    No interpolation between thresholds: the result is the rejection of an actual selection. It is
    ``inf`` if that selection keeps no background.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``signal_efficiency`` is not in ``(0, 1]``.
    """
    if not 0 < signal_efficiency <= 1:
        raise ConfigError(f"signal_efficiency must lie in (0, 1], got {signal_efficiency!r}")
    curve = roc_curve(scores, labels, weights)
    # Efficiencies are cumulative sums divided by the total, so the last point is exactly 1.
    index = int(np.argmax(curve.eps_s >= signal_efficiency))
    eps_b = curve.eps_b[index]
    return float(np.inf) if eps_b == 0 else float(1.0 / eps_b)

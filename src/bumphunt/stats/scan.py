"""BumpHunter scan of a histogram against a reference, with a global p-value from pseudo-experiments.

The algorithm of G. Choudalakis, arXiv:1101.0390, with the window and p-value conventions of the
pyBumpHunter package (1-d, excess mode, no sideband normalisation):

* the scan covers the bins from the first to the last bin where the reference is positive;
* window widths (in bins) run over ``range(width_min, width_max + 1, width_step)``, ``width_max``
  defaulting to half the number of bins; for each width, windows start every ``scan_step`` bins
  (``"full"``: the width, ``"half"``: ``max(1, width // 2)``) while they fit in the scan range;
* the local p-value of a window with ``d`` data and ``b`` reference events is ``P(N >= d | b)``, the
  regularised lower incomplete gamma ``P(d, b)``, if ``d > b > 0``, and 1 otherwise;
* the test statistic is ``t = -ln(min p)``; its global p-value is the fraction of background-only
  pseudo-experiments (Poisson fluctuations of the reference) with ``t`` at least as large.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import special

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.stats._records import Record
from bumphunt.stats.significance import z_from_p

__all__ = ["BumpHunterResult", "bumphunter", "local_p_values", "scan_windows"]

_TOY_CHUNK = 1000


def scan_windows(
    reference: npt.ArrayLike,
    *,
    width_min: int = 1,
    width_max: int | None = None,
    width_step: int = 1,
    scan_step: int | str = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """All scan windows as ``(first_bin, width)`` arrays, in pyBumpHunter's order (by width, then position).

    Raises
    ------
    ConfigError
        If a width or step setting is invalid.
    DataFormatError
        If the reference histogram has no positive bin.
    """
    ref = np.asarray(reference, dtype=np.float64)
    positive = np.flatnonzero(ref > 0)
    if positive.size == 0:
        raise DataFormatError("the reference histogram has no positive bin; nothing to scan")
    lo, hi = int(positive[0]), int(positive[-1]) + 1
    width_max = ref.size // 2 if width_max is None else width_max
    if not (1 <= width_min <= width_max and width_step >= 1):
        raise ConfigError(
            f"need 1 <= width_min <= width_max and width_step >= 1, got width_min={width_min}, "
            f"width_max={width_max}, width_step={width_step}"
        )
    if not (scan_step in ("full", "half") or (isinstance(scan_step, (int, np.integer)) and scan_step >= 1)):
        raise ConfigError(f"scan_step must be 'full', 'half' or a positive integer, got {scan_step!r}")
    starts, widths = [], []
    for w in range(width_min, width_max + 1, width_step):
        step = w if scan_step == "full" else max(1, w // 2) if scan_step == "half" else int(scan_step)
        pos = np.arange(lo, hi - w + 1, step)
        starts.append(pos)
        widths.append(np.full(pos.size, w))
    return np.concatenate(starts).astype(int), np.concatenate(widths).astype(int)


def local_p_values(
    data: npt.ArrayLike, reference: npt.ArrayLike, starts: np.ndarray, widths: np.ndarray
) -> np.ndarray:
    """Poisson local p-values of an excess in each window.

    ``data`` is ``(n_bins,)`` or ``(n_toys, n_bins)``; the result has one p-value per window in the last
    axis.
    """
    d = np.asarray(data, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    cum_d = np.concatenate([np.zeros((*d.shape[:-1], 1)), np.cumsum(d, axis=-1)], axis=-1)
    cum_r = np.concatenate([[0.0], np.cumsum(ref)])
    n_d = cum_d[..., starts + widths] - cum_d[..., starts]
    n_r = np.broadcast_to(cum_r[starts + widths] - cum_r[starts], n_d.shape)
    excess = (n_d > n_r) & (n_r > 0)
    p = np.ones(n_d.shape)
    p[excess] = special.gammainc(n_d[excess], n_r[excess])
    return p


def _t_statistic(min_p: npt.ArrayLike) -> np.ndarray:
    """``t = -ln(min p)``, with ``min p`` floored at the smallest normal double so ``t`` stays finite."""
    return -np.log(np.maximum(min_p, np.finfo(np.float64).tiny))


@dataclasses.dataclass(frozen=True)
class BumpHunterResult(Record):
    """Outcome of a BumpHunter scan.

    Attributes
    ----------
    edges
        Bin edges (GeV).
    starts, widths
        First bin and width (bins) of every scanned window.
    p_values
        Local p-value of every window.
    min_p_value, t
        Smallest local p-value and ``t = -ln(min p)``.
    best_low, best_high
        Mass range (GeV) of the most significant window.
    toy_t
        ``t`` of each background-only pseudo-experiment.
    global_p_value, global_p_value_error
        Fraction of pseudo-experiments with ``t`` at least the observed one, and its binomial error.
    global_z
        One-sided significance of the global p-value (0 if the p-value is 1); a lower limit (from
        ``1 / n_toys``) when no toy reached the observed ``t`` (then ``global_z_is_lower_limit`` is True).
    local_z
        One-sided significance of the smallest local p-value (0 if it is 1).
    """

    edges: np.ndarray
    starts: np.ndarray
    widths: np.ndarray
    p_values: np.ndarray
    min_p_value: float
    t: float
    best_low: float
    best_high: float
    toy_t: np.ndarray
    global_p_value: float
    global_p_value_error: float
    global_z: float
    global_z_is_lower_limit: bool
    local_z: float


def bumphunter(
    data: npt.ArrayLike,
    reference: npt.ArrayLike,
    edges: npt.ArrayLike,
    *,
    n_toys: int,
    seed: int | np.random.Generator,
    width_min: int = 1,
    width_max: int | None = None,
    width_step: int = 1,
    scan_step: int | str = 1,
    progress: Callable[[int, int], None] | None = None,
) -> BumpHunterResult:
    """Scan ``data`` against ``reference`` and compute the global p-value with pseudo-experiments.

    Parameters
    ----------
    data
        Observed events per bin.
    reference
        Expected background events per bin (e.g. a background fit or simulation).
    edges
        Bin edges (GeV).
    n_toys
        Number of background-only pseudo-experiments (Poisson fluctuations of ``reference``).
    seed
        Seed or generator for the pseudo-experiments.
    width_min, width_max, width_step, scan_step
        Window settings (bins), as in pyBumpHunter (see the module docstring).
    progress
        Called as ``progress(done, n_toys)`` after each chunk of pseudo-experiments.

    Raises
    ------
    DataFormatError
        If the histograms do not match the edges or hold negative or non-finite values.
    ConfigError
        If a setting is invalid.
    """
    d = np.asarray(data, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    if d.ndim != 1 or d.shape != ref.shape or e.shape != (d.size + 1,):
        raise DataFormatError(
            f"data {d.shape} and reference {ref.shape} must be 1-d histograms of the same size with "
            f"{d.size + 1} edges, got {e.shape} edges"
        )
    if not (np.all(np.isfinite(d) & (d >= 0)) and np.all(np.isfinite(ref) & (ref >= 0))):
        raise DataFormatError("data and reference histograms must be finite and non-negative")
    if n_toys < 1:
        raise ConfigError(f"n_toys must be a positive integer, got {n_toys!r}")
    starts, widths = scan_windows(
        ref, width_min=width_min, width_max=width_max, width_step=width_step, scan_step=scan_step
    )
    p = local_p_values(d, ref, starts, widths)
    best = int(np.argmin(p))
    rng = np.random.default_rng(seed)
    toy_t = np.empty(n_toys)
    for first in range(0, n_toys, _TOY_CHUNK):
        n = min(_TOY_CHUNK, n_toys - first)
        toys = rng.poisson(ref, size=(n, ref.size))
        toy_t[first : first + n] = _t_statistic(local_p_values(toys, ref, starts, widths).min(axis=1))
        if progress is not None:
            progress(first + n, n_toys)
    t = float(_t_statistic(p[best]))
    n_above = int(np.sum(toy_t >= t))
    p_global = n_above / n_toys
    lower_limit = n_above == 0
    return BumpHunterResult(
        edges=e,
        starts=starts,
        widths=widths,
        p_values=p,
        min_p_value=float(p[best]),
        t=t,
        best_low=float(e[starts[best]]),
        best_high=float(e[starts[best] + widths[best]]),
        toy_t=toy_t,
        global_p_value=p_global,
        global_p_value_error=math.sqrt(p_global * (1 - p_global) / n_toys),
        global_z=max(z_from_p(1.0 / n_toys if lower_limit else p_global), 0.0),
        global_z_is_lower_limit=lower_limit,
        local_z=max(z_from_p(float(p[best])), 0.0),
    )

"""Mass-only scan of a whole spectrum: logarithmic bins, a smooth reference, BumpHunter, ranked excesses.

The spectrum (e.g. all dimuon masses from 1 GeV up) is binned with a fixed number of bins per decade,
so that the bin width follows a mass resolution proportional to the mass. The reference is a smooth
fit to the data themselves: ``expected_i = width_i * exp(sum_k c_k u_i**k)`` with ``u`` the logarithm
of the bin centre mapped onto [-1, 1], fitted by Poisson maximum likelihood (Newton's method). Narrow
resonances would pull such a fit, so it is repeated with the bins whose data lie more than
``exclude_sigma`` standard deviations above the previous fit left out (a few iterations).

:func:`~bumphunt.stats.scan.bumphunter` then scans the data against the reference and throws Poisson
pseudo-experiments of it for the global p-value. Besides the most significant window, the scan lists
the next most significant windows that do not overlap it or each other; each gets the global p-value
of its own local p-value (the fraction of pseudo-experiments whose most significant window is at least
as significant), which is conservative for all but the first.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError, DataFormatError, FitError
from bumphunt.stats._records import Record
from bumphunt.stats.scan import BumpHunterResult, bumphunter
from bumphunt.stats.significance import z_from_p

__all__ = ["Excess", "SpectrumScan", "log_edges", "scan_spectrum", "smooth_reference"]

_MAX_NEWTON = 100
#: Events above the default upper end of the scan.
_TAIL_EVENTS = 10


def log_edges(low: float, high: float, bins_per_decade: int) -> np.ndarray:
    """Bin edges from ``low`` to (at least) ``high`` (GeV) with ``bins_per_decade`` equal steps in log m.

    Raises
    ------
    ConfigError
        If the range or the number of bins is invalid.
    """
    if not (0 < low < high and math.isfinite(high)):
        raise ConfigError(f"need 0 < low < high (GeV), got low={low!r}, high={high!r}")
    if bins_per_decade < 1:
        raise ConfigError(f"bins_per_decade must be a positive integer, got {bins_per_decade!r}")
    n = math.ceil(bins_per_decade * math.log10(high / low) - 1e-9)
    return low * 10.0 ** (np.arange(n + 1) / bins_per_decade)


def _basis(edges: np.ndarray, degree: int) -> np.ndarray:
    centre = np.log(np.sqrt(edges[1:] * edges[:-1]))
    lo, hi = np.log(edges[0]), np.log(edges[-1])
    u = 2.0 * (centre - lo) / (hi - lo) - 1.0
    return np.stack([u**k for k in range(degree + 1)], axis=-1)


def _poisson_fit(counts: np.ndarray, basis: np.ndarray, offset: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Maximum-likelihood coefficients of ``counts ~ Poisson(exp(offset + basis @ c))`` on bins ``use``
    (Newton's method with step halving)."""
    x, n, off = basis[use], counts[use], offset[use]

    def log_likelihood(c: np.ndarray) -> float:
        eta = off + x @ c
        return float(np.sum(n * eta - np.exp(eta)))

    coef = np.zeros(basis.shape[1])
    coef[0] = math.log(max(n.sum(), 0.5) / np.exp(off).sum())
    current = log_likelihood(coef)
    for _ in range(_MAX_NEWTON):
        mu = np.exp(off + x @ coef)
        try:
            step = np.linalg.solve((x * mu[:, None]).T @ x, x.T @ (n - mu))
        except np.linalg.LinAlgError:
            raise FitError(
                "reference fit: the Fisher information is singular (too few filled bins)"
            ) from None
        for _ in range(40):
            trial = log_likelihood(coef + step)
            if np.isfinite(trial) and trial >= current - 1e-9:
                break
            step = step / 2
        coef = coef + step
        current = log_likelihood(coef)
        if np.max(np.abs(step)) < 1e-8:
            return coef
    raise FitError(f"reference fit did not converge in {_MAX_NEWTON} Newton steps")


def smooth_reference(
    counts: npt.ArrayLike,
    edges: npt.ArrayLike,
    *,
    degree: int = 6,
    exclude_sigma: float = 3.0,
    iterations: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """A smooth background expectation for a spectrum, fitted to the spectrum without its peaks.

    Parameters
    ----------
    counts
        Events per bin.
    edges
        Bin edges (GeV), increasing.
    degree
        Degree of the polynomial in log m in the exponent of the density.
    exclude_sigma
        After each fit, bins more than this many standard deviations above it are left out of the next.
    iterations
        Fits in all (the first uses every bin).

    Returns
    -------
    expected, excluded
        Expected events per bin, and the mask of bins left out of the last fit.

    Raises
    ------
    FitError
        If fewer filled bins than parameters remain, or the fit fails.
    """
    n = np.asarray(counts, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    if e.shape != (n.size + 1,) or np.any(np.diff(e) <= 0) or e[0] <= 0:
        raise DataFormatError(f"edges must be {n.size + 1} increasing positive masses, got shape {e.shape}")
    basis = _basis(e, degree)
    offset = np.log(np.diff(e))
    excluded = np.zeros(n.size, dtype=bool)
    expected = np.zeros(n.size)
    for _ in range(max(iterations, 1)):
        use = ~excluded
        if np.count_nonzero(n[use] > 0) <= degree:
            raise FitError(
                f"reference fit: {np.count_nonzero(n[use] > 0)} filled bins for {degree + 1} parameters; "
                "lower the degree or the bins per decade"
            )
        expected = np.exp(offset + basis @ _poisson_fit(n, basis, offset, use))
        above = (n - expected) / np.sqrt(np.maximum(expected, 1e-12)) > exclude_sigma
        if np.array_equal(above, excluded):
            break
        excluded = above
    return expected, excluded


@dataclasses.dataclass(frozen=True)
class Excess(Record):
    """One excess of a spectrum scan.

    Attributes
    ----------
    low, high
        Mass range (GeV).
    n_data, n_reference
        Observed and expected events in it.
    local_p, local_z
        Local p-value and one-sided significance.
    global_p, global_z
        Global p-value (fraction of pseudo-experiments at least as significant) and its significance;
        ``global_z_is_lower_limit`` when no pseudo-experiment was (then from ``1 / n_toys``).
    """

    low: float
    high: float
    n_data: float
    n_reference: float
    local_p: float
    local_z: float
    global_p: float
    global_z: float
    global_z_is_lower_limit: bool


@dataclasses.dataclass(frozen=True)
class SpectrumScan(Record):
    """A mass-only scan of a whole spectrum.

    Attributes
    ----------
    edges, counts, reference
        Log binning (GeV), events per bin and the smooth reference.
    excluded
        Bins left out of the reference fit (more than ``exclude_sigma`` above it).
    excesses
        Non-overlapping excesses, most significant first.
    bumphunter
        The full BumpHunter result (every window, the pseudo-experiments).
    degree
        Degree of the reference fit.
    n_events
        Events in the binned range.
    """

    edges: np.ndarray
    counts: np.ndarray
    reference: np.ndarray
    excluded: np.ndarray
    excesses: tuple[Excess, ...]
    bumphunter: BumpHunterResult
    degree: int
    n_events: int


def _ranked_excesses(
    result: BumpHunterResult, counts: np.ndarray, reference: np.ndarray, n: int
) -> tuple[Excess, ...]:
    order = np.argsort(result.p_values, kind="stable")
    taken = np.zeros(counts.size, dtype=bool)
    found: list[Excess] = []
    n_toys = result.toy_t.size
    for index in order:
        p = float(result.p_values[index])
        if p >= 1.0 or len(found) == n:
            break
        first, width = int(result.starts[index]), int(result.widths[index])
        if taken[first : first + width].any():
            continue
        taken[first : first + width] = True
        t = -math.log(max(p, 1e-300))
        n_above = int(np.sum(result.toy_t >= t))
        global_p = n_above / n_toys
        found.append(
            Excess(
                low=float(result.edges[first]),
                high=float(result.edges[first + width]),
                n_data=float(counts[first : first + width].sum()),
                n_reference=float(reference[first : first + width].sum()),
                local_p=p,
                local_z=max(z_from_p(p), 0.0),
                global_p=global_p,
                global_z=max(z_from_p(1.0 / n_toys if n_above == 0 else global_p), 0.0),
                global_z_is_lower_limit=n_above == 0,
            )
        )
    return tuple(found)


def scan_spectrum(
    mass: npt.ArrayLike,
    *,
    low: float = 1.0,
    high: float | None = None,
    bins_per_decade: int = 100,
    degree: int = 6,
    width_max: int = 8,
    n_excesses: int = 5,
    n_toys: int = 1000,
    seed: int = 0,
) -> SpectrumScan:
    """Bin ``mass`` logarithmically, fit a smooth reference and list the most significant excesses.

    Parameters
    ----------
    mass
        Masses (GeV); those outside ``[low, high)`` are not used.
    low, high
        Scan range (GeV); ``high`` defaults to the mass above which only the 10 heaviest events lie (a
        smooth fit cannot follow a sparser tail, and the scan would flag single events there).
    bins_per_decade
        Bins per factor 10 in mass (100: 2.3 % wide, about twice the muon mass resolution of CMS).
    degree
        Degree of the reference fit (:func:`smooth_reference`).
    width_max
        Widest BumpHunter window (bins).
    n_excesses
        Excesses to list.
    n_toys, seed
        Pseudo-experiments of the global p-value and their seed.

    Raises
    ------
    DataFormatError
        If no mass lies in the range.
    ConfigError, FitError
        For invalid settings or a failed reference fit.
    """
    m = np.sort(np.asarray(mass, dtype=np.float64))
    m = m[np.isfinite(m) & (m >= low)]
    if high is None and m.size > _TAIL_EVENTS:
        high = float(m[-_TAIL_EVENTS])  # a smooth fit has nothing to follow in a sparser tail
    if high is None or not np.any(m < high):
        raise DataFormatError(
            f"too few masses above {low:g} GeV to scan ({m.size}; at least {_TAIL_EVENTS + 1} without a "
            "given upper end)"
        )
    edges = log_edges(low, high, bins_per_decade)
    counts = np.histogram(m, bins=edges)[0].astype(np.float64)
    reference, excluded = smooth_reference(counts, edges, degree=degree)
    result = bumphunter(counts, reference, edges, n_toys=n_toys, seed=seed, width_max=width_max)
    return SpectrumScan(
        edges=edges,
        counts=counts,
        reference=reference,
        excluded=excluded,
        excesses=_ranked_excesses(result, counts, reference, n_excesses),
        bumphunter=result,
        degree=degree,
        n_events=int(counts.sum()),
    )

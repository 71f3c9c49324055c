"""How alike two scores order events: the average decision ordering (ADO).

Two scores ``f`` and ``g`` make the same decision on a pair of events ``(x, x')`` when they order it the
same way, ``(f(x) - f(x')) (g(x) - g(x')) > 0``. The average decision ordering is the share of pairs on
which they agree (Faucett, Thaler, Whiteson, arXiv:2010.11998; used for anomaly scores by Bradshaw,
Chang, Ostdiek, arXiv:2203.01343), here over all ``n (n - 1) / 2`` pairs of one sample, with a pair
tied by either score counted half:

``ADO = (C + (P - C - D) / 2) / P = (1 + (C - D) / P) / 2``

with ``C`` (``D``) the concordant (discordant) pairs and ``P`` all pairs. ``ADO[f, f] = 1``,
``ADO[f, -f] = 0``, and two unrelated scores give 0.5. Any monotonic transformation of either score
leaves it unchanged. ``C - D`` comes from Kendall's tau (scipy, ``O(n log n)``), so a sample of 10^5
events is exact and fast.

Example
-------
>>> import numpy as np
>>> f = np.array([0.1, 0.5, 0.3, 0.9])
>>> average_decision_ordering(f, f), average_decision_ordering(f, -f)
(1.0, 0.0)
>>> round(average_decision_ordering(f, np.array([1.0, 2.0, 4.0, 3.0])), 4)
0.6667
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from bumphunt.errors import DataFormatError

__all__ = ["average_decision_ordering"]


def _tied_pairs(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    return float(np.sum(counts * (counts - 1.0) / 2.0))


def average_decision_ordering(reference: npt.ArrayLike, candidate: npt.ArrayLike) -> float:
    """Share of event pairs that ``candidate`` orders as ``reference`` does (ties count half).

    Parameters
    ----------
    reference, candidate
        ``(n,)`` scores of the same ``n >= 2`` events (e.g. an autoencoder's and a mimicker's).

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the shapes differ, fewer than two events are given or a score is NaN/inf.
    """
    f = np.asarray(reference, dtype=np.float64)
    g = np.asarray(candidate, dtype=np.float64)
    if f.ndim != 1 or f.shape != g.shape:
        raise DataFormatError(f"ADO needs two 1-d scores of equal length, got shapes {f.shape} and {g.shape}")
    if len(f) < 2:
        raise DataFormatError(f"ADO needs at least two events, got {len(f)}")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g))):
        raise DataFormatError("ADO: the scores hold NaN/inf values")
    pairs = len(f) * (len(f) - 1) / 2.0
    untied_f, untied_g = pairs - _tied_pairs(f), pairs - _tied_pairs(g)
    if untied_f == 0 or untied_g == 0:
        return 0.5  # one score ties every pair
    tau_b = stats.kendalltau(f, g, variant="b").statistic
    concordant_minus_discordant = np.rint(tau_b * np.sqrt(untied_f * untied_g))  # an integer
    return float(np.clip(0.5 * (1.0 + concordant_minus_discordant / pairs), 0.0, 1.0))

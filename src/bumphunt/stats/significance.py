"""Significance of an excess of counts over a predicted background, observed and expected (Asimov).

The counting experiment observes ``n`` events in the signal region where the sideband fit predicts
``b +- sigma_b``. The prediction's uncertainty enters as a Poisson auxiliary measurement ("on/off"
problem): an off-region count ``m = b**2 / sigma_b**2`` with scale ``tau = b / sigma_b**2``, so that
``m / tau = b`` and its Poisson error is ``sigma_b``. The likelihood is

    L(s, b') = Pois(n | s + b') Pois(m | tau b'),

and the discovery test statistic is the profile likelihood ratio ``q0 = -2 ln L(0, b'') / L(s^, b^)``,
one-sided: ``Z = sqrt(q0)`` for an excess and ``Z = 0`` for a deficit (Cowan, Cranmer, Gross, Vitells,
Eur. Phys. J. C 71 (2011) 1554). On Asimov data (``n = s + b``) this ``Z`` is exactly the expected
significance with background uncertainty of :func:`asimov_significance`.

For small counts the asymptotic formula is not accurate; the exact p-value is also reported: the
Poisson tail ``P(N >= n | b)`` when ``sigma_b = 0``, else the binomial test of the on/off ratio
(``Z_Bi``; Cousins, Linnemann, Tucker, NIM A 595 (2008) 480).
"""

from __future__ import annotations

import dataclasses
import math

from scipy import special, stats

from bumphunt.errors import ConfigError
from bumphunt.stats._records import Record

__all__ = [
    "CountResult",
    "asimov_significance",
    "cut_and_count",
    "p_from_z",
    "z_from_p",
]


def z_from_p(p: float) -> float:
    """One-sided Gaussian significance of a p-value: ``Z = Phi^-1(1 - p)``."""
    return float(stats.norm.isf(p))


def p_from_z(z: float) -> float:
    """One-sided p-value of a Gaussian significance: ``p = 1 - Phi(Z)``."""
    return float(stats.norm.sf(z))


def _check_background(b: float, sigma_b: float) -> None:
    if not (math.isfinite(b) and b > 0):
        raise ConfigError(f"the background b must be a positive number of events, got {b!r}")
    if not (math.isfinite(sigma_b) and sigma_b >= 0):
        raise ConfigError(f"the background uncertainty sigma_b must be >= 0, got {sigma_b!r}")


def _xlogy(x: float, y: float) -> float:
    return float(special.xlogy(x, y))


def asimov_significance(s: float, b: float, sigma_b: float = 0.0) -> float:
    """Expected (median) discovery significance for ``s`` signal over ``b`` background events.

    Without uncertainty ``Z = sqrt(2 ((s + b) ln(1 + s / b) - s))``; with a background uncertainty
    ``sigma_b`` (events)

        Z = sqrt(2 ((s + b) ln((s + b)(b + sigma_b^2) / (b^2 + (s + b) sigma_b^2))
                   - b^2 / sigma_b^2 ln(1 + sigma_b^2 s / (b (b + sigma_b^2))))).

    Both tend to ``s / sqrt(b + sigma_b^2)`` for ``s << b``. Returns 0 for ``s <= 0``.

    Raises
    ------
    ConfigError
        If ``b`` is not positive or ``sigma_b`` is negative.
    """
    _check_background(b, sigma_b)
    if s <= 0:
        return 0.0
    return cut_and_count(s + b, b, sigma_b).z


@dataclasses.dataclass(frozen=True)
class CountResult(Record):
    """Outcome of a counting experiment in the signal region.

    Attributes
    ----------
    n_obs
        Observed events (an effective count for weighted events).
    background, background_error
        Predicted background and its uncertainty (events).
    signal
        Fitted signal ``n_obs - background`` (negative for a deficit).
    q0
        Profile-likelihood-ratio test statistic for the background-only hypothesis.
    z
        One-sided significance ``sqrt(q0)`` for an excess, 0 for a deficit.
    z_signed
        ``sign(signal) sqrt(q0)``; standard normal under the background-only hypothesis.
    p_value
        Asymptotic p-value ``1 - Phi(z_signed)``; uniform under the background-only hypothesis.
    p_value_exact, z_exact
        Exact p-value (Poisson tail, or ``Z_Bi`` with uncertainty) and its one-sided significance.
    """

    n_obs: float
    background: float
    background_error: float
    signal: float
    q0: float
    z: float
    z_signed: float
    p_value: float
    p_value_exact: float
    z_exact: float


def cut_and_count(n_obs: float, b: float, sigma_b: float = 0.0) -> CountResult:
    """Significance of ``n_obs`` events over a background prediction ``b +- sigma_b``.

    Parameters
    ----------
    n_obs
        Observed events in the signal region (non-negative; may be non-integer for effective counts).
    b
        Predicted background events (positive).
    sigma_b
        Uncertainty of the prediction (events), treated as a Poisson auxiliary measurement.

    Raises
    ------
    ConfigError
        If ``n_obs`` is negative, ``b`` not positive or ``sigma_b`` negative.
    """
    _check_background(b, sigma_b)
    if not (math.isfinite(n_obs) and n_obs >= 0):
        raise ConfigError(f"the observed count n_obs must be >= 0, got {n_obs!r}")
    n = float(n_obs)
    if sigma_b == 0:
        q0 = 2.0 * (_xlogy(n, n / b) - (n - b))
        p_exact = float(special.gammainc(n, b)) if n > 0 else 1.0
    else:
        tau = b / sigma_b**2
        m = b * tau
        b_null = (n + m) / (1.0 + tau)
        q0 = 2.0 * (_xlogy(n, n / b_null) + _xlogy(m, m / (tau * b_null)))
        p_exact = float(special.betainc(n, m + 1.0, 1.0 / (1.0 + tau))) if n > 0 else 1.0
    q0 = max(q0, 0.0)
    z_signed = math.copysign(math.sqrt(q0), n - b)
    return CountResult(
        n_obs=n,
        background=float(b),
        background_error=float(sigma_b),
        signal=n - b,
        q0=q0,
        z=max(z_signed, 0.0),
        z_signed=z_signed,
        p_value=p_from_z(z_signed),
        p_value_exact=p_exact,
        z_exact=max(z_from_p(p_exact), 0.0),
    )

"""Energy mover's distance between jets (Komiske, Metodiev, Thaler, arXiv:1902.02346), with POT.

For two jets given as particles with pT fractions ``z`` (each summing to 1) and positions ``(dy, dphi)``
relative to their axes (:func:`bumphunt.physics.particle_features.jet_particle_features`), the EMD is the
least work to move one pT distribution onto the other,
``min_f sum_ij f_ij (Delta R_ij / R)**beta`` with ``sum_j f_ij = z_i`` and ``sum_i f_ij = z'_j``: the
normalized EMD (the term for a difference of total pT vanishes for fractions). The optimal transport is
solved exactly by POT (``ot.emd2``), imported when first used: install the ``emd`` extra
(``pip install 'bumphunt[emd]'``).

:func:`bin_distance` compares the jets of two samples (two mass bins): the mean EMD between jets drawn
one from each, minus the mean EMD between jets drawn from the same sample; it is zero on average when the
two samples are alike and grows as their jets differ.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from bumphunt.errors import DependencyError

__all__ = ["bin_distance", "jet_emd"]


def _ot() -> ModuleType:
    try:
        import ot
    except ImportError:
        raise DependencyError(
            "the energy mover's distance needs POT: install the 'emd' extra (pip install 'bumphunt[emd]')"
        ) from None
    return ot


def jet_emd(
    features_a: np.ndarray,
    mask_a: np.ndarray,
    features_b: np.ndarray,
    mask_b: np.ndarray,
    *,
    radius: float = 0.5,
    beta: float = 1.0,
) -> float:
    """EMD between two jets from their particle features ``(n, >=3)``: columns z, dy, dphi (and masks)."""
    ot = _ot()
    a, b = features_a[mask_a].astype(np.float64), features_b[mask_b].astype(np.float64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("each jet needs at least one particle")
    wa, wb = a[:, 0] / a[:, 0].sum(), b[:, 0] / b[:, 0].sum()
    delta = a[:, None, 1:3] - b[None, :, 1:3]
    cost = (np.sqrt(np.sum(delta**2, axis=-1)) / radius) ** beta
    return float(ot.emd2(wa, wb, cost))


def bin_distance(
    features_low: np.ndarray,
    mask_low: np.ndarray,
    features_high: np.ndarray,
    mask_high: np.ndarray,
    *,
    n_pairs: int = 500,
    radius: float = 0.5,
    seed: int = 0,
) -> dict[str, float]:
    """Mean cross-sample EMD minus mean within-sample EMD of two sets of jets, with its standard error.

    ``n_pairs`` random jet pairs are drawn for each of: low-high, low-low, high-high (within-sample pairs
    of two different jets). Returns ``distance``, ``error``, ``cross`` and ``within`` (means).
    """
    if n_pairs < 2:
        raise ValueError(f"n_pairs must be at least 2, got {n_pairs!r}")
    rng = np.random.default_rng(seed)

    def draw(fa: np.ndarray, ma: np.ndarray, fb: np.ndarray, mb: np.ndarray, same: bool) -> np.ndarray:
        i = rng.integers(len(fa), size=n_pairs)
        j = rng.integers(len(fb), size=n_pairs)
        if same:
            j = np.where(i == j, (j + 1) % len(fb), j)
        return np.array(
            [jet_emd(fa[p], ma[p], fb[q], mb[q], radius=radius) for p, q in zip(i, j, strict=True)]
        )

    cross = draw(features_low, mask_low, features_high, mask_high, same=False)
    within = np.concatenate(
        [
            draw(features_low, mask_low, features_low, mask_low, same=True),
            draw(features_high, mask_high, features_high, mask_high, same=True),
        ]
    )
    error = np.hypot(cross.std(ddof=1) / np.sqrt(len(cross)), within.std(ddof=1) / np.sqrt(len(within)))
    return {
        "distance": float(cross.mean() - within.mean()),
        "error": float(error),
        "cross": float(cross.mean()),
        "within": float(within.mean()),
    }

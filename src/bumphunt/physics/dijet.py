"""Dijet features: the CATHODE feature set from two jets, and the LHCO per-jet rows from particles.

The CATHODE feature set (Hallin et al., arXiv:2109.00546) describes an event by its dijet mass and four
substructure features of the two leading jets, ordered by jet mass:

- ``mjj``: invariant mass of the two jets' summed four-momenta (GeV);
- ``mj_min``: mass of the lighter jet (GeV);
- ``delta_mj``: mass of the heavier minus mass of the lighter jet (GeV);
- ``tau21_jmin``, ``tau21_jmax``: N-subjettiness ratio tau_2 / (tau_1 + 1e-5) of the lighter and of the
  heavier jet (the 1e-5 keeps single-particle jets with tau_1 = 0 finite, as in the CATHODE code);
- optionally ``delta_r_jj``: sqrt(d_eta**2 + d_phi**2) between the two jets (pseudorapidity).

If the two jets have the same mass, both "lighter" and "heavier" are the first (higher-pT) jet, as
``numpy.argmin``/``argmax`` choose in the reference code.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import numpy.typing as npt

from bumphunt.physics.jets import cluster_jets, nsubjettiness
from bumphunt.physics.kinematics import delta_r, dijet_mass

__all__ = [
    "CATHODE_FEATURES",
    "TAU21_EPSILON",
    "cathode_features",
    "lhco_jet_rows",
]

#: Names of the CATHODE features (besides the dijet mass), in order.
CATHODE_FEATURES: tuple[str, ...] = ("mj_min", "delta_mj", "tau21_jmin", "tau21_jmax")
#: Added to tau_1 in the denominator of tau_21.
TAU21_EPSILON = 1e-5

# Column positions in an LHCO feature row: pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1 pxj2 ... tau3j2.
_PX, _PY, _PZ, _M, _TAU1, _TAU2 = 0, 1, 2, 3, 4, 5
_JET2 = 7


def cathode_features(rows: npt.ArrayLike, *, with_delta_r: bool = False) -> dict[str, np.ndarray]:
    """The dijet mass and the CATHODE features of LHCO feature rows.

    Parameters
    ----------
    rows
        Shape ``(n, 14)`` in the LHCO column order pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1 pxj2 ...
        tau3j2 (momenta and masses in GeV).
    with_delta_r
        Also return ``delta_r_jj``.

    Returns
    -------
    dict
        ``mjj`` then :data:`CATHODE_FEATURES` (then ``delta_r_jj``), each of shape ``(n,)``; masses in GeV.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 14:
        raise ValueError(f"expected LHCO feature rows of shape (n, 14), got {rows.shape}")
    j1, j2 = rows[:, :_JET2], rows[:, _JET2:]
    tau21_1 = j1[:, _TAU2] / (j1[:, _TAU1] + TAU21_EPSILON)
    tau21_2 = j2[:, _TAU2] / (j2[:, _TAU1] + TAU21_EPSILON)
    m1, m2 = j1[:, _M], j2[:, _M]
    second_is_lighter = m2 < m1
    second_is_heavier = m2 > m1
    m_min = np.where(second_is_lighter, m2, m1)
    m_max = np.where(second_is_heavier, m2, m1)
    features = {
        "mjj": dijet_mass(rows),
        "mj_min": m_min,
        "delta_mj": m_max - m_min,
        "tau21_jmin": np.where(second_is_lighter, tau21_2, tau21_1),
        "tau21_jmax": np.where(second_is_heavier, tau21_2, tau21_1),
    }
    if with_delta_r:
        features["delta_r_jj"] = delta_r(
            j1[:, _PX], j1[:, _PY], j1[:, _PZ], j2[:, _PX], j2[:, _PY], j2[:, _PZ]
        )
    return features


def lhco_jet_rows(
    particles: ak.Array,
    *,
    radius: float = 1.0,
    min_pt: float = 20.0,
    trigger_pt: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster massless particles into jets and build the LHCO feature row of the two leading jets.

    This is how the LHC Olympics R&D features were made from the constituents: anti-kT jets of radius
    ``radius`` with pT > ``min_pt``, E-scheme recombination; per jet px, py, pz, m and the unnormalized
    N-subjettiness tau_1..3 (beta = 1, exclusive-kT axes).

    Parameters
    ----------
    particles
        ``events * var * {pt, eta, phi}`` (GeV, -, rad); events may be empty.
    radius, min_pt
        Jet radius and minimum jet pT (GeV).
    trigger_pt
        Keep only events whose leading jet has pT above this (GeV); substructure is computed for kept
        events only.

    Returns
    -------
    rows, selected
        ``(m, 14)`` rows for the ``m`` events with at least two jets and a leading jet above
        ``trigger_pt``, and the boolean mask of those events among the input events.
    """
    n_particles = ak.to_numpy(ak.num(particles, axis=1))
    rows = np.zeros((0, 14))
    selected = np.zeros(len(particles), dtype=bool)
    candidates = np.flatnonzero(n_particles > 0)
    if len(candidates) == 0:
        return rows, selected
    jets, constituents = cluster_jets(particles[candidates], radius=radius, min_pt=min_pt)
    lead_pt = ak.to_numpy(ak.fill_none(ak.firsts(np.hypot(jets["px"], jets["py"])), 0.0))
    keep = (ak.to_numpy(ak.num(jets, axis=1)) >= 2) & (lead_pt > trigger_pt)
    selected[candidates[keep]] = True
    if not np.any(keep):
        return rows, selected
    jets, constituents = jets[keep][:, :2], constituents[keep][:, :2]
    tau = nsubjettiness(ak.flatten(constituents, axis=1)).reshape(-1, 2, 3)
    columns = []
    for j in range(2):
        jet = jets[:, j]
        e, px, py, pz = (ak.to_numpy(jet[k]) for k in ("E", "px", "py", "pz"))
        mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
        columns += [px, py, pz, mass, tau[:, j, 0], tau[:, j, 1], tau[:, j, 2]]
    return np.column_stack(columns), selected

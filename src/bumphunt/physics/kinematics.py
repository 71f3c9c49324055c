"""Invariant masses and angular distances from LHCO-style per-jet columns (GeV)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["delta_r", "dijet_mass", "jet_energy"]


def jet_energy(px: npt.ArrayLike, py: npt.ArrayLike, pz: npt.ArrayLike, m: npt.ArrayLike) -> np.ndarray:
    """Energy of a jet from its three-momentum and mass (GeV)."""
    px, py, pz, m = (np.asarray(a, dtype=np.float64) for a in (px, py, pz, m))
    return np.sqrt(px**2 + py**2 + pz**2 + m**2)


def dijet_mass(features: npt.ArrayLike) -> np.ndarray:
    """Invariant mass of the two jets of each LHCO feature row (GeV).

    Parameters
    ----------
    features
        ``(n, 14)`` in the column order pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1 pxj2 ... tau3j2.
    """
    f = np.asarray(features, dtype=np.float64)
    j1, j2 = f[:, 0:4], f[:, 7:11]
    e = jet_energy(*j1.T) + jet_energy(*j2.T)
    p = j1[:, :3] + j2[:, :3]
    return np.sqrt(np.maximum(e**2 - np.sum(p**2, axis=1), 0.0))


def delta_r(
    px1: npt.ArrayLike, py1: npt.ArrayLike, pz1: npt.ArrayLike,
    px2: npt.ArrayLike, py2: npt.ArrayLike, pz2: npt.ArrayLike,
) -> np.ndarray:  # fmt: skip
    """Angular distance sqrt(d_eta**2 + d_phi**2) between two momenta (pseudorapidity)."""
    px1, py1, pz1, px2, py2, pz2 = (np.asarray(a, dtype=np.float64) for a in (px1, py1, pz1, px2, py2, pz2))
    eta1 = np.arcsinh(pz1 / np.hypot(px1, py1))
    eta2 = np.arcsinh(pz2 / np.hypot(px2, py2))
    dphi = np.abs(np.arctan2(py1, px1) - np.arctan2(py2, px2))
    dphi = np.where(dphi > np.pi, 2 * np.pi - dphi, dphi)
    return np.hypot(eta1 - eta2, dphi)

"""Representations of a lepton's four-momentum for flavour identification.

A lepton is given by its transverse momentum, pseudorapidity, azimuth and energy (GeV, -, rad, GeV).
:func:`representation` turns those four numbers into the inputs of a classifier:

``pt_eta_phi_E``
    the four numbers themselves;
``px_py_pz_E``
    Cartesian components: ``px = pT cos(phi)``, ``py = pT sin(phi)``, ``pz = pT sinh(eta)``, and E;
``p2_minus_E2``
    the one number ``|p|**2 - E**2 = (pT cosh(eta))**2 - E**2``, minus the squared mass (GeV**2).

With ``precision="float32"`` the four inputs are first rounded to single precision, as a ROOT ntuple
stores them: that rounding, not the detector, limits how well ``p2_minus_E2`` measures a mass
(:mod:`bumphunt.physics.lepton_detector`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["REPRESENTATIONS", "Precision", "cartesian_to_collider", "representation"]

#: Feature names of each representation.
REPRESENTATIONS: dict[str, tuple[str, ...]] = {
    "pt_eta_phi_E": ("pt", "eta", "phi", "E"),
    "px_py_pz_E": ("px", "py", "pz", "E"),
    "p2_minus_E2": ("p2_minus_E2",),
}
Precision = Literal["float32", "float64"]


def representation(
    name: str,
    pt: npt.ArrayLike,
    eta: npt.ArrayLike,
    phi: npt.ArrayLike,
    energy: npt.ArrayLike,
    *,
    precision: Precision = "float64",
) -> np.ndarray:
    """The ``(n, k)`` float64 features of representation ``name`` (:data:`REPRESENTATIONS`).

    Parameters
    ----------
    name
        ``"pt_eta_phi_E"``, ``"px_py_pz_E"`` or ``"p2_minus_E2"``.
    pt, eta, phi, energy
        The leptons (GeV, -, rad, GeV).
    precision
        ``"float32"`` rounds the four inputs to single precision first; ``"float64"`` keeps them.
    """
    if name not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {name!r}; choose one of {', '.join(REPRESENTATIONS)}")
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', got {precision!r}")
    values = [np.asarray(v, dtype=np.float64) for v in (pt, eta, phi, energy)]
    if precision == "float32":
        values = [v.astype(np.float32).astype(np.float64) for v in values]
    pt, eta, phi, energy = values
    if name == "pt_eta_phi_E":
        return np.column_stack([pt, eta, phi, energy])
    if name == "px_py_pz_E":
        return np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), energy])
    return ((pt * np.cosh(eta)) ** 2 - energy**2)[:, None]


def cartesian_to_collider(
    px: npt.ArrayLike, py: npt.ArrayLike, pz: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pT, eta, phi)`` of Cartesian momenta (the inverse of the first three ``px_py_pz_E`` features)."""
    px, py, pz = (np.asarray(v, dtype=np.float64) for v in (px, py, pz))
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt), np.arctan2(py, px)

"""A parametric model of electron and muon reconstruction, and what a reconstructed lepton's E and mass are.

Generated final-state electrons and muons become reconstructed leptons through these steps; every number
is an attribute of :class:`LeptonDetector`, recorded in the provenance of each generated file.

Acceptance and efficiency
    Electrons with true |eta| < 2.5 outside the barrel-endcap gap 1.4442 < |eta| < 1.566, muons with
    |eta| < 2.4, are reconstructed with flat efficiencies of 90 % and 95 %. Reconstructed leptons above
    5 GeV (electrons) and 3 GeV (muons) in pT are stored, the NanoAOD thresholds.
Electrons
    The energy is measured in the calorimeter with the CMS ECAL resolution
    ``sigma_E / E = 2.8 % / sqrt(E / GeV) (+) 12 % GeV / E (+) 0.3 %`` (in quadrature); the direction is
    the true one (the track's angular resolution is negligible here). As in CMS particle flow, the
    four-momentum is built with the electron mass hypothesis: ``|p| = sqrt(E**2 - m_e**2)``.
Muons
    The transverse momentum is measured in the tracker with ``sigma_pT / pT = 1.5 % (+) 0.01 % pT / GeV``;
    direction true; ``E = sqrt(|p|**2 + m_mu**2)``, the muon mass hypothesis.
What a reconstructed lepton's E and mass are
    The mass computed from a reconstructed four-momentum is, exactly, the hypothesis (0.511 MeV or
    105.66 MeV): it carries the flavour only because reconstruction assigned it. Stored as single-precision
    floats (``Px, Py, Pz, E`` of a flat ntuple, or ``pT, eta, phi, E``), each component keeps 24 bits, so
    ``E**2 - |p|**2`` is known to about ``E**2 * 2**-23``: the muon mass (m**2 = 0.011 GeV**2) stands out
    of that rounding below about 100 GeV and drowns in it above a few hundred GeV. A mass-cut baseline on
    such a file therefore separates the flavours almost perfectly at low energy and ever less well at
    high energy, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ELECTRON_MASS", "MUON_MASS", "LeptonDetector", "ReconstructedLeptons"]

#: Lepton masses (GeV), PDG 2024.
ELECTRON_MASS = 0.000510998950
MUON_MASS = 0.1056583755


@dataclass(frozen=True)
class ReconstructedLeptons:
    """Stored leptons of one flavour: which of the inputs they are and their four-momenta (GeV).

    Attributes
    ----------
    index
        Positions in the input arrays of the stored leptons.
    p4
        ``(n, 4)`` reconstructed ``(px, py, pz, E)`` in float64.
    """

    index: np.ndarray
    p4: np.ndarray


@dataclass(frozen=True)
class LeptonDetector:
    """Parameters of the lepton reconstruction model (GeV).

    Attributes
    ----------
    electron_eta_max, electron_gap, electron_min_pt, electron_efficiency
        Electron acceptance (|eta| below the maximum and outside the gap), storage threshold, efficiency.
    ecal_stochastic, ecal_noise, ecal_constant
        ECAL relative energy resolution terms: ``a / sqrt(E) (+) b / E (+) c``.
    muon_eta_max, muon_min_pt, muon_efficiency
        Muon acceptance, storage threshold, efficiency.
    muon_pt_constant, muon_pt_slope
        Tracker relative pT resolution ``c (+) s * pT``.
    """

    electron_eta_max: float = 2.5
    electron_gap: tuple[float, float] = (1.4442, 1.566)
    electron_min_pt: float = 5.0
    electron_efficiency: float = 0.90
    ecal_stochastic: float = 0.028
    ecal_noise: float = 0.12
    ecal_constant: float = 0.003
    muon_eta_max: float = 2.4
    muon_min_pt: float = 3.0
    muon_efficiency: float = 0.95
    muon_pt_constant: float = 0.015
    muon_pt_slope: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("electron_efficiency", "muon_efficiency"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in (0, 1], got {getattr(self, name)!r}")
        if not self.electron_gap[0] <= self.electron_gap[1]:
            raise ValueError(f"electron_gap must be (low, high) with low <= high, got {self.electron_gap!r}")

    def energy_resolution(self, energy: npt.ArrayLike) -> np.ndarray:
        """Relative electron energy resolution sigma_E / E at ``energy`` (GeV)."""
        e = np.asarray(energy, dtype=np.float64)
        return np.sqrt((self.ecal_stochastic**2 / e) + (self.ecal_noise / e) ** 2 + self.ecal_constant**2)

    def momentum_resolution(self, pt: npt.ArrayLike) -> np.ndarray:
        """Relative muon transverse-momentum resolution sigma_pT / pT at ``pt`` (GeV)."""
        return np.hypot(self.muon_pt_constant, self.muon_pt_slope * np.asarray(pt, dtype=np.float64))

    def reconstruct(self, flavour: str, p4: npt.ArrayLike, rng: np.random.Generator) -> ReconstructedLeptons:
        """Reconstruct true leptons of one flavour.

        Parameters
        ----------
        flavour
            ``"e"`` or ``"mu"``.
        p4
            ``(n, 4)`` true ``(px, py, pz, E)`` (GeV).
        rng
            Source of the efficiency and resolution draws (one efficiency and one resolution number per
            input lepton, in input order, whatever is kept).

        Returns
        -------
        ReconstructedLeptons
        """
        p4 = np.asarray(p4, dtype=np.float64).reshape(-1, 4)
        p = np.linalg.norm(p4[:, :3], axis=1)
        pt = np.hypot(p4[:, 0], p4[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            abs_eta = np.abs(np.arcsinh(p4[:, 2] / pt))
        abs_eta = np.where(pt > 0, abs_eta, np.inf)
        efficient = rng.uniform(size=len(p4))
        gauss = rng.standard_normal(len(p4))
        direction = p4[:, :3] / np.where(p > 0, p, 1.0)[:, None]
        if flavour == "e":
            low, high = self.electron_gap
            accepted = (abs_eta < self.electron_eta_max) & ~((abs_eta > low) & (abs_eta < high))
            accepted &= efficient < self.electron_efficiency
            energy = p4[:, 3] * np.clip(1.0 + self.energy_resolution(p4[:, 3]) * gauss, 0.0, None)
            energy = np.maximum(energy, ELECTRON_MASS)
            momentum = np.sqrt(energy**2 - ELECTRON_MASS**2)
            min_pt = self.electron_min_pt
        elif flavour == "mu":
            accepted = (abs_eta < self.muon_eta_max) & (efficient < self.muon_efficiency)
            momentum = p * np.clip(1.0 + self.momentum_resolution(pt) * gauss, 0.0, None)
            energy = np.sqrt(momentum**2 + MUON_MASS**2)
            min_pt = self.muon_min_pt
        else:
            raise ValueError(f"flavour must be 'e' or 'mu', got {flavour!r}")
        reco = np.column_stack([direction * momentum[:, None], energy])
        stored = accepted & (np.hypot(reco[:, 0], reco[:, 1]) > min_pt)
        index = np.flatnonzero(stored)
        return ReconstructedLeptons(index=index, p4=reco[index])

"""A parametric model of muon and jet reconstruction in a CMS-like detector.

Generated particles become NanoAOD-like objects through these steps; every number is an attribute of
:class:`DetectorModel`, recorded in the provenance of each generated file.

Muons
    Final-state muons with true |eta| < 2.4 are reconstructed with a Gaussian relative transverse-momentum
    resolution of 1.0 % (|eta| < 0.9), 1.5 % (0.9-1.2) and 2.0 % (above 1.2), which puts the
    Upsilon(1S) peak at a width of about 0.1 GeV; direction and charge are kept. Those with a smeared
    pT above 3 GeV are stored, as in CMS NanoAOD. Every stored muon passes the loose identification; the
    medium and tight identifications are passed with efficiencies of 97 % and 95 % (tight implies
    medium), independent of the kinematics.
Impact parameters
    The muon's track is the straight line through its true production vertex along its momentum (the
    magnetic field's bending is neglected over the millimetres involved), and the primary vertex is the
    origin (Pythia generates no beam spot). ``dxy`` is the signed transverse distance of closest
    approach, ``dz`` the longitudinal offset there; both are smeared with Gaussian resolutions
    ``sigma = a (+) b / pT`` (in quadrature), a = 15 um and b = 95 um GeV transverse, a = 30 um and
    b = 150 um GeV longitudinal. ``ip3d = sqrt(dxy**2 + (dz sin theta)**2)`` is the 3D distance of
    closest approach of that line, ``sip3d`` its significance. Lengths are in cm, as in NanoAOD.
Isolation
    ``pfRelIso03_all`` (``04``) sums the pT of visible final-state particles with pT > 0.5 GeV within
    Delta R < 0.3 (0.4) of the muon, the muon itself excluded, divided by the muon's pT. There is no
    pileup.
Jets
    Anti-kT R = 0.4 jets of the visible final-state particles with |eta| < 4.7 (muons included, as in
    particle-flow jets), pT smeared by ``sigma/pT = 1.0 / sqrt(pT / GeV) (+) 0.05``, stored above
    15 GeV. A muon belongs to the nearest jet within Delta R < 0.4.
Missing transverse momentum
    Minus the vector sum of the visible particles' pT within |eta| < 4.7, each component smeared by a
    Gaussian of width 0.5 sqrt(sum ET / GeV) GeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DetectorModel", "impact_parameters", "relative_isolation"]


@dataclass(frozen=True)
class DetectorModel:
    """Parameters of the detector model (GeV, cm).

    Attributes
    ----------
    muon_eta_max, muon_min_pt
        Muon acceptance (|eta|) and the pT above which reconstructed muons are stored.
    pt_resolution, pt_resolution_edges
        Relative pT resolution in the |eta| regions separated by the edges.
    ip_xy, ip_z
        Transverse and longitudinal impact-parameter resolution ``(a, b)``: ``sqrt(a**2 + (b/pT)**2)``
        in cm (``b`` in cm GeV).
    medium_efficiency, tight_efficiency
        Probability that a stored muon passes the medium (tight) identification.
    isolation_min_pt
        Particles below this pT do not enter isolation sums.
    jet_radius, jet_eta_max, jet_min_pt, jet_stochastic, jet_constant
        Jet clustering, acceptance, storage threshold and the pT resolution terms.
    met_resolution
        Width of each missing-momentum component per sqrt(GeV) of the scalar sum of ET.
    """

    muon_eta_max: float = 2.4
    muon_min_pt: float = 3.0
    pt_resolution: tuple[float, ...] = (0.010, 0.015, 0.020)
    pt_resolution_edges: tuple[float, ...] = (0.9, 1.2)
    ip_xy: tuple[float, float] = (15e-4, 95e-4)
    ip_z: tuple[float, float] = (30e-4, 150e-4)
    medium_efficiency: float = 0.97
    tight_efficiency: float = 0.95
    isolation_min_pt: float = 0.5
    jet_radius: float = 0.4
    jet_eta_max: float = 4.7
    jet_min_pt: float = 15.0
    jet_stochastic: float = 1.0
    jet_constant: float = 0.05
    met_resolution: float = 0.5

    def __post_init__(self) -> None:
        if len(self.pt_resolution) != len(self.pt_resolution_edges) + 1:
            raise ValueError("pt_resolution needs one value more than pt_resolution_edges")
        if not 0 <= self.tight_efficiency <= self.medium_efficiency <= 1:
            raise ValueError("need 0 <= tight_efficiency <= medium_efficiency <= 1")

    def relative_pt_resolution(self, eta: npt.ArrayLike) -> np.ndarray:
        """sigma(pT)/pT at pseudorapidity ``eta``."""
        region = np.searchsorted(np.asarray(self.pt_resolution_edges), np.abs(np.asarray(eta)))
        return np.asarray(self.pt_resolution)[region]

    def ip_resolution(self, pt: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Transverse and longitudinal impact-parameter resolution (cm) at transverse momentum ``pt``."""
        pt = np.asarray(pt, dtype=np.float64)
        return np.hypot(self.ip_xy[0], self.ip_xy[1] / pt), np.hypot(self.ip_z[0], self.ip_z[1] / pt)

    def jet_pt_resolution(self, pt: npt.ArrayLike) -> np.ndarray:
        """sigma(pT)/pT of jets."""
        pt = np.asarray(pt, dtype=np.float64)
        return np.hypot(self.jet_stochastic / np.sqrt(pt), self.jet_constant)


def impact_parameters(
    vertex: npt.ArrayLike, momentum: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed transverse (dxy) and longitudinal (dz) impact parameters and the 3D one of straight tracks.

    Parameters
    ----------
    vertex
        ``(n, 3)`` production points (x, y, z); the primary vertex is the origin. Any length unit.
    momentum
        ``(n, 3)`` momenta (px, py, pz).

    Returns
    -------
    dxy, dz, ip3d
        In the unit of ``vertex``. ``dxy = (y px - x py) / pT``, the CMS sign convention;
        ``dz = z - (x px + y py) pz / pT**2``; ``ip3d`` is the distance of closest approach in 3D.
    """
    x, y, z = np.asarray(vertex, dtype=np.float64).T
    px, py, pz = np.asarray(momentum, dtype=np.float64).T
    pt2 = px**2 + py**2
    dxy = (y * px - x * py) / np.sqrt(pt2)
    dz = z - (x * px + y * py) * pz / pt2
    sin_theta = np.sqrt(pt2 / (pt2 + pz**2))
    return dxy, dz, np.hypot(dxy, dz * sin_theta)


def relative_isolation(
    muon_eta: np.ndarray,
    muon_phi: np.ndarray,
    muon_pt: np.ndarray,
    muon_event: np.ndarray,
    muon_particle: np.ndarray,
    particle_eta: np.ndarray,
    particle_phi: np.ndarray,
    particle_pt: np.ndarray,
    event_offsets: np.ndarray,
    cones: tuple[float, ...],
) -> list[np.ndarray]:
    """Relative isolation of muons for several cone sizes.

    Parameters
    ----------
    muon_eta, muon_phi, muon_pt
        The muons (pT in GeV, the reconstructed value that divides the sum).
    muon_event
        Index of each muon's event.
    muon_particle
        Index of each muon among the particles (excluded from its own sum).
    particle_eta, particle_phi, particle_pt
        All particles that may enter the sums, grouped by event.
    event_offsets
        ``(n_events + 1,)`` start of each event's particles, then the total.
    cones
        Delta R radii.

    Returns
    -------
    list of numpy.ndarray
        For each cone, sum of particle pT within it divided by the muon pT.
    """
    starts, stops = event_offsets[muon_event], event_offsets[muon_event + 1]
    lengths = stops - starts
    pairs_muon = np.repeat(np.arange(len(muon_pt)), lengths)
    pairs_particle = np.repeat(starts - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + np.arange(
        lengths.sum()
    )
    deta = muon_eta[pairs_muon] - particle_eta[pairs_particle]
    dphi = np.abs(muon_phi[pairs_muon] - particle_phi[pairs_particle])
    dphi = np.where(dphi > np.pi, 2 * np.pi - dphi, dphi)
    dr = np.hypot(deta, dphi)
    other = pairs_particle != muon_particle[pairs_muon]
    return [
        np.bincount(pairs_muon[other & (dr < cone)], weights=particle_pt[pairs_particle[other & (dr < cone)]],
                    minlength=len(muon_pt)) / muon_pt
        for cone in cones
    ]  # fmt: skip

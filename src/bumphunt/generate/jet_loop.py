"""The Pythia 8 event loop of jet samples: the leading jet of each event in a window of pT.

Jet-substructure studies (anomaly detection on jet images, arXiv:2203.01343) take one jet per event:
the leading anti-kT jet of the visible final-state particles, kept when its pT lies in ``[pt_min,
pt_max]`` and ``|eta| < jet_eta_max``. :func:`generate_jet_chunk` generates until ``n_jets`` jets pass
and returns their constituents (pT, eta, phi; zero padded, hardest first), in batches like the dijet
loop (:mod:`bumphunt.generate.pythia_loop`).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.generate.cards import ProcessCard
from bumphunt.generate.pythia_loop import (
    Visibility,
    make_pythia,
    next_batch_size,
    pad_constituents,
    visible_particles,
)

__all__ = ["JetChunkResult", "JetSelection", "generate_jet_chunk"]


@dataclass(frozen=True)
class JetSelection:
    """Particles, jets and the pT window of a jet sample.

    Attributes
    ----------
    pt_min, pt_max
        The leading jet is kept when ``pt_min <= pT <= pt_max`` (GeV).
    jet_eta_max
        ... and ``|eta| < jet_eta_max``.
    particle_eta_max
        Visible final-state particles with ``|eta|`` below this enter the jets.
    radius
        Anti-kT radius R.
    max_constituents
        Length of the zero-padded constituent list (the hardest are kept).
    """

    pt_min: float = 550.0
    pt_max: float = 650.0
    jet_eta_max: float = 2.0
    particle_eta_max: float = 2.5
    radius: float = 1.0
    max_constituents: int = 200

    def __post_init__(self) -> None:
        for name in ("pt_min", "pt_max", "jet_eta_max", "particle_eta_max", "radius"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"jet selection setting {name} must be positive, got {value!r}")
        if not self.pt_min < self.pt_max:
            raise ConfigError(
                f"jet selection: need pt_min < pt_max, got {self.pt_min!r} and {self.pt_max!r} GeV"
            )
        if not (isinstance(self.max_constituents, int) and self.max_constituents >= 1):
            raise ConfigError(f"max_constituents must be a positive integer, got {self.max_constituents!r}")


@dataclass
class JetChunkResult:
    """Jets of one chunk that passed the selection.

    Attributes
    ----------
    constituents
        ``(n, max_constituents, 3)`` (pT [GeV], eta, phi), zero padded, hardest first.
    n_generated, n_passed
        Events generated, and events whose leading jet passed (>= n).
    sigma_mb, sigma_err_mb
        Pythia's cross-section estimate of the process and its error (mb).
    """

    constituents: np.ndarray
    n_generated: int
    n_passed: int
    sigma_mb: float
    sigma_err_mb: float


def _leading_jets(particles: ak.Array, selection: JetSelection) -> tuple[ak.Array, np.ndarray]:
    """Constituents ``{pt, eta, phi}`` of the leading jet of the events whose leading jet passes, and the
    index of those events."""
    from bumphunt.physics.jets import cluster_jets

    occupied = np.flatnonzero(ak.to_numpy(ak.num(particles, axis=1)) > 0)
    if len(occupied) == 0:
        return particles[:0], occupied
    jets, constituents = cluster_jets(particles[occupied], radius=selection.radius, min_pt=20.0)
    has_jet = ak.to_numpy(ak.num(jets, axis=1)) > 0
    lead = ak.firsts(jets)
    px, py, pz = (ak.to_numpy(ak.fill_none(lead[k], 0.0)) for k in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), np.inf)
    keep = (
        has_jet & (pt >= selection.pt_min) & (pt <= selection.pt_max) & (np.abs(eta) < selection.jet_eta_max)
    )
    vectors = constituents[keep][:, 0]
    cpx, cpy, cpz = vectors["px"], vectors["py"], vectors["pz"]
    cpt = np.hypot(cpx, cpy)
    chosen = ak.zip({"pt": cpt, "eta": np.arcsinh(cpz / cpt), "phi": np.arctan2(cpy, cpx)})
    return chosen, occupied[keep]


def generate_jet_chunk(
    card: ProcessCard,
    n_jets: int,
    seed: int,
    *,
    selection: JetSelection | None = None,
    batch_size: int = 200,
) -> JetChunkResult:
    """Generate events of ``card`` until the leading jets of ``n_jets`` of them pass ``selection``."""
    if n_jets < 0:
        raise ConfigError(f"the number of jets must not be negative, got {n_jets!r}")
    selection = selection or JetSelection()
    pythia = make_pythia(card, seed)
    visibility = Visibility(pythia)
    parts = [np.zeros((0, selection.max_constituents, 3))]
    n_generated = n_passed = 0
    while n_passed < n_jets:
        batch_size = next_batch_size(n_jets, n_generated, n_passed, batch_size)
        batch = pythia.nextBatch(batch_size)
        if len(batch) == 0:
            raise RuntimeError(f"Pythia produced no events for process {card.name!r} (seed {seed})")
        particles = visible_particles(batch, visibility, selection.particle_eta_max)
        jets, index = _leading_jets(particles, selection)
        n_generated += len(batch)
        n_passed += len(index)
        parts.append(pad_constituents(jets, selection.max_constituents))
    info = pythia.infoPython()
    return JetChunkResult(
        constituents=np.concatenate(parts)[:n_jets],
        n_generated=n_generated,
        n_passed=n_passed,
        sigma_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
    )

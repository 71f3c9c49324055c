"""The Pythia 8 event loop of dijet samples in the CMS 2011A jet selection, with each jet's particles.

The MOD HDF5 files of the CMS 2011A Open Data keep the two hardest anti-kT R = 0.5 jets of an event
with pT > 375 GeV, and their particles. :func:`generate_mod_chunk` makes the same from Pythia: the
visible final-state particles with ``|eta| < particle_eta_max`` (massless) are clustered with FastJet,
and an event is kept when its two hardest jets both have pT above ``jet_pt_min`` and ``|eta|`` below
``jet_eta_max`` (the |eta| < 1.9 of the MOD paper's analyses), so that every kept event has a dijet mass.
There is no detector model: particles and jets are at generator level, like the MOD ``gens``.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.generate.cards import ProcessCard
from bumphunt.generate.pythia_loop import Visibility, make_pythia, next_batch_size, visible_particles

__all__ = ["ModChunk", "ModSelection", "generate_mod_chunk"]


@dataclass(frozen=True)
class ModSelection:
    """Particles and jets of a MOD-like dijet sample (GeV).

    Attributes
    ----------
    radius
        Anti-kT radius R.
    jet_pt_min, jet_eta_max
        Both of the two hardest jets need pT above ``jet_pt_min`` and ``|eta|`` below ``jet_eta_max``.
    particle_eta_max
        Visible final-state particles with ``|eta|`` below this enter the jets.
    """

    radius: float = 0.5
    jet_pt_min: float = 375.0
    jet_eta_max: float = 1.9
    particle_eta_max: float = 2.5

    def __post_init__(self) -> None:
        for name in ("radius", "jet_pt_min", "jet_eta_max", "particle_eta_max"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"MOD selection setting {name} must be positive, got {value!r}")


@dataclass
class ModChunk:
    """The kept events of one chunk: two jets each, hardest first.

    Attributes
    ----------
    jets
        ``(2 n, 5)``: pT, rapidity, phi, mass, eta of the jets (GeV), two rows per event.
    particles
        ``2 n * var * {pt, y, phi}``: each jet's particles (massless, so y is the pseudorapidity).
    n_generated, n_passed
        Events generated, and events that passed (>= n).
    sigma_mb, sigma_err_mb
        Pythia's cross-section estimate of the process and its error (mb).
    """

    jets: np.ndarray
    particles: ak.Array
    n_generated: int
    n_passed: int
    sigma_mb: float
    sigma_err_mb: float


def _dijets(particles: ak.Array, selection: ModSelection) -> tuple[np.ndarray, ak.Array, int]:
    """Jet rows and particles of the events whose two hardest jets pass, and how many events passed."""
    from bumphunt.physics.jets import cluster_jets

    occupied = ak.to_numpy(ak.num(particles, axis=1)) > 0
    if not occupied.any():
        return np.zeros((0, 5)), ak.Array([]), 0
    jets, constituents = cluster_jets(
        particles[occupied], radius=selection.radius, min_pt=0.5 * selection.jet_pt_min
    )
    two = ak.to_numpy(ak.num(jets, axis=1)) >= 2
    jets, constituents = jets[two][:, :2], constituents[two][:, :2]
    px, py, pz, e = (ak.to_numpy(jets[k]).astype(np.float64) for k in ("px", "py", "pz", "E"))
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / pt)
    keep = np.all((pt > selection.jet_pt_min) & (np.abs(eta) < selection.jet_eta_max), axis=1)
    px, py, pz, e, pt, eta = (v[keep] for v in (px, py, pz, e, pt, eta))
    rows = np.stack(
        [
            pt,
            0.5 * np.log((e + pz) / (e - pz)),
            np.arctan2(py, px),
            np.sqrt(np.clip(e**2 - px**2 - py**2 - pz**2, 0.0, None)),
            eta,
        ],
        axis=-1,
    ).reshape(-1, 5)
    members = ak.flatten(constituents[keep], axis=1)  # one list of particles per jet
    cpt = np.hypot(members["px"], members["py"])
    chosen = ak.zip(
        {"pt": cpt, "y": np.arcsinh(members["pz"] / cpt), "phi": np.arctan2(members["py"], members["px"])}
    )
    return rows, chosen, int(keep.sum())


def generate_mod_chunk(
    card: ProcessCard,
    n_events: int,
    seed: int,
    *,
    selection: ModSelection | None = None,
    batch_size: int = 200,
) -> ModChunk:
    """Generate events of ``card`` until ``n_events`` pass ``selection``; return their two jets."""
    if n_events < 0:
        raise ConfigError(f"the number of events must not be negative, got {n_events!r}")
    selection = selection or ModSelection()
    pythia = make_pythia(card, seed)
    visibility = Visibility(pythia)
    rows: list[np.ndarray] = [np.zeros((0, 5))]
    parts: list[ak.Array] = []
    n_generated = n_passed = 0
    while n_passed < n_events:
        batch_size = next_batch_size(n_events, n_generated, n_passed, batch_size)
        batch = pythia.nextBatch(batch_size)
        if len(batch) == 0:
            raise RuntimeError(f"Pythia produced no events for process {card.name!r} (seed {seed})")
        jets, particles, passed = _dijets(
            visible_particles(batch, visibility, selection.particle_eta_max), selection
        )
        n_generated += len(batch)
        n_passed += passed
        if passed:
            rows.append(jets)
            parts.append(particles)
    info = pythia.infoPython()
    return ModChunk(
        jets=np.concatenate(rows)[: 2 * n_events],
        particles=ak.concatenate(parts)[: 2 * n_events] if parts else ak.Array([]),
        n_generated=n_generated,
        n_passed=n_passed,
        sigma_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
    )

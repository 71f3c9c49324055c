"""The Pythia 8 event loop for lepton samples: electrons and muons after the lepton detector model.

:func:`generate_lepton_chunk` runs one seeded Pythia instance until the requested number of events have
at least ``min_leptons`` stored electrons or muons (:mod:`bumphunt.physics.lepton_detector`). Each event
is a record with ``Electron`` and ``Muon`` collections of ``Px, Py, Pz, E`` (GeV), ``Charge`` and
``genPartFlav`` (the NanoAOD origin code of :mod:`bumphunt.generate.truth`: 1 from a W or Z, 15 through
a tau, 5 from a b hadron, 4 from a c hadron, 3 from a light hadron), leptons in decreasing pT.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.generate.cards import ProcessCard
from bumphunt.generate.pythia_loop import make_pythia, next_batch_size
from bumphunt.generate.truth import FlatParticles, gen_flavour
from bumphunt.physics.lepton_detector import LeptonDetector

__all__ = ["COLLECTIONS", "LeptonChunk", "generate_lepton_chunk"]

#: Collection name and PDG id of each flavour.
COLLECTIONS = {"e": ("Electron", 11), "mu": ("Muon", 13)}


@dataclass
class LeptonChunk:
    """Selected events of one chunk and the counts behind them.

    Attributes
    ----------
    events
        One record per event: ``Electron`` and ``Muon`` collections.
    n_generated, n_passed
        Events Pythia generated, and those that passed (>= the number returned).
    sigma_mb, sigma_err_mb
        Pythia's cross-section estimate of the process and its error (mb).
    """

    events: ak.Array
    n_generated: int
    n_passed: int
    sigma_mb: float
    sigma_err_mb: float


def _collection(
    flat: FlatParticles, particles: np.ndarray, p4: np.ndarray, events: np.ndarray, n_events: int
) -> ak.Array:
    """``n_events * var`` records of the stored leptons (global particle indices, sorted by event)."""
    pt = np.hypot(p4[:, 0], p4[:, 1])
    position = np.searchsorted(events, flat.event[particles])
    keep = np.isin(flat.event[particles], events)
    order = np.lexsort((-pt[keep], position[keep]))
    particles, p4, position = particles[keep][order], p4[keep][order], position[keep][order]
    record = ak.zip(
        {
            "Px": p4[:, 0],
            "Py": p4[:, 1],
            "Pz": p4[:, 2],
            "E": p4[:, 3],
            "Charge": -np.sign(flat.id[particles]).astype(np.int32),
            "genPartFlav": gen_flavour(flat, particles).astype(np.uint8),
        }
    )
    return ak.unflatten(record, np.bincount(position, minlength=n_events))


def _select(
    prt: ak.Array, detector: LeptonDetector, min_leptons: int, rng: np.random.Generator
) -> tuple[ak.Array, np.ndarray]:
    """The events of one batch with at least ``min_leptons`` stored leptons and their batch indices."""
    flat = FlatParticles(prt)
    final = flat.status > 0
    stored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for flavour, (_, pdg_id) in COLLECTIONS.items():
        candidates = np.flatnonzero(final & (np.abs(flat.id) == pdg_id))
        reco = detector.reconstruct(flavour, flat.p[candidates], rng)
        stored[flavour] = (candidates[reco.index], reco.p4)
    counts = sum(np.bincount(flat.event[index], minlength=len(prt)) for index, _ in stored.values())
    events = np.flatnonzero(counts >= min_leptons)
    if not len(events):
        return ak.Array([]), events
    fields = {
        name: _collection(flat, *stored[flavour], events, len(events))
        for flavour, (name, _) in COLLECTIONS.items()
    }
    return ak.zip(fields, depth_limit=1), events


def generate_lepton_chunk(
    card: ProcessCard,
    n_events: int,
    seed: int,
    *,
    detector: LeptonDetector | None = None,
    min_leptons: int = 1,
    batch_size: int = 100,
) -> LeptonChunk:
    """Generate events of ``card`` until ``n_events`` have at least ``min_leptons`` stored leptons.

    Parameters
    ----------
    card
        The process.
    n_events
        Number of selected events to return.
    seed
        Pythia's seed for this chunk (0 .. 900 000 000); the detector model draws from a numpy generator
        seeded with it too.
    detector
        The lepton detector model; defaults when ``None``.
    min_leptons
        Stored electrons and muons an event needs.
    batch_size
        Events of the first ``nextBatch`` call; later ones follow the observed efficiency.
    """
    if n_events < 0:
        raise ConfigError(f"the number of events must not be negative, got {n_events!r}")
    if min_leptons < 1:
        raise ConfigError(f"min_leptons must be a positive integer, got {min_leptons!r}")
    detector = detector or LeptonDetector()
    pythia = make_pythia(card, seed)
    rng = np.random.default_rng(seed)
    selected: list[ak.Array] = []
    n_generated = n_passed = 0
    while n_passed < n_events:
        batch_size = next_batch_size(n_events, n_generated, n_passed, batch_size)
        prt = pythia.nextBatch(batch_size)["prt"]
        if len(prt) == 0:
            raise RuntimeError(f"Pythia produced no events for process {card.name!r} (seed {seed})")
        n_generated += len(prt)
        events, index = _select(prt, detector, min_leptons, rng)
        n_passed += len(index)
        if len(index):
            selected.append(events)
    info = pythia.infoPython()
    return LeptonChunk(
        events=ak.concatenate(selected)[:n_events] if selected else ak.Array([]),
        n_generated=n_generated,
        n_passed=n_passed,
        sigma_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
    )

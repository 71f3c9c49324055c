"""The Pythia 8 event loop for dimuon samples: from generated events to CMS NanoAOD-like events.

:func:`generate_dimuon_chunk` runs one seeded Pythia instance until the requested number of events have
at least two stored muons after the detector model (:mod:`bumphunt.physics.muon_detector`). Events come
from ``Pythia.nextBatch`` as awkward arrays and every step is vectorized over a batch.

Where the card has ``repeated_decays`` (the weakly decaying b hadrons of b bbar events, say), Pythia
generates each event with those species left undecayed, and their decays, with everything that
follows from them (b -> c -> mu cascades, B0 mixing), are then redone ``decay_repeats`` times on the
same event. Each repeat is a complete event drawn from the natural decay tables, so the repeats are
unweighted events and ``n_generated`` counts them; what siblings share is everything before those
decays (the hard scattering, shower and hadronization; each repeat draws new lifetimes for the
repeated hadrons, so decay vertices and B0 mixing differ).
A repeat is kept only if it has ``min_muons`` muon candidates (true pT above
:data:`LOOSE_PT_FRACTION` of the stored-muon threshold, inside the muon acceptance), which the detector
model then smears and selects as for any event. An event whose muon candidates from everything but
the repeated decays already number ``min_muons`` (an Upsilon from a g -> b bbar splitting in a c cbar
event, a J/psi) would pass in every repeat with the same pair: one clump of identical dimuons, which in
a search looks like a resonance. Such events are left out of the sample, and counted
(:attr:`DimuonChunk.n_left_out`): the sample holds the dimuons that need the repeated decays.
With about 6 ms for a generated b bbar event and 0.15 ms for a repeat, 50 repeats make dimuon events
about 20 times faster than unrepeated generation.
:attr:`DimuonChunk.parents` keeps which passed events share an event, so that a user can measure
what the sharing does.

Each event is a record with the NanoAOD branches (``Muon_*``, ``Jet_*``, ``MET_*``) grouped as ``Muon``
and ``Jet`` collections; :mod:`bumphunt.io.nanoaod_writer` writes them out.
``Muon_genPartFlav`` follows NanoAOD: 1 prompt, 15 from a prompt tau, 5 from a b hadron (bottomonium
included), 4 from a c hadron, 3 from a light hadron.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.generate.cards import ProcessCard
from bumphunt.generate.pythia_loop import Visibility, make_pythia, next_batch_size
from bumphunt.generate.truth import FlatParticles, gen_flavour
from bumphunt.physics.jets import cluster_jets
from bumphunt.physics.muon_detector import DetectorModel, impact_parameters, relative_isolation

__all__ = ["LOOSE_PT_FRACTION", "DimuonChunk", "generate_dimuon_chunk"]

#: Muons of a repeat count as candidates above this fraction of the stored-muon pT threshold (the
#: momentum resolution of a few per cent cannot lift a muon further).
LOOSE_PT_FRACTION = 0.85
_MM_TO_CM = 0.1
_REPEAT_BATCH = 32  # candidate repeats passed to the vectorized detector model at once


@dataclass
class DimuonChunk:
    """Selected events of one chunk and the counts behind them.

    Attributes
    ----------
    events
        One record per event: ``Muon`` and ``Jet`` collections, ``MET_pt`` and ``MET_phi``.
    n_generated
        Events Pythia generated.
    n_passed
        Events that passed (>= the number returned).
    parents
        The generated event each returned event was a repeat of (numbered within the chunk).
    n_left_out
        Generated events left out because their muons without the repeated decays already passed
        (0 for cards without repeated decays).
    sigma_mb, sigma_err_mb
        Pythia's cross-section estimate of the process and its error (mb).
    """

    events: ak.Array
    n_generated: int
    n_passed: int
    parents: np.ndarray
    n_left_out: int
    sigma_mb: float
    sigma_err_mb: float

    @property
    def shared(self) -> int:
        """Returned events that share their generated event with another returned event."""
        _, inverse, counts = np.unique(self.parents, return_inverse=True, return_counts=True)
        return int(np.sum(counts[inverse] > 1))


def _jets(
    flat: FlatParticles,
    visible: np.ndarray,
    events: np.ndarray,
    detector: DetectorModel,
    rng: np.random.Generator,
) -> ak.Array:
    """Smeared anti-kT jets of the given events (``events * var * {pt, eta, phi, mass}``)."""
    use = visible & (np.abs(flat.eta) < detector.jet_eta_max) & np.isin(flat.event, events)
    position = np.searchsorted(events, flat.event[use])
    particles = ak.unflatten(
        ak.zip({"pt": flat.pt[use], "eta": flat.eta[use], "phi": flat.phi[use]}),
        np.bincount(position, minlength=len(events)),
    )
    jets, _ = cluster_jets(particles, radius=detector.jet_radius, min_pt=0.5 * detector.jet_min_pt)
    counts = ak.to_numpy(ak.num(jets, axis=1))
    px, py, pz, e = (ak.to_numpy(ak.flatten(jets[k])) for k in ("px", "py", "pz", "E"))
    pt = np.hypot(px, py)
    scale = np.clip(1.0 + detector.jet_pt_resolution(pt) * rng.standard_normal(len(pt)), 0.0, None)
    p = np.sqrt(px**2 + py**2 + pz**2)
    mass = np.sqrt(np.clip(e**2 - p**2, 0.0, None)) * scale
    record = ak.zip({"pt": pt * scale, "eta": np.arcsinh(pz / pt), "phi": np.arctan2(py, px), "mass": mass})
    jets = ak.unflatten(record, counts)
    jets = jets[ak.argsort(jets["pt"], axis=1, ascending=False, stable=True)]
    return jets[jets["pt"] > detector.jet_min_pt]


def _match_jets(muons: ak.Array, jets: ak.Array, radius: float) -> tuple[ak.Array, ak.Array]:
    """Index of each muon's nearest jet within ``radius`` (-1 if none) and each jet's muon count."""
    pairs = ak.cartesian({"mu": muons, "jet": jets}, axis=1, nested=True)
    deta = pairs["mu"]["eta"] - pairs["jet"]["eta"]
    dphi = np.abs(pairs["mu"]["phi"] - pairs["jet"]["phi"])
    dphi = ak.where(dphi > np.pi, 2 * np.pi - dphi, dphi)
    dr = np.sqrt(deta**2 + dphi**2)
    nearest = ak.argmin(dr, axis=2, keepdims=False)
    closest = ak.min(dr, axis=2)
    index = ak.fill_none(ak.where(closest < radius, nearest, -1), -1)
    jet_numbers = ak.local_index(jets, axis=1)
    per_jet = ak.cartesian({"jet": jet_numbers, "mu": index}, axis=1, nested=True)
    n_muons = ak.sum(per_jet["jet"] == per_jet["mu"], axis=2)
    return index, n_muons


def _build_events(
    flat: FlatParticles,
    visible: np.ndarray,
    muons: np.ndarray,
    muon_pt: np.ndarray,
    events: np.ndarray,
    detector: DetectorModel,
    rng: np.random.Generator,
) -> ak.Array:
    """NanoAOD-like records of ``events`` (sorted batch indices), with ``muons`` (global particle
    indices, sorted by event) and their smeared pT."""
    muon_event = np.searchsorted(events, flat.event[muons])
    # impact parameters
    dxy, dz, _ = impact_parameters(flat.vertex[muons] * _MM_TO_CM, flat.p[muons, :3])
    sigma_xy, sigma_z = detector.ip_resolution(muon_pt)
    dxy = dxy + sigma_xy * rng.standard_normal(len(muons))
    dz = dz + sigma_z * rng.standard_normal(len(muons))
    sin_theta = 1.0 / np.cosh(flat.eta[muons])
    ip3d = np.hypot(dxy, dz * sin_theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma_3d = np.sqrt((dxy * sigma_xy) ** 2 + (dz * sin_theta**2 * sigma_z) ** 2) / ip3d
    sigma_3d = np.where(np.isfinite(sigma_3d), sigma_3d, np.hypot(sigma_xy, sigma_z * sin_theta))
    # isolation
    iso_particles = visible & (flat.pt > detector.isolation_min_pt)
    iso_index = np.flatnonzero(iso_particles)
    iso_offsets = np.searchsorted(iso_index, flat.offsets)
    own = np.searchsorted(iso_index, muons)
    own = np.where(iso_index[np.minimum(own, len(iso_index) - 1)] == muons, own, -1)
    iso03, iso04 = relative_isolation(
        flat.eta[muons], flat.phi[muons], muon_pt, flat.event[muons], own,
        flat.eta[iso_index], flat.phi[iso_index], flat.pt[iso_index], iso_offsets, (0.3, 0.4),
    )  # fmt: skip
    identification = rng.uniform(size=len(muons))
    counts = np.bincount(muon_event, minlength=len(events))
    mass = np.sqrt(np.clip(flat.p[muons, 3] ** 2 - np.sum(flat.p[muons, :3] ** 2, axis=1), 0.0, None))
    muon = ak.unflatten(
        ak.zip(
            {
                "pt": muon_pt,
                "eta": flat.eta[muons],
                "phi": flat.phi[muons],
                "mass": mass,
                "charge": -np.sign(flat.id[muons]).astype(np.int32),
                "pfRelIso03_all": iso03,
                "pfRelIso04_all": iso04,
                "dxy": dxy,
                "dxyErr": sigma_xy,
                "dz": dz,
                "dzErr": sigma_z,
                "ip3d": ip3d,
                "sip3d": ip3d / sigma_3d,
                "looseId": np.ones(len(muons), dtype=bool),
                "mediumId": identification < detector.medium_efficiency,
                "tightId": identification < detector.tight_efficiency,
                "genPartFlav": gen_flavour(flat, muons).astype(np.uint8),
            }
        ),
        counts,
    )
    order = ak.argsort(muon["pt"], axis=1, ascending=False, stable=True)
    muon = muon[order]
    jets = _jets(flat, visible, events, detector, rng)
    jet_index, jet_muons = _match_jets(muon, jets, detector.jet_radius)
    muon = ak.with_field(muon, ak.values_astype(jet_index, np.int32), "jetIdx")
    jets = ak.with_field(jets, ak.values_astype(jet_muons, np.int32), "nMuons")
    # missing transverse momentum
    in_met = visible & (np.abs(flat.eta) < detector.jet_eta_max) & np.isin(flat.event, events)
    position = np.searchsorted(events, flat.event[in_met])
    sum_px = np.bincount(position, weights=flat.p[in_met, 0], minlength=len(events))
    sum_py = np.bincount(position, weights=flat.p[in_met, 1], minlength=len(events))
    sum_et = np.bincount(position, weights=flat.pt[in_met], minlength=len(events))
    width = detector.met_resolution * np.sqrt(sum_et)
    met_x = -sum_px + width * rng.standard_normal(len(events))
    met_y = -sum_py + width * rng.standard_normal(len(events))
    return ak.zip(
        {
            "Muon": muon,
            "Jet": jets,
            "MET_pt": np.hypot(met_x, met_y),
            "MET_phi": np.arctan2(met_y, met_x),
        },
        depth_limit=1,
    )


def _select(
    prt: ak.Array,
    visibility: Visibility,
    detector: DetectorModel,
    min_muons: int,
    rng: np.random.Generator,
) -> tuple[ak.Array, np.ndarray]:
    """The events of one batch with at least ``min_muons`` stored muons and their batch indices."""
    flat = FlatParticles(prt)
    final = flat.status > 0
    visible = final & ~np.isin(np.abs(flat.id), visibility.invisible_ids(flat.id)) & (flat.pt > 0)
    candidates = np.flatnonzero(final & (np.abs(flat.id) == 13) & (np.abs(flat.eta) < detector.muon_eta_max))
    smeared = flat.pt[candidates] * (
        1.0 + detector.relative_pt_resolution(flat.eta[candidates]) * rng.standard_normal(len(candidates))
    )
    stored = smeared > detector.muon_min_pt
    muons, muon_pt = candidates[stored], smeared[stored]
    n_muons = np.bincount(flat.event[muons], minlength=len(prt))
    events = np.flatnonzero(n_muons >= min_muons)
    keep = np.isin(flat.event[muons], events)
    if not len(events):
        return ak.Array([]), events
    return _build_events(flat, visible, muons[keep], muon_pt[keep], events, detector, rng), events


_RECORD_FIELDS = ("id", "status", "mother1", "daughter1", "daughter2")
_MOMENTUM_FIELDS = ("px", "py", "pz", "e")
_VERTEX_FIELDS = ("xProd", "yProd", "zProd", "tProd")


def _particle_records(events: list[dict[str, np.ndarray]]) -> ak.Array:
    """Events read off Pythia's event record, in the layout of ``Pythia.nextBatch(...)["prt"]``."""
    counts = [len(e["id"]) for e in events]
    column = {k: np.concatenate([e[k] for e in events]) for k in (*_RECORD_FIELDS, "p", "v")}
    flat = {k: column[k] for k in _RECORD_FIELDS}
    flat["p"] = ak.zip({k: column["p"][:, j] for j, k in enumerate(_MOMENTUM_FIELDS)})
    flat["vProd"] = ak.zip({k: column["v"][:, j] for j, k in enumerate(_MOMENTUM_FIELDS)})
    return ak.unflatten(ak.zip(flat, depth_limit=1), counts)


def _read_event(event: Any) -> dict[str, np.ndarray]:
    """Every particle of a ``pythia8mc.Event`` as numpy arrays (ids, history, momenta, vertices)."""
    particles = [event[i] for i in range(event.size())]
    out = {k: np.array([getattr(q, k)() for q in particles], dtype=np.int32) for k in _RECORD_FIELDS}
    out["p"] = np.array([[q.px(), q.py(), q.pz(), q.e()] for q in particles], dtype=np.float64)
    out["v"] = np.array([[q.xProd(), q.yProd(), q.zProd(), q.tProd()] for q in particles], dtype=np.float64)
    return out


class _DecayRepeater:
    """Redoes the decays of the card's ``repeated_decays`` on each event Pythia generates.

    ``configure`` (before ``Pythia.init``) stops those species from decaying; :meth:`next` generates
    one event and returns its repeats with enough muon candidates. Events whose muon candidates outside
    the repeated decays are already ``min_muons`` are left out (counted in ``n_left_out``).
    """

    def __init__(self, card: ProcessCard, detector: DetectorModel, min_muons: int) -> None:
        self.species = tuple(abs(pid) for pid in card.repeated_decays)
        self.repeats = card.decay_repeats
        self.pt_min = LOOSE_PT_FRACTION * detector.muon_min_pt
        self.eta_max = detector.muon_eta_max
        self.min_muons = min_muons
        self.n_left_out = 0

    def configure(self, pythia: Any) -> None:
        for pid in self.species:
            if not pythia.particleData.isParticle(pid):
                raise ConfigError(f"PDG id {pid} is not a particle Pythia knows")
            pythia.particleData.mayDecay(pid, False)

    def _is_candidate(self, particle: Any) -> bool:
        """A final muon inside the acceptance above the loose pT threshold."""
        return (
            particle.idAbs() == 13
            and particle.isFinal()
            and particle.pT() > self.pt_min
            and abs(particle.eta()) < self.eta_max
        )

    def _muons(self, event: Any, start: int, stop: int) -> int:
        return sum(self._is_candidate(event[i]) for i in range(start, stop))

    def next(self, pythia: Any) -> list[dict[str, np.ndarray]] | None:
        """Generate one event; its repeats with ``min_muons`` muon candidates (``None`` if Pythia failed)."""
        if not pythia.next():
            return None
        event = pythia.event
        size = event.size()
        repeated = set(self.species)
        undecayed = []
        before = 0
        for i in range(size):
            q = event[i]
            pid = q.idAbs()
            if pid in repeated and q.isFinal():
                undecayed.append((i, q.status()))
            elif self._is_candidate(q):
                before += 1
        if before >= self.min_muons:
            # The muons outside the repeated decay chains pass by themselves (an Upsilon formed from a
            # g -> b bbar splitting in a c cbar event): every repeat would pass with the same pair, one
            # clump of identical dimuons. Such events are left out and counted.
            self.n_left_out += 1
            return []
        if not undecayed:  # nothing to repeat, and too few muons without repeats
            return []
        kept = []
        data, rndm = pythia.particleData, pythia.rndm
        event.saveSize()
        for pid in self.species:
            data.mayDecay(pid, True)
        try:
            for _ in range(self.repeats):
                event.restoreSize()
                for i, status in undecayed:
                    particle = event[i]
                    particle.status(status)
                    particle.daughters(0, 0)
                    particle.tau(particle.tau0() * rndm.exp())  # a new lifetime, as Pythia draws it
                if not pythia.moreDecays():
                    continue
                if before + self._muons(event, size, event.size()) >= self.min_muons:
                    kept.append(_read_event(event))
        finally:
            for pid in self.species:
                data.mayDecay(pid, False)
        return kept


def _repeated_batch(
    pythia: Any, repeater: _DecayRepeater, n_generated: int
) -> tuple[ak.Array, np.ndarray, int]:
    """Repeats with muon candidates from as many events as it takes to fill a batch (or 5000 events):
    their particle records, the generated event of each (numbered from ``n_generated / repeats``) and
    the repeats generated."""
    kept: list[dict[str, np.ndarray]] = []
    parent: list[int] = []
    first = n_generated // repeater.repeats
    n_events = tries = 0
    while len(kept) < _REPEAT_BATCH and n_events < 5000 and tries < 20_000:
        tries += 1
        repeats = repeater.next(pythia)
        if repeats is None:
            continue
        kept.extend(repeats)
        parent.extend([first + n_events] * len(repeats))
        n_events += 1
    records = _particle_records(kept) if kept else ak.Array([])
    return records, np.asarray(parent, dtype=np.int64), n_events * repeater.repeats


def generate_dimuon_chunk(
    card: ProcessCard,
    n_events: int,
    seed: int,
    *,
    detector: DetectorModel | None = None,
    min_muons: int = 2,
    batch_size: int = 200,
) -> DimuonChunk:
    """Generate events of ``card`` until ``n_events`` have at least ``min_muons`` stored muons.

    Parameters
    ----------
    card
        The process; its ``repeated_decays`` are redone ``card.decay_repeats`` times per generated event.
    n_events
        Number of selected events to return.
    seed
        Pythia's seed for this chunk (0 .. 900 000 000); the detector model's random numbers are drawn
        from a numpy generator seeded with it too.
    detector
        The detector model; defaults when ``None``.
    min_muons
        Stored muons an event needs to be kept (0 keeps every event).
    batch_size
        Events of the first ``nextBatch`` call (cards without repeated decays); later ones follow the
        observed efficiency.
    """
    if n_events < 0:
        raise ConfigError(f"the number of events must not be negative, got {n_events!r}")
    if min_muons < 0:
        raise ConfigError(f"min_muons must not be negative, got {min_muons!r}")
    detector = detector or DetectorModel()
    repeater = _DecayRepeater(card, detector, min_muons) if card.repeated_decays else None
    pythia = make_pythia(card, seed, configure=None if repeater is None else repeater.configure)
    visibility = Visibility(pythia)
    rng = np.random.default_rng(seed)
    selected: list[ak.Array] = []
    parents = [np.zeros(0, dtype=np.int64)]
    n_generated = n_passed = 0
    while n_passed < n_events:
        if repeater is None:
            batch_size = next_batch_size(n_events, n_generated, n_passed, batch_size)
            prt = pythia.nextBatch(batch_size)["prt"]
            batch_parents = n_generated + np.arange(len(prt))
            batch_generated = len(prt)
        else:
            prt, batch_parents, batch_generated = _repeated_batch(pythia, repeater, n_generated)
        if batch_generated == 0:
            raise RuntimeError(f"Pythia produced no events for process {card.name!r} (seed {seed})")
        n_generated += batch_generated
        if len(prt) == 0:
            continue
        events, index = _select(prt, visibility, detector, min_muons, rng)
        n_passed += len(index)
        if len(index):
            selected.append(events)
            parents.append(batch_parents[index])
    info = pythia.infoPython()
    return DimuonChunk(
        events=ak.concatenate(selected)[:n_events] if selected else ak.Array([]),
        n_generated=n_generated,
        n_passed=n_passed,
        parents=np.concatenate(parents)[:n_events],
        n_left_out=0 if repeater is None else repeater.n_left_out,
        sigma_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
    )

"""The Pythia 8 event loop for dimuon samples: from generated events to CMS NanoAOD-like events.

:func:`generate_dimuon_chunk` runs one seeded Pythia instance until the requested number of events have
at least two stored muons after the detector model (:mod:`bumphunt.physics.muon_detector`). Events come
from ``Pythia.nextBatch`` as awkward arrays and every step is vectorized over a batch.

Each event is a record with the NanoAOD branches (``Muon_*``, ``Jet_*``, ``MET_*``) grouped as ``Muon``
and ``Jet`` collections, and ``decays``, its counts of biased decays, from which ``genWeight`` is
computed once the whole run is calibrated (:mod:`bumphunt.generate.decay_bias`);
:mod:`bumphunt.io.nanoaod_writer` writes them out.
``Muon_genPartFlav`` follows NanoAOD: 1 prompt, 15 from a prompt tau, 5 from a b hadron (bottomonium
included), 4 from a c hadron, 3 from a light hadron.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.generate.cards import ProcessCard
from bumphunt.generate.decay_bias import DEFAULT_MUON_FRACTION, MuonDecayBias, bias_muon_decays
from bumphunt.generate.pythia_loop import Visibility, make_pythia, next_batch_size
from bumphunt.physics.jets import cluster_jets
from bumphunt.physics.muon_detector import DetectorModel, impact_parameters, relative_isolation

__all__ = ["DimuonChunk", "generate_dimuon_chunk"]

_MM_TO_CM = 0.1
_MAX_ANCESTRY = 60
#: NanoAOD genPartFlav codes.
_PROMPT, _TAU, _BOTTOM, _CHARM, _LIGHT = 1, 15, 5, 4, 3


@dataclass
class DimuonChunk:
    """Selected events of one chunk and the counts behind them.

    Attributes
    ----------
    events
        One record per event: ``Muon`` and ``Jet`` collections, ``MET_pt``, ``MET_phi`` and ``decays``,
        the flattened ``(n_species, 2)`` counts of :meth:`MuonDecayBias.decay_counts`.
    bias
        The decay-table enhancement.
    decay_totals
        ``(n_species, 2)`` biased-decay counts over every generated event (for the calibration).
    passed_decays
        ``(n_passed, n_species, 2)`` counts of every event that passed, surplus included (for the
        selected cross section).
    n_generated
        Events Pythia generated.
    n_passed
        Events that passed (>= the number returned).
    sigma_mb, sigma_err_mb
        Pythia's cross-section estimate of the process and its error (mb).
    """

    events: ak.Array
    bias: MuonDecayBias
    decay_totals: np.ndarray
    passed_decays: np.ndarray
    n_generated: int
    n_passed: int
    sigma_mb: float
    sigma_err_mb: float


class _Flat:
    """The particles of a batch as flat numpy arrays (global indices) with per-event offsets."""

    def __init__(self, prt: ak.Array) -> None:
        counts = ak.to_numpy(ak.num(prt, axis=1)).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.event = np.repeat(np.arange(len(counts)), counts)
        flat = ak.flatten(prt)
        self.id = ak.to_numpy(flat["id"]).astype(np.int64)
        self.status = ak.to_numpy(flat["status"])
        self.mother = ak.to_numpy(flat["mother1"]).astype(np.int64)
        self.p = np.column_stack([ak.to_numpy(flat["p"][k]) for k in ("px", "py", "pz", "e")])
        vertex = ak.fill_none(flat["vProd"], {"px": 0.0, "py": 0.0, "pz": 0.0, "e": 0.0})
        self.vertex = np.column_stack([ak.to_numpy(vertex[k]) for k in ("px", "py", "pz")])
        self.pt = np.hypot(self.p[:, 0], self.p[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.eta = np.arcsinh(self.p[:, 2] / self.pt)
        self.phi = np.arctan2(self.p[:, 1], self.p[:, 0])


def _heaviest_quark(pid: np.ndarray) -> np.ndarray:
    """Heaviest quark flavour in hadron codes (0 for anything else)."""
    pid = np.abs(pid)
    digits = np.stack([(pid // 10) % 10, (pid // 100) % 10, (pid // 1000) % 10])
    hadron = (pid >= 100) & ((pid // 10) % 10 > 0) & ~((pid >= 1_000_000) & ((pid // 100_000) % 10 == 9))
    return np.where(hadron, np.where(digits <= 6, digits, 0).max(axis=0), 0)


def gen_flavour(flat: _Flat, muons: np.ndarray) -> np.ndarray:
    """NanoAOD ``genPartFlav`` of the muons at global indices ``muons``, from their mother chains."""
    flavour = np.zeros(len(muons), dtype=np.int64)  # heaviest hadron flavour met; -1 light hadron
    tau = np.zeros(len(muons), dtype=bool)
    current = muons.copy()
    alive = np.ones(len(muons), dtype=bool)
    for _ in range(_MAX_ANCESTRY):
        if not alive.any():
            break
        mother = flat.mother[current]
        alive &= mother > 0
        current = np.where(alive, flat.offsets[flat.event[current]] + mother, current)
        pid = np.abs(flat.id[current])
        parton = (pid <= 8) | (pid == 21) | ((pid >= 81) & (pid <= 99)) | (pid == 2212)
        alive &= ~parton
        heavy = np.where(alive, _heaviest_quark(pid), 0)
        flavour = np.maximum(flavour, heavy)
        hadron = alive & (pid >= 100) & (heavy > 0)
        flavour = np.where(hadron & (heavy < 4) & (flavour == 0), -1, flavour)
        tau |= alive & (pid == 15)
    out = np.full(len(muons), _PROMPT)
    out[tau] = _TAU
    out[flavour == -1] = _LIGHT
    out[(flavour > 0) & (flavour < 4)] = _LIGHT
    out[flavour == 4] = _CHARM
    out[flavour >= 5] = _BOTTOM
    return out


def _jets(
    flat: _Flat, visible: np.ndarray, events: np.ndarray, detector: DetectorModel, rng: np.random.Generator
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
    flat: _Flat,
    visible: np.ndarray,
    muons: np.ndarray,
    muon_pt: np.ndarray,
    events: np.ndarray,
    decays: np.ndarray,
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
            "decays": ak.from_regular(decays.reshape(len(events), decays.shape[1] * 2)),
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
    bias: MuonDecayBias,
    detector: DetectorModel,
    min_muons: int,
    rng: np.random.Generator,
) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """The events of one batch with at least ``min_muons`` stored muons, their biased-decay counts and
    the batch's biased-decay totals."""
    flat = _Flat(prt)
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
    decays = bias.decay_counts(prt)
    totals = decays.sum(axis=0)
    if not len(events):
        return ak.Array([]), decays[:0], totals
    built = _build_events(flat, visible, muons[keep], muon_pt[keep], events, decays[events], detector, rng)
    return built, decays[events], totals


def generate_dimuon_chunk(
    card: ProcessCard,
    n_events: int,
    seed: int,
    *,
    detector: DetectorModel | None = None,
    muon_fraction: float = DEFAULT_MUON_FRACTION,
    min_muons: int = 2,
    batch_size: int = 200,
) -> DimuonChunk:
    """Generate events of ``card`` until ``n_events`` have at least ``min_muons`` stored muons.

    Parameters
    ----------
    card
        The process; its ``enhanced_decays`` get muon channels of probability ``muon_fraction``.
    n_events
        Number of selected events to return.
    seed
        Pythia's seed for this chunk (0 .. 900 000 000); the detector model's random numbers are drawn
        from a numpy generator seeded with it too.
    detector
        The detector model; defaults when ``None``.
    muon_fraction
        Probability of the muon channels of enhanced species (:mod:`bumphunt.generate.decay_bias`).
    min_muons
        Stored muons an event needs to be kept (0 keeps every event).
    batch_size
        Events of the first ``nextBatch`` call; later ones follow the observed efficiency.
    """
    if n_events < 0:
        raise ConfigError(f"the number of events must not be negative, got {n_events!r}")
    if min_muons < 0:
        raise ConfigError(f"min_muons must not be negative, got {min_muons!r}")
    detector = detector or DetectorModel()
    holder: dict[str, MuonDecayBias] = {}

    def configure(pythia: object) -> None:
        holder["bias"] = bias_muon_decays(pythia, card.enhanced_decays, muon_fraction)  # type: ignore[arg-type]

    pythia = make_pythia(card, seed, configure=configure)
    bias = holder["bias"]
    visibility = Visibility(pythia)
    rng = np.random.default_rng(seed)
    selected: list[ak.Array] = []
    passed_decays = [np.zeros((0, len(bias.species), 2), dtype=np.int32)]
    totals = np.zeros((len(bias.species), 2), dtype=np.int64)
    n_generated = n_passed = 0
    while n_passed < n_events:
        batch_size = next_batch_size(n_events, n_generated, n_passed, batch_size)
        batch = pythia.nextBatch(batch_size)
        if len(batch) == 0:
            raise RuntimeError(f"Pythia produced no events for process {card.name!r} (seed {seed})")
        events, decays, batch_totals = _select(batch["prt"], visibility, bias, detector, min_muons, rng)
        n_generated += len(batch)
        n_passed += len(decays)
        totals += batch_totals
        if len(decays):
            selected.append(events)
            passed_decays.append(decays)
    info = pythia.infoPython()
    events = ak.concatenate(selected)[:n_events] if selected else ak.Array([])
    return DimuonChunk(
        events=events,
        bias=bias,
        decay_totals=totals,
        passed_decays=np.concatenate(passed_decays),
        n_generated=n_generated,
        n_passed=n_passed,
        sigma_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
    )

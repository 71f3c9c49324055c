"""The Pythia 8 event loop and the dijet selection: from generated events to LHCO-format rows.

One call of :func:`generate_chunk` initializes Pythia with one seed and generates until a given number of
events pass the selection. Events come from ``Pythia.nextBatch`` as awkward arrays, and particle
selection, clustering and N-subjettiness run on whole batches, so the Python overhead per event is
small next to Pythia's own time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import awkward as ak
import numpy as np

from bumphunt._native import quiet_stdout
from bumphunt.errors import ConfigError, DependencyError
from bumphunt.generate.cards import BEAM_SETTINGS, ProcessCard
from bumphunt.io.lhco import FEATURE_COLUMNS, MAX_CONSTITUENTS
from bumphunt.physics.dijet import lhco_jet_rows

if TYPE_CHECKING:
    import pythia8mc

__all__ = [
    "ChunkResult",
    "DijetSelection",
    "Visibility",
    "generate_chunk",
    "make_pythia",
    "next_batch_size",
    "pad_constituents",
    "pythia_settings",
    "pythia_version",
    "visible_particles",
]


#: Most events generated in one ``nextBatch`` call (a QCD batch of 1000 events takes about 1 GB).
MAX_BATCH = 1000
#: Largest seed Pythia's ``Random:seed`` accepts.
_MAX_PYTHIA_SEED = 900_000_000


@dataclass(frozen=True)
class DijetSelection:
    """Particle and event selection of the LHC Olympics R&D dataset.

    Attributes
    ----------
    eta_max
        Visible final-state particles with |eta| below this enter jets and the constituent list.
    jet_radius
        Anti-kT radius R.
    jet_min_pt
        Jets below this pT (GeV) are not kept.
    trigger_pt
        An event is kept when its leading jet has pT above this (GeV) and it has a second jet.
    max_constituents
        Length of the zero-padded constituent list of the LHCO format.
    """

    eta_max: float = 2.5
    jet_radius: float = 1.0
    jet_min_pt: float = 20.0
    trigger_pt: float = 1200.0
    max_constituents: int = MAX_CONSTITUENTS

    def __post_init__(self) -> None:
        for name in ("eta_max", "jet_radius", "jet_min_pt", "trigger_pt"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"selection setting {name} must be positive, got {value!r}")
        if self.max_constituents < 1:
            raise ConfigError(f"max_constituents must be at least 1, got {self.max_constituents!r}")


@dataclass
class ChunkResult:
    """Events of one chunk that passed the selection, and the counts behind them.

    Attributes
    ----------
    features
        ``(n, 14)`` float64 in the order of :data:`FEATURE_COLUMNS`.
    constituents
        ``(n, max_constituents, 3)`` float64 (pT [GeV], eta, phi), zero padded; or ``None``.
    pthat
        ``(n,)`` pT of the hard process (GeV); not part of the LHCO format.
    n_generated
        Events Pythia generated to obtain them (including any surplus passed events cut off at the end).
    n_passed
        Events among those that passed the selection (>= n).
    sigma_mb, sigma_err_mb
        Pythia's estimate of the process cross section and its statistical error (mb).
    """

    features: np.ndarray
    constituents: np.ndarray | None
    pthat: np.ndarray
    n_generated: int
    n_passed: int
    sigma_mb: float
    sigma_err_mb: float


def _pythia_module() -> ModuleType:
    try:
        import pythia8mc
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise DependencyError(
            "event generation needs Pythia 8: pip install 'bumphunt[generate]' (pythia8mc==8.317.2)"
        ) from err
    return pythia8mc


@functools.cache
def pythia_version() -> str:
    """Version of the installed Pythia 8, e.g. ``"8.317"`` (asked once per process)."""
    pythia = _pythia_module().Pythia("", False)
    return f"{pythia.settings.parm('Pythia:versionNumber'):.3f}"


def pythia_settings(card: ProcessCard) -> tuple[str, ...]:
    """Every ``readString`` line :func:`make_pythia` gives Pythia for ``card``, except the seed."""
    return (*BEAM_SETTINGS, *card.settings, "Print:quiet = on", "Next:numberCount = 0")


def make_pythia(
    card: ProcessCard, seed: int, *, configure: Callable[[pythia8mc.Pythia], None] | None = None
) -> pythia8mc.Pythia:
    """An initialized ``pythia8mc.Pythia`` for ``card``, seeded with ``seed`` (0 .. 900 000 000).

    ``configure`` is called with the Pythia instance after the settings are read and before ``init``
    (to change particle data, for instance).
    """
    if not 0 <= seed <= _MAX_PYTHIA_SEED:
        raise ConfigError(f"Pythia seed must lie in [0, {_MAX_PYTHIA_SEED}], got {seed!r}")
    pythia = _pythia_module().Pythia("", False)
    for line in (*pythia_settings(card), "Random:setSeed = on", f"Random:seed = {seed}"):
        if not pythia.readString(line):
            raise ConfigError(f"Pythia rejected the setting {line!r} of process {card.name!r}")
    if configure is not None:
        configure(pythia)
    with quiet_stdout():
        ok = pythia.init()
    if not ok:
        raise ConfigError(f"Pythia failed to initialize process {card.name!r} with {card.settings}")
    return pythia


class Visibility:
    """Cached ``ParticleData.isVisible`` for the particle ids met so far."""

    def __init__(self, pythia: pythia8mc.Pythia) -> None:
        self._data = pythia.particleData
        self._invisible: set[int] = set()
        self._known: set[int] = set()

    def invisible_ids(self, ids: np.ndarray) -> np.ndarray:
        for pid in np.unique(np.abs(ids)).tolist():
            if pid not in self._known:
                self._known.add(pid)
                if not self._data.isVisible(pid):
                    self._invisible.add(pid)
        return np.fromiter(self._invisible, dtype=np.int64, count=len(self._invisible))


def visible_particles(batch: ak.Array, visibility: Visibility, eta_max: float) -> ak.Array:
    """The final-state visible particles with ``|eta| < eta_max`` of a ``nextBatch`` batch, as
    ``events * var * {pt, eta, phi}`` (massless; GeV, -, rad)."""
    prt = batch["prt"]
    counts = ak.to_numpy(ak.num(prt, axis=1))
    flat = ak.flatten(prt)
    ids = ak.to_numpy(flat["id"])
    mom = flat["p"]
    px, py, pz = (ak.to_numpy(mom[k]) for k in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(pz / pt)
    keep = (
        (ak.to_numpy(flat["status"]) > 0)
        & ~np.isin(np.abs(ids), visibility.invisible_ids(ids))
        & (pt > 0)
        & (np.abs(eta) < eta_max)
    )
    return ak.unflatten(
        ak.zip({"pt": pt[keep], "eta": eta[keep], "phi": np.arctan2(py, px)[keep]}),
        np.bincount(np.repeat(np.arange(len(counts)), counts)[keep], minlength=len(counts)),
    )


def _select(
    batch: ak.Array, visibility: Visibility, selection: DijetSelection, want_constituents: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Selection and features of one batch: (features, constituents or None, index of passed events)."""
    particles = visible_particles(batch, visibility, selection.eta_max)
    rows, selected = lhco_jet_rows(
        particles,
        radius=selection.jet_radius,
        min_pt=selection.jet_min_pt,
        trigger_pt=selection.trigger_pt,
    )
    padded = None
    if want_constituents:
        padded = pad_constituents(particles[selected], selection.max_constituents)
    return rows, padded, np.flatnonzero(selected)


def next_batch_size(n_wanted: int, n_generated: int, n_passed: int, previous: int) -> int:
    """Events for the next ``nextBatch`` call: enough for the ``n_wanted - n_passed`` missing events at
    the efficiency seen so far (plus 10 %), doubling while nothing has passed; 10 to :data:`MAX_BATCH`."""
    if n_passed:
        wanted = 1.1 * (n_wanted - n_passed) * n_generated / n_passed + 10
        return int(np.clip(wanted, 10, MAX_BATCH))
    if n_generated:
        return min(2 * previous, MAX_BATCH)
    return min(previous, max(n_wanted, 10))


def pad_constituents(particles: ak.Array, size: int) -> np.ndarray:
    """The ``size`` highest-pT particles of each event as ``(n, size, 3)`` (pT, eta, phi), zero padded."""
    order = ak.argsort(particles["pt"], axis=1, ascending=False, stable=True)
    leading = particles[order][:, :size]
    padded = ak.fill_none(ak.pad_none(leading, size, axis=1, clip=True), {"pt": 0.0, "eta": 0.0, "phi": 0.0})
    return np.stack([ak.to_numpy(padded[k]) for k in ("pt", "eta", "phi")], axis=-1)


def generate_chunk(
    card: ProcessCard,
    n_events: int,
    seed: int,
    *,
    selection: DijetSelection | None = None,
    constituents: bool = False,
    batch_size: int = 200,
) -> ChunkResult:
    """Generate events of ``card`` until ``n_events`` pass ``selection``.

    Parameters
    ----------
    card
        The process.
    n_events
        Number of selected events to return.
    seed
        Pythia's random seed for this chunk (0 .. 900 000 000).
    selection
        The particle and event selection; LHCO R&D defaults when ``None``.
    constituents
        Also return the zero-padded constituent lists.
    batch_size
        Events per ``nextBatch`` call at the start; later batches are sized from the observed
        selection efficiency (at most :data:`MAX_BATCH` events, to bound memory).
    """
    if n_events < 0:
        raise ConfigError(f"the number of events must not be negative, got {n_events!r}")
    selection = selection or DijetSelection()
    pythia = make_pythia(card, seed)
    visibility = Visibility(pythia)
    empty_features = np.zeros((0, len(FEATURE_COLUMNS)))
    empty_constituents = np.zeros((0, selection.max_constituents, 3))
    features, padded, pthat = [], [], []
    n_generated = n_passed = 0
    while n_passed < n_events:
        batch_size = next_batch_size(n_events, n_generated, n_passed, batch_size)
        batch = pythia.nextBatch(batch_size)
        if len(batch) == 0:
            raise RuntimeError(f"Pythia produced no events for process {card.name!r} (seed {seed})")
        rows, cons, index = _select(batch, visibility, selection, constituents)
        n_generated += len(batch)
        n_passed += len(index)
        features.append(rows)
        pthat.append(np.sqrt(ak.to_numpy(batch["info"]["pT2Hat"]))[index])
        if constituents:
            padded.append(cons)
    info = pythia.infoPython()
    return ChunkResult(
        features=np.concatenate([empty_features, *features])[:n_events],
        constituents=np.concatenate([empty_constituents, *padded])[:n_events] if constituents else None,
        pthat=np.concatenate([np.zeros(0), *pthat])[:n_events],
        n_generated=n_generated,
        n_passed=n_passed,
        sigma_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
    )

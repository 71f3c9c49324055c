"""Reader of the MOD HDF5 format of the energyflow CMS Open Data jet samples (read with h5py).

Layout expected (as written by ``energyflow.datasets.mod.MODDataset.save``; one row per jet):

- ``/jets_i`` (int64, ``n_jets x k_i``) with attribute ``cols`` naming the columns, among them ``fn``
  (file number), ``rn`` (run), ``lbn`` (luminosity block), ``evn`` (event), ``npv``, ``quality``;
- ``/jets_f`` (float64, ``n_jets x k_f``) with attribute ``cols``: ``jet_pt`` (GeV), ``jet_y``
  (rapidity), ``jet_phi``, ``jet_m`` (GeV), ``jet_eta``, ``jec`` (jet energy correction factor; CMS
  and SIM only), ..., ``weight`` (cross section per jet, nb);
- ``/pfcs`` (float64, ``n_particles x 6``, ``cols``: pt, y, phi, m, pid, vertex) with ``/pfcs_index``
  (``n_jets + 1`` offsets: the particles of jet ``i`` are rows ``pfcs_index[i]:pfcs_index[i+1]``);
  ``/gens`` and ``/gens_index`` likewise for generator-level particles (SIM/GEN only);
- ``/filenames``.

Jets of one collision event share ``(fn, rn, lbn, evn)``; the readers group them by these numbers.
No energyflow import is needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import awkward as ak
import numpy as np
import pandas as pd
import vector

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.events import EventSet, NonFinitePolicy
from bumphunt.io._source import check_columns, open_h5py

__all__ = [
    "EVENT_COLUMNS",
    "ModDijets",
    "ModJets",
    "read_mod_dijet_particles",
    "read_mod_dijets",
    "read_mod_jets",
]

#: The ``jets_i`` columns that together identify a collision event.
EVENT_COLUMNS = ("fn", "rn", "lbn", "evn")
_WHAT = "the MOD HDF5 layout: datasets jets_i, jets_f [pfcs, pfcs_index]"


@dataclass(frozen=True)
class ModJets:
    """The jets of a MOD HDF5 file.

    Attributes
    ----------
    jets
        One row per jet, in file order: the ``jets_i`` and ``jets_f`` columns under their names, and
        ``event``: the index of the jet's collision event (0 .. n_events - 1, in order of first
        appearance).
    particles
        ``jets * var * {pt, y, phi, m, pid, vertex}`` aligned with the rows of ``jets``, or ``None``.
    source
        The file.
    """

    jets: pd.DataFrame
    particles: ak.Array | None
    source: str

    @property
    def n_events(self) -> int:
        """Number of distinct collision events."""
        return int(self.jets["event"].max()) + 1 if len(self.jets) else 0


def _columns(path: Path, dataset, name: str) -> list[str]:
    try:
        cols = dataset.attrs["cols"]
    except KeyError:
        raise DataFormatError(f"file {str(path)!r}: dataset {name!r} has no 'cols' attribute") from None
    return [c.decode() if isinstance(c, bytes) else str(c) for c in cols]


def read_mod_jets(
    path: str | os.PathLike[str], *, particles: Literal["pfcs", "gens"] | None = "pfcs"
) -> ModJets:
    """Read the jets of a MOD HDF5 file, their particles, and group them by collision event.

    Parameters
    ----------
    path
        The HDF5 file.
    particles
        ``"pfcs"`` (reconstructed particle-flow candidates), ``"gens"`` (generator-level particles) or
        ``None`` (jets only).

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing file, a non-HDF5 or truncated file, or missing datasets or columns.
    """
    if particles not in ("pfcs", "gens", None):
        raise ConfigError(f"particles must be 'pfcs', 'gens' or None, got {particles!r}")
    path, handle = open_h5py(path, _WHAT)
    with handle:
        check_columns(path, handle.keys(), ["jets_i", "jets_f"], kind="dataset")
        int_cols = _columns(path, handle["jets_i"], "jets_i")
        float_cols = _columns(path, handle["jets_f"], "jets_f")
        check_columns(path, int_cols, EVENT_COLUMNS[1:], kind="jets_i column")
        jets = pd.concat(
            [
                pd.DataFrame(handle["jets_i"][:], columns=int_cols),
                pd.DataFrame(handle["jets_f"][:], columns=float_cols),
            ],
            axis=1,
        )
        constituents = None
        if particles is not None:
            check_columns(path, handle.keys(), [particles, f"{particles}_index"], kind="dataset")
            constituents = _particles(path, handle, particles, len(jets))
    keys = jets[[c for c in EVENT_COLUMNS if c in jets.columns]].to_numpy()
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    # number events in order of first appearance in the file
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    jets["event"] = rank[inverse.reshape(-1)]
    return ModJets(jets, constituents, os.fspath(path))


def _particles(path: Path, handle, name: str, n_jets: int) -> ak.Array:
    index = np.asarray(handle[f"{name}_index"][:], dtype=np.int64)
    table = handle[name][:]
    cols = _columns(path, handle[name], name)
    if len(index) != n_jets + 1 or index[0] != 0 or index[-1] != len(table) or np.any(np.diff(index) < 0):
        raise DataFormatError(
            f"file {str(path)!r}: {name}_index must hold {n_jets + 1} increasing offsets from 0 to "
            f"{len(table)}; got {len(index)} values from {index[0] if len(index) else '-'} "
            f"to {index[-1] if len(index) else '-'}"
        )
    records = ak.zip({c: table[:, i] for i, c in enumerate(cols)})
    return ak.unflatten(records, np.diff(index))


def _two_hardest(mod: ModJets, corrected: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Rows of the hardest and second-hardest jet of each event with two or more jets, the jet count
    of every event, and ``momenta(rows)``: the (corrected) four-momenta of jet rows."""
    jets = mod.jets
    check_columns(
        Path(mod.source), jets.columns, ["jet_pt", "jet_y", "jet_phi", "jet_m"], kind="jets_f column"
    )
    scale = jets["jec"].to_numpy() if corrected and "jec" in jets.columns else np.ones(len(jets))
    pt = jets["jet_pt"].to_numpy() * scale
    order = np.lexsort((-pt, jets["event"].to_numpy()))
    event = jets["event"].to_numpy()[order]
    rank = np.arange(len(order)) - np.searchsorted(event, event, side="left")
    counts = np.bincount(event, minlength=mod.n_events)
    lead = order[(rank == 0) & (counts[event] >= 2)]
    sub = order[(rank == 1)]

    def momenta(rows: np.ndarray) -> Any:
        """Four-momenta from (pT, rapidity, phi, m): E = mT cosh y, pz = mT sinh y."""
        rapidity = jets["jet_y"].to_numpy()[rows]
        transverse_mass = np.hypot(pt[rows], jets["jet_m"].to_numpy()[rows] * scale[rows])
        return vector.array(
            {
                "pt": pt[rows],
                "phi": jets["jet_phi"].to_numpy()[rows],
                "pz": transverse_mass * np.sinh(rapidity),
                "E": transverse_mass * np.cosh(rapidity),
            }
        )

    return lead, sub, counts, momenta


@dataclass(frozen=True)
class ModDijets:
    """The events of a MOD file with two or more jets: dijet mass and the two hardest jets' particles.

    Attributes
    ----------
    mass
        Dijet mass of each event (GeV).
    particles
        ``events * 2 * var * {pt, y, phi, ...}``: the particles of the hardest and the second-hardest jet.
    source, kind
        The file, and which particles were read (``"pfcs"`` or ``"gens"``).
    """

    mass: np.ndarray
    particles: ak.Array
    source: str
    kind: str


def read_mod_dijet_particles(
    path: str | os.PathLike[str],
    *,
    particles: Literal["auto", "pfcs", "gens"] = "auto",
    corrected: bool = True,
) -> ModDijets:
    """Dijet masses and the particles of the two hardest jets of each event with two or more jets.

    Parameters
    ----------
    path
        The MOD HDF5 file.
    particles
        ``"pfcs"``, ``"gens"``, or ``"auto"``: ``pfcs`` when the file has them (recorded and simulated
        data), else ``gens`` (generator level, as in generated files).
    corrected
        As in :func:`read_mod_dijets`.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the file lacks the jets or the particles datasets.
    """
    if particles == "auto":
        path_, handle = open_h5py(path, _WHAT)
        with handle:
            keys = set(handle.keys())
        particles = "pfcs" if "pfcs" in keys else "gens" if "gens" in keys else "pfcs"
        path = path_
    mod = read_mod_jets(path, particles=particles)
    lead, sub, _, momenta = _two_hardest(mod, corrected)
    jet_particles = cast(ak.Array, mod.particles)  # read with particles
    pairs = ak.concatenate([jet_particles[lead][:, None], jet_particles[sub][:, None]], axis=1)
    return ModDijets(np.asarray((momenta(lead) + momenta(sub)).mass), pairs, mod.source, particles)


def read_mod_dijets(
    path: str | os.PathLike[str],
    *,
    corrected: bool = True,
    nonfinite: NonFinitePolicy = "raise",
) -> EventSet:
    """The dijet mass of each collision event with two or more jets in a MOD HDF5 file.

    The two jets of highest (corrected) pT are combined from (pT, y, phi, m); with ``corrected`` the
    jet four-momenta are scaled by ``jec`` (when the file has it).

    Returns
    -------
    EventSet
        Mass = dijet mass (GeV); features ``j1_pt``, ``j1_y``, ``j1_m``, ``j2_pt``, ``j2_y``, ``j2_m``
        (j1 of higher pT); weight = the ``weight`` of the leading jet when the file has that column.
        ``provenance["n_events_one_jet"]`` counts the events skipped because they hold one jet.
    """
    mod = read_mod_jets(path, particles=None)
    jets = mod.jets
    lead, sub, counts, momenta = _two_hardest(mod, corrected)
    j1, j2 = momenta(lead), momenta(sub)
    features = np.column_stack([j1.pt, j1.rapidity, j1.mass, j2.pt, j2.rapidity, j2.mass])
    names = ("j1_pt", "j1_y", "j1_m", "j2_pt", "j2_y", "j2_m")
    provenance = {
        "source": mod.source,
        "format": "mod-hdf5",
        "jec_applied": bool(corrected and "jec" in jets.columns),
        "n_events_one_jet": int(np.count_nonzero(counts == 1)),
    }
    weight = jets["weight"].to_numpy()[lead] if "weight" in jets.columns else None
    return EventSet.from_arrays(
        np.asarray((j1 + j2).mass), features, names, weight=weight, provenance=provenance, nonfinite=nonfinite
    )

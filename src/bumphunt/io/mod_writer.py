"""Writing jets and their particles in the MOD HDF5 layout (:mod:`bumphunt.io.mod_hdf5` reads it back).

Datasets: ``jets_i`` (int64 columns ``fn, rn, lbn, evn, npv, quality``), ``jets_f`` (float64 columns
``jet_pt, jet_y, jet_phi, jet_m, jet_eta``), and the particles of each jet as ``<particles>`` (float64
columns ``pt, y, phi, m, pid, vertex``) with ``<particles>_index`` (offsets, one more than jets), each
with its ``cols`` attribute as energyflow writes them. Generated samples store generator-level
particles as ``gens``. The provenance is a JSON string in the root attribute
:data:`~bumphunt.events.PROVENANCE_KEY`. The file is written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from bumphunt._files import atomic_path
from bumphunt.errors import ConfigError
from bumphunt.events import PROVENANCE_KEY

__all__ = ["INT_COLUMNS", "JET_COLUMNS", "PARTICLE_COLUMNS", "write_mod_hdf5"]

INT_COLUMNS = ("fn", "rn", "lbn", "evn", "npv", "quality")
JET_COLUMNS = ("jet_pt", "jet_y", "jet_phi", "jet_m", "jet_eta")
PARTICLE_COLUMNS = ("pt", "y", "phi", "m", "pid", "vertex")


def write_mod_hdf5(
    path: str | os.PathLike[str],
    jets_i: np.ndarray,
    jets_f: np.ndarray,
    particles: ak.Array,
    provenance: dict[str, Any],
    *,
    name: str = "gens",
) -> Path:
    """Write jets and their particles to a MOD HDF5 file.

    Parameters
    ----------
    path
        The ``.h5`` file.
    jets_i, jets_f
        ``(n_jets, 6)`` integers (:data:`INT_COLUMNS`) and ``(n_jets, 5)`` floats (:data:`JET_COLUMNS`).
    particles
        ``n_jets * var * {pt, y, phi[, m, pid, vertex]}``; missing fields are written as 0.
    provenance
        Stored as JSON.
    name
        ``"gens"`` (generator level) or ``"pfcs"``.
    """
    import h5py

    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ConfigError(f"output file {str(path)!r}: a MOD HDF5 file needs the suffix .h5 or .hdf5")
    if name not in ("gens", "pfcs"):
        raise ConfigError(f"particles name must be 'gens' or 'pfcs', got {name!r}")
    n_jets = len(jets_i)
    if jets_i.shape != (n_jets, len(INT_COLUMNS)) or jets_f.shape != (n_jets, len(JET_COLUMNS)):
        raise ValueError(
            f"jets_i and jets_f must have shapes (n, 6) and (n, 5), got {jets_i.shape}, {jets_f.shape}"
        )
    if len(particles) != n_jets:
        raise ValueError(f"{len(particles)} particle lists for {n_jets} jets")
    counts = ak.to_numpy(ak.num(particles, axis=1)).astype(np.int64)
    flat = ak.flatten(particles)
    table = np.zeros((int(counts.sum()), len(PARTICLE_COLUMNS)))
    for k, column in enumerate(PARTICLE_COLUMNS):
        if column in flat.fields:
            table[:, k] = ak.to_numpy(flat[column])
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        for key, values, cols in (
            ("jets_i", np.asarray(jets_i, dtype=np.int64), INT_COLUMNS),
            ("jets_f", np.asarray(jets_f, dtype=np.float64), JET_COLUMNS),
            (name, table, PARTICLE_COLUMNS),
        ):
            dataset = file.create_dataset(key, data=values, compression="gzip", compression_opts=4)
            dataset.attrs["cols"] = np.array(cols, dtype="S")
        file.create_dataset(f"{name}_index", data=np.concatenate([[0], np.cumsum(counts)]))
        file.attrs[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True)
    return path

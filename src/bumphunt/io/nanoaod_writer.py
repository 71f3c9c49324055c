"""Writing CMS NanoAOD-format ROOT files (TTree ``Events``) with uproot.

Branch names and types follow NanoAOD: ``run``, ``luminosityBlock`` (uint32), ``event`` (uint64),
``genWeight`` and the ``MET_*`` floats (float32), and per-object branches ``<Collection>_<quantity>``
with float32 momenta and measurements, int32 charges and indices, bool identification flags and a
uint8 ``Muon_genPartFlav``. One difference remains: uproot writes the collection counters ``nMuon``,
``nJet`` as int32 where CMS writes uint32; readers see the same numbers. The provenance is stored as a
JSON string (``TObjString``) under :data:`PROVENANCE_KEY`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from bumphunt._files import atomic_path
from bumphunt.errors import ConfigError

__all__ = ["BRANCH_TYPES", "PROVENANCE_KEY", "read_root_provenance", "write_nanoaod"]

PROVENANCE_KEY = "bumphunt_provenance"

#: numpy type of every field, by collection (``None``: event-level branches).
BRANCH_TYPES: dict[str | None, dict[str, type[np.generic]]] = {
    None: {"genWeight": np.float32, "MET_pt": np.float32, "MET_phi": np.float32},
    "Muon": {
        "pt": np.float32,
        "eta": np.float32,
        "phi": np.float32,
        "mass": np.float32,
        "charge": np.int32,
        "pfRelIso03_all": np.float32,
        "pfRelIso04_all": np.float32,
        "dxy": np.float32,
        "dxyErr": np.float32,
        "dz": np.float32,
        "dzErr": np.float32,
        "ip3d": np.float32,
        "sip3d": np.float32,
        "looseId": np.bool_,
        "mediumId": np.bool_,
        "tightId": np.bool_,
        "genPartFlav": np.uint8,
        "jetIdx": np.int32,
    },
    "Jet": {"pt": np.float32, "eta": np.float32, "phi": np.float32, "mass": np.float32, "nMuons": np.int32},
}
_IDS = {"run": np.uint32, "luminosityBlock": np.uint32, "event": np.uint64}


def _typed(events: ak.Array, first_event: int, run: int) -> dict[str, Any]:
    """The branch data of one block of events, cast to the NanoAOD types."""
    n = len(events)
    data: dict[str, Any] = {
        "run": np.full(n, run, dtype=np.uint32),
        "luminosityBlock": np.ones(n, dtype=np.uint32),
        "event": np.arange(first_event + 1, first_event + n + 1, dtype=np.uint64),
    }
    for name, dtype in BRANCH_TYPES[None].items():
        data[name] = ak.to_numpy(events[name]).astype(dtype)
    for collection in ("Muon", "Jet"):
        objects = events[collection]
        data[collection] = ak.zip(
            {q: ak.values_astype(objects[q], dtype) for q, dtype in BRANCH_TYPES[collection].items()}
        )
    return data


def write_nanoaod(
    path: str | os.PathLike[str],
    blocks: Iterable[ak.Array],
    provenance: dict[str, Any],
    *,
    run: int = 1,
) -> Path:
    """Write the events of ``blocks`` to a NanoAOD-format ROOT file, atomically.

    Parameters
    ----------
    path
        The ``.root`` file to write.
    blocks
        Awkward arrays of event records with the fields of :data:`BRANCH_TYPES` (``Muon`` and ``Jet``
        as lists of records), such as :class:`~bumphunt.generate.dimuon_loop.DimuonChunk` events.
    provenance
        Stored as JSON next to the tree.
    run
        The ``run`` number of every event; ``event`` counts from 1.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    if path.suffix.lower() != ".root":
        raise ConfigError(f"output file {str(path)!r}: a NanoAOD file needs the suffix .root")
    branch_types: dict[str, Any] = dict(_IDS) | dict(BRANCH_TYPES[None])
    for collection in ("Muon", "Jet"):
        empty = ak.zip({q: np.zeros(0, dtype=d) for q, d in BRANCH_TYPES[collection].items()})
        branch_types[collection] = ak.unflatten(empty, np.zeros(0, dtype=np.int64)).type.content
    with atomic_path(path) as tmp, uproot.recreate(tmp) as file:
        tree = file.mktree("Events", branch_types, title="Events")
        written = 0
        for block in blocks:
            if len(block):
                tree.extend(_typed(block, written, run))
                written += len(block)
        file[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True)
    return path


def read_root_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance stored by :func:`write_nanoaod` (empty if the file has none)."""
    with uproot.open(path) as file:
        if PROVENANCE_KEY not in file:
            return {}
        return json.loads(str(file[PROVENANCE_KEY]))

"""Writing CMS NanoAOD-format ROOT files (TTree ``Events``) with uproot.

Branch names and types follow NanoAOD: ``run``, ``luminosityBlock`` (uint32), ``event`` (uint64),
``genWeight`` and the ``MET_*`` floats (float32), and per-object branches ``<Collection>_<quantity>``
with float32 momenta and measurements, int32 charges and indices, bool identification flags and a
uint8 ``Muon_genPartFlav``. One difference remains: uproot writes the collection counters ``nMuon``,
``nJet`` as int32 where CMS writes uint32; readers see the same numbers. The provenance is stored as a
JSON string (``TObjString``) under :data:`PROVENANCE_KEY` (:mod:`bumphunt.io.root_writer`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.io.root_writer import PROVENANCE_KEY, EventIds, read_root_provenance, write_root_tree

__all__ = ["BRANCH_TYPES", "PROVENANCE_KEY", "read_root_provenance", "write_nanoaod"]

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


def _event_ids(run: int) -> EventIds:
    def make(first: int, n: int) -> dict[str, np.ndarray]:
        return {
            "run": np.full(n, run, dtype=np.uint32),
            "luminosityBlock": np.ones(n, dtype=np.uint32),
            "event": np.arange(first + 1, first + n + 1, dtype=np.uint64),
        }

    return dict(_IDS), make


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
    return write_root_tree(path, "Events", BRANCH_TYPES, blocks, provenance, event_ids=_event_ids(run))

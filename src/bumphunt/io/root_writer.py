"""Writing ROOT files of one TTree with per-event collections, atomically, with a provenance string.

A tree is described by the numpy type of every field: event-level branches and, per collection, the
fields of its objects, written by uproot as variable-length branches ``<Collection>_<field>`` with a
counter ``n<Collection>``. The provenance is stored as a JSON string (``TObjString``) under
:data:`PROVENANCE_KEY` next to the tree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from bumphunt._files import atomic_path
from bumphunt.errors import ConfigError

__all__ = ["PROVENANCE_KEY", "EventIds", "TreeLayout", "read_root_provenance", "write_root_tree"]

PROVENANCE_KEY = "bumphunt_provenance"

#: Field name to numpy type, by collection (``None``: event-level branches).
TreeLayout = Mapping[str | None, Mapping[str, type[np.generic]]]
#: Event-numbering branches: their types and ``make(first, n)``, their values for ``n`` events from ``first``.
EventIds = tuple[Mapping[str, type[np.generic]], Callable[[int, int], dict[str, np.ndarray]]]


def _branch_types(layout: TreeLayout, extra: Mapping[str, type[np.generic]]) -> dict[str, Any]:
    types: dict[str, Any] = dict(extra) | dict(layout.get(None, {}))
    for collection, fields in layout.items():
        if collection is None:
            continue
        empty = ak.zip({q: np.zeros(0, dtype=d) for q, d in fields.items()})
        types[collection] = ak.unflatten(empty, np.zeros(0, dtype=np.int64)).type.content
    return types


def _typed(events: ak.Array, layout: TreeLayout) -> dict[str, Any]:
    """The branch data of one block of events, cast to the layout's types."""
    data: dict[str, Any] = {
        name: ak.to_numpy(events[name]).astype(dtype) for name, dtype in layout.get(None, {}).items()
    }
    for collection, fields in layout.items():
        if collection is not None:
            objects = events[collection]
            data[collection] = ak.zip({q: ak.values_astype(objects[q], d) for q, d in fields.items()})
    return data


def write_root_tree(
    path: str | os.PathLike[str],
    tree: str,
    layout: TreeLayout,
    blocks: Iterable[ak.Array],
    provenance: dict[str, Any],
    *,
    event_ids: EventIds | None = None,
) -> Path:
    """Write the events of ``blocks`` to one tree of a new ROOT file, atomically.

    Parameters
    ----------
    path
        The ``.root`` file to write; it appears only once complete.
    tree
        Name of the TTree.
    layout
        The fields and their types (:data:`TreeLayout`); each block has these fields (collections as
        lists of records).
    blocks
        Awkward arrays of event records.
    provenance
        Stored as JSON next to the tree.
    event_ids
        ``(types, make)``: further event-level branches that number the events, ``make(first, n)``
        giving their values for ``n`` events from the ``first`` (0-based).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    if path.suffix.lower() != ".root":
        raise ConfigError(f"output file {str(path)!r}: a ROOT file needs the suffix .root")
    id_types, make_ids = event_ids if event_ids is not None else ({}, None)
    with atomic_path(path) as tmp, uproot.recreate(tmp) as file:
        out = file.mktree(tree, _branch_types(layout, id_types), title=tree)
        written = 0
        for block in blocks:
            if len(block):
                data = _typed(block, layout)
                if make_ids is not None:
                    data = make_ids(written, len(block)) | data
                out.extend(data)
                written += len(block)
        file[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True)
    return path


def read_root_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance stored by :func:`write_root_tree` (empty if the file has none)."""
    with uproot.open(path) as file:
        if PROVENANCE_KEY not in file:
            return {}
        return json.loads(str(file[PROVENANCE_KEY]))

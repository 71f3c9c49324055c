"""What is inside a file: format, number of events, columns or branches, and the mass range.

:func:`inspect_file` recognizes the container from the file's first bytes and the layout from its
content (the LHCO features and constituents tables, MOD HDF5, NanoAOD and flat ROOT ntuples, EventSet
Parquet files, plain tables) and reads as little as it needs: the mass range comes from the reader of
the recognized layout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bumphunt.io._source import branch_names, container_of, open_h5py, open_hdf_store, open_root_tree

__all__ = ["FileSummary", "inspect_file"]

#: Column names taken to be the resonant mass in plain tables.
MASS_COLUMN_NAMES = ("mass", "mjj", "m_jj", "mJJ", "Mjj")


@dataclass(frozen=True)
class FileSummary:
    """The result of :func:`inspect_file`.

    Attributes
    ----------
    path
        The file.
    container
        ``"hdf5"``, ``"root"``, ``"parquet"`` or ``"text"``.
    format
        The recognized layout: ``"lhco-features"``, ``"lhco-constituents"``, ``"mod-hdf5"``,
        ``"nanoaod"``, ``"flat-ntuple"``, ``"eventset"``, or ``"table"``/``"root-tree"``/``"hdf5"``
        for others.
    n_events
        Number of events (rows, entries; collision events for MOD files).
    columns
        Column, branch or dataset names.
    mass_name
        What the mass range measures (e.g. ``"mjj"``), or ``None``.
    mass_range
        ``(min, max)`` of that mass in GeV, or ``None``.
    notes
        Further remarks (tree name, keys, how to get a mass).
    """

    path: str
    container: str
    format: str
    n_events: int
    columns: tuple[str, ...]
    mass_name: str | None = None
    mass_range: tuple[float, float] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _range(values: np.ndarray) -> tuple[float, float] | None:
    return (float(np.min(values)), float(np.max(values))) if len(values) else None


def inspect_file(
    path: str | os.PathLike[str], *, key: str | None = None, tree: str | None = None
) -> FileSummary:
    """Describe a file (see :class:`FileSummary`).

    Parameters
    ----------
    path
        The file.
    key
        Table in a pandas HDF5 store with several (default: the first).
    tree
        TTree or RNTuple in a ROOT file with several (default: the only one).

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing file, or one that is none of HDF5, ROOT, Parquet, CSV, or is damaged.
    """
    path, container = container_of(path)
    if container == "hdf5":
        return _inspect_hdf5(path, key)
    if container == "root":
        return _inspect_root(path, tree)
    if container == "parquet":
        return _inspect_parquet(path)
    return _inspect_table(path, container)


def _inspect_hdf5(path: Path, key: str | None) -> FileSummary:
    from bumphunt.io.lhco import FEATURE_COLUMNS
    from bumphunt.io.lhco_features import read_lhco_features
    from bumphunt.io.mod_hdf5 import read_mod_dijets, read_mod_jets

    _, handle = open_h5py(path, "an HDF5 file")
    with handle:
        names = tuple(handle.keys())
        is_mod = "jets_i" in handle and "jets_f" in handle
        is_pandas = any("pandas_type" in handle[k].attrs for k in names)
    if is_mod:
        jets = read_mod_jets(path, particles=None)
        dijets = read_mod_dijets(path)
        return FileSummary(
            str(path), "hdf5", "mod-hdf5", jets.n_events, tuple(c for c in jets.jets.columns if c != "event"),
            "dijet mass (two leading jets)", _range(dijets.mass),
            (f"{len(jets.jets)} jets; datasets {list(names)}",),
        )  # fmt: skip
    if not is_pandas:
        return FileSummary(str(path), "hdf5", "hdf5", 0, names, notes=("not a pandas or MOD HDF5 file",))
    if key is None and len(names) > 1:
        key = names[0]
    with open_hdf_store(path, key, "a pandas HDF5 table") as (store, key):
        storer = store.get_storer(key)
        n_rows = int(storer.nrows) if getattr(storer, "nrows", None) is not None else int(storer.shape[0])
        columns = list(store.select(key, start=0, stop=1).columns)
        notes = [f"key {key!r}"] + ([f"keys {list(names)}; showing the first"] if len(names) > 1 else [])
    shown = tuple(str(c) for c in columns)
    if set(FEATURE_COLUMNS) <= set(columns):
        events = read_lhco_features(path, key=key, nonfinite="drop")
        dropped = events.provenance.get("n_dropped_nonfinite_rows", 0)
        if dropped:
            notes.append(f"{dropped} rows with NaN/inf values (left out of the mass range)")
        return FileSummary(
            str(path), "hdf5", "lhco-features", n_rows, shown, "mjj", _range(events.mass), tuple(notes)
        )
    if len(columns) >= 3 and len(columns) % 3 != 2 and all(isinstance(c, int | np.integer) for c in columns):
        k = len(columns) // 3
        notes.append(
            f"{k} particles x (pT, eta, phi){' + label' if len(columns) % 3 else ''}; the dijet mass needs "
            "jet clustering: bumphunt.io.read_lhco_constituents"
        )
        return FileSummary(str(path), "hdf5", "lhco-constituents", n_rows, shown, notes=tuple(notes))
    return _with_mass_column(
        FileSummary(str(path), "hdf5", "table", n_rows, shown, notes=tuple(notes)), path, key=key
    )


def _inspect_root(path: Path, tree_name: str | None) -> FileSummary:
    from bumphunt.io.nanoaod import read_dimuons

    _, tree = open_root_tree(path, tree_name, "a ROOT file with a TTree or RNTuple")
    branches = tuple(branch_names(tree))
    kind = "RNTuple" if "RNTuple" in type(tree).__name__ else "TTree"
    name = tree.name if hasattr(tree, "name") else "?"
    notes = (f"{kind} {name!r}",)
    if "Muon_pt" in branches:
        dimuons = read_dimuons(path, tree=name, nonfinite="drop")
        return FileSummary(
            str(path), "root", "nanoaod", int(tree.num_entries), branches,
            "dimuon mass (opposite sign)", _range(dimuons.opposite_sign.mass),
            (*notes, f"{len(dimuons.opposite_sign)} opposite-sign, {len(dimuons.same_sign)} same-sign pairs"),
        )  # fmt: skip
    if "Muon_Px" in branches or "Electron_Px" in branches:
        notes = (*notes, "leptons: bumphunt.io.read_flat_leptons")
        return FileSummary(str(path), "root", "flat-ntuple", int(tree.num_entries), branches, notes=notes)
    return FileSummary(str(path), "root", "root-tree", int(tree.num_entries), branches, notes=notes)


def _inspect_parquet(path: Path) -> FileSummary:
    import pyarrow.parquet as pq

    from bumphunt.events import EVENTSET_PARQUET_KEY, EventSet

    schema = pq.read_schema(path)
    n_rows = pq.ParquetFile(path).metadata.num_rows
    if EVENTSET_PARQUET_KEY.encode() in (schema.metadata or {}):
        events = EventSet.from_parquet(path)
        provenance = json.dumps(dict(events.provenance), sort_keys=True)
        return FileSummary(
            str(path), "parquet", "eventset", len(events), tuple(schema.names), "mass", _range(events.mass),
            (f"provenance {provenance[:200]}",),
        )  # fmt: skip
    return _with_mass_column(FileSummary(str(path), "parquet", "table", n_rows, tuple(schema.names)), path)


def _inspect_table(path: Path, container: str) -> FileSummary:
    from bumphunt.io.table_reader import read_table_frame

    frame = read_table_frame(path)  # raises for containers that are not tables
    summary = FileSummary(str(path), container, "table", len(frame), tuple(str(c) for c in frame.columns))
    return _with_mass_column(summary, path)


def _with_mass_column(summary: FileSummary, path: Path, key: str | None = None) -> FileSummary:
    from bumphunt.io.table_reader import read_table_frame

    name = next((c for c in MASS_COLUMN_NAMES if c in summary.columns), None)
    if name is None:
        return summary
    values = read_table_frame(path, columns=[name], key=key)[name].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    return FileSummary(**{**summary.__dict__, "mass_name": name, "mass_range": _range(values)})

"""One entry point for event files: what layout a file has (:func:`detect_layout`) and its events
(:func:`read_events`).

``bumphunt inspect`` and ``bumphunt run`` both decide a file's layout here, so they always name it the
same. The container comes from the file's first bytes (:func:`~bumphunt.io._source.container_of`), the
layout from its content:

=====================  ============================================================================
layout                 recognized by
=====================  ============================================================================
``lhco-features``      pandas HDF5 table with all 14 LHCO jet columns ``pxj1 ... tau3j2``
``lhco-constituents``  pandas HDF5 table with integer column names, 3 per particle (+ label)
``mod-hdf5``           HDF5 with the energyflow MOD datasets ``jets_i`` and ``jets_f``
``nanoaod``            ROOT TTree or RNTuple with a ``Muon_pt`` branch (CMS NanoAOD)
``flat-ntuple``        ROOT tree with ``Muon_Px`` or ``Electron_Px`` branches
``eventset``           Parquet written by :meth:`bumphunt.events.EventSet.to_parquet`
``table``              any other pandas HDF5 table, Parquet or CSV file
``root-tree``          any other ROOT tree
``hdf5``               any other HDF5 file
=====================  ============================================================================

A table with only some of the LHCO columns is a ``table``: the LHCO reader needs all of them.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.events import EVENTSET_PARQUET_KEY, EventSet
from bumphunt.io._source import (
    Container,
    branch_names,
    container_of,
    open_h5py,
    open_hdf_store,
    open_root_tree,
)

__all__ = ["LAYOUTS", "SEARCHABLE", "FileLayout", "Layout", "detect_layout", "read_events"]

Layout = Literal[
    "lhco-features",
    "lhco-constituents",
    "mod-hdf5",
    "nanoaod",
    "flat-ntuple",
    "eventset",
    "table",
    "root-tree",
    "hdf5",
]
#: Every layout :func:`detect_layout` can name.
LAYOUTS: tuple[str, ...] = typing.get_args(Layout)

#: The layouts a search reads, by the name ``data.format`` of a search configuration gives them.
SEARCHABLE: dict[str, str] = {"lhco": "lhco-features", "eventset": "eventset", "table": "table"}


@dataclass(frozen=True)
class FileLayout:
    """What :func:`detect_layout` found.

    Attributes
    ----------
    path
        The file.
    container
        ``"hdf5"``, ``"root"``, ``"parquet"`` or ``"text"``.
    layout
        One of :data:`LAYOUTS`.
    columns
        Column, branch or dataset names (as strings).
    n_events
        Rows, entries or (MOD files) jets; ``None`` for an HDF5 file that is no table. A text file is
        read whole to find its columns and rows.
    key
        The pandas HDF5 key holding the table (``None`` for other containers).
    keys
        All keys (datasets, tables) of an HDF5 file.
    tree
        Name of the ROOT tree or RNTuple (``None`` for other containers).
    tree_kind
        ``"TTree"`` or ``"RNTuple"`` (``None`` for other containers).
    """

    path: Path
    container: Container
    layout: Layout
    columns: tuple[str, ...]
    n_events: int | None = None
    key: str | None = None
    keys: tuple[str, ...] = ()
    tree: str | None = None
    tree_kind: str | None = None


def detect_layout(
    path: str | os.PathLike[str], *, key: str | None = None, tree: str | None = None
) -> FileLayout:
    """Recognize a file's container and layout, reading as little of it as possible.

    Parameters
    ----------
    path
        The file.
    key
        Table in a pandas HDF5 store with several (default: the only one; the first for inspection).
    tree
        TTree or RNTuple in a ROOT file with several (default: the only one).

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing file, one that is none of HDF5, ROOT, Parquet or text, or a damaged one.
    """
    path, container = container_of(path)
    if container == "hdf5":
        return _hdf5_layout(path, key)
    if container == "root":
        _, handle = open_root_tree(path, tree, "a ROOT file with a TTree or RNTuple")
        branches = tuple(branch_names(handle))
        name = handle.name if hasattr(handle, "name") else None
        layout: Layout = "root-tree"
        if "Muon_pt" in branches:
            layout = "nanoaod"
        elif "Muon_Px" in branches or "Electron_Px" in branches:
            layout = "flat-ntuple"
        kind = "RNTuple" if "RNTuple" in type(handle).__name__ else "TTree"
        return FileLayout(path, "root", layout, branches, int(handle.num_entries), tree=name, tree_kind=kind)
    if container == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        is_eventset = EVENTSET_PARQUET_KEY.encode() in (schema.metadata or {})
        n_rows = pq.ParquetFile(path).metadata.num_rows
        return FileLayout(
            path, "parquet", "eventset" if is_eventset else "table", tuple(schema.names), n_rows
        )
    from bumphunt.io.table_reader import read_table_frame

    frame = read_table_frame(path, key=key)  # raises for text that is not a table
    return FileLayout(path, container, "table", tuple(str(c) for c in frame.columns), len(frame))


def _hdf5_layout(path: Path, key: str | None) -> FileLayout:
    from bumphunt.io.lhco import FEATURE_COLUMNS

    _, handle = open_h5py(path, "an HDF5 file")
    with handle:
        names = tuple(handle.keys())
        if "jets_i" in handle and "jets_f" in handle:
            return FileLayout(path, "hdf5", "mod-hdf5", names, int(handle["jets_i"].shape[0]), keys=names)
        is_pandas = any("pandas_type" in handle[k].attrs for k in names)
    if not is_pandas:
        return FileLayout(path, "hdf5", "hdf5", names, keys=names)
    if key is None and len(names) > 1:
        key = names[0]
    with open_hdf_store(path, key, "a pandas HDF5 table") as (store, key):
        storer = store.get_storer(key)
        n_rows = int(storer.nrows) if getattr(storer, "nrows", None) is not None else int(storer.shape[0])
        columns = list(store.select(key, start=0, stop=1).columns)
    shown = tuple(str(c) for c in columns)
    layout: Layout = "table"
    if set(FEATURE_COLUMNS) <= set(columns):
        layout = "lhco-features"
    elif (
        len(columns) >= 3 and len(columns) % 3 != 2 and all(isinstance(c, int | np.integer) for c in columns)
    ):
        layout = "lhco-constituents"
    return FileLayout(path, "hdf5", layout, shown, n_rows, key=key, keys=names)


def read_events(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    key: str | None = None,
    mass_column: str = "mjj",
    label_column: str | None = None,
    features: Sequence[str] | None = None,
) -> EventSet:
    """Read the events of a file in a layout a search can use.

    Parameters
    ----------
    path
        The file.
    format
        ``"auto"`` (the layout :func:`detect_layout` finds), or one of :data:`SEARCHABLE`: ``"lhco"``
        (LHCO R&D features: mass ``mjj`` and the CATHODE features), ``"eventset"`` (a bumphunt Parquet
        file) or ``"table"`` (a plain table read with a column mapping).
    key
        Table of a pandas HDF5 store with several.
    mass_column, label_column, features
        Columns of a ``table``: the mass (GeV), the truth label, the features (default: every numeric
        column but the mass and label). The other layouts build or store their own.

    Returns
    -------
    EventSet
        Its provenance names the file (``source``) and the layout read (``layout``).

    Raises
    ------
    bumphunt.errors.ConfigError
        For an unknown ``format``.
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing or unreadable file, missing columns, or a layout a search cannot read (e.g.
        NanoAOD, whose dimuons :func:`bumphunt.io.read_dimuons` reads).
    """
    from bumphunt.io.lhco_features import read_lhco_features
    from bumphunt.io.table_reader import read_table

    if format == "auto":
        found = detect_layout(path, key=key)
        layout = found.layout
        if layout not in SEARCHABLE.values():
            raise DataFormatError(
                f"file {str(path)!r} holds {layout} data ({found.container}); a search reads LHCO "
                "features, bumphunt EventSet Parquet files or plain tables with a mass column. "
                "`bumphunt inspect` shows what the file holds"
            )
    elif format in SEARCHABLE:
        layout = SEARCHABLE[format]
    else:
        raise ConfigError(f"data.format must be auto, {', '.join(SEARCHABLE)}, got {format!r}")
    if layout == "lhco-features":
        events = read_lhco_features(path, key=key)
    elif layout == "eventset":
        events = EventSet.from_parquet(path)
    else:
        events = read_table(path, mass=mass_column, features=features, label=label_column, key=key)
    provenance = dict(events.provenance)
    if events.source != str(path):  # a derived file: name it, keep where it came from
        provenance.update(source=str(path), derived_from=events.source)
    provenance["layout"] = layout
    return EventSet(
        events.mass, events.features, events.feature_names, events.label, events.weight, provenance
    )

"""Lepton samples for flavour identification from any supported file: the lepton table with both flavours.

:func:`read_lepton_sample` recognizes three layouts:

- a flat ntuple with Cartesian momenta (``Electron_Px`` ... ``Muon_E``, the CMS Open Data HZZ tree and the
  files of ``bumphunt generate ttbar-leptons``), read with :func:`bumphunt.io.read_flat_leptons`;
- CMS NanoAOD (``Electron_pt`` ... ``Muon_mass``, TTree or RNTuple), read with
  :func:`bumphunt.io.nanoaod.read_leptons`;
- a table (Parquet, CSV, pandas HDF5) with one row per lepton, columns ``pt``, ``eta``, ``phi``, ``E``
  (GeV, rad) and a label column: ``"e"``/``"mu"`` strings, or 0/1 (booleans too) meaning "is a muon",
  like the ``isMuon`` column of the seed study's file.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pandas as pd

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.io._source import branch_names, check_columns, container_of, open_root_tree
from bumphunt.io.flat_ntuple import read_flat_leptons
from bumphunt.io.leptons import FLAVOURS, LEPTON_COLUMNS, lepton_table
from bumphunt.io.nanoaod import read_leptons
from bumphunt.io.table_reader import read_table_frame

__all__ = ["TABLE_COLUMNS", "read_lepton_sample"]

#: Columns a lepton table file needs besides its label column.
TABLE_COLUMNS = ("pt", "eta", "phi", "E")
_COLLECTIONS = {"e": "Electron", "mu": "Muon"}
_WHAT = "electron and muon collections (Electron_Px or Electron_pt branches and the Muon ones)"


def _root_tree_name(path: str | os.PathLike[str], tree: str | None) -> str | None:
    """``tree``, or ``"Events"`` for a file with several trees that has one of that name (NanoAOD)."""
    if tree is not None:
        return tree
    import uproot

    with uproot.open(path) as root:
        names = {
            k.split(";")[0] for k, c in root.classnames().items() if c == "TTree" or c.endswith("RNTuple")
        }
    return "Events" if len(names) > 1 and "Events" in names else None


def _read_root(path: str, tree: str | None, progress: Callable[[int], None] | None) -> pd.DataFrame:
    tree = _root_tree_name(path, tree)
    _, handle = open_root_tree(path, tree, _WHAT)
    names = set(branch_names(handle))
    tree = handle.name if tree is None else tree
    for flavour, prefix in _COLLECTIONS.items():
        if not ({f"{prefix}_Px", f"{prefix}_pt"} & names):
            raise DataFormatError(
                f"file {path!r}, tree {tree!r}: no {prefix} collection (branch {prefix}_Px or {prefix}_pt), "
                f"so no {flavour} label: flavour identification needs electrons and muons"
            )
    if {"Electron_Px", "Muon_Px"} <= names:
        return read_flat_leptons(path, tree=tree, progress=progress)
    return read_leptons(path, tree=tree, progress=progress)


def _labels(path: str, column: str, values: pd.Series) -> np.ndarray:
    """Flavour codes (0 e, 1 mu) of a label column."""
    if values.dtype == bool or pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        if not np.isin(numbers, (0.0, 1.0)).all():
            bad = np.unique(numbers[~np.isin(numbers, (0.0, 1.0))])[:3]
            raise DataFormatError(
                f"file {path!r}: label column {column!r} must hold 0 (electron) or 1 (muon), "
                f"found {bad.tolist()}"
            )
        return numbers.astype(np.int64)
    text = values.astype(str).str.strip().str.lower()
    known = {"e": 0, "electron": 0, "mu": 1, "muon": 1}
    unknown = sorted(set(text) - set(known))
    if unknown:
        raise DataFormatError(
            f"file {path!r}: label column {column!r} must hold 'e'/'mu' (or 0/1 for is-muon), "
            f"found {unknown[:3]}"
        )
    return text.map(known).to_numpy(dtype=np.int64)


def _read_table(path: str, label: str) -> pd.DataFrame:
    frame = read_table_frame(path)
    check_columns(path, frame.columns, [*TABLE_COLUMNS, label])
    codes = _labels(path, label, frame[label])
    table = pd.DataFrame(
        {
            "entry": np.arange(len(frame), dtype=np.int64),
            "flavour": np.asarray(FLAVOURS)[codes],
            "charge": np.zeros(len(frame), dtype=np.int8),
            **{c: frame[c].to_numpy(dtype=np.float64) for c in TABLE_COLUMNS},
        }
    )
    p2 = (table["pt"] * np.cosh(table["eta"])) ** 2
    m2 = table["E"] ** 2 - p2
    table["mass"] = np.sign(m2) * np.sqrt(np.abs(m2))
    return lepton_table([table[list(LEPTON_COLUMNS)]])


def read_lepton_sample(
    path: str | os.PathLike[str],
    *,
    tree: str | None = None,
    label: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The electrons and muons of a file as a lepton table (:mod:`bumphunt.io.leptons`), with both flavours.

    Parameters
    ----------
    path
        A ROOT file (flat ntuple or NanoAOD) or a lepton table (Parquet, CSV, pandas HDF5).
    tree
        ROOT files: the TTree or RNTuple (``None``: the only one, or ``Events`` among several).
    label
        Tables: the label column (default ``"flavour"``); not allowed for ROOT files, whose
        collections are the labels.
    progress
        ROOT files: called with the number of entries read after each block.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the file lacks a needed column, collection or label, or holds no electrons or no muons.
    bumphunt.errors.ConfigError
        For ``label`` with a ROOT file.
    """
    path_, container = container_of(path)
    path = str(path_)
    if container == "root":
        if label is not None:
            raise ConfigError(
                f"label: file {path!r} is a ROOT file, whose Electron and Muon collections are the labels"
            )
        table = _read_root(path, tree, progress)
    else:
        table = _read_table(path, label or "flavour")
    counts = table["flavour"].value_counts()
    if len(table) == 0:
        raise DataFormatError(f"file {path!r} holds no electrons or muons")
    missing = [f for f in FLAVOURS if counts.get(f, 0) == 0]
    if missing:
        present = {f: int(n) for f, n in counts.items() if n}
        raise DataFormatError(
            f"file {path!r} holds no {' or '.join(missing)} leptons ({present}): "
            "flavour identification needs both"
        )
    return table

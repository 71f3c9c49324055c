"""What is inside a file: format, number of events, columns or branches, and the mass range.

:func:`inspect_file` takes the layout from :func:`bumphunt.io.auto.detect_layout` (the rule ``bumphunt
run`` uses too) and reads as little as it needs: the mass range comes from the reader of the recognized
layout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from bumphunt.io.auto import FileLayout, detect_layout

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
        The layout (:data:`bumphunt.io.auto.LAYOUTS`): ``"lhco-features"``, ``"lhco-constituents"``,
        ``"mod-hdf5"``, ``"nanoaod"``, ``"flat-ntuple"``, ``"eventset"``, or ``"table"``/``"root-tree"``/
        ``"hdf5"`` for others.
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
    found = detect_layout(path, key=key, tree=tree)
    summary = FileSummary(
        str(found.path), found.container, found.layout, found.n_events or 0, found.columns,
        notes=_notes(found),
    )  # fmt: skip
    describe = _DESCRIBE.get(found.layout)
    return summary if describe is None else describe(summary, found)


def _notes(found: FileLayout) -> tuple[str, ...]:
    if found.container == "root":
        return (f"{found.tree_kind} {found.tree!r}",)
    if found.key is None:
        return ()
    several = len(found.keys) > 1
    return (f"key {found.key!r}", *([f"keys {list(found.keys)}; showing the first"] if several else []))


def _replace(summary: FileSummary, **changes: object) -> FileSummary:
    return FileSummary(**{**summary.__dict__, **changes})


def _lhco_features(summary: FileSummary, found: FileLayout) -> FileSummary:
    from bumphunt.io.lhco_features import read_lhco_features

    events = read_lhco_features(found.path, key=found.key, nonfinite="drop")
    notes = list(summary.notes)
    dropped = events.provenance.get("n_dropped_nonfinite_rows", 0)
    if dropped:
        notes.append(f"{dropped} rows with NaN/inf values (left out of the mass range)")
    return _replace(summary, mass_name="mjj", mass_range=_range(events.mass), notes=tuple(notes))


def _lhco_constituents(summary: FileSummary, found: FileLayout) -> FileSummary:
    n = len(found.columns)
    note = (
        f"{n // 3} particles x (pT, eta, phi){' + label' if n % 3 else ''}; the dijet mass needs "
        "jet clustering: bumphunt.io.read_lhco_constituents"
    )
    return _replace(summary, notes=(*summary.notes, note))


def _mod(summary: FileSummary, found: FileLayout) -> FileSummary:
    from bumphunt.io.mod_hdf5 import read_mod_dijets, read_mod_jets

    jets = read_mod_jets(found.path, particles=None)
    return _replace(
        summary,
        n_events=jets.n_events,
        columns=tuple(c for c in jets.jets.columns if c != "event"),
        mass_name="dijet mass (two leading jets)",
        mass_range=_range(read_mod_dijets(found.path).mass),
        notes=(f"{len(jets.jets)} jets; datasets {list(found.columns)}",),
    )


def _nanoaod(summary: FileSummary, found: FileLayout) -> FileSummary:
    from bumphunt.io.nanoaod import read_dimuons

    dimuons = read_dimuons(found.path, tree=found.tree, nonfinite="drop")
    pairs = f"{len(dimuons.opposite_sign)} opposite-sign, {len(dimuons.same_sign)} same-sign pairs"
    return _replace(
        summary,
        mass_name="dimuon mass (opposite sign)",
        mass_range=_range(dimuons.opposite_sign.mass),
        notes=(*summary.notes, pairs),
    )


def _flat_ntuple(summary: FileSummary, found: FileLayout) -> FileSummary:
    return _replace(summary, notes=(*summary.notes, "leptons: bumphunt.io.read_flat_leptons"))


def _hdf5(summary: FileSummary, found: FileLayout) -> FileSummary:
    return _replace(summary, notes=("not a pandas or MOD HDF5 file",))


def _eventset(summary: FileSummary, found: FileLayout) -> FileSummary:
    from bumphunt.events import EventSet

    events = EventSet.from_parquet(found.path)
    provenance = json.dumps(dict(events.provenance), sort_keys=True)
    return _replace(
        summary, n_events=len(events), mass_name="mass", mass_range=_range(events.mass),
        notes=(f"provenance {provenance[:200]}",),
    )  # fmt: skip


def _table(summary: FileSummary, found: FileLayout) -> FileSummary:
    from bumphunt.io.table_reader import read_table_frame

    name = next((c for c in MASS_COLUMN_NAMES if c in summary.columns), None)
    if name is None:
        return summary
    values = read_table_frame(found.path, columns=[name], key=found.key)[name].to_numpy(dtype=np.float64)
    return _replace(summary, mass_name=name, mass_range=_range(values[np.isfinite(values)]))


_DESCRIBE = {
    "lhco-features": _lhco_features,
    "lhco-constituents": _lhco_constituents,
    "mod-hdf5": _mod,
    "nanoaod": _nanoaod,
    "flat-ntuple": _flat_ntuple,
    "hdf5": _hdf5,
    "eventset": _eventset,
    "table": _table,
}

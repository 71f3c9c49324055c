"""Reader of the LHC Olympics R&D high-level features file (and files in the same layout).

Layout expected (:mod:`bumphunt.io.lhco`): a pandas HDF5 store (``fixed`` or ``table`` format) holding
one DataFrame with the float columns ``pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1 pxj2 pyj2 pzj2 mj2 tau1j2
tau2j2 tau3j2`` (GeV; j1 is the jet of higher pT) and optionally ``label`` (1 signal, 0 background).
This is the layout of ``events_anomalydetection_v2.features.h5`` (Zenodo 4536377), of the extra-QCD file
``events_anomalydetection_qcd_extra_inneronly_features.h5`` (Zenodo 5759087) and of the files written by
``bumphunt generate dijet``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.events import PROVENANCE_KEY, EventSet, NonFinitePolicy
from bumphunt.io._source import check_columns, finite_rows, open_hdf_store
from bumphunt.io.lhco import FEATURE_COLUMNS, LABEL_COLUMN
from bumphunt.physics.dijet import CATHODE_FEATURES, cathode_features

__all__ = ["event_set_from_rows", "raw_feature_names", "read_lhco_features"]

_WHAT = "the LHCO R&D features layout: a pandas table with pxj1 ... tau3j2 [label]"


def raw_feature_names(raw_columns: bool | Sequence[str]) -> list[str]:
    """The per-jet columns asked for by ``raw_columns`` (``True``: all 14, ``False``: none)."""
    if raw_columns is True:
        return list(FEATURE_COLUMNS)
    if raw_columns is False:
        return []
    raw = list(raw_columns)
    unknown = [c for c in raw if c not in FEATURE_COLUMNS]
    if unknown:
        raise ConfigError(f"raw_columns {unknown} are not LHCO feature columns {list(FEATURE_COLUMNS)}")
    return raw


def event_set_from_rows(
    rows: np.ndarray,
    *,
    label: np.ndarray | None,
    provenance: dict[str, Any],
    with_delta_r: bool = False,
    raw_columns: bool | Sequence[str] = False,
    nonfinite: NonFinitePolicy = "raise",
) -> EventSet:
    """An EventSet with mass ``mjj`` and the CATHODE features from ``(n, 14)`` LHCO feature rows."""
    raw = raw_feature_names(raw_columns)
    computed = cathode_features(rows, with_delta_r=with_delta_r)
    names = [*CATHODE_FEATURES, *(["delta_r_jj"] if with_delta_r else []), *raw]
    columns = [computed[n] for n in names if n in computed]
    columns += [rows[:, FEATURE_COLUMNS.index(c)] for c in raw]
    return EventSet.from_arrays(
        computed["mjj"],
        np.column_stack(columns) if len(rows) else np.zeros((0, len(names))),
        names,
        label=label,
        provenance=provenance,
        nonfinite=nonfinite,
    )


def read_lhco_features(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    with_delta_r: bool = False,
    raw_columns: bool | Sequence[str] = False,
    nonfinite: NonFinitePolicy = "raise",
) -> EventSet:
    """Read an LHCO R&D features file into an EventSet with the CATHODE features.

    The mass is ``mjj`` of the two jets; the features are ``mj_min``, ``delta_mj``, ``tau21_jmin``,
    ``tau21_jmax`` (see :mod:`bumphunt.physics.dijet`), then ``delta_r_jj`` if asked, then raw columns.

    Parameters
    ----------
    path
        The HDF5 file.
    key
        Table key in the store; ``None`` takes the only one (``"df"`` in the Zenodo and generated files).
    with_delta_r
        Add the angular distance of the two jets, ``delta_r_jj``.
    raw_columns
        ``True`` adds all 14 per-jet columns of the file as features; a sequence adds those named.
    nonfinite
        ``"raise"`` or ``"drop"`` events with NaN/inf values (see :meth:`EventSet.from_arrays`).

    Returns
    -------
    EventSet
        With the file's ``label`` column when present; ``provenance`` holds the source, key and the
        provenance stored by the writer, if any.

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing file, a file that is not HDF5 or is truncated, a wrong key or a missing column.
    """
    raw_feature_names(raw_columns)  # reject unknown names before reading
    with open_hdf_store(path, key, _WHAT) as (store, key):
        frame = store.select(key)
        stored_provenance = getattr(store.get_storer(key).attrs, PROVENANCE_KEY, None)
    path = os.fspath(path)
    check_columns(path, frame.columns, FEATURE_COLUMNS)
    provenance: dict[str, Any] = {"source": path, "format": "lhco-features", "key": key}
    if stored_provenance:
        provenance["file_provenance"] = json.loads(stored_provenance)
    rows = frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float64)
    label = frame[LABEL_COLUMN].to_numpy() if LABEL_COLUMN in frame.columns else None
    keep = finite_rows(path, dict(zip(FEATURE_COLUMNS, rows.T, strict=True)), nonfinite)
    if keep is not None:
        provenance["n_dropped_nonfinite_rows"] = int(len(keep) - np.count_nonzero(keep))
        rows, label = rows[keep], None if label is None else label[keep]
    return event_set_from_rows(
        rows,
        label=label,
        provenance=provenance,
        with_delta_r=with_delta_r,
        raw_columns=raw_columns,
        nonfinite=nonfinite,
    )

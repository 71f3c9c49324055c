"""Reader of plain tables (Parquet, CSV, pandas HDF5) into an EventSet through a column mapping.

Layout expected: one row per event and one column per quantity; the caller names the column that
holds the resonant mass (GeV) and, optionally, the feature, label and weight columns. The container is
recognized from the file's first bytes: Parquet, HDF5 (a pandas store; ``key`` picks the table) or text
(CSV; tab-separated when the suffix is ``.tsv``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.events import EventSet, NonFinitePolicy
from bumphunt.io._source import check_columns, container_of, finite_rows, one_line, open_hdf_store

__all__ = ["read_table", "read_table_frame"]

_WHAT = "a table: Parquet, CSV or a pandas HDF5 store"


def read_table_frame(
    path: str | os.PathLike[str], *, columns: Sequence[str] | None = None, key: str | None = None
) -> pd.DataFrame:
    """Read a Parquet, CSV or pandas-HDF5 table (only ``columns`` if given) as a DataFrame.

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing file, an unknown or damaged container, a wrong key or a missing column.
    """
    path, container = container_of(path)
    wanted = list(columns) if columns is not None else None
    if container == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
            if wanted is not None:
                check_columns(path, names, wanted)
            return pq.read_table(path, columns=wanted).to_pandas()
        except (pa.ArrowInvalid, OSError) as err:
            raise DataFormatError(
                f"file {str(path)!r}: the Parquet file cannot be read: {one_line(err)}"
            ) from None
    if container == "hdf5":
        with open_hdf_store(path, key, _WHAT) as (store, key):
            frame = store.select(key)
    elif container == "text":
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        try:
            frame = pd.read_csv(path, sep=sep)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise DataFormatError(f"file {str(path)!r}: not a readable CSV table: {one_line(err)}") from None
    else:
        raise DataFormatError(f"file {str(path)!r} is not {_WHAT}")
    if wanted is not None:
        check_columns(path, frame.columns, wanted)
        frame = frame[wanted]
    return frame


def read_table(
    path: str | os.PathLike[str],
    *,
    mass: str,
    features: Sequence[str] | Mapping[str, str] | None = None,
    label: str | None = None,
    weight: str | None = None,
    key: str | None = None,
    mass_scale: float = 1.0,
    nonfinite: NonFinitePolicy = "raise",
) -> EventSet:
    """Read a table into an EventSet, naming the columns that play each role.

    Parameters
    ----------
    path
        Parquet, CSV or pandas HDF5 file.
    mass
        Column of the resonant mass.
    features
        Feature columns: a sequence of column names (kept as feature names), a mapping from feature name
        to column name, or ``None`` for every numeric column not used as mass, label or weight.
    label, weight
        Optional columns of the truth label and the event weight.
    key
        Table key in an HDF5 store (``None``: the only one).
    mass_scale
        Factor that turns the mass column into GeV (e.g. 1000 for a column in TeV).
    nonfinite
        ``"raise"`` or ``"drop"`` events with NaN/inf values.

    Examples
    --------
    >>> events = read_table(  # doctest: +SKIP
    ...     "dijets.csv", mass="mjj", features={"mj_min": "mj1"}, label="is_signal"
    ... )
    """
    if not (np.isfinite(mass_scale) and mass_scale > 0):
        raise ConfigError(f"mass_scale must be a positive number, got {mass_scale!r}")
    roles = [c for c in (mass, label, weight) if c is not None]
    if features is None:
        frame = read_table_frame(path, key=key)
        check_columns(path, frame.columns, roles)
        mapping = {
            str(c): c for c in frame.columns if c not in roles and pd.api.types.is_numeric_dtype(frame[c])
        }
    else:
        mapping = dict(features) if isinstance(features, Mapping) else {str(c): c for c in features}
        frame = read_table_frame(path, columns=list(dict.fromkeys([*roles, *mapping.values()])), key=key)

    def numeric(column: str) -> np.ndarray:
        try:
            return frame[column].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise DataFormatError(
                f"file {os.fspath(path)!r}: column {column!r} is not numeric (dtype {frame[column].dtype})"
            ) from None

    values = {
        column: numeric(column) for column in dict.fromkeys([mass, *mapping.values(), weight]) if column
    }
    label_values = None if label is None else numeric(label)
    keep = finite_rows(path, values, nonfinite)
    if keep is not None:
        values = {column: v[keep] for column, v in values.items()}
        label_values = None if label_values is None else label_values[keep]
    mass_values = values[mass] * mass_scale
    non_positive = int(np.count_nonzero(mass_values <= 0))
    if non_positive:
        raise DataFormatError(
            f"file {os.fspath(path)!r}: mass column {mass!r} has {non_positive} values <= 0 "
            f"(minimum {mass_values.min():g} GeV); a resonant mass must be positive"
        )
    columns = [values[c] for c in mapping.values()]
    return EventSet.from_arrays(
        mass_values,
        np.column_stack(columns) if columns else np.zeros((len(mass_values), 0)),
        list(mapping),
        label=label_values,
        weight=None if weight is None else values[weight],
        provenance={"source": os.fspath(path), "format": "table", "columns": {"mass": mass, **mapping}},
        nonfinite=nonfinite,
    )

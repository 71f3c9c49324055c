"""Writing tables (HDF5 through pandas/PyTables, Parquet through pyarrow) atomically with provenance."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bumphunt._files import atomic_path
from bumphunt.errors import ConfigError
from bumphunt.events import PROVENANCE_KEY

__all__ = [
    "HDF5_SUFFIXES",
    "PARQUET_SUFFIXES",
    "PROVENANCE_KEY",
    "check_table_path",
    "read_provenance",
    "write_table",
]

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
PARQUET_SUFFIXES = (".parquet", ".pq")


def check_table_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path if its suffix names a table format we write; raise otherwise."""
    path = Path(path)
    if path.suffix.lower() not in HDF5_SUFFIXES + PARQUET_SUFFIXES:
        raise ConfigError(
            f"output file {str(path)!r}: unknown suffix {path.suffix!r}; "
            f"use one of {', '.join(HDF5_SUFFIXES + PARQUET_SUFFIXES)}"
        )
    return path


def write_table(
    path: str | os.PathLike[str],
    frames: Iterable[pd.DataFrame],
    provenance: dict[str, Any],
    *,
    key: str = "df",
) -> Path:
    """Write the concatenation of ``frames`` to one file, atomically, streaming frame by frame.

    HDF5 files are pandas "table" stores under ``key`` (``pandas.read_hdf(path)`` reads them, also in
    chunks); Parquet files hold one row group per frame. The provenance dictionary is stored as JSON in
    the node attribute (HDF5) or schema metadata (Parquet) named :data:`PROVENANCE_KEY`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = check_table_path(path)
    text = json.dumps(provenance, sort_keys=True)
    with atomic_path(path) as tmp:
        if path.suffix.lower() in HDF5_SUFFIXES:
            with pd.HDFStore(tmp, mode="w") as store:
                for frame in frames:
                    store.append(key, frame, format="table", index=False)
                if key not in store:
                    raise ValueError(f"no rows to write to {str(path)!r}")
                setattr(store.get_storer(key).attrs, PROVENANCE_KEY, text)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            try:
                for frame in frames:
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if writer is None:
                        schema = table.schema.with_metadata(
                            {**(table.schema.metadata or {}), PROVENANCE_KEY.encode(): text.encode()}
                        )
                        writer = pq.ParquetWriter(tmp, schema)
                    writer.write_table(table.cast(writer.schema))
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise ValueError(f"no rows to write to {str(path)!r}")
    return path


def read_provenance(path: str | os.PathLike[str], *, key: str = "df") -> dict[str, Any]:
    """The provenance dictionary that :func:`write_table` stored in ``path`` ({} if there is none)."""
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        metadata = pq.read_schema(path).metadata or {}
        raw = metadata.get(PROVENANCE_KEY.encode())
        return json.loads(raw) if raw else {}
    with pd.HDFStore(path, mode="r") as store:
        raw = getattr(store.get_storer(key).attrs, PROVENANCE_KEY, None)
    return json.loads(raw) if raw else {}

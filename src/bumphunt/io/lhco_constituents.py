"""Streaming reader of the LHC Olympics R&D constituents file, with optional FastJet clustering.

Layout expected (:mod:`bumphunt.io.lhco`): a pandas HDF5 store (``fixed`` or ``table`` format) holding
one float DataFrame with ``3 k`` particle columns, optionally followed by one label column (``3 k + 1``
columns; k = 700 in the LHCO files, whose columns are named 0 .. 2100). Columns ``3 i``, ``3 i + 1``,
``3 i + 2`` are pT (GeV), pseudorapidity and azimuth (rad) of particle ``i``; particles are massless and
rows are zero padded (particles with pT = 0 are padding). This is the layout of
``events_anomalydetection.h5`` (1.1 M events, Zenodo 4536377), of the black boxes (no label) and of the
``--constituents`` output of ``bumphunt generate dijet``.

The file is read ``chunk_size`` rows at a time (``HDFStore.select(start=, stop=)``), so memory stays
bounded by one chunk however large the file is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.events import EventSet, NonFinitePolicy
from bumphunt.io._source import open_hdf_store
from bumphunt.io.lhco import split_constituent_rows
from bumphunt.io.lhco_features import event_set_from_rows, raw_feature_names
from bumphunt.physics.dijet import lhco_jet_rows

__all__ = ["ConstituentChunk", "iter_lhco_constituents", "read_lhco_constituents"]

logger = logging.getLogger(__name__)

_WHAT = "the LHCO R&D constituents layout: a pandas table of 3k particle columns (pT, eta, phi) [+ label]"


@dataclass(frozen=True)
class ConstituentChunk:
    """A block of consecutive events of a constituents file.

    Attributes
    ----------
    start
        Row number of the first event of the chunk in the file.
    particles
        ``events * var * {pt, eta, phi}`` (GeV, -, rad) without the zero padding, in file order.
    label
        The label column, or ``None`` for files without one.
    """

    start: int
    particles: ak.Array
    label: np.ndarray | None

    def __len__(self) -> int:
        return len(self.particles)


def _n_rows(storer) -> int:
    nrows = getattr(storer, "nrows", None)
    return int(nrows) if nrows is not None else int(storer.shape[0])


def iter_lhco_constituents(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    chunk_size: int = 2_000,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[ConstituentChunk]:
    """Yield the events of a constituents file ``chunk_size`` rows at a time.

    Parameters
    ----------
    path
        The HDF5 file.
    key
        Table key; ``None`` takes the only one.
    chunk_size
        Rows per chunk. A row of the LHCO file is 16.8 kB as float64; reading, unpadding and (in
        :func:`read_lhco_constituents`) clustering a chunk needs a few times that, so the default
        keeps the reader well under 1 GiB for any file length.
    start, stop
        Read rows ``start`` .. ``stop - 1`` only (``stop=None``: to the end).

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing file, a file that is not HDF5 or is truncated, a wrong key, or a table whose
        number of columns is not 3k or 3k + 1.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive number of events, got {chunk_size!r}")
    if start < 0 or (stop is not None and stop < start):
        raise ConfigError(f"need 0 <= start <= stop, got start={start!r}, stop={stop!r}")
    with open_hdf_store(path, key, _WHAT) as (store, key):
        n_rows = _n_rows(store.get_storer(key))
        n_columns = store.select(key, start=0, stop=1).shape[1]
        if n_columns < 3 or n_columns % 3 == 2:
            raise DataFormatError(
                f"file {os.fspath(path)!r}, key {key!r}: {n_columns} columns; expected 3k particle columns "
                "(pT, eta, phi), optionally followed by a label column (2101 in the LHCO files)"
            )
        has_label = n_columns % 3 == 1
        stop = n_rows if stop is None else min(stop, n_rows)
        for first in range(start, stop, chunk_size):
            block = store.select(key, start=first, stop=min(first + chunk_size, stop))
            particles, label = split_constituent_rows(block.to_numpy(dtype=np.float64), has_label)
            del block
            yield ConstituentChunk(first, _unpad(particles), label)


def _unpad(particles: np.ndarray) -> ak.Array:
    """``(n, k, 3)`` zero-padded rows to ``n * var * {pt, eta, phi}``."""
    real = particles[:, :, 0] > 0
    flat = particles[real]
    records = ak.zip({"pt": flat[:, 0], "eta": flat[:, 1], "phi": flat[:, 2]})
    return ak.unflatten(records, np.count_nonzero(real, axis=1))


def read_lhco_constituents(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    radius: float = 1.0,
    min_jet_pt: float = 20.0,
    with_delta_r: bool = False,
    raw_columns: bool | Sequence[str] = False,
    chunk_size: int = 2_000,
    start: int = 0,
    stop: int | None = None,
    progress: Callable[[int], None] | None = None,
    nonfinite: NonFinitePolicy = "raise",
) -> EventSet:
    """Cluster the constituents of each event into jets and return the CATHODE features.

    Each chunk of events is clustered with FastJet (anti-kT, ``radius``, jets with pT > ``min_jet_pt``)
    and the LHCO feature row of the two leading jets is built (:func:`bumphunt.physics.dijet.lhco_jet_rows`);
    the EventSet then holds the same quantities as :func:`bumphunt.io.read_lhco_features` would give
    for the matching features file. Events with fewer than two jets are dropped (the number is logged and
    recorded in ``provenance["n_without_two_jets"]``).

    Parameters
    ----------
    radius, min_jet_pt
        Jet definition (the LHCO R&D files used R = 1.0 and 20 GeV).
    with_delta_r, raw_columns, nonfinite
        As in :func:`bumphunt.io.read_lhco_features`.
    chunk_size, start, stop, key
        As in :func:`iter_lhco_constituents`.
    progress
        Called with the number of events after each chunk.
    """
    raw_feature_names(raw_columns)  # reject unknown names before the long loop
    rows, labels = [], []
    n_read = n_without = 0
    has_label = True
    for chunk in iter_lhco_constituents(path, key=key, chunk_size=chunk_size, start=start, stop=stop):
        chunk_rows, has_two = lhco_jet_rows(chunk.particles, radius=radius, min_pt=min_jet_pt)
        rows.append(chunk_rows)
        has_label = chunk.label is not None
        if has_label:
            labels.append(chunk.label[has_two])
        n_read += len(chunk)
        n_without += int(len(chunk) - np.count_nonzero(has_two))
        if progress is not None:
            progress(len(chunk))
    if n_without:
        logger.warning(
            "%s: dropped %d of %d events with fewer than two jets", os.fspath(path), n_without, n_read
        )
    matrix = np.concatenate(rows) if rows else np.zeros((0, 14))
    provenance = {
        "source": os.fspath(path),
        "format": "lhco-constituents",
        "jets": {"algorithm": "antikt", "radius": radius, "min_pt": min_jet_pt},
        "n_read": n_read,
        "n_without_two_jets": n_without,
    }
    return event_set_from_rows(
        matrix,
        label=np.concatenate(labels) if has_label and labels else None,
        provenance=provenance,
        with_delta_r=with_delta_r,
        raw_columns=raw_columns,
        nonfinite=nonfinite,
    )

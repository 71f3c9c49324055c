"""Chunked, resumable, parallel generation of 7 TeV dijet samples in the MOD HDF5 layout.

The machinery of the other generators (:func:`bumphunt.generate.run.generate_file`); each chunk keeps
its jets and particles as ``.npz`` in ``<output>.parts/chunks/``. The file holds two rows per event (the
two hardest jets, :mod:`bumphunt.generate.mod_loop`) in ``jets_i``/``jets_f`` with the event number in
``evn`` (from 1) and the chunk in ``lbn``, and their generator-level particles as ``gens``
(:mod:`bumphunt.io.mod_writer`); :func:`bumphunt.io.read_mod_jets` reads it back with
``particles="gens"``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from bumphunt._files import atomic_path
from bumphunt.config import ExecutorConfig
from bumphunt.errors import ConfigError
from bumphunt.executors import Task
from bumphunt.generate.mod_loop import ModSelection, generate_mod_chunk
from bumphunt.generate.run import (
    ChunkedPlan,
    GenerationSummary,
    chunk_record,
    generate_file,
    records_provenance,
)
from bumphunt.io.mod_writer import INT_COLUMNS, write_mod_hdf5

__all__ = ["ModPlan", "generate_mod_dijets"]


@dataclass(frozen=True)
class ModPlan(ChunkedPlan):
    """A MOD-like dijet plan (the fields of :class:`~bumphunt.generate.run.ChunkedPlan` and ``selection``)."""

    selection: ModSelection = field(default_factory=ModSelection)


def _chunk_path(chunks: Path, index: int) -> Path:
    return chunks / f"chunk-{index:05d}.npz"


def _run_chunk(plan: ModPlan, chunks: Path, task: Task) -> dict[str, Any]:
    index, size = int(task.params["index"]), int(task.params["n_events"])
    chunk = generate_mod_chunk(plan.card, size, task.seed, selection=plan.selection)
    flat = ak.flatten(chunk.particles)
    arrays = {
        "jets": chunk.jets,
        "counts": ak.to_numpy(ak.num(chunk.particles, axis=1)),
        **{k: ak.to_numpy(flat[k]) for k in ("pt", "y", "phi")},
    }
    with atomic_path(_chunk_path(chunks, index)) as tmp, tmp.open("wb") as handle:
        np.savez(handle, **arrays)
    return chunk_record(size, chunk)


def _provenance(plan: ModPlan, records: list[dict[str, Any]], command: str | None) -> dict[str, Any]:
    return records_provenance(
        plan,
        records,
        command,
        layout="MOD HDF5 (generated; generator-level particles as gens)",
        selection=asdict(plan.selection),
        jets=f"the two hardest FastJet anti-kT R = {plan.selection.radius:g} jets of the massless visible "
        "final-state particles",
    )


def _assemble(chunks: Path, n_chunks: int) -> tuple[np.ndarray, np.ndarray, ak.Array]:
    """``jets_i``, ``jets_f`` and the particles of all chunks."""
    ints, floats, particles = [], [], []
    first_event = 1
    for index in range(n_chunks):
        with np.load(_chunk_path(chunks, index)) as chunk:
            jets = chunk["jets"]
            n_events = len(jets) // 2
            columns = np.zeros((len(jets), len(INT_COLUMNS)), dtype=np.int64)
            columns[:, 1] = 1  # rn
            columns[:, 2] = index  # lbn: the chunk
            columns[:, 3] = np.repeat(np.arange(first_event, first_event + n_events), 2)  # evn
            columns[:, 4] = 1  # npv: no pileup
            columns[:, 5] = 3  # quality: "tight", as every generated jet is genuine
            first_event += n_events
            ints.append(columns)
            floats.append(jets)
            record = ak.zip({k: chunk[k] for k in ("pt", "y", "phi")})
            particles.append(ak.unflatten(record, chunk["counts"]))
    return np.concatenate(ints), np.concatenate(floats), ak.concatenate(particles)


def generate_mod_dijets(
    plan: ModPlan,
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: ExecutorConfig | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generate ``plan`` and write a MOD HDF5 file (``.h5``).

    Arguments as in :func:`bumphunt.generate.generate`.
    """
    path = Path(output)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ConfigError(f"output file {str(path)!r}: a MOD HDF5 file needs the suffix .h5 or .hdf5")

    def finish(chunks: Path, records: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
        provenance = _provenance(plan, records, command)
        jets_i, jets_f, particles = _assemble(chunks, len(records))
        return write_mod_hdf5(path, jets_i, jets_f, particles, provenance), provenance

    return generate_file(
        plan,
        path,
        functools.partial(_run_chunk, plan),
        finish,
        workers=workers,
        executor=executor,
        work_dir=work_dir,
        progress=progress,
    )

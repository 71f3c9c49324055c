"""Chunked, resumable, parallel generation of lepton samples into flat ROOT ntuples.

The machinery of the other generators (:func:`bumphunt.generate.run.run_chunks`): chunk ``i`` is seeded
from child ``i`` of the master seed, chunks run on local processes, Dask or SLURM, finished chunks are kept
(as Parquet) in ``<output>.parts/chunks/`` so that a rerun resumes, and the ROOT file is written
atomically at the end.

The file has the layout of the CMS Open Data HZZ tutorial ntuple that
:func:`bumphunt.io.read_flat_leptons` reads: TTree ``events``, one entry per event, branches
``Electron_Px, _Py, _Pz, _E`` (float32, GeV), ``Electron_Charge`` (int32) and ``Electron_genPartFlav``
(uint8), the same for ``Muon``, with counters ``nElectron`` and ``nMuon``. Single precision is what sets
how well the mass computed from a stored lepton tells its flavour (:mod:`bumphunt.physics.lepton_detector`).
Events are unweighted; each stands for ``sigma_selected_pb / n_events`` picobarn (provenance).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from bumphunt._files import atomic_path
from bumphunt.config import ExecutorConfig
from bumphunt.errors import ConfigError
from bumphunt.executors import Task
from bumphunt.generate.lepton_loop import COLLECTIONS, generate_lepton_chunk
from bumphunt.generate.run import (
    ChunkedPlan,
    GenerationSummary,
    chunk_record,
    generate_file,
    records_provenance,
)
from bumphunt.io.root_writer import write_root_tree
from bumphunt.physics.lepton_detector import LeptonDetector

__all__ = ["LEPTON_LAYOUT", "LeptonPlan", "generate_leptons"]

_FIELDS: dict[str, type[np.generic]] = {
    "Px": np.float32,
    "Py": np.float32,
    "Pz": np.float32,
    "E": np.float32,
    "Charge": np.int32,
    "genPartFlav": np.uint8,
}
#: Branch types of the written tree, by collection.
LEPTON_LAYOUT: dict[str | None, dict[str, type[np.generic]]] = {
    name: _FIELDS for name, _ in COLLECTIONS.values()
}


@dataclass(frozen=True)
class LeptonPlan(ChunkedPlan):
    """A lepton-sample plan (the fields of :class:`~bumphunt.generate.run.ChunkedPlan` and these).

    Attributes
    ----------
    detector
        The lepton detector model.
    min_leptons
        Stored electrons and muons an event needs.
    """

    detector: LeptonDetector = field(default_factory=LeptonDetector)
    min_leptons: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.min_leptons, int) or self.min_leptons < 1:
            raise ConfigError(f"min_leptons must be a positive integer, got {self.min_leptons!r}")


def _chunk_path(chunks: Path, index: int) -> Path:
    return chunks / f"chunk-{index:05d}.parquet"


def _run_chunk(plan: LeptonPlan, chunks: Path, task: Task) -> dict[str, Any]:
    """Generate the chunk of ``task``, save it atomically; return its counts (the task's result)."""
    index, size = int(task.params["index"]), int(task.params["n_events"])
    chunk = generate_lepton_chunk(
        plan.card, size, task.seed, detector=plan.detector, min_leptons=plan.min_leptons
    )
    with atomic_path(_chunk_path(chunks, index)) as tmp:
        ak.to_parquet(chunk.events, tmp)
    return chunk_record(size, chunk)


def _provenance(plan: LeptonPlan, records: list[dict[str, Any]], command: str | None) -> dict[str, Any]:
    return records_provenance(
        plan,
        records,
        command,
        layout="flat lepton ntuple (generated)",
        detector=asdict(plan.detector),
        min_leptons=plan.min_leptons,
    )


def _blocks(chunks: Path, n_chunks: int) -> Iterator[ak.Array]:
    for index in range(n_chunks):
        yield ak.from_parquet(_chunk_path(chunks, index))


def generate_leptons(
    plan: LeptonPlan,
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: ExecutorConfig | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generate ``plan`` and write a flat lepton ntuple (``.root``, TTree ``events``).

    Parameters
    ----------
    plan
        What to generate.
    output
        The ``.root`` file to write.
    workers, executor, work_dir, command, progress
        As in :func:`bumphunt.generate.generate`.

    Returns
    -------
    GenerationSummary

    Raises
    ------
    bumphunt.errors.ConfigError
        For bad settings, or a work directory left by a run with other settings.
    bumphunt.errors.BumphuntError
        If chunks fail (the finished ones stay in the work directory for a rerun).
    """
    path = Path(output)
    if path.suffix.lower() != ".root":
        raise ConfigError(f"output file {str(path)!r}: a lepton ntuple needs the suffix .root")

    def finish(chunks: Path, records: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
        provenance = _provenance(plan, records, command)
        return write_root_tree(
            path, "events", LEPTON_LAYOUT, _blocks(chunks, len(records)), provenance
        ), provenance

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

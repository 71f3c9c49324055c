"""Chunked, resumable, parallel generation of dimuon samples into CMS NanoAOD-format ROOT files.

The same machinery as the dijet generator (:mod:`bumphunt.generate.run`): chunk ``i`` is seeded from
child ``i`` of the master seed, chunks run on local processes, Dask or SLURM, each finished chunk is
kept (as Parquet) in ``<output>.parts/chunks/`` so that a rerun resumes, and the ROOT file is written
atomically at the end.

Events are unweighted (``genWeight`` is 1): heavy-flavour and onium decays are made frequent by
repeating them on each generated event (:mod:`bumphunt.generate.dimuon_loop`), and ``n_generated``
counts the repeats. The cross section of the selected events is
``sigma_generated * selection_efficiency`` (both in the provenance), so each event stands for
``sigma_generated / n_generated`` picobarn. The provenance also records how many events share their
generated event with another one (``events_sharing_a_generated_event``), and how many generated
events were left out because their muons passed without the repeated decays
(``generated_events_left_out``, :mod:`bumphunt.generate.dimuon_loop`).
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
from bumphunt.generate.dimuon_loop import generate_dimuon_chunk
from bumphunt.generate.run import (
    ChunkedPlan,
    GenerationSummary,
    chunk_record,
    generate_file,
    records_provenance,
)
from bumphunt.io.nanoaod_writer import write_nanoaod
from bumphunt.physics.muon_detector import DetectorModel

__all__ = ["DimuonPlan", "generate_dimuon"]


@dataclass(frozen=True)
class DimuonPlan(ChunkedPlan):
    """A dimuon plan (the fields of :class:`~bumphunt.generate.run.ChunkedPlan` and these).

    Attributes
    ----------
    detector
        The detector model.
    min_muons
        Stored muons an event needs.
    """

    detector: DetectorModel = field(default_factory=DetectorModel)
    min_muons: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.min_muons, int) or self.min_muons < 1:
            raise ConfigError(f"min_muons must be a positive integer, got {self.min_muons!r}")


def _chunk_path(chunks: Path, index: int) -> Path:
    return chunks / f"chunk-{index:05d}.parquet"


def _run_chunk(plan: DimuonPlan, chunks: Path, task: Task) -> dict[str, Any]:
    """Generate the chunk of ``task``, save it atomically; return its counts (the task's result)."""
    index, size = int(task.params["index"]), int(task.params["n_events"])
    chunk = generate_dimuon_chunk(
        plan.card,
        size,
        task.seed,
        detector=plan.detector,
        min_muons=plan.min_muons,
    )
    with atomic_path(_chunk_path(chunks, index)) as tmp:
        ak.to_parquet(chunk.events, tmp)
    return chunk_record(size, chunk, n_shared=chunk.shared, n_left_out=chunk.n_left_out)


def _provenance(plan: DimuonPlan, records: list[dict[str, Any]], command: str | None) -> dict[str, Any]:
    return records_provenance(
        plan,
        records,
        command,
        layout="CMS NanoAOD (generated)",
        repeated_decays=list(plan.card.repeated_decays),
        decay_repeats=plan.card.decay_repeats,
        detector=asdict(plan.detector),
        min_muons=plan.min_muons,
        events_sharing_a_generated_event=sum(r["n_shared"] for r in records),
        generated_events_left_out=sum(r["n_left_out"] for r in records),
    )


def _blocks(chunks: Path, n_chunks: int) -> Iterator[ak.Array]:
    """The saved chunks, each event with ``genWeight`` 1."""
    for index in range(n_chunks):
        events = ak.from_parquet(_chunk_path(chunks, index))
        yield ak.with_field(events, np.ones(len(events)), "genWeight")


def generate_dimuon(
    plan: DimuonPlan,
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: ExecutorConfig | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generate ``plan`` and write a NanoAOD-format ROOT file.

    Parameters
    ----------
    plan
        What to generate.
    output
        The ``.root`` file to write (TTree ``Events``).
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
        raise ConfigError(f"output file {str(path)!r}: a NanoAOD file needs the suffix .root")

    def finish(chunks: Path, records: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
        provenance = _provenance(plan, records, command)
        return write_nanoaod(path, _blocks(chunks, len(records)), provenance), provenance

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

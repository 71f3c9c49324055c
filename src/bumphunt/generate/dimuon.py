"""Chunked, resumable, parallel generation of dimuon samples into CMS NanoAOD-format ROOT files.

The same machinery as the dijet generator (:mod:`bumphunt.generate.run`): chunk ``i`` is seeded from
child ``i`` of the master seed, chunks run on local processes, Dask or SLURM, each finished chunk is
kept (as Parquet) in ``<output>.parts/chunks/`` so that a rerun resumes, and the ROOT file is written
atomically at the end.

Every event carries ``genWeight``, the weight that undoes the enhanced muon decays
(:mod:`bumphunt.generate.decay_bias`), calibrated on the decays of every event the run generated; its
mean over the selected events is not 1. The cross section of the selected events is
``sigma_generated * weighted_selection_efficiency`` (both in the provenance), so an event's share of it
is ``genWeight * sigma_generated / n_generated``.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from bumphunt import __version__
from bumphunt._files import atomic_path
from bumphunt.config import ExecutorConfig
from bumphunt.errors import ConfigError
from bumphunt.executors import ResultStore, Task
from bumphunt.generate.decay_bias import DEFAULT_MUON_FRACTION, DecayCalibration, MuonDecayBias
from bumphunt.generate.dimuon_loop import generate_dimuon_chunk
from bumphunt.generate.pythia_loop import pythia_settings, pythia_version
from bumphunt.generate.run import ChunkedPlan, GenerationSummary, _executor, run_chunks, sigma_pb
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
    muon_fraction
        Probability given to the muon channels of the card's enhanced species.
    min_muons
        Stored muons an event needs.
    """

    detector: DetectorModel = field(default_factory=DetectorModel)
    muon_fraction: float = DEFAULT_MUON_FRACTION
    min_muons: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.muon_fraction < 1.0:
            raise ConfigError(f"muon_fraction must lie strictly between 0 and 1, got {self.muon_fraction!r}")
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
        muon_fraction=plan.muon_fraction,
        min_muons=plan.min_muons,
    )
    with atomic_path(_chunk_path(chunks, index)) as tmp:
        ak.to_parquet(chunk.events, tmp)
    # decays of the passed events, summed over events with the same counts (for the selected sigma)
    patterns, multiplicity = np.unique(
        chunk.passed_decays.reshape(chunk.n_passed, -1), axis=0, return_counts=True
    )
    return {
        "n_selected": size,
        "n_generated": chunk.n_generated,
        "n_passed": chunk.n_passed,
        "species": list(chunk.bias.species),
        "table_fraction": list(chunk.bias.table_fraction),
        "decay_totals": chunk.decay_totals.tolist(),
        "passed_patterns": patterns.tolist(),
        "passed_multiplicity": multiplicity.tolist(),
        "sigma_mb": chunk.sigma_mb,
        "sigma_err_mb": chunk.sigma_err_mb,
    }


def _calibration(plan: DimuonPlan, records: list[dict[str, Any]]) -> DecayCalibration:
    bias = MuonDecayBias(
        tuple(records[0]["species"]), tuple(records[0]["table_fraction"]), plan.muon_fraction
    )
    totals = np.sum([np.asarray(r["decay_totals"], dtype=np.int64).reshape(-1, 2) for r in records], axis=0)
    return bias.calibrate(totals.reshape(len(bias.species), 2))


def _provenance(
    plan: DimuonPlan, records: list[dict[str, Any]], calibration: DecayCalibration, command: str | None
) -> dict[str, Any]:
    generated = [r["n_generated"] for r in records]
    n_generated, n_passed = sum(generated), sum(r["n_passed"] for r in records)
    sigma, sigma_err = sigma_pb(
        generated, [r["sigma_mb"] for r in records], [r["sigma_err_mb"] for r in records]
    )
    passed_weight = sum(
        float(np.dot(calibration.event_weights(np.asarray(r["passed_patterns"])), r["passed_multiplicity"]))
        for r in records
        if r["passed_multiplicity"]
    )
    weighted_efficiency = passed_weight / n_generated
    return {
        "format": "CMS NanoAOD (generated)",
        "bumphunt_version": __version__,
        "generator": f"Pythia {pythia_version()}",
        "process": plan.card.name,
        "label": plan.card.label,
        "pythia_settings": [*pythia_settings(plan.card), "Random:setSeed = on", "Random:seed = <chunk seed>"],
        "enhanced_muon_decays": list(plan.card.enhanced_decays),
        "muon_fraction": plan.muon_fraction,
        "decay_calibration": calibration.as_dict(),
        "detector": asdict(plan.detector),
        "min_muons": plan.min_muons,
        "seed": plan.seed,
        "chunk_size": plan.chunk_size,
        "chunk_seeds": plan.chunk_seeds,
        "n_events": plan.n_events,
        "n_generated": n_generated,
        "n_selected_before_truncation": n_passed,
        "selection_efficiency": n_passed / n_generated,
        "weighted_selection_efficiency": weighted_efficiency,
        "sigma_generated_pb": sigma,
        "sigma_generated_err_pb": sigma_err,
        "sigma_selected_pb": sigma * weighted_efficiency,
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _weighted_blocks(chunks: Path, n_chunks: int, calibration: DecayCalibration) -> Iterator[ak.Array]:
    """The saved chunks with ``genWeight`` from their decay counts."""
    for index in range(n_chunks):
        events = ak.from_parquet(_chunk_path(chunks, index))
        counts = ak.to_numpy(ak.flatten(events["decays"])).reshape(len(events), len(calibration.species), 2)
        weights = calibration.event_weights(counts)
        yield ak.with_field(events, weights, "genWeight")


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
    spec = _executor(workers, executor)
    work = Path(work_dir) if work_dir is not None else path.with_name(path.name + ".parts")
    start = time.perf_counter()
    chunks, reused = run_chunks(plan, work, functools.partial(_run_chunk, plan), spec, progress)
    store = ResultStore(chunks)
    records = [store.read(f"chunk-{i:05d}")["result"] for i in range(len(plan.chunk_sizes))]
    calibration = _calibration(plan, records)
    provenance = _provenance(plan, records, calibration, command)
    written = write_nanoaod(path, _weighted_blocks(chunks, len(records), calibration), provenance)
    shutil.rmtree(work)
    return GenerationSummary(
        outputs=[written],
        provenance=provenance,
        wall_seconds=time.perf_counter() - start,
        chunks_reused=reused,
    )

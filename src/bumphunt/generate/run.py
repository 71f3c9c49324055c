"""Chunked, resumable, parallel event generation into LHCO-format files.

The requested number of selected events is split into chunks of ``chunk_size``. Chunk ``i`` is seeded
from child ``i`` of ``numpy.random.SeedSequence(seed)`` (:func:`bumphunt.seeding.pythia_seeds`), so its
events depend only on the seed, the chunk size and the settings: the output is the same for any
executor and number of workers. Chunks are the tasks of :func:`bumphunt.executors.run_tasks`, the layer
that runs pseudo-experiments too: they fan out over local processes, a Dask cluster or SLURM jobs. Each
finished chunk is saved atomically with its result record in a work directory next to the first output
(``<output>.parts/chunks/``); a rerun of the same command skips chunks already there, so an interrupted
run resumes. When all chunks are done, the outputs are written atomically and the work directory is
removed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bumphunt import __version__
from bumphunt._files import atomic_path
from bumphunt.config import ExecutorConfig
from bumphunt.errors import BumphuntError, ConfigError
from bumphunt.executors import ResultStore, Task, run_tasks
from bumphunt.generate.cards import ProcessCard
from bumphunt.generate.jet_loop import JetSelection, generate_jet_chunk
from bumphunt.generate.pythia_loop import DijetSelection, generate_chunk, pythia_settings, pythia_version
from bumphunt.io.lhco import constituents_frame, features_frame
from bumphunt.io.table_writer import check_table_path, write_table
from bumphunt.seeding import pythia_seeds

__all__ = [
    "ChunkedPlan",
    "GenerationPlan",
    "GenerationSummary",
    "JetPlan",
    "generate",
    "generate_jets",
    "run_chunks",
    "sigma_pb",
]

log = logging.getLogger(__name__)

_MB_TO_PB = 1e9


@dataclass(frozen=True)
class ChunkedPlan:
    """What every generation plan holds: a process, how many selected events, the seed, the chunking.

    Attributes
    ----------
    card
        The Pythia process.
    n_events
        Number of events that pass the selection.
    seed
        Master seed; chunk seeds are spawned from it.
    chunk_size
        Selected events per chunk (the unit of parallel work and of resumption).
    """

    card: ProcessCard
    n_events: int
    seed: int = 0
    chunk_size: int = 500

    def __post_init__(self) -> None:
        if not isinstance(self.n_events, int | np.integer) or self.n_events < 1:
            raise ConfigError(f"the number of events must be a positive integer, got {self.n_events!r}")
        if not isinstance(self.chunk_size, int | np.integer) or self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive integer, got {self.chunk_size!r}")
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def chunk_sizes(self) -> list[int]:
        """Selected events in each chunk; all ``chunk_size`` but possibly the last."""
        full, rest = divmod(self.n_events, self.chunk_size)
        return [self.chunk_size] * full + ([rest] if rest else [])

    @property
    def chunk_seeds(self) -> list[int]:
        """Pythia seed of each chunk (:func:`bumphunt.seeding.pythia_seeds`)."""
        return pythia_seeds(self.seed, len(self.chunk_sizes))

    def fingerprint(self) -> str:
        """Hash of everything that fixes a chunk's content except its size (for safe resumption)."""
        state = {k: v for k, v in asdict(self).items() if k != "n_events"}
        state["pythia"] = pythia_version()
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GenerationPlan(ChunkedPlan):
    """A dijet plan in the LHC Olympics format (the fields of :class:`ChunkedPlan` and these).

    Attributes
    ----------
    selection
        Particle and event selection.
    constituents
        Also keep the padded constituent lists (needed for the constituents output).
    """

    selection: DijetSelection = field(default_factory=DijetSelection)
    constituents: bool = False


@dataclass(frozen=True)
class JetPlan(ChunkedPlan):
    """A jet-sample plan: the leading jet of each event in a pT window (the fields of
    :class:`ChunkedPlan` and ``selection``, a :class:`~bumphunt.generate.jet_loop.JetSelection`)."""

    selection: JetSelection = field(default_factory=JetSelection)


@dataclass
class GenerationSummary:
    """What a generation run produced.

    Attributes
    ----------
    outputs
        Files written.
    provenance
        The metadata stored in every output.
    wall_seconds
        Wall time of this call.
    chunks_reused
        Chunks found finished from an earlier, interrupted run.
    """

    outputs: list[Path]
    provenance: dict[str, Any]
    wall_seconds: float
    chunks_reused: int

    @property
    def events_per_second(self) -> float:
        """Generated (not only selected) events per second of wall time in this call."""
        return self.provenance["n_generated"] / self.wall_seconds if self.wall_seconds else float("nan")


def _chunk_path(chunks: Path, index: int) -> Path:
    return chunks / f"chunk-{index:05d}.npz"


def _tasks(plan: ChunkedPlan) -> list[Task]:
    """One task per chunk: key ``chunk-<index>``, the chunk's Pythia seed, its index and size."""
    return [
        Task(f"chunk-{index:05d}", seed, {"index": index, "n_events": size})
        for index, (size, seed) in enumerate(zip(plan.chunk_sizes, plan.chunk_seeds, strict=True))
    ]


def _run_chunk(plan: GenerationPlan, chunks: Path, task: Task) -> dict[str, Any]:
    """Generate the chunk of ``task``, save it atomically; return its counts (the task's result)."""
    index, size = int(task.params["index"]), int(task.params["n_events"])
    result = generate_chunk(
        plan.card, size, task.seed, selection=plan.selection, constituents=plan.constituents
    )
    arrays = {
        "features": result.features,
        "pthat": result.pthat,
        "counts": np.array([result.n_generated, result.n_passed]),
        "sigma_mb": np.array([result.sigma_mb, result.sigma_err_mb]),
    }
    if result.constituents is not None:
        arrays["constituents"] = result.constituents
    with atomic_path(_chunk_path(chunks, index)) as tmp, tmp.open("wb") as handle:
        np.savez(handle, **arrays)
    return {"n_selected": size, "n_generated": int(result.n_generated), "n_passed": int(result.n_passed)}


def _adopt_unrecorded_chunks(
    work_dir: Path, chunks: Path, store: ResultStore, *, plan: GenerationPlan
) -> None:
    """Record chunks saved without a result record (by the runner before the executor layer, as
    ``<work>/chunk-*.npz``): a chunk file with the right number of events was written atomically under
    the same plan (the work directory's fingerprint says so), so it counts as done."""
    done = store.done()
    for task in _tasks(plan):
        index = int(task.params["index"])
        old, new = _chunk_path(work_dir, index), _chunk_path(chunks, index)
        if old.exists() and not new.exists():
            chunks.mkdir(exist_ok=True)
            old.replace(new)
        if task.key in done or not new.exists():
            continue
        with np.load(new) as chunk:
            if len(chunk["features"]) != task.params["n_events"]:
                continue
            n_generated, n_passed = (int(c) for c in chunk["counts"])
        store.write(
            task, {"n_selected": task.params["n_events"], "n_generated": n_generated, "n_passed": n_passed}
        )


def _prepare_work_dir(work_dir: Path, plan: ChunkedPlan) -> None:
    manifest = work_dir / "manifest.json"
    fingerprint = plan.fingerprint()
    if work_dir.exists():
        if manifest.exists() and json.loads(manifest.read_text()).get("fingerprint") == fingerprint:
            return
        raise ConfigError(
            f"work directory {str(work_dir)!r} holds chunks of a run with other settings; "
            "remove it to start afresh"
        )
    work_dir.mkdir(parents=True)
    with atomic_path(manifest) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint}))


def _iter_chunks(work_dir: Path, n_chunks: int, key: str) -> Iterator[np.ndarray]:
    for index in range(n_chunks):
        with np.load(_chunk_path(work_dir, index)) as chunk:
            yield chunk[key]


def _provenance(
    plan: GenerationPlan | JetPlan,
    work_dir: Path,
    command: str | None,
    *,
    layout: str = "LHC Olympics 2020 R&D",
    jets: str = "FastJet anti-kT on massless visible final-state particles; tau_N: exclusive-kT axes, "
    "beta = 1, unnormalized (GeV)",
) -> dict[str, Any]:
    counts = _iter_chunks(work_dir, len(plan.chunk_sizes), "counts")
    sigmas = _iter_chunks(work_dir, len(plan.chunk_sizes), "sigma_mb")
    records = [
        {
            "n_generated": int(c[0]),
            "n_passed": int(c[1]),
            "sigma_mb": float(s[0]),
            "sigma_err_mb": float(s[1]),
        }
        for c, s in zip(counts, sigmas, strict=True)
    ]
    return records_provenance(
        plan, records, command, layout=layout, selection=asdict(plan.selection), jets=jets
    )


def _executor(workers: int, executor: ExecutorConfig | None) -> ExecutorConfig:
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    return executor if executor is not None else ExecutorConfig(kind="local", n_workers=workers)


def run_chunks(
    plan: ChunkedPlan,
    work: Path,
    run_chunk: Callable[[Path, Task], dict[str, Any]],
    executor: ExecutorConfig,
    progress: Callable[[int], None] | None,
    *,
    adopt: Callable[[Path, ResultStore], None] | None = None,
) -> tuple[Path, int]:
    """Run the chunks of ``plan`` that are not done yet; return the chunk directory and the number reused.

    ``run_chunk(chunks, task)`` generates one chunk, saves it atomically in ``chunks`` and returns its
    result record. ``adopt(chunks, store)`` may record chunks left by older versions before the run.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``work`` holds chunks of a plan with other settings.
    bumphunt.errors.BumphuntError
        If chunks fail (the finished ones stay in ``work`` for a rerun).
    """
    _prepare_work_dir(work, plan)
    chunks = work / "chunks"
    store = ResultStore(chunks)
    if adopt is not None:
        adopt(chunks, store)
    reused = len(store.done())
    tasks = _tasks(plan)
    events_done = 0

    def report(done: int, total: int) -> None:
        nonlocal events_done
        now = min(done * plan.chunk_size, plan.n_events) if done < total else plan.n_events
        if progress is not None:
            progress(now - events_done)
        events_done = now

    if progress is not None:
        progress(0)
    log.info("generating %d chunks with the %s executor", len(tasks), executor.kind)
    summary = run_tasks(
        functools.partial(run_chunk, chunks), tasks, store, executor=executor, progress=report
    )
    if summary.failed:
        first = summary.failed[0]
        raise BumphuntError(
            f"{summary.n_failed} of {len(tasks)} chunks failed (first: {first.key}: {first.message}); "
            f"the finished chunks stay in {str(work)!r}: rerun the same command to resume"
        )
    return chunks, reused


def chunk_record(n_selected: int, chunk: Any, **extra: Any) -> dict[str, Any]:
    """The result record of one generated chunk: its size, the generated and passed events and Pythia's
    cross section (``chunk`` has ``n_generated``, ``n_passed``, ``sigma_mb``, ``sigma_err_mb``)."""
    return {
        "n_selected": n_selected,
        "n_generated": int(chunk.n_generated),
        "n_passed": int(chunk.n_passed),
        "sigma_mb": float(chunk.sigma_mb),
        "sigma_err_mb": float(chunk.sigma_err_mb),
        **extra,
    }


def records_provenance(
    plan: ChunkedPlan, records: Sequence[dict[str, Any]], command: str | None, *, layout: str, **fields: Any
) -> dict[str, Any]:
    """The provenance of a generated file from its plan and the chunks' :func:`chunk_record` s: format,
    versions, process and Pythia settings, seeds, counts, efficiency and cross sections, the command and
    the time, with ``fields`` (selection, detector, ...) added."""
    generated = [r["n_generated"] for r in records]
    n_generated, n_passed = sum(generated), sum(r["n_passed"] for r in records)
    sigma, sigma_err = sigma_pb(
        generated, [r["sigma_mb"] for r in records], [r["sigma_err_mb"] for r in records]
    )
    efficiency = n_passed / n_generated
    return {
        "format": layout,
        "bumphunt_version": __version__,
        "generator": f"Pythia {pythia_version()}",
        "process": plan.card.name,
        "label": plan.card.label,
        "pythia_settings": [*pythia_settings(plan.card), "Random:setSeed = on", "Random:seed = <chunk seed>"],
        **fields,
        "seed": plan.seed,
        "chunk_size": plan.chunk_size,
        "chunk_seeds": plan.chunk_seeds,
        "n_events": plan.n_events,
        "n_generated": n_generated,
        "n_selected_before_truncation": n_passed,
        "selection_efficiency": efficiency,
        "sigma_generated_pb": sigma,
        "sigma_generated_err_pb": sigma_err,
        "sigma_selected_pb": sigma * efficiency,
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def generate_file(
    plan: ChunkedPlan,
    path: Path,
    run_chunk: Callable[[Path, Task], dict[str, Any]],
    finish: Callable[[Path, list[dict[str, Any]]], tuple[Path, dict[str, Any]]],
    *,
    workers: int = 1,
    executor: ExecutorConfig | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Run the chunks of ``plan`` (:func:`run_chunks`) and write one file from them.

    ``finish(chunks, records)`` writes the output from the chunk directory and the chunks' result
    records and returns the written path and the provenance; the work directory (``<path>.parts`` unless
    ``work_dir``) is removed afterwards.
    """
    spec = _executor(workers, executor)
    work = Path(work_dir) if work_dir is not None else path.with_name(path.name + ".parts")
    start = time.perf_counter()
    chunks, reused = run_chunks(plan, work, run_chunk, spec, progress)
    store = ResultStore(chunks)
    records = [store.read(f"chunk-{i:05d}")["result"] for i in range(len(plan.chunk_sizes))]
    written, provenance = finish(chunks, records)
    shutil.rmtree(work)
    return GenerationSummary(
        outputs=[written],
        provenance=provenance,
        wall_seconds=time.perf_counter() - start,
        chunks_reused=reused,
    )


def sigma_pb(
    generated: Sequence[int], sigma_mb: Sequence[float], sigma_err_mb: Sequence[float]
) -> tuple[float, float]:
    """Cross section of the process and its error (pb) from per-chunk estimates weighted by the number
    of generated events."""
    n = np.asarray(generated, dtype=np.float64)
    value = float(np.sum(n * np.asarray(sigma_mb)) / n.sum() * _MB_TO_PB)
    error = float(np.sqrt(np.sum((n * np.asarray(sigma_err_mb)) ** 2)) / n.sum() * _MB_TO_PB)
    return value, error


def generate(
    plan: GenerationPlan,
    outputs: Sequence[str | os.PathLike[str]],
    *,
    constituents_output: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: ExecutorConfig | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generate ``plan`` and write the LHCO-format outputs.

    Parameters
    ----------
    plan
        What to generate.
    outputs
        Feature files to write; the suffix picks the format (``.h5``/``.hdf5``: pandas HDF5 like the
        Zenodo features file, ``.parquet``: Parquet).
    constituents_output
        Optional HDF5 file in the LHCO constituents layout; needs ``plan.constituents``.
    workers
        Local worker processes; ignored when ``executor`` is given.
    executor
        Where the chunks run (:class:`~bumphunt.config.ExecutorConfig`: local processes, a Dask
        cluster, SLURM jobs); default ``ExecutorConfig(kind="local", n_workers=workers)``. The work
        directory must be on a file system the workers share.
    work_dir
        Where chunks are kept until the outputs are written; ``<first output>.parts`` by default.
    command
        The command line to record in the provenance.
    progress
        Called with 0 once the settings are checked and work starts, then with the number of selected
        events of each chunk as it finishes (also for chunks reused from an interrupted run).

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
    if not outputs:
        raise ConfigError("give at least one output file")
    paths = [check_table_path(p) for p in outputs]
    if constituents_output is not None:
        constituents_path = check_table_path(constituents_output)
        if not plan.constituents:
            raise ConfigError("a constituents output needs a plan with constituents=True")
    spec = _executor(workers, executor)
    work = Path(work_dir) if work_dir is not None else paths[0].with_name(paths[0].name + ".parts")
    start = time.perf_counter()
    chunks, reused = run_chunks(
        plan,
        work,
        functools.partial(_run_chunk, plan),
        spec,
        progress,
        adopt=functools.partial(_adopt_unrecorded_chunks, work, plan=plan),
    )
    provenance = _provenance(plan, chunks, command)
    n_chunks = len(plan.chunk_sizes)
    label = plan.card.label
    written = []
    for path in paths:
        frames = (features_frame(f, label) for f in _iter_chunks(chunks, n_chunks, "features"))
        written.append(write_table(path, frames, provenance))
    if constituents_output is not None:
        frames = (constituents_frame(c, label) for c in _iter_chunks(chunks, n_chunks, "constituents"))
        written.append(write_table(constituents_path, frames, provenance))
    shutil.rmtree(work)
    return GenerationSummary(
        outputs=written,
        provenance=provenance,
        wall_seconds=time.perf_counter() - start,
        chunks_reused=reused,
    )


def _run_jet_chunk(plan: JetPlan, chunks: Path, task: Task) -> dict[str, Any]:
    """Generate the jets of ``task``'s chunk and save them atomically; return the chunk's counts."""
    index, size = int(task.params["index"]), int(task.params["n_events"])
    result = generate_jet_chunk(plan.card, size, task.seed, selection=plan.selection)
    arrays = {
        "constituents": result.constituents,
        "counts": np.array([result.n_generated, result.n_passed]),
        "sigma_mb": np.array([result.sigma_mb, result.sigma_err_mb]),
    }
    with atomic_path(_chunk_path(chunks, index)) as tmp, tmp.open("wb") as handle:
        np.savez(handle, **arrays)
    return {"n_selected": size, "n_generated": int(result.n_generated), "n_passed": int(result.n_passed)}


def generate_jets(
    plan: JetPlan,
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: ExecutorConfig | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationSummary:
    """Generate the jets of ``plan`` into ``output``, one jet per row in the LHCO constituents layout
    (``max_constituents`` particles x (pT, eta, phi), hardest first, zero padded, then the label), which
    :func:`bumphunt.io.iter_lhco_constituents` streams back. Chunking, executors, resumption and the
    other arguments as in :func:`generate`."""
    path = check_table_path(output)
    spec = _executor(workers, executor)
    work = Path(work_dir) if work_dir is not None else path.with_name(path.name + ".parts")
    start = time.perf_counter()
    chunks, reused = run_chunks(plan, work, functools.partial(_run_jet_chunk, plan), spec, progress)
    provenance = _provenance(
        plan,
        chunks,
        command,
        layout="jets in the LHC Olympics constituents layout (one jet per row)",
        jets=f"the leading FastJet anti-kT jet of the massless visible final-state particles, "
        f"{plan.selection.pt_min:g} <= pT <= {plan.selection.pt_max:g} GeV",
    )
    n_chunks = len(plan.chunk_sizes)
    frames = (constituents_frame(c, plan.card.label) for c in _iter_chunks(chunks, n_chunks, "constituents"))
    written = [write_table(path, frames, provenance)]
    shutil.rmtree(work)
    return GenerationSummary(
        outputs=written, provenance=provenance, wall_seconds=time.perf_counter() - start, chunks_reused=reused
    )

"""Run many independent tasks (pseudo-experiments) on an executor, resumably, one result file per task.

A :class:`Task` has a unique key, its own seed and JSON-able parameters. :func:`run_tasks` calls a task
function on each task that has no result yet in a :class:`ResultStore` (a directory with one JSON file per
task), on one of three executors described by a :class:`bumphunt.config.ExecutorConfig` (the one executor
settings type of the package, also the ``executor`` block of a search configuration):

``local`` (default)
    A pool of ``n_workers`` processes started with the ``spawn`` method (safe with torch and threads).
``dask``
    A Dask ``distributed`` cluster: an existing scheduler (``address``) or a ``LocalCluster`` of
    ``n_workers`` single-threaded processes that :func:`run_tasks` starts and closes.
``slurm``
    Dask workers in SLURM jobs through ``dask_jobqueue.SLURMCluster`` (``slurm.n_jobs`` jobs of
    ``slurm.cores`` cores);
    :func:`slurm_job_script` shows the job script. The store must be on a file system that the nodes
    share with the submitting machine.

Guarantees:

* The worker that ran a task writes its result file itself, atomically (temporary file, then rename), so
  finished results survive a crash of the client, and a rerun of the same call skips them (a finished
  ensemble reruns with no work). A task run twice (Dask reschedules tasks of a worker that died) renames
  onto the same file name: the store ends with exactly one complete file per key. Temporary files of
  attempts that died are removed at the end of the run, and at the start of the next one (after a crash
  of the client).
* A task whose worker process dies is run again, up to ``retries`` times. A task that raises an exception
  is recorded as failed (key and message in :attr:`RunSummary.failed`) and not retried; the other tasks
  go on. A rerun tries failed tasks again.
* A stored result made with another seed or other parameters than the task of the same key is an error,
  not silently reused.

Do not run two :func:`run_tasks` on the same store at the same time. Scripts that use the ``local`` or
``dask`` executor must protect their entry point with ``if __name__ == "__main__":`` (worker processes
are spawned and import the main module), and the task function must be a top-level function of an
importable module.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import multiprocessing
import os
import pickle
import re
import shutil
import socket
import threading
import time
import traceback
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bumphunt import __version__
from bumphunt._files import atomic_path
from bumphunt.config import ExecutorConfig
from bumphunt.errors import ConfigError, DataFormatError, DependencyError, MissingFileError
from bumphunt.seeding import spawn_seeds
from bumphunt.stats._records import jsonable

__all__ = [
    "EXECUTOR_KINDS",
    "ExecutorConfig",
    "ResultStore",
    "RunSummary",
    "Task",
    "TaskFailure",
    "TaskFunction",
    "run_tasks",
    "slurm_job_script",
    "spawn_seeds",
]

log = logging.getLogger(__name__)

EXECUTOR_KINDS: tuple[str, ...] = typing.get_args(ExecutorConfig.model_fields["kind"].annotation)
"""The executors :func:`run_tasks` knows (the kinds of :class:`~bumphunt.config.ExecutorConfig`)."""

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}")
_CLUSTER_HINT = "pip install 'bumphunt[cluster]'"
_RECORD_FIELDS = ("key", "seed", "params", "result")


def _is_count(value: Any, minimum: int) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True)
class Task:
    """One independent unit of work (a pseudo-experiment).

    Attributes
    ----------
    key
        Unique, file-system-safe name (letters, digits, ``._+=-``, starting with a letter or digit, at
        most 200 characters), e.g. ``"inject-0.0100-seed-0007"``; the result file is ``<key>.json``.
    seed
        The task's own non-negative integer seed (see :func:`spawn_seeds`).
    params
        JSON-able parameters of the task (numpy scalars and arrays are converted to builtin types).

    Raises
    ------
    ConfigError
        If the key, the seed or the parameters are not allowed.
    """

    key: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise ConfigError(
                f"task key must be 1-200 letters, digits or '._+=-' starting with a letter or digit, "
                f"got {self.key!r}"
            )
        if not _is_count(self.seed, 0):
            raise ConfigError(f"task {self.key}: seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.params, Mapping):
            raise ConfigError(f"task {self.key}: params must be a dict, got {type(self.params).__name__}")
        try:
            params = json.loads(json.dumps(jsonable(dict(self.params)), allow_nan=False))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"task {self.key}: params must be JSON-able ({err})") from None
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "params", params)


TaskFunction = Callable[[Task], dict[str, Any]]
"""A picklable top-level function that computes one task and returns a JSON-able dict."""


@dataclass(frozen=True)
class TaskFailure:
    """A task that did not produce a result.

    Attributes
    ----------
    key
        The task's key.
    message
        What went wrong (exception type and message, or why the worker died).
    traceback
        The worker-side traceback of the exception, if there was one.
    """

    key: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class RunSummary:
    """What one :func:`run_tasks` call did; ``n_tasks == n_skipped + n_run + n_failed``.

    Attributes
    ----------
    n_tasks
        Tasks given.
    n_skipped
        Tasks whose result was already in the store.
    n_run
        Tasks that produced their result in this call.
    n_retried
        Task attempts lost to a dying worker process and run again (``local`` executor; Dask reschedules
        such tasks itself and they are not counted).
    failed
        Tasks without a result, in the order they failed.
    wall_seconds
        Wall time of the call.
    executor
        The executor's kind.
    """

    n_tasks: int
    n_skipped: int
    n_run: int
    n_retried: int
    failed: tuple[TaskFailure, ...]
    wall_seconds: float
    executor: str

    @property
    def n_failed(self) -> int:
        """Number of tasks without a result."""
        return len(self.failed)

    @property
    def ok(self) -> bool:
        """True if every task has its result."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """All fields as builtin types, ready for :func:`json.dumps`."""
        return asdict(self)


class ResultStore:
    """A directory with one JSON result file per task, ``<directory>/<key>.json``.

    Each file holds the task (``key``, ``seed``, ``params``), its ``result`` and where and how long it
    ran (``wall_seconds``, ``host``, ``pid``, ``finished``, ``bumphunt_version``). Files are written
    atomically. A file that cannot be read as such a record (truncated by a crash of an older version,
    edited by hand) counts as not done and is logged as a warning.

    Parameters
    ----------
    directory
        Where the result files live; created on the first write.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).absolute()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        """The result file of task ``key``."""
        return self.directory / f"{key}.json"

    def _marker(self, key: str) -> Path:
        return self.directory / f".{key}.running"

    def _load(self, path: Path) -> dict[str, Any]:
        """The record in ``path``; raises DataFormatError if it is not a complete record."""
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DataFormatError(f"result file {path} cannot be read as JSON: {err}") from None
        if not isinstance(record, dict) or any(name not in record for name in _RECORD_FIELDS):
            raise DataFormatError(f"result file {path} lacks the fields {', '.join(_RECORD_FIELDS)}")
        if record["key"] != path.name.removesuffix(".json"):
            raise DataFormatError(f"result file {path} holds the result of task {record['key']!r}")
        return record

    def _scan(self) -> dict[str, dict[str, Any]]:
        """All complete records by key; unreadable files are logged and left out."""
        records: dict[str, dict[str, Any]] = {}
        if not self.directory.is_dir():
            return records
        for path in sorted(self.directory.glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                record = self._load(path)
            except DataFormatError as err:
                log.warning("%s; the task counts as not done", err)
                continue
            records[record["key"]] = record
        return records

    def done(self) -> set[str]:
        """Keys of the tasks with a complete result file."""
        return set(self._scan())

    def read(self, key: str) -> dict[str, Any]:
        """The stored record of task ``key`` (task fields, ``result`` and run metadata).

        Raises
        ------
        MissingFileError
            If the task has no result file.
        DataFormatError
            If the file is not a complete record.
        """
        path = self.path(key)
        if not path.is_file():
            raise MissingFileError(f"no result for task {key!r}: {path} does not exist")
        return self._load(path)

    def read_all(self) -> list[dict[str, Any]]:
        """The records of all tasks with a complete result file, sorted by key."""
        return list(self._scan().values())

    def encode(self, task: Task, result: Mapping[str, Any], *, wall_seconds: float | None = None) -> str:
        """The JSON text of the record of ``task`` with ``result``.

        Raises
        ------
        TypeError, ValueError
            If ``result`` is not a dict or is not JSON-able (objects without ``to_dict``, NaN, infinity).
        """
        if not isinstance(result, Mapping):
            raise TypeError(f"a task function must return a dict, got {type(result).__name__}")
        record = {
            "key": task.key,
            "seed": task.seed,
            "params": task.params,
            "result": jsonable(dict(result)),
            "wall_seconds": wall_seconds,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "finished": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "bumphunt_version": __version__,
        }
        return json.dumps(record, indent=1, allow_nan=False)

    def _write_text(self, key: str, text: str) -> Path:
        target = self.path(key)
        with atomic_path(target) as tmp, tmp.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        return target

    def write(self, task: Task, result: Mapping[str, Any], *, wall_seconds: float | None = None) -> Path:
        """Write the result of ``task`` atomically (replacing an earlier one) and return the file.

        Raises
        ------
        TypeError, ValueError
            If ``result`` is not a JSON-able dict; nothing is written then.
        """
        return self._write_text(task.key, self.encode(task, result, wall_seconds=wall_seconds))

    def _clean_attempt(self, key: str) -> bool:
        """Remove the temporary files and marker of a dead attempt at ``key``; whether it was running."""
        marker = self._marker(key)
        was_running = marker.exists()
        for path in [marker, *self.directory.glob(f".{key}.json.*.tmp")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return was_running

    def clean(self) -> int:
        """Remove temporary files and run markers left by attempts that died; return how many."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        for pattern in (".*.tmp", ".*.running"):
            for path in self.directory.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        return removed


def _execute(function: TaskFunction, task: Task, store: ResultStore, mark: bool) -> dict[str, Any]:
    """Run one task in a worker and write its result file; return a small outcome for the client.

    Exceptions of the task function (and results that are not JSON-able) become a ``failed`` outcome:
    they would happen again. Errors writing the file propagate, so that Dask's ``retries`` apply.
    With ``mark``, a marker file tells the client which tasks were running if the process dies.
    A task whose result is already stored is not run again: Dask recomputes a finished task whose
    outcome was lost with a dying worker before the client fetched it.
    """
    with contextlib.suppress(MissingFileError, DataFormatError):
        if _same_task(store.read(task.key), task):
            return {"key": task.key, "status": "ok"}
    marker = store._marker(task.key)
    if mark:
        store.directory.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(os.getpid()))
    try:
        start = time.perf_counter()
        try:
            text = store.encode(task, function(task), wall_seconds=time.perf_counter() - start)
        except Exception as err:
            return {
                "key": task.key,
                "status": "failed",
                "message": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(),
            }
        store._write_text(task.key, text)
        return {"key": task.key, "status": "ok"}
    finally:
        if mark:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()


def _same_task(record: Mapping[str, Any], task: Task) -> bool:
    return record.get("seed") == task.seed and record.get("params") == task.params


class _Tally:
    """Bookkeeping of one run: finished, failed, retried, progress."""

    def __init__(self, store: ResultStore, n_tasks: int, n_skipped: int, progress: Any) -> None:
        self.store = store
        self.n_tasks = n_tasks
        self.n_done = n_skipped
        self.n_run = 0
        self.n_retried = 0
        self.failed: list[TaskFailure] = []
        self.progress = progress
        if progress is not None:
            progress(self.n_done, n_tasks)

    def _advance(self) -> None:
        self.n_done += 1
        if self.progress is not None:
            self.progress(self.n_done, self.n_tasks)

    def stored(self, task: Task) -> bool:
        """Whether ``task``'s result file is there, complete and of this task."""
        try:
            return _same_task(self.store.read(task.key), task)
        except (MissingFileError, DataFormatError):
            return False

    def finished(self, task: Task) -> None:
        self.n_run += 1
        self._advance()

    def fail(self, task: Task, message: str, trace: str = "") -> None:
        log.warning("task %s failed: %s", task.key, message)
        self.failed.append(TaskFailure(task.key, message, trace))
        self._advance()

    def outcome(self, task: Task, outcome: Mapping[str, Any]) -> None:
        """Record what a worker reported, after checking the result file from here."""
        if outcome["status"] != "ok":
            self.fail(task, outcome["message"], outcome.get("traceback", ""))
        elif self.stored(task):
            self.finished(task)
        else:
            self.fail(
                task,
                f"the worker wrote {self.store.path(task.key)} but this process cannot read it there; "
                "is the store directory on a file system shared with the workers?",
            )


def run_tasks(
    function: TaskFunction,
    tasks: Sequence[Task],
    store: ResultStore | str | os.PathLike[str],
    *,
    executor: ExecutorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    retries: int | None = None,
) -> RunSummary:
    """Run ``function`` on every task without a result in ``store``; each worker writes its result file.

    Parameters
    ----------
    function
        A picklable top-level function ``function(task) -> dict`` (JSON-able). It must depend only on the
        task (its seed and params), so that a rerun or retry gives the same result.
    tasks
        The tasks; keys must be unique.
    store
        Where results go (a :class:`ResultStore` or its directory).
    executor
        Where tasks run (:class:`~bumphunt.config.ExecutorConfig`); the ``local`` executor with one
        worker if None.
    progress
        Called as ``progress(done, total)`` once at the start (``done`` = tasks already in the store) and
        after each task finishes or fails.
    retries
        How often a task whose worker process died is run again (default: ``executor.retries``).
        Tasks that raise are not retried; with Dask, ``retries`` also covers errors writing the result
        file, and bounds the worker deaths of the clusters started here (Dask's ``allowed-failures``;
        an existing scheduler keeps its own).

    Returns
    -------
    RunSummary

    Raises
    ------
    ConfigError
        If keys repeat, the store holds a result of the same key made with another seed or other params,
        ``retries`` is negative, or the function cannot be pickled (``local``).
    DependencyError
        If the ``dask``/``slurm`` executor is asked for and Dask (or dask-jobqueue) is not installed.
    """
    start = time.perf_counter()
    spec = executor if executor is not None else ExecutorConfig(kind="local", n_workers=1)
    if not isinstance(spec, ExecutorConfig):
        raise ConfigError(f"executor must be a bumphunt.config.ExecutorConfig, got {type(spec).__name__}")
    if retries is None:
        retries = spec.retries
    if not _is_count(retries, 0):
        raise ConfigError(f"retries must be a non-negative integer, got {retries!r}")
    if spec.kind == "local":
        try:
            pickle.dumps(function)
        except Exception as err:
            raise ConfigError(
                f"the task function must be a picklable top-level function of a module ({err})"
            ) from None
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    tasks = list(tasks)
    for task in tasks:
        if not isinstance(task, Task):
            raise ConfigError(f"tasks must be Task records, got {type(task).__name__}")
    keys = [task.key for task in tasks]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        repeated = sorted({k for k in keys if k in seen or seen.add(k)})
        raise ConfigError(f"task keys must be unique; repeated: {', '.join(repeated[:5])}")
    removed = store.clean()
    if removed:
        log.info("removed %d temporary files of earlier attempts from %s", removed, store.directory)
    records = store._scan()
    todo = []
    for task in tasks:
        record = records.get(task.key)
        if record is None:
            todo.append(task)
        elif not _same_task(record, task):
            raise ConfigError(
                f"result store {store.directory} holds a result for task {task.key!r} made with seed "
                f"{record.get('seed')!r} and params {record.get('params')!r}, not seed {task.seed} and "
                f"params {task.params!r}; use another directory or remove it"
            )
    n_skipped = len(tasks) - len(todo)
    log.info(
        "%d tasks: %d already in %s, %d to run (%s executor)",
        len(tasks),
        n_skipped,
        store.directory,
        len(todo),
        spec.kind,
    )
    tally = _Tally(store, len(tasks), n_skipped, progress)
    if todo:
        store.directory.mkdir(parents=True, exist_ok=True)
        if spec.kind == "local":
            _run_local(function, todo, store, spec.n_workers, retries, tally)
        else:
            with _dask_client(spec, retries) as client:
                _run_dask(client, function, todo, store, retries, tally)
        store.clean()  # temporary files of attempts lost with a worker during this run
    summary = RunSummary(
        n_tasks=len(tasks),
        n_skipped=n_skipped,
        n_run=tally.n_run,
        n_retried=tally.n_retried,
        failed=tuple(tally.failed),
        wall_seconds=time.perf_counter() - start,
        executor=spec.kind,
    )
    log.info(
        "ran %d tasks (%d skipped, %d failed, %d retried) in %.1f s",
        summary.n_run,
        summary.n_skipped,
        summary.n_failed,
        summary.n_retried,
        summary.wall_seconds,
    )
    return summary


# --- local process pool ----------------------------------------------------------------------------


#: Seconds between a worker's checks that the process that started it is still alive.
_PARENT_POLL_SECONDS = 1.0


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(_PARENT_POLL_SECONDS)
        if os.getppid() != parent:  # the parent died (killed, not interrupted): nobody wants our results
            os._exit(1)


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the process that started it dies.

    A parent killed by a signal it cannot catch (SIGTERM, SIGKILL) runs no clean-up, and its workers would
    go on running the tasks already queued to them; chunk and result files are written atomically, so
    ending them at any moment loses nothing finished.
    """
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()


def _run_pool(
    function: TaskFunction, batch: list[Task], store: ResultStore, n_workers: int, tally: _Tally
) -> tuple[list[Task], list[tuple[Task, str]]]:
    """Run ``batch`` in a fresh pool; return the tasks hit by a dying worker and those with other errors."""
    context = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(
        max_workers=min(n_workers, len(batch)),
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    broken: list[Task] = []
    errors: list[tuple[Task, str]] = []
    try:
        futures = {pool.submit(_execute, function, task, store, True): task for task in batch}
        for future in cf.as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool:
                broken.append(task)
            except Exception as err:
                errors.append((task, f"{type(err).__name__}: {err}"))
            else:
                tally.outcome(task, outcome)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return broken, errors


def _run_local(
    function: TaskFunction, todo: list[Task], store: ResultStore, n_workers: int, retries: int, tally: _Tally
) -> None:
    """Process pool with recovery from dying workers.

    When a worker dies the pool breaks (its other workers are stopped too) and every unfinished task
    comes back; the pool is rebuilt. Tasks that had not started are queued again at no cost. Tasks that
    were running (their marker file is left over) are run again; when only one was running it is the
    culprit and is charged one attempt. Suspects (tasks that were running beside others when a worker
    died, and charged tasks) run afterwards in a pool of one worker, where a death names its task.
    """
    attempts = dict.fromkeys((task.key for task in todo), 0)
    pending: list[Task] = list(todo)
    suspects: list[Task] = []
    startup_breaks = 0

    def charge(task: Task, reason: str) -> None:
        attempts[task.key] += 1
        if attempts[task.key] > retries:
            tally.fail(task, f"{reason} {attempts[task.key]} times (retries={retries})")
        else:
            tally.n_retried += 1
            log.warning("task %s: %s; running it again", task.key, reason)
            suspects.append(task)

    while pending or suspects:
        if pending:
            batch, workers, pending = pending, n_workers, []
        else:
            batch, workers, suspects = suspects, 1, []
        broken, errors = _run_pool(function, batch, store, workers, tally)
        for task, message in errors:
            charge(task, f"error running the task ({message})")
        running, waiting = [], []
        for task in broken:
            was_running = store._clean_attempt(task.key)  # the pool's processes are all gone now
            if tally.stored(task):
                tally.finished(task)  # the worker died after writing the result
            elif was_running:
                running.append(task)
            else:
                waiting.append(task)
        if workers == 1:
            suspects.extend(waiting)
        else:
            pending.extend(waiting)
        if len(running) == 1:
            charge(running[0], "its worker process died")
        elif running:
            log.warning("a worker process died; %d running tasks will run again one at a time", len(running))
            tally.n_retried += len(running)
            suspects.extend(running)
        elif waiting:
            # the pool broke while no task was running: workers die as they start
            startup_breaks += 1
            if startup_breaks > retries:
                for task in waiting:
                    tally.fail(task, f"worker processes died before running it {startup_breaks} times")
                pending, suspects = [], []


# --- Dask -------------------------------------------------------------------------------------------


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise DependencyError(
            f"the 'dask' and 'slurm' executors need Dask distributed ({err}): {_CLUSTER_HINT}"
        ) from None
    return distributed


def _slurm_cluster(spec: ExecutorConfig, *, dashboard_port: bool = True) -> Any:
    """The SLURMCluster of ``spec``; without ``dashboard_port`` its dashboard takes any free port."""
    if spec.kind != "slurm":
        raise ConfigError(f"a SLURM cluster needs an executor of kind 'slurm', not {spec.kind!r}")
    _import_distributed()
    try:
        import dask_jobqueue
    except ImportError as err:
        raise DependencyError(f"the 'slurm' executor needs dask-jobqueue ({err}): {_CLUSTER_HINT}") from None
    return dask_jobqueue.SLURMCluster(
        queue=spec.slurm.queue,
        account=spec.slurm.account,
        cores=spec.slurm.cores,
        processes=spec.slurm.worker_processes,
        memory=spec.slurm.memory,
        walltime=spec.slurm.walltime,
        job_extra_directives=list(spec.slurm.job_extra_directives),
        job_name="bumphunt",
        scheduler_options={} if dashboard_port else {"dashboard_address": ":0"},
    )


def slurm_job_script(spec: ExecutorConfig) -> str:
    """The SLURM batch script that the ``slurm`` executor would submit for each job.

    Builds the ``dask_jobqueue.SLURMCluster`` (needs no SLURM installation: nothing is submitted), asks
    for its job script and closes it. Settings not in ``spec`` come from Dask's ``jobqueue.slurm``
    configuration.

    Raises
    ------
    ConfigError
        If ``spec`` is not of kind ``"slurm"``.
    DependencyError
        If Dask distributed or dask-jobqueue is not installed.
    """
    cluster = _slurm_cluster(spec, dashboard_port=False)
    try:
        return str(cluster.job_script())
    finally:
        cluster.close()


def _local_worker_settings(dask: Any) -> dict[str, Any]:
    """Dask settings that make a LocalCluster worker run a pseudo-experiment as fast as a pool process.

    Two defaults of Dask distributed cost numpy-heavy tasks 10-40 % (issue 12, measured with
    ``benchmarks/ensemble_scaling.py``):

    * the nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536``; setting it switches off
      glibc's adaptive mmap threshold, so every array above 128 kB is mapped and unmapped afresh and its
      pages fault in again (12,500 against 2,500 minor page faults per null toy). The nanny also writes
      it into the ``os.environ`` of the process that starts the cluster, where later process pools
      inherit it.
    * the statistical profiler samples the task thread's stack every 10 ms (half the context switches).

    Neither matters for correctness; both are left as they are on clusters that bumphunt does not start.
    """
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "500ms",
        "distributed.admin.system-monitor.interval": "2s",
    }


@contextlib.contextmanager
def _dask_client(spec: ExecutorConfig, retries: int) -> Iterator[Any]:
    """A client of the scheduler at ``spec.address``, or of a cluster started (and closed) here."""
    distributed = _import_distributed()
    import dask

    if spec.address is not None:
        try:
            client = distributed.Client(spec.address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise ConfigError(
                f"executor address {spec.address!r}: no Dask scheduler answers there ({err})"
            ) from None
        with client:
            yield client
        return
    # the scheduler runs here: a task may be on a dying worker retries + 1 times, and each single-threaded
    # worker holds only the task it runs, so that a death charges only that task
    settings: dict[str, Any] = {
        "distributed.scheduler.allowed-failures": retries,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    if spec.kind == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError(
            "executor kind 'slurm' submits jobs with sbatch, which is not on the PATH here; run on a SLURM "
            "login node (slurm_job_script shows the job script anywhere)"
        )
    if spec.kind == "dask":
        settings.update(_local_worker_settings(dask))
    with dask.config.set(settings):
        if spec.kind == "slurm":
            cluster = _slurm_cluster(spec)
        else:
            cluster = distributed.LocalCluster(n_workers=spec.n_workers, threads_per_worker=1, processes=True)
    try:
        if spec.kind == "slurm":
            cluster.scale(jobs=spec.slurm.n_jobs)
            log.info("submitted %d SLURM jobs; tasks start when they run", spec.slurm.n_jobs)
        log.info("Dask dashboard: %s", getattr(cluster, "dashboard_link", "none"))
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def _run_dask(
    client: Any, function: TaskFunction, todo: list[Task], store: ResultStore, retries: int, tally: _Tally
) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex  # one Dask task group per run; unique keys
    submitted = client.map(
        _execute,
        [function] * len(todo),
        todo,
        [store] * len(todo),
        [False] * len(todo),
        key=[f"bumphunt-task-{token}-{task.key}" for task in todo],
        retries=retries,
        pure=False,
    )
    futures = dict(zip(submitted, todo, strict=True))
    try:
        for future in as_completed(list(futures), loop=client.loop):
            task = futures.pop(future)
            try:
                outcome = future.result()
            except Exception as err:
                if tally.stored(task):  # the result made it to disk before the worker was lost
                    tally.finished(task)
                else:
                    tally.fail(task, f"{type(err).__name__}: {err}")
            else:
                tally.outcome(task, outcome)
            future.release()
    finally:
        if futures:
            client.cancel(list(futures))

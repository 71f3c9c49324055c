"""Result store, resumption, failures, dying workers and executors of ``bumphunt.executors``."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bumphunt.config import parse_executor
from bumphunt.errors import ConfigError, DataFormatError, DependencyError, MissingFileError
from bumphunt.executors import (
    ExecutorConfig,
    ResultStore,
    Task,
    TaskFailure,
    run_tasks,
    slurm_job_script,
    spawn_seeds,
)

LOCAL2 = ExecutorConfig(kind="local", n_workers=2)


# --- task functions (top level, so that worker processes can import them) ---------------------------


def expected(seed: int) -> dict:
    """The deterministic output of :func:`draw` for ``seed``."""
    rng = np.random.default_rng(seed)
    return {"normal": rng.normal(size=3).tolist(), "integer": int(rng.integers(1_000_000))}


def draw(task: Task) -> dict:
    """A seeded draw, after ``params['sleep']`` seconds."""
    time.sleep(task.params.get("sleep", 0.0))
    return expected(task.seed)


def fail_for_victim(task: Task) -> dict:
    if task.key == task.params["victim"]:
        raise RuntimeError(f"no convergence for {task.key}")
    return draw(task)


def die_once_for_victim(task: Task) -> dict:
    """Kill the worker process the first time the victim runs (a marker file tells the first time)."""
    if task.key == task.params["victim"]:
        try:
            (Path(task.params["markers"]) / task.key).touch(exist_ok=False)
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return draw(task)


def die_always_for_victim(task: Task) -> dict:
    if task.key == task.params["victim"]:
        os._exit(1)
    return draw(task)


def stall_first_attempt_of_victim(task: Task) -> dict:
    """Record each attempt; the victim's first attempt writes its pid and waits to be killed."""
    attempts = Path(task.params["attempts"])
    (attempts / f"{task.key}.{os.getpid()}.{time.monotonic_ns()}").touch()
    if task.key == task.params["victim"]:
        try:
            with (attempts / "victim.pid").open("x") as handle:
                handle.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            deadline = time.monotonic() + 90.0
            while time.monotonic() < deadline:  # the test kills this process meanwhile
                time.sleep(0.05)
    return draw(task)


def record_pid_and_wait(task: Task) -> dict:
    """Write this worker's pid into ``params['pids']`` and wait a long time (the parent gets killed)."""
    (Path(task.params["pids"]) / str(os.getpid())).touch()
    time.sleep(120.0)
    return draw(task)


# --- helpers -----------------------------------------------------------------------------------------


def make_tasks(n: int, **params) -> list[Task]:
    seeds = spawn_seeds(7, n)
    return [Task(f"toy-{i:03d}", seed, dict(params)) for i, seed in enumerate(seeds)]


def mtimes(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}


def assert_exactly_one_result_each(store: ResultStore, tasks: list[Task]) -> None:
    names = sorted(p.name for p in store.directory.iterdir())
    assert names == sorted(f"{t.key}.json" for t in tasks)  # no duplicates, no temporary files
    for task in tasks:
        record = store.read(task.key)
        assert record["seed"] == task.seed
        assert record["result"] == expected(task.seed)


# --- store -------------------------------------------------------------------------------------------


def test_store_writes_a_complete_record_atomically(tmp_path):
    store = ResultStore(tmp_path / "store")
    task = Task("inject-0.0100-seed-0007", 12345, {"kind": "injection", "s_over_b": np.float64(0.01)})
    path = store.write(task, {"z": np.float32(2.5), "counts": np.arange(3)}, wall_seconds=1.5)
    assert path == tmp_path / "store" / "inject-0.0100-seed-0007.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    record = json.loads(path.read_text())
    assert record["key"] == task.key
    assert record["seed"] == 12345
    assert record["params"] == {"kind": "injection", "s_over_b": 0.01}
    assert record["result"] == {"z": 2.5, "counts": [0, 1, 2]}
    assert record["wall_seconds"] == 1.5
    assert record["pid"] == os.getpid()
    assert isinstance(record["host"], str)
    assert store.read(task.key) == record
    assert store.done() == {task.key}
    # writing the same key again replaces the file: still one file
    store.write(task, {"z": 3.0})
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert store.read(task.key)["result"] == {"z": 3.0}


def test_a_failing_write_leaves_no_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    task = Task("a", 1)
    with pytest.raises(ValueError, match="NaN"):
        store.write(task, {"z": float("nan")})
    with pytest.raises(TypeError):
        store.write(task, {"z": object()})
    with pytest.raises(TypeError, match="must return a dict"):
        store.write(task, [1, 2])

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        store.write(task, {"z": 1.0})
    assert list(tmp_path.iterdir()) == []
    assert store.done() == set()


def test_done_ignores_truncated_and_foreign_files(tmp_path, caplog):
    store = ResultStore(tmp_path)
    store.write(Task("good", 1), {"z": 1.0})
    full = store.write(Task("cut", 2), {"z": 2.0}).read_text()
    (tmp_path / "cut.json").write_text(full[: len(full) // 2])  # a crash of an older, non-atomic writer
    (tmp_path / "renamed.json").write_text((tmp_path / "good.json").read_text())  # another task's record
    (tmp_path / "list.json").write_text("[1, 2]")
    with caplog.at_level(logging.WARNING, logger="bumphunt.executors"):
        assert store.done() == {"good"}
    assert "cut.json cannot be read as JSON" in caplog.text
    assert "renamed.json holds the result of task 'good'" in caplog.text
    assert [r["key"] for r in store.read_all()] == ["good"]
    with pytest.raises(DataFormatError, match=r"cut\.json"):
        store.read("cut")
    with pytest.raises(MissingFileError, match="'nothing'"):
        store.read("nothing")


def test_spawn_seeds_are_stable_and_distinct():
    seeds = spawn_seeds(3, 50)
    assert len(set(seeds)) == 50
    assert spawn_seeds(3, 10) == seeds[:10]  # growing an ensemble keeps the earlier seeds
    assert spawn_seeds(4, 10) != seeds[:10]
    assert all(0 <= s < 2**63 for s in seeds)


# --- local executor ----------------------------------------------------------------------------------


def test_local_pool_runs_every_task_and_a_rerun_does_no_work(tmp_path):
    tasks = make_tasks(8, sleep=0.05)
    store = ResultStore(tmp_path / "results")
    calls = []
    summary = run_tasks(draw, tasks, store, executor=LOCAL2, progress=lambda d, t: calls.append((d, t)))
    assert (summary.n_tasks, summary.n_skipped, summary.n_run, summary.n_failed) == (8, 0, 8, 0)
    assert summary.ok and summary.executor == "local"
    assert calls == [(i, 8) for i in range(9)]
    assert_exactly_one_result_each(store, tasks)
    assert len({store.read(t.key)["pid"] for t in tasks} - {os.getpid()}) >= 1  # ran in worker processes

    before = mtimes(store.directory)
    calls.clear()
    again = run_tasks(
        draw, tasks, tmp_path / "results", executor=LOCAL2, progress=lambda d, t: calls.append((d, t))
    )
    assert (again.n_skipped, again.n_run, again.n_failed) == (8, 0, 0)
    assert calls == [(8, 8)]
    assert mtimes(store.directory) == before


def test_a_raising_task_is_reported_and_the_others_finish(tmp_path):
    tasks = make_tasks(6, victim="toy-002")
    store = ResultStore(tmp_path)
    summary = run_tasks(fail_for_victim, tasks, store, executor=LOCAL2)
    assert (summary.n_run, summary.n_failed, summary.n_retried) == (5, 1, 0)
    [failure] = summary.failed
    assert isinstance(failure, TaskFailure)
    assert failure.key == "toy-002"
    assert failure.message == "RuntimeError: no convergence for toy-002"
    assert "fail_for_victim" in failure.traceback
    assert store.done() == {t.key for t in tasks} - {"toy-002"}
    # a rerun tries only the failed task again
    again = run_tasks(fail_for_victim, tasks, store, executor=LOCAL2)
    assert (again.n_skipped, again.n_run, again.n_failed) == (5, 0, 1)


def test_a_dying_worker_is_replaced_and_its_task_retried(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    tasks = make_tasks(7, victim="toy-001", markers=str(markers), sleep=0.1)
    store = ResultStore(tmp_path / "results")
    summary = run_tasks(die_once_for_victim, tasks, store, executor=LOCAL2, retries=2)
    assert (markers / "toy-001").exists()  # the worker did die once
    assert summary.ok, summary.failed
    assert summary.n_run == 7
    assert summary.n_retried >= 1
    assert_exactly_one_result_each(store, tasks)


def test_a_task_that_always_kills_its_worker_fails_after_the_retries(tmp_path):
    tasks = make_tasks(5, victim="toy-003")
    store = ResultStore(tmp_path)
    summary = run_tasks(die_always_for_victim, tasks, store, executor=LOCAL2, retries=1)
    assert [f.key for f in summary.failed] == ["toy-003"]
    assert summary.failed[0].message == "its worker process died 2 times (retries=1)"
    assert summary.n_run == 4  # tasks that ran beside it are not charged for its deaths
    assert store.done() == {t.key for t in tasks} - {"toy-003"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_stale_temporary_files_are_removed_and_results_are_checked(tmp_path):
    store = ResultStore(tmp_path)
    tasks = make_tasks(2)
    store.write(tasks[0], expected(tasks[0].seed))
    (tmp_path / ".toy-001.json.k2j3h4.tmp").write_text('{"key": "toy-0')  # an attempt that died
    (tmp_path / ".toy-001.running").write_text("123")
    summary = run_tasks(draw, tasks, store, executor=ExecutorConfig(n_workers=1))
    assert (summary.n_skipped, summary.n_run) == (1, 1)
    assert_exactly_one_result_each(store, tasks)
    # the same key with another seed is not silently reused
    changed = [Task(tasks[0].key, tasks[0].seed + 1, tasks[0].params)]
    with pytest.raises(ConfigError, match=r"task 'toy-000' made with seed \d+"):
        run_tasks(draw, changed, store)


# --- Dask --------------------------------------------------------------------------------------------


def count_attempt_then_draw_or_die(task: Task) -> dict:
    (Path(task.params["attempts"]) / f"{task.key}.{time.monotonic_ns()}").touch()
    if task.key == task.params.get("dies"):
        os._exit(3)
    if task.key == task.params.get("raises"):
        raise ValueError("bad window")
    return draw(task)


@pytest.fixture(scope="module")
def dask_cluster():
    """A LocalCluster of 2 single-threaded worker processes (the nanny restarts a killed worker)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_dask_cluster_started_by_run_tasks_gives_up_on_a_task_that_kills_its_worker(tmp_path):
    pytest.importorskip("distributed")
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    tasks = make_tasks(5, dies="toy-002", attempts=str(attempts))
    store = ResultStore(tmp_path / "results")
    summary = run_tasks(
        count_attempt_then_draw_or_die,
        tasks,
        store,
        executor=ExecutorConfig(kind="dask", n_workers=1),
        retries=1,
    )
    assert (summary.n_run, summary.executor) == (4, "dask")
    [failure] = summary.failed
    assert failure.key == "toy-002"
    assert failure.message.startswith("KilledWorker")
    # retries=1: the killer ran twice; the others once (a finished task is not run again even when Dask
    # recomputes it because its outcome was lost with the worker)
    n_attempts = Counter(p.name.split(".")[0] for p in attempts.iterdir())
    assert n_attempts == {"toy-000": 1, "toy-001": 1, "toy-002": 2, "toy-003": 1, "toy-004": 1}
    assert_exactly_one_result_each(store, [t for t in tasks if t.key != "toy-002"])
    assert os.getpid() not in {r["pid"] for r in store.read_all()}


def test_dask_does_not_retry_a_raising_task(tmp_path, dask_cluster):
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    tasks = make_tasks(4, raises="toy-001", attempts=str(attempts))
    store = ResultStore(tmp_path / "results")
    spec = ExecutorConfig(kind="dask", address=dask_cluster.scheduler_address)
    summary = run_tasks(count_attempt_then_draw_or_die, tasks, store, executor=spec, retries=2)
    assert summary.n_run == 3
    assert [(f.key, f.message) for f in summary.failed] == [("toy-001", "ValueError: bad window")]
    assert "count_attempt_then_draw_or_die" in summary.failed[0].traceback
    assert Counter(p.name.split(".")[0] for p in attempts.iterdir())["toy-001"] == 1
    assert store.done() == {"toy-000", "toy-002", "toy-003"}


def _kill_victim_worker(attempts: Path, results: Path, worker_pids: set[int], report: dict) -> None:
    """Once a few results exist and the victim's first attempt runs, SIGKILL its worker process."""
    deadline = time.monotonic() + 120.0
    pid_file = attempts / "victim.pid"
    while time.monotonic() < deadline:
        if pid_file.exists() and pid_file.stat().st_size and len(list(results.glob("*.json"))) >= 3:
            pid = int(pid_file.read_text())
            if pid in worker_pids:  # only ever kill a worker of the test's own cluster
                os.kill(pid, signal.SIGKILL)
                report["killed"] = pid
            return
        time.sleep(0.05)


def test_dask_survives_a_killed_worker_and_keeps_exactly_one_result_per_task(tmp_path, dask_cluster):
    distributed = pytest.importorskip("distributed")
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    results = tmp_path / "results"
    tasks = make_tasks(14, sleep=0.3, victim="toy-003", attempts=str(attempts))
    store = ResultStore(results)
    with distributed.Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=60)
        worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2
        report: dict = {}
        killer = threading.Thread(
            target=_kill_victim_worker, args=(attempts, results, worker_pids, report), daemon=True
        )
        killer.start()
        spec = ExecutorConfig(kind="dask", address=dask_cluster.scheduler_address)
        summary = run_tasks(stall_first_attempt_of_victim, tasks, store, executor=spec)
        killer.join(timeout=5)
        assert report.get("killed") in worker_pids, "the victim's worker was not killed"
        assert summary.ok, summary.failed
        assert (summary.n_run, summary.n_skipped) == (14, 0)
        assert_exactly_one_result_each(store, tasks)
        # the victim was killed once and ran again; no other task ran twice (tasks finished on the killed
        # worker and recomputed by Dask find their result stored)
        n_attempts = Counter(p.name.split(".")[0] for p in attempts.iterdir() if p.name.startswith("toy-"))
        assert n_attempts == {t.key: 2 if t.key == "toy-003" else 1 for t in tasks}
        assert store.read("toy-003")["pid"] != report["killed"]

        before = mtimes(results)
        again = run_tasks(stall_first_attempt_of_victim, tasks, store, executor=spec)
        assert (again.n_run, again.n_skipped, again.n_failed) == (0, 14, 0)
        assert mtimes(results) == before


def test_an_unreachable_scheduler_is_a_config_error(tmp_path):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    spec = ExecutorConfig(kind="dask", address="tcp://127.0.0.1:9")  # the discard port: nothing listens
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(ConfigError, match=r"executor address 'tcp://127.0.0.1:9': no Dask scheduler answers"),
    ):
        run_tasks(draw, make_tasks(1), tmp_path, executor=spec)


def test_dask_missing_is_a_dependency_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DependencyError, match=r"pip install 'bumphunt\[cluster\]'"):
        run_tasks(draw, make_tasks(1), tmp_path, executor=ExecutorConfig(kind="dask"))
    spec = ExecutorConfig(kind="slurm", slurm={"memory": "4GB", "walltime": "01:00:00"})
    with pytest.raises(DependencyError, match=r"bumphunt\[cluster\]"):
        slurm_job_script(spec)


# --- SLURM -------------------------------------------------------------------------------------------


def test_slurm_job_script_carries_the_settings():
    pytest.importorskip("dask_jobqueue")
    spec = ExecutorConfig(
        kind="slurm",
        slurm={
            "queue": "short",
            "account": "phys123",
            "cores": 4,
            "processes": 2,
            "memory": "4GB",
            "walltime": "02:30:00",
            "job_extra_directives": ["--gres=gpu:1", "--constraint=haswell"],
            "n_jobs": 3,
        },
    )
    script = slurm_job_script(spec)
    lines = script.splitlines()
    for line in (
        "#SBATCH -p short",
        "#SBATCH -A phys123",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=4G",
        "#SBATCH -t 02:30:00",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --constraint=haswell",
        "#SBATCH -J bumphunt",
    ):
        assert line in lines
    [worker] = [line for line in lines if "distributed.cli.dask_worker" in line]
    assert "--nworkers 2" in worker
    assert "--nthreads 2" in worker
    assert worker.startswith(sys.executable)


def test_slurm_run_needs_sbatch(tmp_path, monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path))
    spec = ExecutorConfig(kind="slurm")
    with pytest.raises(ConfigError, match="sbatch, which is not on the PATH"):
        run_tasks(draw, make_tasks(1), tmp_path / "results", executor=spec)


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"kind": "spark"}, "kind"),
        ({"n_workers": 0}, "n_workers"),
        ({"n_workers": 1.5}, "n_workers"),
        ({"address": "tcp://127.0.0.1:8786"}, "address needs kind 'dask'"),
        ({"slurm": {"queue": "short"}}, "the slurm settings are for kind 'slurm', not 'local'"),
        ({"kind": "dask", "slurm": {"n_jobs": 2}}, "the slurm settings are for kind 'slurm'"),
        ({"kind": "slurm", "slurm": {"memory": "lots"}}, "slurm.memory"),
        ({"kind": "slurm", "slurm": {"walltime": "2 hours"}}, "slurm.walltime"),
        ({"kind": "slurm", "slurm": {"n_jobs": 0}}, "slurm.n_jobs"),
        ({"kind": "slurm", "slurm": {"cores": 2, "processes": 3}}, "processes must be from 1 to cores (2)"),
        ({"kind": "slurm", "n_workers": 4}, "n_workers is not used by kind 'slurm'"),
        ({"kind": "slurm", "slurm": {"job_extra_directives": ["#SBATCH --x"]}}, "slurm.job_extra_directives"),
        ({"kind": "slurm", "slurm": {"queue": "a\nb"}}, "slurm.queue"),
        ({"retries": -1}, "retries"),
    ],
)
def test_bad_executor_settings_name_the_setting(settings, named):
    with pytest.raises(ConfigError) as info:
        parse_executor(settings)
    assert named in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_bad_tasks_and_run_settings(tmp_path):
    with pytest.raises(ConfigError, match="task key"):
        Task("../escape", 1)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        Task("a", -1)
    with pytest.raises(ConfigError, match="params must be JSON-able"):
        Task("a", 1, {"f": object()})
    tasks = [Task("a", 1), Task("b", 2), Task("a", 3)]
    with pytest.raises(ConfigError, match="task keys must be unique; repeated: a"):
        run_tasks(draw, tasks, tmp_path)
    with pytest.raises(ConfigError, match="retries"):
        run_tasks(draw, tasks[:1], tmp_path, retries=-1)
    with pytest.raises(ConfigError, match="picklable top-level function"):
        run_tasks(lambda task: {}, tasks[:1], tmp_path)
    with pytest.raises(ConfigError, match="kind 'slurm'"):
        slurm_job_script(LOCAL2)
    assert list(tmp_path.iterdir()) == []


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, dead but not reaped by its new parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_local_workers_end_when_their_parent_is_killed(tmp_path):
    import subprocess

    pids = tmp_path / "pids"
    pids.mkdir()
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_executors import make_tasks, record_pid_and_wait\n"
        "from bumphunt.config import ExecutorConfig\n"
        "from bumphunt.executors import ResultStore, run_tasks\n"
        f"tasks = make_tasks(4, pids={str(pids)!r})\n"
        f"run_tasks(record_pid_and_wait, tasks, ResultStore({str(tmp_path / 'results')!r}), "
        "executor=ExecutorConfig(n_workers=2))\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60.0
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 2
    parent.kill()  # SIGKILL: no clean-up runs in the parent
    parent.wait()
    deadline = time.monotonic() + 20.0
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
    assert not list((tmp_path / "results").glob("*.json"))  # the queued tasks did not run either

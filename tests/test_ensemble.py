"""Pseudo-experiment ensembles of a real search (demo slice) on local processes and on Dask."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml

from bumphunt.cli import main
from bumphunt.config import ExecutorConfig, parse_config
from bumphunt.ensemble import ensemble_directory, ensemble_tasks, run_ensemble, summarize_ensemble
from bumphunt.errors import ConfigError
from bumphunt.executors import ResultStore


def ensemble_config(small_config, tmp_path: Path, **ensemble: object) -> dict:
    """A cheap search (CWoLa, one tree per fold, one window) and a small ensemble."""
    config = small_config(tmp_path / "results", name="cwola")
    config["windows"] = {"sr": [3300.0, 3700.0], "sideband_width": 200.0}
    config["method"]["n_folds"] = 2
    config["method"]["classifier"] = {"kind": "hgb", "n_members": 1, "max_iter": 20}
    config["ensemble"] = {"n_background": 2, "s_over_b": [0.3], "n_per_point": 2, "seed": 5, **ensemble}
    return config


def test_tasks_have_their_own_seeds_and_need_a_signal_for_injections(small_config, tmp_path):
    cfg = parse_config(ensemble_config(small_config, tmp_path, n_background=3, s_over_b=[0.01, 0.02]))
    tasks = ensemble_tasks(cfg)
    assert [t.key for t in tasks] == [
        "background-0000", "background-0001", "background-0002",
        "inject-0.0100-0000", "inject-0.0100-0001", "inject-0.0200-0000", "inject-0.0200-0001",
    ]  # fmt: skip
    assert len({t.seed for t in tasks}) == len(tasks)
    assert tasks[0].params["config"]["statistics"]["global_toys"] == 0
    assert [t.seed for t in ensemble_tasks(cfg)] == [t.seed for t in tasks]  # reproducible
    values = ensemble_config(small_config, tmp_path)
    values["data"]["injection"] = None
    with pytest.raises(ConfigError, match=r"ensemble\.s_over_b needs a signal sample"):
        ensemble_tasks(parse_config(values))


def test_local_ensemble_separates_injections_from_background_and_resumes(small_config, tmp_path):
    cfg = parse_config(ensemble_config(small_config, tmp_path))
    run, summary = run_ensemble(cfg, executor=ExecutorConfig(kind="local", n_workers=2))
    assert run.ok and run.n_run == 4
    background, injected = summary["points"]
    assert background["s_over_b"] == 0.0 and injected["s_over_b"] == 0.3
    assert background["max_local_z"]["n"] == 2 and injected["max_local_z"]["n"] == 2
    # a 30 % S/B resonance stands far above the background-only subsamples of the same search
    assert injected["z_at_reference"]["low"] > background["z_at_reference"]["high"] + 2.0
    store = ResultStore(ensemble_directory(cfg) / "tasks")
    records = {r["key"]: r for r in store.read_all()}
    assert records["inject-0.3000-0000"]["result"]["n_signal"] > 0
    assert records["background-0000"]["result"]["n_signal"] is None
    again, summary_again = run_ensemble(cfg, executor=ExecutorConfig(kind="local", n_workers=2))
    assert (again.n_run, again.n_skipped) == (0, 4)
    assert summary_again == summary


def test_dask_ensemble_survives_a_killed_worker(small_config, tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = parse_config(ensemble_config(small_config, tmp_path, n_background=4, n_per_point=2))
    results = ensemble_directory(cfg) / "tasks"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        pids = set(client.run(os.getpid).values())
        killed: dict[str, int] = {}

        def kill_one_worker_mid_run() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if len(list(results.glob("*.json"))) >= 1:
                    pid = next(iter(pids))
                    os.kill(pid, signal.SIGKILL)
                    killed["pid"] = pid
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_worker_mid_run, daemon=True)
        killer.start()
        executor = ExecutorConfig(kind="dask", address=cluster.scheduler_address)
        run, summary = run_ensemble(cfg, executor=executor)
        killer.join(timeout=5)
        assert killed.get("pid") in pids
        assert run.ok, run.failed
        assert run.n_run == 6
        files = sorted(p.name for p in results.iterdir())
        assert files == sorted(f"{t.key}.json" for t in ensemble_tasks(cfg))  # each exactly once, no temp
        seeds = {t.key: t.seed for t in ensemble_tasks(cfg)}
        for name in files:
            record = json.loads((results / name).read_text())
            assert record["seed"] == seeds[record["key"]]
        mtimes = {p.name: p.stat().st_mtime_ns for p in results.iterdir()}
        again, _ = run_ensemble(cfg, executor=executor)
        assert (again.n_run, again.n_skipped) == (0, 6)
        assert {p.name: p.stat().st_mtime_ns for p in results.iterdir()} == mtimes
    assert summarize_ensemble(ResultStore(results).read_all()) == summary


def test_cli_slurm_script_comes_from_the_config(small_config, tmp_path, capsys):
    pytest.importorskip("dask_jobqueue")
    config = ensemble_config(small_config, tmp_path)
    config["ensemble"]["executor"] = {
        "kind": "slurm",
        "slurm": {
            "queue": "gpu-short",
            "account": "lhc42",
            "cores": 4,
            "memory": "16GB",
            "walltime": "02:30:00",
            "job_extra_directives": ["--constraint=haswell"],
        },
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["ensemble", str(path), "--slurm-script"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("#!/usr/bin/env bash")
    expected = ("-p gpu-short", "-A lhc42", "--cpus-per-task=4", "-t 02:30:00", "--constraint=haswell")
    for line in (f"#SBATCH {e}" for e in expected):
        assert line in script
    assert "--mem=" in script and "dask_worker" in script


def test_cli_ensemble_prints_the_bands_writes_the_plot_and_resumes(small_config, tmp_path, capsys):
    config = ensemble_config(small_config, tmp_path, n_background=2, n_per_point=1)
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["ensemble", str(path), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "background only" in printed and "0.3" in printed
    assert "3 run, 0 already done, 0 failed" in printed
    folder = ensemble_directory(parse_config(config))
    summary = json.loads((folder / "ensemble.json").read_text())
    assert [p["s_over_b"] for p in summary["points"]] == [0.0, 0.3]
    assert (folder / "ensemble.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["ensemble", str(path), "--workers", "2"]) == 0
    assert "0 run, 3 already done, 0 failed" in capsys.readouterr().out


def test_pseudo_experiments_never_repeat_an_event(demo_slice):
    """k-fold training scores copies of its own training events as unseen: no event may appear twice."""
    import numpy as np

    from bumphunt.ensemble import _subsample
    from bumphunt.events import EventSet

    events = EventSet.from_parquet(demo_slice["background"])
    part = _subsample(events, np.random.default_rng(3), 0.5)
    assert len(part) == round(0.5 * len(events))
    rows = np.column_stack([part.mass, part.features])
    assert len(np.unique(rows, axis=0)) == len(part)
    assert len(np.unique(np.column_stack([events.mass, events.features]), axis=0)) == len(events)
    with pytest.raises(ConfigError, match=r"ensemble\.fraction"):
        parse_config({"data": {"path": "x.h5"}, "windows": {"sr": [1, 2]}, "ensemble": {"fraction": 1.5}})

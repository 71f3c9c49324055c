"""Pseudo-experiments per minute of ``bumphunt.executors.run_tasks`` with 1 and 2 workers.

The pseudo-experiment (``--function``, default ``ensemble_scaling:null_toy``) is a background-only toy of
the sliding-window bump hunt: a Poisson number of masses drawn from a dijet shape
(``bumphunt.stats.sample_masses``), a uniform random anomaly score per event, and in every window of
``bumphunt.stats.sliding_windows`` a cut at several sideband efficiencies, a sideband fit and a count
in the SR (``bumphunt.stats.selection_scan``). ``--function module:name`` points the benchmark at another
task function (e.g. the real ``bumphunt.ensemble`` task) with ``--params`` as its JSON parameters.

Reference: the same tasks called one after the other in this process (no executor, no files): what one
core does. Ours: ``run_tasks`` on the ``local`` process pool and on a Dask ``LocalCluster`` with 1 and 2
workers, each on a fresh result store; the wall time includes starting the workers and writing the
result files. Printed: toys per minute, the ratio to the reference, and the scaling 2 workers / 1 worker
(at most the number of free cores: 2 on the development machine).

Usage: python benchmarks/ensemble_scaling.py [--tasks 40] [--executors local dask] [--function M:F]
       [--params JSON] [--seed 1]
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bumphunt.errors import BumphuntError
from bumphunt.executors import ExecutorConfig, ResultStore, Task, run_tasks, spawn_seeds
from bumphunt.stats import get_shape, sample_masses, selection_scan, sliding_windows

NULL_TOY = {
    "n_events": 100_000,
    "mass_range": [2000.0, 5000.0],
    "shape": "dijet3",
    "truth": [1.0, 10.0, 5.0],
    "sr_width": 300.0,
    "sb_width": 600.0,
    "step": 100.0,
    "bin_width": 50.0,
    "efficiencies": [1.0, 0.5, 0.25, 0.1, 0.05, 0.02],
}
"""Default parameters of :func:`null_toy` (GeV): 16 windows x 6 efficiencies, about 100k events."""

logging.getLogger("bumphunt.stats").setLevel(logging.ERROR)  # points failed for too few events are expected


def null_toy(task: Task) -> dict[str, Any]:
    """Background-only sliding-window bump hunt on one toy; the largest local significance per window."""
    p = task.params
    rng = np.random.default_rng(task.seed)
    low, high = p["mass_range"]
    shape = get_shape(p["shape"], (low, high))
    truth = np.array(p["truth"], dtype=np.float64)
    truth[0] *= p["n_events"] / shape.bin_integrals([low, high], truth)[0]  # dijet shapes: linear in p0
    mass = sample_masses(shape, truth, low, high, rng)
    scores = rng.uniform(size=mass.size)
    windows = sliding_windows(low, high, sr_width=p["sr_width"], sb_width=p["sb_width"], step=p["step"])
    max_z: list[float | None] = []
    failed_points = 0
    for window in windows:
        try:
            scan = selection_scan(
                mass,
                scores,
                window,
                bin_width=p["bin_width"],
                efficiencies=p["efficiencies"],
                shape=p["shape"],
            )
        except BumphuntError:  # a window the toy cannot test counts as failed, like a failed point
            max_z.append(None)
            failed_points += len(p["efficiencies"])
            continue
        max_z.append(scan.max_z)
        failed_points += scan.n_failed
    tested = [z for z in max_z if z is not None]
    return {
        "n_events": int(mass.size),
        "max_z": max_z,
        "global_max_z": max(tested, default=0.0),
        "failed_points": failed_points,
    }


def load_function(spec: str) -> Callable[[Task], dict[str, Any]]:
    """The function named ``module:name``."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def reference_rate(function: Callable[[Task], dict[str, Any]], tasks: list[Task]) -> float:
    """Tasks per minute of a plain loop in this process (after one warm-up call)."""
    function(tasks[0])
    start = time.perf_counter()
    for task in tasks:
        function(task)
    return len(tasks) / (time.perf_counter() - start) * 60.0


def executor_rate(function: Callable[[Task], dict[str, Any]], tasks: list[Task], spec: ExecutorConfig):
    """Tasks per minute of ``run_tasks`` on a fresh store, and the mean wall time of one task there (s)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(tmp)
        summary = run_tasks(function, tasks, store, executor=spec)
        if not summary.ok:
            raise SystemExit(f"{summary.n_failed} tasks failed, e.g. {summary.failed[0].message}")
        per_task = statistics.fmean(r["wall_seconds"] for r in store.read_all())
    return summary.n_run / summary.wall_seconds * 60.0, per_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40, help="pseudo-experiments per measurement")
    parser.add_argument("--executors", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    parser.add_argument("--function", default="ensemble_scaling:null_toy", help="task function module:name")
    parser.add_argument("--params", default=None, help="JSON parameters of each task (default: null toy)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--config",
        default=None,
        help="search YAML: run its real pseudo-experiments (bumphunt.ensemble, background bootstraps)",
    )
    args = parser.parse_args()

    if args.config is not None:
        from bumphunt.config import load_config
        from bumphunt.ensemble import ensemble_tasks, run_pseudo_experiment

        config = load_config(args.config)
        ensemble = config.ensemble.model_copy(update={"n_background": args.tasks, "n_per_point": 0})
        tasks = ensemble_tasks(config.model_copy(update={"ensemble": ensemble}))
        function: Callable[[Task], dict[str, Any]] = run_pseudo_experiment
        args.function = f"bumphunt.ensemble:run_pseudo_experiment on {args.config}"
    else:
        function = load_function(args.function)
        params = json.loads(args.params) if args.params is not None else NULL_TOY
        seeds = spawn_seeds(args.seed, args.tasks)
        tasks = [Task(f"toy-{i:05d}", seed, params) for i, seed in enumerate(seeds)]
    print(f"{args.tasks} pseudo-experiments of {args.function}, {os.cpu_count()} CPU cores")
    reference = reference_rate(function, tasks)
    print(f"reference: plain loop in this process : {reference:8.1f} toys/min "
          f"({60.0 / reference:.2f} s per toy)")  # fmt: skip
    for kind in args.executors:
        rates = {}
        for workers in (1, 2):
            rates[workers], per_task = executor_rate(
                function, tasks, ExecutorConfig(kind=kind, n_workers=workers)
            )
            print(f"run_tasks {kind:5s}, {workers} worker{'s' if workers > 1 else ' '}   : "
                  f"{rates[workers]:8.1f} toys/min   ratio to reference {rates[workers] / reference:.3f}   "
                  f"({per_task:.2f} s per toy in a worker)")  # fmt: skip
        print(f"scaling {kind}, 2 workers / 1 worker = {rates[2] / rates[1]:.3f}   (ideal 2 on 2 free cores)")


if __name__ == "__main__":
    main()

"""Cluster scanning against the dijet-function fit on generated LHCO-style events (issue 15).

Inputs are constituents files of ``bumphunt generate dijet --constituents`` (QCD background and the
W' -> X Y signal). The script

1. images both files into stores (``bumphunt cluster-scan images``), timing images/s on one core;
2. runs the cluster scan (``bumphunt.cluster_scan``): the observed background, ``--bootstraps``
   background-only bootstraps and ``--signal-runs`` contamination runs per signal fraction, each run
   also giving the dijet-fit baseline on the same events;
3. prints, per injected signal, the median and 68 % band of Z for cluster scanning and the fit, the
   signal each needs for a median of 3 sigma and their ratio (the paper: 0.61);
4. with ``--timing``, the time of one bootstrap on one core and the rate of bootstraps with 1 and 2 local
   workers and on a Dask LocalCluster of 2 workers;
5. the peak resident memory of the process that built the stores and of the worker runs.

Usage:
  python benchmarks/cluster_scanning.py --background qcd_constituents.h5 --signal wprime_constituents.h5 \\
      --work /tmp/cs [--bootstraps 200] [--signal-runs 20] [--signal-events 300,600,...] [--inits 3]
      [--epochs 3] [--timing]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np

from bumphunt.cluster_scan import (
    ClusterScanPlan,
    cluster_scan_tasks,
    run_cluster_scan,
    run_cluster_scan_task,
    write_cluster_scan_outputs,
)
from bumphunt.config import ExecutorConfig
from bumphunt.io.image_store import build_image_store, open_image_store


def peak_memory_gib() -> float:
    """Peak resident memory of this process and of its finished children (GiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 2**20


def store(source: Path, directory: Path, mass_range: tuple[float, float]) -> tuple[object, float]:
    if directory.exists():
        return open_image_store(directory), float("nan")
    start = time.perf_counter()
    built = build_image_store(source, directory, mass_range=mass_range)
    return built, built.meta["counts"]["n_read"] / (time.perf_counter() - start)


def bootstrap_rate(plan: ClusterScanPlan, work: Path, executor: ExecutorConfig, n: int) -> float:
    folder = work / f"rate-{executor.kind}-{executor.n_workers}"
    shutil.rmtree(folder, ignore_errors=True)
    settings = {"n_bootstraps": n, "signal_fractions": (), "signal": None, "n_baseline_resamplings": 0}
    timed = ClusterScanPlan(**{**plan.__dict__, **settings})
    start = time.perf_counter()
    run_cluster_scan(timed, folder, executor=executor)
    seconds = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    return (n + 1) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--background", type=Path, required=True)
    parser.add_argument("--signal", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder of the image stores and runs")
    parser.add_argument("--bins", default="3000:4600:16")
    parser.add_argument("--bootstraps", type=int, default=200)
    parser.add_argument("--signal-runs", type=int, default=20)
    parser.add_argument(
        "--signal-events",
        default="400,800,1200,1800,2600",
        help="injected signal events per contamination point (fraction = events / background events)",
    )
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument(
        "--extra-signal-events",
        default="",
        help="more contamination points, each run as a plan of its own (its own seed), added to the summary",
    )
    parser.add_argument("--inits", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args()
    low, high, bins = (float(x) for x in args.bins.split(":"))
    edges = tuple(float(x) for x in np.linspace(low, high, int(bins) + 1))
    args.work.mkdir(parents=True, exist_ok=True)
    background, rate_b = store(args.background, args.work / "background", (low, high))
    signal, rate_s = store(args.signal, args.work / "signal", (low, high))
    print(
        f"images: background {len(background):,} events ({rate_b:.0f} events/s), "
        f"signal {len(signal):,} ({rate_s:.0f}/s)"
    )
    print(f"peak memory after imaging: {peak_memory_gib():.2f} GiB")
    plan = ClusterScanPlan(
        background=str(background.directory),
        signal=str(signal.directory),
        edges=edges,
        n_clusters=args.clusters,
        n_inits=args.inits,
        n_epochs=args.epochs,
        n_bootstraps=args.bootstraps,
        signal_fractions=tuple(int(n) / len(background) for n in args.signal_events.split(",")),
        n_signal_runs=args.signal_runs,
        seed=1,
    )
    if args.timing:
        task = cluster_scan_tasks(plan)[1]
        start = time.perf_counter()
        run_cluster_scan_task(task)
        print(f"one bootstrap (clustering and scan) on one core: {time.perf_counter() - start:.1f} s")
        for executor in (
            ExecutorConfig(n_workers=1),
            ExecutorConfig(n_workers=2),
            ExecutorConfig(kind="dask", n_workers=2),
        ):
            rate = bootstrap_rate(plan, args.work, executor, n=6)
            print(f"bootstraps per minute, {executor.kind} x {executor.n_workers}: {60 * rate:.2f}")
    start = time.perf_counter()
    summary = run_cluster_scan(plan, args.work / "runs", executor=ExecutorConfig(n_workers=args.workers))
    print(
        f"runs: {summary.n_run} run, {summary.n_skipped} reused, {summary.n_failed} failed "
        f"in {time.perf_counter() - start:.0f} s"
    )
    extra = []
    for n in (int(x) for x in args.extra_signal_events.split(",") if x):
        point = ClusterScanPlan(
            **{
                **plan.__dict__,
                "n_bootstraps": 0,
                "signal_fractions": (n / len(background),),
                "n_baseline_resamplings": 0,
                "seed": 10_000 + n,
            }
        )
        extra.append(args.work / f"runs-signal-{n}")
        summary = run_cluster_scan(point, extra[-1], executor=ExecutorConfig(n_workers=args.workers))
        print(f"extra point {n}: {summary.n_run} run, {summary.n_skipped} reused, {summary.n_failed} failed")
    result = write_cluster_scan_outputs(args.work / "runs", args.work, extra=extra)
    reach = result["z_reach"]
    print(
        f"\n{result['n_bootstraps']} bootstraps, {result['n_baseline_null']} fit resamplings; p-values from "
        f"the tail fit beyond Z = {reach['cluster_scan']:.2f} (cluster scan), {reach['fit']:.2f} (fit)"
    )
    print("| injected signal | S/B (all events) | runs | cluster scan Z | dijet fit Z |")
    print("| --- | --- | --- | --- | --- |")
    for point in result["points"]:
        cs, fit = point["z_cluster_scan"], point["z_fit"]
        fit_text = "-" if fit is None else f"{fit['median']:.2f} [{fit['low']:.2f}, {fit['high']:.2f}]"
        print(
            f"| {point['n_signal']} | {point['fraction']:g} | {point['runs']} | "
            f"{cs['median']:.2f} [{cs['low']:.2f}, {cs['high']:.2f}] ({cs['extrapolated']} tail fit) | "
            f"{fit_text} |"
        )
    print(json.dumps({"signal_for_3_sigma": result["signal_for_3_sigma"], "ratio": result["ratio"]}))
    print(f"peak memory of the workers: {peak_memory_gib():.2f} GiB")


if __name__ == "__main__":
    main()

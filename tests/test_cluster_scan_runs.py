"""Cluster scanning end to end on toy image stores: null bootstraps, contamination runs, resumption."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from bumphunt.cluster_scan import (
    ClusterScanPlan,
    StackedImages,
    cluster_scan_tasks,
    read_cluster_scan,
    run_cluster_scan,
    summarize_cluster_scan,
)
from bumphunt.config import ExecutorConfig
from bumphunt.errors import ConfigError
from bumphunt.io.image_store import ImageBlock, write_image_store
from bumphunt.physics.jet_images import ImageSpec

SPEC = ImageSpec(pixels=6)
EDGES = tuple(float(x) for x in np.linspace(3000.0, 4600.0, 9))


def _store(path, rng, n, kinds, mass):
    """Events whose jets are blobs at one of ``kinds`` positions, with masses from ``mass(n)``."""
    kind = rng.choice(kinds, size=(n, 2))
    images = rng.uniform(0, 0.05, size=(n, 2, 6, 6))
    images[np.arange(n)[:, None], np.arange(2)[None, :], kind, kind] += 1.0
    images /= images.sum(axis=(2, 3), keepdims=True)
    return write_image_store(path, [ImageBlock(images, mass(n))], SPEC)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("cluster-scan")
    background = _store(folder / "bkg", rng, 4000, [0, 1, 2, 3], lambda n: 3000 + rng.exponential(500, n))
    signal = _store(folder / "sig", rng, 400, [5], lambda n: rng.normal(3900, 60, n))
    return background, signal


def _plan(stores, **kwargs):
    background, signal = stores
    settings = dict(
        background=str(background.directory),
        signal=str(signal.directory),
        edges=EDGES,
        n_clusters=6,
        batch_size=256,
        n_epochs=2,
        n_bootstraps=12,
        signal_fractions=(0.05,),
        n_signal_runs=3,
        baseline_shape="dijet3",
        n_baseline_resamplings=300,
        seed=5,
    )
    settings.update(kwargs)
    return ClusterScanPlan(**settings)


def test_signal_runs_stand_out_of_the_null(stores, tmp_path):
    plan = _plan(stores)
    summary = run_cluster_scan(plan, tmp_path / "runs", executor=ExecutorConfig(n_workers=1))
    assert not summary.failed
    records = read_cluster_scan(tmp_path / "runs")
    assert len(records) == 1 + 12 + 3
    result = summarize_cluster_scan(records)
    assert result["n_bootstraps"] == 12
    point = result["points"][0]
    assert point["n_signal"] == 200 and point["runs"] == 3
    # 200 signal jets in one mass bin and one cluster of their own: beyond every bootstrap
    null = np.array(result["null_statistic"])
    signal = [r["statistic"] for r in records if r["kind"] == "signal"]
    assert min(signal) > null.max()
    # 12 bootstraps leave 3 values above the tail threshold, too few to fit: the bound 1 / 12 holds
    assert point["z_cluster_scan"]["limits"] == 3
    assert point["z_cluster_scan"]["median"] == pytest.approx(scipy.stats.norm.isf(1 / 12))
    assert result["observed"]["z"] < 2.5
    # the fit baseline: 12 bootstrap fits and 300 resamplings of the histogram
    assert result["n_baseline_null"] == 312
    assert point["z_fit"]["median"] > 0 and "observed_fit" in result
    # counts: both jets of every event inside the scan range, per initialisation
    observed = next(r for r in records if r["kind"] == "observed")
    assert np.asarray(observed["counts"][0]).sum() == 2 * np.count_nonzero(stores[0].mjj < 4600)


def test_a_rerun_reuses_every_finished_run_and_the_same_seed_gives_the_same_results(stores, tmp_path):
    plan = _plan(stores, n_bootstraps=3, signal_fractions=(), signal=None)
    run_cluster_scan(plan, tmp_path / "a", executor=ExecutorConfig(n_workers=1))
    again = run_cluster_scan(plan, tmp_path / "a", executor=ExecutorConfig(n_workers=1))
    assert again.n_run == 0 and again.n_skipped == 4
    run_cluster_scan(plan, tmp_path / "b", executor=ExecutorConfig(n_workers=1))
    first = {r["kind"] + str(r["statistic"]) for r in read_cluster_scan(tmp_path / "a")}
    second = {r["kind"] + str(r["statistic"]) for r in read_cluster_scan(tmp_path / "b")}
    assert first == second


def test_stacked_images_index_across_both_arrays():
    first, second = np.arange(10).reshape(5, 2), 100 + np.arange(6).reshape(3, 2)
    stacked = StackedImages(first, second)
    assert len(stacked) == 8
    assert stacked[np.array([1, 4, 5, 7])].tolist() == [[2, 3], [8, 9], [100, 101], [104, 105]]


def test_bad_settings_are_named(stores, tmp_path):
    with pytest.raises(ConfigError, match="hold none of the events"):
        run_cluster_scan(_plan(stores, edges=(100.0, 200.0, 300.0)), tmp_path / "x")
    with pytest.raises(ConfigError, match="n_clusters = 60 is larger"):
        from bumphunt.cluster_scan import run_cluster_scan_task

        run_cluster_scan_task(
            cluster_scan_tasks(_plan(stores, n_clusters=60, batch_size=256, train_range=(3000.0, 3001.0)))[0]
        )
    with pytest.raises(ConfigError, match="signal image store"):
        _plan(stores, signal=None)
    with pytest.raises(ConfigError, match="statistic"):
        _plan(stores, statistic="nope")
    with pytest.raises(ConfigError, match="no finished run"):
        read_cluster_scan(tmp_path / "empty")


def test_command_line_runs_and_summarizes(stores, tmp_path, capsys):
    from bumphunt.cli import main

    background, signal = stores
    out = tmp_path / "scan"
    args = [
        "cluster-scan",
        "run",
        str(background.directory),
        "-o",
        str(out),
        "--signal",
        str(signal.directory),
    ]
    args += ["--bins", "3000:4600:8", "--clusters", "6", "--batch-size", "256", "--bootstraps", "5"]
    args += ["--fractions", "0.05", "--signal-runs", "2", "--baseline", "dijet3"]
    args += ["--baseline-resamplings", "100"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "5 background-only bootstraps" in printed and "observed" in printed
    for name in ("summary.json", "cluster_shares.png", "null_distribution.png", "significance.png"):
        assert (out / name).is_file()
    assert main(["cluster-scan", "summary", str(out)]) == 0
    # an empty run directory is named in a one-line error
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    assert main(["cluster-scan", "summary", str(tmp_path / "empty")]) == 2
    assert "holds no finished run" in capsys.readouterr().err
    # windows outside the spectrum, k larger than the events
    assert (
        main(
            [
                "cluster-scan",
                "run",
                str(background.directory),
                "-o",
                str(tmp_path / "x"),
                "--bins",
                "100:200:4",
            ]
        )
        == 2
    )
    assert "hold none of the events" in capsys.readouterr().err
    args = ["cluster-scan", "run", str(background.directory), "-o", str(tmp_path / "y"), "--clusters", "60"]
    assert main([*args, "--batch-size", "256", "--train-range", "3000", "3001"]) == 2
    assert "n_clusters = 60 is larger than the" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_images_command_refuses_a_features_file(generated_lhco, tmp_path, capsys):
    from bumphunt.cli import main

    features, _ = generated_lhco
    assert main(["cluster-scan", "images", str(features), "-o", str(tmp_path / "store")]) == 2
    assert "constituents" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()


def test_a_killed_worker_loses_no_finished_bootstrap(stores, tmp_path):
    import os
    import signal
    import threading
    import time

    # 12 initialisations per run make each bootstrap take long enough to be killed while it runs
    plan = _plan(stores, n_bootstraps=3, signal_fractions=(), signal=None, n_inits=12)
    runs = tmp_path / "runs"
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            summary=run_cluster_scan(plan, runs, executor=ExecutorConfig(n_workers=2))
        )
    )
    thread.start()
    finished_before, killed = {}, None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        done = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")} if runs.is_dir() else {}
        markers = list(runs.glob(".*.running")) if runs.is_dir() else []
        if done and markers:
            try:
                pid = int(markers[0].read_text())
            except (OSError, ValueError):
                continue
            finished_before = done
            os.kill(pid, signal.SIGKILL)
            killed = markers[0].name
        time.sleep(0.02)
    thread.join(timeout=300)
    assert killed is not None, "no bootstrap was running to be killed"
    summary = outcome["summary"]
    assert not summary.failed and summary.n_retried >= 1
    # every run has its one result; the bootstraps finished before the kill were not run again
    expected = sorted(f"{t.key}.json" for t in cluster_scan_tasks(plan))
    assert sorted(p.name for p in runs.glob("*.json")) == expected
    for name, mtime in finished_before.items():
        assert (runs / name).stat().st_mtime_ns == mtime
    # and the results are those of an undisturbed run
    run_cluster_scan(plan, tmp_path / "clean", executor=ExecutorConfig(n_workers=1))
    statistics = {r["kind"] + str(r["statistic"]) for r in read_cluster_scan(runs)}
    assert statistics == {r["kind"] + str(r["statistic"]) for r in read_cluster_scan(tmp_path / "clean")}


def test_outputs_add_the_runs_of_extra_directories(stores, tmp_path):
    from bumphunt.cluster_scan import write_cluster_scan_outputs

    run_cluster_scan(_plan(stores, n_bootstraps=4, signal_fractions=(), signal=None), tmp_path / "null")
    run_cluster_scan(_plan(stores, n_bootstraps=0, n_signal_runs=2, seed=9), tmp_path / "point")
    summary = write_cluster_scan_outputs(tmp_path / "null", tmp_path / "out", extra=[tmp_path / "point"])
    # the bootstraps of the first directory, the contamination runs of the other, one observed run
    assert summary["n_bootstraps"] == 4
    assert [(p["n_signal"], p["runs"]) for p in summary["points"]] == [(200, 2)]
    assert (tmp_path / "out" / "significance.png").is_file()

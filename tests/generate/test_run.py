"""Files, seeds, resumption and errors of ``bumphunt.generate.generate`` and ``bumphunt generate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bumphunt.cli import main
from bumphunt.errors import ConfigError
from bumphunt.generate import GenerationPlan, generate, wprime_to_xy
from bumphunt.io.lhco import FEATURE_COLUMNS
from bumphunt.io.table_writer import read_provenance

EXPECTED_COLUMNS = [
    "pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "tau2j1", "tau3j1",
    "pxj2", "pyj2", "pzj2", "mj2", "tau1j2", "tau2j2", "tau3j2", "label",
]  # fmt: skip


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """60 signal events in 3 chunks on 2 workers, as HDF5, Parquet and constituents."""
    out = tmp_path_factory.mktemp("run")
    plan = GenerationPlan(wprime_to_xy(), n_events=60, seed=7, chunk_size=25, constituents=True)
    summary = generate(
        plan, [out / "sig.h5", out / "sig.parquet"], constituents_output=out / "const.h5", workers=2
    )
    return out, summary


def test_features_file_has_the_lhco_columns_and_dtypes(small_run):
    out, _ = small_run
    frame = pd.read_hdf(out / "sig.h5")
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert tuple(EXPECTED_COLUMNS[:-1]) == FEATURE_COLUMNS
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert len(frame) == 60
    assert np.all(frame["label"] == 1.0)
    parquet = pd.read_parquet(out / "sig.parquet")
    pd.testing.assert_frame_equal(parquet, frame.reset_index(drop=True))


def test_constituents_file_has_the_lhco_layout(small_run):
    out, _ = small_run
    frame = pd.read_hdf(out / "const.h5")
    assert frame.shape == (60, 2101)
    assert list(frame.columns) == list(range(2101))
    assert np.all(frame[2100] == 1.0)
    pt = frame.iloc[:, 0:2100:3].to_numpy()
    assert np.all(pt[:, 0] > 0)


def test_provenance_is_stored_in_every_output(small_run):
    out, summary = small_run
    for name in ("sig.h5", "sig.parquet", "const.h5"):
        prov = read_provenance(out / name)
        assert prov["generator"].startswith("Pythia 8.3")
        assert prov["seed"] == 7
        assert prov["n_events"] == 60
        assert prov["n_generated"] >= 60
        assert "34:oneChannel = 1 1.0 100 35 37" in prov["pythia_settings"]
        assert "Beams:eCM = 13000." in prov["pythia_settings"]
        assert len(prov["chunk_seeds"]) == 3
        # SSM-like W' of 3.5 TeV: tens of fb
        assert 0.005 < prov["sigma_generated_pb"] < 0.5
        assert prov == summary.provenance
    assert not (out / "sig.h5.parts").exists()


def test_same_seed_gives_identical_features_for_any_worker_count(small_run, tmp_path):
    out, _ = small_run
    plan = GenerationPlan(wprime_to_xy(), n_events=60, seed=7, chunk_size=25, constituents=False)
    generate(plan, [tmp_path / "again.h5"], workers=1)
    first = pd.read_hdf(out / "sig.h5").to_numpy()
    again = pd.read_hdf(tmp_path / "again.h5").to_numpy()
    assert first.tobytes() == again.tobytes()
    other = GenerationPlan(wprime_to_xy(), n_events=60, seed=8, chunk_size=25)
    generate(other, [tmp_path / "other.h5"])
    assert not np.array_equal(pd.read_hdf(tmp_path / "other.h5").to_numpy(), first)


def stop_after_first_chunk(n: int) -> None:
    """A progress callback that interrupts the run (as Ctrl-C would) once a chunk has finished."""
    if n:
        raise KeyboardInterrupt


def test_interrupted_run_resumes_from_finished_chunks(small_run, tmp_path):
    out, _ = small_run
    plan = GenerationPlan(wprime_to_xy(), n_events=60, seed=7, chunk_size=25)
    target = tmp_path / "resumed.h5"
    with pytest.raises(KeyboardInterrupt):
        generate(plan, [target], progress=stop_after_first_chunk)
    assert not target.exists()
    chunks = tmp_path / "resumed.h5.parts" / "chunks"
    assert (chunks / "chunk-00000.npz").exists() and (chunks / "chunk-00000.json").exists()

    seen = []
    summary = generate(plan, [target], progress=seen.append)
    assert summary.chunks_reused >= 1
    assert seen[0] == 0 and sum(seen) == 60
    assert pd.read_hdf(target).to_numpy().tobytes() == pd.read_hdf(out / "sig.h5").to_numpy().tobytes()


def test_chunks_of_the_runner_before_the_executor_layer_are_reused(small_run, tmp_path):
    out, _ = small_run
    plan = GenerationPlan(wprime_to_xy(), n_events=60, seed=7, chunk_size=25)
    target = tmp_path / "old.h5"
    with pytest.raises(KeyboardInterrupt):
        generate(plan, [target], progress=stop_after_first_chunk)
    parts = tmp_path / "old.h5.parts"
    for record in (parts / "chunks").glob("*.json"):  # the old layout: chunk files only, one level up
        record.unlink()
    for chunk in (parts / "chunks").glob("*.npz"):
        chunk.rename(parts / chunk.name)
    summary = generate(plan, [target])
    assert summary.chunks_reused >= 1
    assert pd.read_hdf(target).to_numpy().tobytes() == pd.read_hdf(out / "sig.h5").to_numpy().tobytes()


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_a_dask_cluster_generates_the_same_events(small_run, tmp_path):
    pytest.importorskip("distributed")
    from bumphunt.executors import ExecutorConfig

    out, _ = small_run
    plan = GenerationPlan(wprime_to_xy(), n_events=60, seed=7, chunk_size=25)
    summary = generate(plan, [tmp_path / "dask.h5"], executor=ExecutorConfig(kind="dask", n_workers=2))
    assert (
        pd.read_hdf(tmp_path / "dask.h5").to_numpy().tobytes()
        == pd.read_hdf(out / "sig.h5").to_numpy().tobytes()
    )
    assert summary.provenance["chunk_seeds"] == read_provenance(out / "sig.h5")["chunk_seeds"]
    assert not (tmp_path / "dask.h5.parts").exists()


def test_changed_settings_do_not_mix_with_old_chunks(tmp_path):
    plan = GenerationPlan(wprime_to_xy(), n_events=4, seed=1, chunk_size=2)
    (tmp_path / "x.h5.parts").mkdir()
    (tmp_path / "x.h5.parts" / "manifest.json").write_text('{"fingerprint": "something else"}')
    with pytest.raises(ConfigError, match="other settings"):
        generate(plan, [tmp_path / "x.h5"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--process", "zprime", "-n", "5"], "unknown process 'zprime'"),
        (["--process", "wprime", "--m-x", "3000", "--m-y", "600", "-n", "5"], "m_x + m_y must be below"),
        (["-n", "-5"], "number of events must be a positive integer"),
        (["-n", "5", "--workers", "0"], "n_workers: Input should be greater than or equal to 1 (got 0)"),
        (["-n", "5", "--pthat-min", "-100"], "pthat_min must be a positive"),
        (["--process", "wprime", "-n", "5", "--chunk-size", "0"], "chunk_size must be a positive"),
    ],
)
def test_bad_settings_give_one_line_and_no_file(args, message, tmp_path, capsys):
    target = tmp_path / "out.h5"
    status = main(["generate", "dijet", *args, "-o", str(target)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_unknown_output_format_is_rejected_before_any_work(tmp_path, capsys):
    status = main(["generate", "dijet", "--process", "wprime", "-n", "5", "-o", str(tmp_path / "out.txt")])
    assert status == 2
    assert "unknown suffix '.txt'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_generates_a_readable_file(tmp_path, capsys):
    target = tmp_path / "cli.h5"
    status = main(["generate", "dijet", "--process", "wprime", "-n", "8", "--seed", "3", "-o", str(target)])
    assert status == 0
    frame = pd.read_hdf(target)
    assert len(frame) == 8
    assert read_provenance(target)["command"].startswith("bumphunt generate dijet")


def test_version(capsys):
    from bumphunt import __version__

    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out

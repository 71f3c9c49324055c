"""LHCO R&D readers: features (CATHODE feature set) and streamed constituents with FastJet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.io import iter_lhco_constituents, read_lhco_constituents, read_lhco_features
from bumphunt.io.lhco import FEATURE_COLUMNS, constituents_frame, features_frame


def cathode_formulas(frame: pd.DataFrame) -> np.ndarray:
    """mjj, mJmin, mJmax - mJmin, tau21(lighter), tau21(heavier) as the CATHODE repository computes them
    (run_data_preparation_LHCORD.py), in GeV instead of TeV."""
    pjj = frame[["pxj1", "pyj1", "pzj1"]].to_numpy() + frame[["pxj2", "pyj2", "pzj2"]].to_numpy()
    ejj = np.sqrt(np.sum(frame[["pxj1", "pyj1", "pzj1", "mj1"]].to_numpy() ** 2, axis=1)) + np.sqrt(
        np.sum(frame[["pxj2", "pyj2", "pzj2", "mj2"]].to_numpy() ** 2, axis=1)
    )
    mjj = np.sqrt(ejj**2 - np.sum(pjj**2, axis=1))
    mj = frame[["mj1", "mj2"]].to_numpy()
    tau21 = frame[["tau2j1", "tau2j2"]].to_numpy() / (1e-5 + frame[["tau1j1", "tau1j2"]].to_numpy())
    rows = np.arange(len(frame))
    lo, hi = np.argmin(mj, axis=1), np.argmax(mj, axis=1)
    return np.column_stack([mjj, mj[rows, lo], mj[rows, hi] - mj[rows, lo], tau21[rows, lo], tau21[rows, hi]])


def test_generated_features_equal_the_cathode_formulas(generated_lhco):
    features_path, _ = generated_lhco
    events = read_lhco_features(features_path)
    reference = cathode_formulas(pd.read_hdf(features_path))
    assert events.feature_names == ("mj_min", "delta_mj", "tau21_jmin", "tau21_jmax")
    np.testing.assert_array_equal(events.mass, reference[:, 0])
    np.testing.assert_array_equal(events.features, reference[:, 1:])
    np.testing.assert_array_equal(events.label, 1)
    assert events.provenance["format"] == "lhco-features"
    assert events.provenance["file_provenance"]["n_events"] == 20  # what the generator recorded
    assert np.all((events.mass > 2000.0) & (events.mass < 6000.0))  # a W' of 3.5 TeV


def test_clustering_the_constituents_reproduces_the_features_file(generated_lhco):
    features_path, constituents_path = generated_lhco
    expected = read_lhco_features(features_path, with_delta_r=True, raw_columns=True)
    progress = []
    clustered = read_lhco_constituents(
        constituents_path, with_delta_r=True, raw_columns=True, chunk_size=7, progress=progress.append
    )
    assert progress == [7, 7, 6]
    assert clustered.feature_names == expected.feature_names
    assert clustered.provenance["n_without_two_jets"] == 0
    np.testing.assert_allclose(clustered.mass, expected.mass, rtol=1e-12)
    # the N-subjettiness sums run over particles in another order: equal to rounding
    np.testing.assert_allclose(clustered.features, expected.features, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(clustered.label, expected.label)


def write_features(path, rows: np.ndarray, *, label=0.0, fmt: str = "fixed", key: str = "df"):
    features_frame(rows, label).to_hdf(path, key=key, format=fmt)


def physical_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.uniform(10.0, 300.0, size=(n, 14))
    rows[:, [0, 7]] = rng.uniform(1200.0, 2000.0, size=(n, 2)) * np.array([1.0, -1.0])
    return rows


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_features_written_here_in_both_pandas_formats(tmp_path, fmt):
    rows = physical_rows(300, seed=1)
    write_features(tmp_path / "f.h5", rows, label=np.arange(300) % 2, fmt=fmt)
    events = read_lhco_features(tmp_path / "f.h5", raw_columns=["mj1", "mj2"])
    frame = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))
    np.testing.assert_array_equal(events.mass, cathode_formulas(frame)[:, 0])
    np.testing.assert_array_equal(events.column("mj1"), rows[:, 3])
    assert events.label.tolist() == (np.arange(300) % 2).tolist()


def test_features_file_without_label(tmp_path):
    frame = pd.DataFrame(physical_rows(10, seed=2), columns=list(FEATURE_COLUMNS))
    frame.to_hdf(tmp_path / "extra.h5", key="df")
    assert read_lhco_features(tmp_path / "extra.h5").label is None


def test_unknown_raw_column_is_a_config_error(tmp_path):
    write_features(tmp_path / "f.h5", physical_rows(3, seed=3))
    with pytest.raises(ConfigError, match="not LHCO feature columns"):
        read_lhco_features(tmp_path / "f.h5", raw_columns=["ptj1"])


def write_constituents(path, n: int, seed: int, *, with_label: bool = True, fmt: str = "table"):
    rng = np.random.default_rng(seed)
    particles = np.zeros((n, 700, 3))
    counts = rng.integers(0, 40, n)
    for i, k in enumerate(counts):
        particles[i, :k, 0] = np.sort(rng.uniform(1.0, 500.0, k))[::-1]
        particles[i, :k, 1] = rng.uniform(-2.5, 2.5, k)
        particles[i, :k, 2] = rng.uniform(-np.pi, np.pi, k)
    frame = constituents_frame(particles, np.arange(n) % 2)
    if not with_label:
        frame = frame.iloc[:, :-1]
    frame.to_hdf(path, key="df", format=fmt)
    return particles, counts


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_constituent_chunks_hold_exactly_the_unpadded_particles(tmp_path, fmt):
    particles, counts = write_constituents(tmp_path / "c.h5", 25, seed=5, fmt=fmt)
    chunks = list(iter_lhco_constituents(tmp_path / "c.h5", chunk_size=10, start=3, stop=24))
    assert [(c.start, len(c)) for c in chunks] == [(3, 10), (13, 10), (23, 1)]
    for chunk in chunks:
        for j, event in enumerate(chunk.particles):
            row = chunk.start + j
            assert len(event) == counts[row]
            np.testing.assert_array_equal(np.asarray(event["pt"]), particles[row, : counts[row], 0])
            np.testing.assert_array_equal(np.asarray(event["phi"]), particles[row, : counts[row], 2])
        np.testing.assert_array_equal(chunk.label, np.arange(chunk.start, chunk.start + len(chunk)) % 2)


def test_constituents_without_label_column(tmp_path):
    write_constituents(tmp_path / "bb.h5", 4, seed=6, with_label=False)
    (chunk,) = iter_lhco_constituents(tmp_path / "bb.h5")
    assert chunk.label is None


def test_wrong_number_of_constituent_columns(tmp_path):
    pd.DataFrame(np.ones((3, 2102))).to_hdf(tmp_path / "c.h5", key="df")
    with pytest.raises(DataFormatError, match="2102 columns; expected 3k particle columns"):
        next(iter_lhco_constituents(tmp_path / "c.h5"))

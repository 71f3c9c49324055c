"""Bad inputs: each gives one clear bumphunt.errors exception; the CLI prints it on one line, status 2."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from bumphunt.cli import main
from bumphunt.errors import DataFormatError, EmptySelectionError, MissingFileError
from bumphunt.events import Window
from bumphunt.io import read_dimuons, read_flat_leptons, read_lhco_features, read_table
from bumphunt.io.lhco import FEATURE_COLUMNS, features_frame


@pytest.fixture
def features_file(tmp_path):
    rng = np.random.default_rng(1)
    rows = rng.uniform(10.0, 300.0, size=(50, 14))
    rows[:, [0, 7]] = np.column_stack([rng.uniform(1300, 1800, 50), -rng.uniform(1300, 1800, 50)])
    path = tmp_path / "features.h5"
    features_frame(rows, 0.0).to_hdf(path, key="df", format="table")
    return path


def run_cli(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


def assert_one_line_error(status: int, err: str, *fragments: str) -> None:
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_file(tmp_path, capsys):
    with pytest.raises(MissingFileError, match=r"nope\.h5' does not exist"):
        read_lhco_features(tmp_path / "nope.h5")
    assert_one_line_error(*run_cli(capsys, "inspect", str(tmp_path / "nope.h5")), "does not exist")


def test_text_file_that_claims_to_be_hdf5(tmp_path, capsys):
    (tmp_path / "fake.h5").write_text("pxj1,pyj1\n1,2\n")
    with pytest.raises(DataFormatError, match="is a text file, expected an HDF5 file"):
        read_lhco_features(tmp_path / "fake.h5")
    assert_one_line_error(*run_cli(capsys, "inspect", str(tmp_path / "fake.h5")), "not an HDF5 file")


def test_hdf5_file_given_to_a_root_reader(features_file, tmp_path, capsys):
    with pytest.raises(DataFormatError, match="is an HDF5 file, expected a ROOT file"):
        read_dimuons(features_file)
    shutil.copy(features_file, tmp_path / "events.root")
    assert_one_line_error(*run_cli(capsys, "inspect", str(tmp_path / "events.root")), "not a ROOT file")


def test_empty_file(tmp_path, capsys):
    (tmp_path / "empty.root").write_bytes(b"")
    with pytest.raises(DataFormatError, match="is empty, expected a ROOT file"):
        read_dimuons(tmp_path / "empty.root")
    assert_one_line_error(*run_cli(capsys, "inspect", str(tmp_path / "empty.root")), "empty")


def test_wrong_key(features_file, capsys):
    with pytest.raises(DataFormatError, match=r"has no key 'events'; its keys are \['df'\]"):
        read_lhco_features(features_file, key="events")
    assert_one_line_error(*run_cli(capsys, "inspect", "--key", "events", str(features_file)), "no key")


def test_wrong_tree(shared_data, capsys):
    path = shared_data / "uproot-HZZ.root"
    with pytest.raises(DataFormatError, match=r"no TTree or RNTuple 'Events'; it holds \['events'\]"):
        read_dimuons(path)
    assert_one_line_error(*run_cli(capsys, "inspect", "--tree", "Events", str(path)), "'Events'")


def test_missing_column(tmp_path):
    frame = features_frame(np.ones((3, 14)), 0.0).drop(columns=["tau3j2"])
    frame.to_hdf(tmp_path / "f.h5", key="df")
    with pytest.raises(DataFormatError, match=r"column 'tau3j2' not found .* close matches: \['tau3j1'"):
        read_lhco_features(tmp_path / "f.h5")


def test_missing_branch(shared_data):
    with pytest.raises(DataFormatError, match=r"branch 'Muon_pt'.* not found.*close matches: \['Muon_P"):
        read_dimuons(shared_data / "uproot-HZZ.root", tree="events")
    with pytest.raises(DataFormatError, match="branch 'Lepton_Px'"):
        read_flat_leptons(shared_data / "uproot-HZZ.root", collections={"mu": "Lepton"})


def test_nan_and_inf_in_a_feature_column(tmp_path):
    rows = np.random.default_rng(2).uniform(10.0, 300.0, size=(40, 14))
    rows[[3, 9, 11], FEATURE_COLUMNS.index("tau1j1")] = np.nan
    rows[5, FEATURE_COLUMNS.index("mj2")] = np.inf
    features_frame(rows, np.arange(40) % 2).to_hdf(tmp_path / "f.h5", key="df")
    with pytest.raises(DataFormatError) as info:
        read_lhco_features(tmp_path / "f.h5")
    message = str(info.value)
    assert "column 'mj2' has 1" in message
    assert "column 'tau1j1' has 3" in message
    assert "nonfinite='drop'" in message
    events = read_lhco_features(tmp_path / "f.h5", nonfinite="drop")
    assert len(events) == 36
    assert events.provenance["n_dropped_nonfinite_rows"] == 4
    np.testing.assert_array_equal(events.label, np.delete(np.arange(40) % 2, [3, 5, 9, 11]))


def test_empty_selection(features_file):
    events = read_lhco_features(features_file)
    with pytest.raises(EmptySelectionError, match=r"no event has a mass in \[9000, 9500\) GeV"):
        events.signal_region(Window(sr=(9000.0, 9500.0)))


@pytest.mark.parametrize("bad", [0.0, -120.0])
def test_zero_or_negative_masses(tmp_path, bad):
    frame = pd.DataFrame({"mjj": [3000.0, bad, 3500.0], "x": [1.0, 2.0, 3.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataFormatError, match=r"mass column 'mjj' has 1 values <= 0"):
        read_table(tmp_path / "t.csv", mass="mjj")


def test_truncated_hdf5(features_file, tmp_path, capsys):
    data = features_file.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="the HDF5 file is truncated"):
        read_lhco_features(tmp_path / "cut.h5")
    assert_one_line_error(*run_cli(capsys, "inspect", str(tmp_path / "cut.h5")), "truncated")


def test_truncated_root(shared_data, tmp_path, capsys):
    data = (shared_data / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root").read_bytes()
    (tmp_path / "cut.root").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="the ROOT file is truncated or corrupt"):
        read_dimuons(tmp_path / "cut.root")
    assert_one_line_error(*run_cli(capsys, "inspect", str(tmp_path / "cut.root")), "truncated")

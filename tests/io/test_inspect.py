"""``inspect_file`` and ``bumphunt inspect`` on every format the readers know."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bumphunt.cli import main
from bumphunt.errors import DataFormatError
from bumphunt.events import EventSet
from bumphunt.io import inspect_file, read_dimuons
from bumphunt.io.lhco import constituents_frame, features_frame


def test_nanoaod_rntuple(shared_data):
    path = shared_data / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
    summary = inspect_file(path)
    masses = read_dimuons(path).opposite_sign.mass
    assert (summary.container, summary.format, summary.n_events) == ("root", "nanoaod", 1000)
    assert set(summary.columns) == {"nMuon", "Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"}
    assert summary.mass_range == (masses.min(), masses.max())
    assert "RNTuple 'Events'" in summary.notes


def test_nanoaod_ttree_and_flat_ntuple(shared_data):
    ttbar = inspect_file(shared_data / "nanoAOD_2015_CMS_Open_Data_ttbar.root")
    assert (ttbar.format, ttbar.n_events, len(ttbar.columns)) == ("nanoaod", 200, 947)
    hzz = inspect_file(shared_data / "uproot-HZZ.root")
    assert (hzz.format, hzz.n_events) == ("flat-ntuple", 2421)
    assert "Muon_Px" in hzz.columns
    assert hzz.mass_range is None


def test_lhco_files(tmp_path):
    rows = np.random.default_rng(0).uniform(10.0, 300.0, size=(30, 14))
    rows[:, [0, 7]] = np.column_stack([np.full(30, 1500.0), np.full(30, -1500.0)])
    features_frame(rows, 0.0).to_hdf(tmp_path / "f.h5", key="df")
    summary = inspect_file(tmp_path / "f.h5")
    assert (summary.format, summary.n_events, summary.mass_name) == ("lhco-features", 30, "mjj")
    assert summary.mass_range[0] > 2900.0
    constituents_frame(np.ones((4, 700, 3)), 1.0).to_hdf(tmp_path / "c.h5", key="df", format="table")
    summary = inspect_file(tmp_path / "c.h5")
    assert (summary.format, summary.n_events, len(summary.columns)) == ("lhco-constituents", 4, 2101)
    assert any("700 particles" in note for note in summary.notes)


def test_eventset_parquet_and_csv(tmp_path):
    events = EventSet(np.array([100.0, 250.0, 175.0]), np.zeros((3, 1)), ("x",), provenance={"source": "t"})
    summary = inspect_file(events.to_parquet(tmp_path / "e.parquet"))
    assert (summary.format, summary.n_events, summary.mass_range) == ("eventset", 3, (100.0, 250.0))
    pd.DataFrame({"mjj": [3000.0, 3100.0], "y": [1, 2]}).to_csv(tmp_path / "t.csv", index=False)
    summary = inspect_file(tmp_path / "t.csv")
    assert (summary.format, summary.mass_name, summary.mass_range) == ("table", "mjj", (3000.0, 3100.0))


def test_cli_inspect_shows_format_events_and_mass_range(shared_data, capsys):
    path = shared_data / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "nanoaod" in out
    assert "1,000" in out
    assert "dimuon mass (opposite sign)" in out


@pytest.mark.parametrize(
    ("name", "fmt", "events"),
    [
        ("uproot-HZZ.root", "flat-ntuple", "2,421"),
        ("nanoAOD_2015_CMS_Open_Data_ttbar.root", "nanoaod", "200"),
    ],
)
def test_cli_inspect_root_files(shared_data, capsys, name, fmt, events):
    assert main(["inspect", str(shared_data / name)]) == 0
    out = capsys.readouterr().out
    assert f"{fmt} (root)" in out
    assert re.search(rf"events\s*│\s*{events}\s", out)


def _layout_files(tmp_path, shared_data) -> dict[str, tuple]:
    """Files of several layouts: ``name -> (path, layout)``."""
    rows = np.random.default_rng(3).uniform(10.0, 300.0, size=(40, 14))
    rows[:, [0, 7]] = np.column_stack([np.full(40, 1500.0), np.full(40, -1500.0)])
    full = features_frame(rows, 0.0)
    full.to_hdf(tmp_path / "lhco.h5", key="df")
    partial = full[["pxj1", "pyj1", "pzj1", "mj1"]].assign(mjj=np.linspace(2500.0, 4000.0, 40))
    partial.to_hdf(tmp_path / "lhco_partial.h5", key="df")
    events = EventSet(np.linspace(2500.0, 4000.0, 5), np.zeros((5, 1)), ("x",), provenance={"source": "t"})
    events.to_parquet(tmp_path / "events.parquet")
    pd.DataFrame({"mjj": [3000.0, 3100.0, 3200.0], "y": [1.0, 2.0, 3.0]}).to_parquet(
        tmp_path / "plain.parquet"
    )
    pd.DataFrame({"mjj": [3000.0, 3100.0], "y": [1.0, 2.0]}).to_csv(tmp_path / "plain.csv", index=False)
    return {
        "full LHCO": (tmp_path / "lhco.h5", "lhco-features"),
        "LHCO with some columns": (tmp_path / "lhco_partial.h5", "table"),
        "bumphunt Parquet": (tmp_path / "events.parquet", "eventset"),
        "plain Parquet": (tmp_path / "plain.parquet", "table"),
        "plain CSV": (tmp_path / "plain.csv", "table"),
        "NanoAOD": (shared_data / "nanoAOD_2015_CMS_Open_Data_ttbar.root", "nanoaod"),
    }


def test_inspect_and_run_name_every_layout_alike(tmp_path, shared_data, capsys):
    from bumphunt.io import detect_layout, read_events

    for name, (path, layout) in _layout_files(tmp_path, shared_data).items():
        assert detect_layout(path).layout == layout, name
        assert inspect_file(path).format == layout, name
        assert main(["inspect", str(path)]) == 0
        assert f"{layout} (" in capsys.readouterr().out, name
        if layout == "nanoaod":  # a search cannot read it, and says so with the same name
            with pytest.raises(DataFormatError, match="holds nanoaod data"):
                read_events(path)
        else:  # `bumphunt run` reads the file with the reader of that layout
            assert read_events(path).provenance["layout"] == layout, name

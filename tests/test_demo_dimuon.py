"""``bumphunt demo dimuon``: the shipped generated NanoAOD files and the demo search on them."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import uproot

from bumphunt.cli import main
from bumphunt.demo import DIMUON_DEMO_FILES, demo_data_dir, dimuon_demo_config
from bumphunt.io.nanoaod_writer import read_root_provenance

#: PDG masses of Upsilon(1S), (2S), (3S) (GeV).
UPSILON_MASSES = (9.4603, 10.02326, 10.3552)


def test_shipped_files_are_small_generated_nanoaod():
    folder = demo_data_dir(DIMUON_DEMO_FILES)
    assert sum((folder / name).stat().st_size for name in DIMUON_DEMO_FILES) <= 25e6
    background = read_root_provenance(folder / DIMUON_DEMO_FILES[0])
    processes = {entry["process"]: entry["kept"] for entry in background["inputs"]}
    assert set(processes) == {"bbbar", "ccbar", "drell-yan"}
    assert all(kept > 0 for kept in processes.values())
    signal = read_root_provenance(folder / DIMUON_DEMO_FILES[1])
    assert [entry["process"] for entry in signal["inputs"]] == ["upsilon"]
    # the background has no muon from an Upsilon decay; the signal pool's muons come from b (bottomonium)
    flavour = uproot.open(folder / DIMUON_DEMO_FILES[0])["Events"]["Muon_genPartFlav"].array()
    assert len(flavour) == sum(processes.values())
    upsilon = uproot.open(folder / DIMUON_DEMO_FILES[1])["Events"].arrays(["Muon_genPartFlav", "Muon_pt"])
    assert np.mean(ak.to_numpy(upsilon["Muon_genPartFlav"][:, 0]) == 5) > 0.95


def test_demo_configuration_is_the_example_search_on_the_shipped_files(tmp_path):
    config = dimuon_demo_config(tmp_path / "out")
    assert config.data.format == "nanoaod"
    assert config.data.path.name == DIMUON_DEMO_FILES[0]
    assert config.data.injection is not None and config.data.injection.signal.name == DIMUON_DEMO_FILES[1]
    assert config.data.dimuon.validate_other_sign
    assert config.windows.sr == (9.0, 10.6)


def test_demo_finds_the_injected_upsilons(tmp_path, capsys):
    """The whole demo (about a minute on 2 cores): the excess at the Upsilons, the same-sign validation
    without one, within the 5 minutes the demo promises."""
    out = tmp_path / "demo"
    assert main(["demo", "dimuon", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Validation on same-sign pairs" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["local_z"] > 3
    assert abs(summary["validation"]["local_z"]) < 3
    assert summary["timing"]["total_s"] < 300
    assert (out / "report.html").exists()

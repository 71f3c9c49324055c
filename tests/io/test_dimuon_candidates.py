"""Dimuon candidates from NanoAOD with a selection: real CMS files and generated ones, one or many."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bumphunt.errors import DataFormatError, MissingFileError
from bumphunt.io.nanoaod import DimuonSelection, IsolationCut, read_dimuon_candidates, read_dimuons

REAL_2012 = "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"


def test_default_selection_matches_the_leading_pairs_of_the_plain_reader(shared_data):
    path = shared_data / REAL_2012
    plain = read_dimuons(path)
    selected = read_dimuon_candidates(path, DimuonSelection(muon_pt_min=0.0, muon_eta_max=10.0))
    assert len(selected) == len(plain.opposite_sign)
    np.testing.assert_allclose(np.sort(selected.mass), np.sort(plain.opposite_sign.mass))
    same = read_dimuon_candidates(path, DimuonSelection(sign="same", muon_pt_min=0.0, muon_eta_max=10.0))
    assert len(same) == len(plain.same_sign)
    assert selected.provenance["generated"] is False  # real data: the report says "Open Data"


def test_muon_cuts_apply_before_pairing(shared_data):
    path = shared_data / REAL_2012
    loose = read_dimuon_candidates(path, DimuonSelection(muon_pt_min=0.0, muon_eta_max=10.0))
    tight = read_dimuon_candidates(path, DimuonSelection(muon_pt_min=5.0, muon_eta_max=2.1))
    assert 0 < len(tight) < len(loose)
    for i in (1, 2):
        assert np.all(tight.column(f"mu{i}_pt") > 5.0)
        assert np.all(np.abs(tight.column(f"mu{i}_eta")) < 2.1)
    assert tight.provenance["dimuon_selection"]["muon_pt_min"] == 5.0
    assert tight.provenance["n_entries"] == 1000


def test_isolation_tight_id_and_bounds_on_a_generated_file(generated_nanoaod):
    everything = read_dimuon_candidates(generated_nanoaod, features=["pt", "mu1_pfRelIso04_all"])
    assert everything.feature_names == ("pt", "mu1_pfRelIso04_all")
    assert everything.provenance["generated"] is True
    isolated = read_dimuon_candidates(
        generated_nanoaod,
        DimuonSelection(tight_id=True, isolation=(IsolationCut(maximum=0.1, muons="both"),)),
        features=["mu1_pfRelIso04_all", "mu2_pfRelIso04_all", "mu1_tightId", "mu2_tightId"],
    )
    assert len(isolated) < len(everything)
    assert np.all(isolated.features[:, :2] < 0.1)
    assert np.all(isolated.features[:, 2:] == 1)
    anti = read_dimuon_candidates(generated_nanoaod, DimuonSelection(isolation=(IsolationCut(minimum=0.1),)))
    assert len(isolated) + len(anti) <= len(everything)
    bounded = read_dimuon_candidates(generated_nanoaod, DimuonSelection(bounds={"pt": (5.0, 1e9)}))
    assert np.all(bounded.column("pt") >= 5.0) and len(bounded) < len(everything)


def test_many_files_by_list_and_by_pattern(generated_nanoaod, tmp_path):
    for name in ("a.root", "b.root"):
        shutil.copy(generated_nanoaod, tmp_path / name)
    one = read_dimuon_candidates(generated_nanoaod)
    by_pattern = read_dimuon_candidates(str(tmp_path / "*.root"))
    by_list = read_dimuon_candidates([tmp_path / "a.root", tmp_path / "b.root"])
    assert len(by_pattern) == len(by_list) == 2 * len(one)
    assert by_pattern.provenance["files"] == [str(tmp_path / "a.root"), str(tmp_path / "b.root")]


def test_bad_inputs_name_the_file_and_the_setting(shared_data, tmp_path):
    path = shared_data / REAL_2012
    with pytest.raises(DataFormatError, match=r"Muon_pfRelIso04_all.*not found|not found.*Muon_pfRel"):
        read_dimuon_candidates(path, DimuonSelection(isolation=(IsolationCut(minimum=0.5),)))
    with pytest.raises(DataFormatError, match="no opposite-sign dimuon candidate passes"):
        read_dimuon_candidates(path, DimuonSelection(bounds={"pt": (1e4, 1e5)}))
    with pytest.raises(DataFormatError, match="not a dimuon feature"):
        read_dimuon_candidates(path, DimuonSelection(bounds={"ptt": (0.0, 1.0)}))
    with pytest.raises(MissingFileError, match="no file matches"):
        read_dimuon_candidates(str(tmp_path / "*.root"))

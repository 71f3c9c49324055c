"""Lepton samples: the detector model, representations, the generator and the readers."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.io.lepton_files import read_lepton_sample
from bumphunt.io.root_writer import read_root_provenance
from bumphunt.physics.lepton_detector import ELECTRON_MASS, MUON_MASS, LeptonDetector
from bumphunt.physics.lepton_representations import cartesian_to_collider, representation


def _true_leptons(n: int, rng: np.random.Generator, mass: float) -> np.ndarray:
    pt = rng.uniform(3.0, 300.0, n)
    eta = rng.uniform(-3.0, 3.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    p = np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])
    return np.column_stack([p, np.sqrt(np.sum(p**2, axis=1) + mass**2)])


@pytest.mark.parametrize(("flavour", "mass"), [("e", ELECTRON_MASS), ("mu", MUON_MASS)])
def test_reconstructed_four_momenta_carry_the_mass_hypothesis(flavour, mass):
    rng = np.random.default_rng(1)
    reco = LeptonDetector().reconstruct(flavour, _true_leptons(20_000, rng, mass), rng)
    m2 = reco.p4[:, 3] ** 2 - np.sum(reco.p4[:, :3] ** 2, axis=1)
    np.testing.assert_allclose(m2, mass**2, atol=1e-12 * np.max(reco.p4[:, 3]) ** 2)


def test_acceptance_efficiency_and_resolution_follow_the_model():
    detector = LeptonDetector()
    rng = np.random.default_rng(2)
    true = _true_leptons(200_000, rng, ELECTRON_MASS)
    reco = detector.reconstruct("e", true, rng)
    pt = np.hypot(true[:, 0], true[:, 1])
    abs_eta = np.abs(np.arcsinh(true[:, 2] / pt))
    kept = abs_eta[reco.index]
    assert kept.max() < 2.5 and not np.any((kept > 1.4442) & (kept < 1.566))
    accepted = (abs_eta < 2.5) & ~((abs_eta > 1.4442) & (abs_eta < 1.566)) & (pt > 6.0)
    assert np.isclose(np.isin(np.flatnonzero(accepted), reco.index).mean(), 0.90, atol=0.005)
    energy = true[reco.index, 3]
    pulls = (reco.p4[:, 3] / energy - 1.0) / detector.energy_resolution(energy)
    assert abs(np.std(pulls) - 1.0) < 0.03 and abs(np.mean(pulls)) < 0.02
    muons = detector.reconstruct("mu", _true_leptons(200_000, rng, MUON_MASS), rng)
    assert np.hypot(muons.p4[:, 0], muons.p4[:, 1]).min() > 3.0
    with pytest.raises(ValueError, match="flavour"):
        detector.reconstruct("tau", true[:3], rng)


def test_representations_are_exact_transformations_of_each_other():
    rng = np.random.default_rng(3)
    n = 1000
    pt, eta = rng.uniform(5, 500, n), rng.uniform(-2.5, 2.5, n)
    phi, energy = rng.uniform(-np.pi, np.pi, n), rng.uniform(10, 2000, n)
    collider = representation("pt_eta_phi_E", pt, eta, phi, energy)
    cartesian = representation("px_py_pz_E", pt, eta, phi, energy)
    back = np.column_stack([*cartesian_to_collider(*cartesian[:, :3].T), cartesian[:, 3]])
    np.testing.assert_allclose(back, collider, rtol=1e-12, atol=1e-12)
    m2 = representation("p2_minus_E2", pt, eta, phi, energy)[:, 0]
    np.testing.assert_allclose(m2, np.sum(cartesian[:, :3] ** 2, axis=1) - cartesian[:, 3] ** 2, rtol=1e-10)
    rounded = representation("pt_eta_phi_E", pt, eta, phi, energy, precision="float32")
    np.testing.assert_array_equal(rounded, collider.astype(np.float32).astype(np.float64))
    with pytest.raises(ValueError, match="unknown representation"):
        representation("pt_eta", pt, eta, phi, energy)


def test_generated_sample_layout_truth_and_provenance(lepton_file):
    table = read_lepton_sample(lepton_file)
    assert set(table["flavour"]) == {"e", "mu"}
    import uproot

    with uproot.open(lepton_file) as file:
        tree = file["events"]
        assert tree["Electron_Px"].array().layout.content.dtype == np.float32
        origins = np.concatenate(
            [ak.to_numpy(ak.flatten(tree[f"{c}_genPartFlav"].array())) for c in ("Electron", "Muon")]
        )
    assert set(np.unique(origins)) <= {1, 3, 4, 5, 15} and {1, 5} <= set(np.unique(origins))
    provenance = read_root_provenance(lepton_file)
    assert provenance["process"] == "ttbar" and provenance["detector"]["muon_min_pt"] == 3.0
    muons = table[table["flavour"] == "mu"]
    assert muons["pt"].min() > 3.0 and table["eta"].abs().max() < 2.5


def test_mass_cut_separates_the_generated_sample_as_the_model_predicts(lepton_file):
    """Reconstructed masses are the hypotheses; float32 storage blurs m**2 by about E**2 * 2**-23, so the
    flavours separate fully at low energy and mistakes appear only at high energy."""
    table = read_lepton_sample(lepton_file)
    m2 = -representation("p2_minus_E2", table["pt"], table["eta"], table["phi"], table["E"])[:, 0]
    cut = MUON_MASS**2 / 2
    muon = table["flavour"].to_numpy() == "mu"
    wrong = (m2 > cut) != muon
    energy = table["E"].to_numpy()
    assert wrong.mean() < 0.03
    assert np.all(energy[wrong] > 30.0)  # rounding of m**2 is ~1e-4 GeV**2 at 30 GeV, 100 times below the cut
    low = energy < 30.0
    assert low.sum() > 100 and not wrong[low].any()


def test_table_files_with_a_label_column(tmp_path):
    frame = pd.DataFrame(
        {"pt": [10.0, 20.0, 30.0], "eta": [0.1, -1.0, 2.0], "phi": [0.0, 1.0, -2.0], "E": [11.0, 40.0, 120.0]}
    )
    frame.assign(isMuon=[1, 0, 1]).to_csv(tmp_path / "a.csv", index=False)
    table = read_lepton_sample(tmp_path / "a.csv", label="isMuon")
    assert table["flavour"].tolist() == ["mu", "e", "mu"] and np.allclose(table["E"], frame["E"])
    frame.assign(flavour=["muon", "e", "mu"]).to_parquet(tmp_path / "b.parquet")
    assert read_lepton_sample(tmp_path / "b.parquet")["flavour"].tolist() == ["mu", "e", "mu"]
    with pytest.raises(DataFormatError, match=r"column 'isMuon' not found"):
        read_lepton_sample(tmp_path / "b.parquet", label="isMuon")
    frame.assign(flavour=["mu", "tau", "e"]).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataFormatError, match=r"label column 'flavour' must hold"):
        read_lepton_sample(tmp_path / "c.csv")
    frame.assign(flavour=["mu", "mu", "mu"]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataFormatError, match="holds no e leptons"):
        read_lepton_sample(tmp_path / "d.csv")


def test_real_files(shared_data):
    nano = read_lepton_sample(shared_data / "nanoAOD_2015_CMS_Open_Data_ttbar.root")
    assert nano["flavour"].value_counts().to_dict() == {"e": 69, "mu": 41}
    hzz = read_lepton_sample(shared_data / "uproot-HZZ.root")
    assert hzz["flavour"].value_counts().to_dict() == {"mu": 3825, "e": 171}
    with pytest.raises(DataFormatError, match="no Electron collection"):
        read_lepton_sample(shared_data / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root")
    with pytest.raises(ConfigError, match=r"label: file .* is a ROOT file"):
        read_lepton_sample(shared_data / "uproot-HZZ.root", label="isMuon")


def test_generate_ttbar_leptons_command(tmp_path, capsys):
    pytest.importorskip("pythia8mc")
    from bumphunt.cli import main

    out = tmp_path / "tt.root"
    assert main(["generate", "ttbar-leptons", "-n", "40", "-o", str(out), "--seed", "3"]) == 0
    assert "cross section (selected)" in capsys.readouterr().out
    assert len(read_lepton_sample(out).groupby("entry")) == 40
    assert main(["generate", "ttbar-leptons", "-n", "40", "-o", str(tmp_path / "tt.h5")]) == 2
    assert "needs the suffix .root" in capsys.readouterr().err

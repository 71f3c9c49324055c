"""The ROOT readers on the real CMS files of ../shared/data, checked against plain-numpy computations.

Files (see ../shared/data/README.md): 1000 real 2012 DoubleMuParked events (RNTuple), 200 simulated
2015 ttbar NanoAOD events (TTree) and 10 more of the same kind (RNTuple), and the HZZ flat ntuple.
"""

from __future__ import annotations

import numpy as np
import pytest
import uproot

from bumphunt.io import read_dimuons, read_flat_leptons, read_jets, read_leptons

DOUBLE_MU = "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
TTBAR_TREE = "nanoAOD_2015_CMS_Open_Data_ttbar.root"
TTBAR_RNTUPLE = "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root"
HZZ = "uproot-HZZ.root"


def four_vector(pt: float, eta: float, phi: float, mass: float) -> np.ndarray:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.array([np.sqrt(px**2 + py**2 + pz**2 + mass**2), px, py, pz])


def invariant_mass(p: np.ndarray) -> float:
    return float(np.sqrt(p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2))


def plain_dimuons(path) -> tuple[list[float], list[float], dict[str, list[float]]]:
    """Two leading muons per event, looped over in Python with float64 numpy scalars."""
    names = ["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"]
    raw = uproot.open(path)["Events"].arrays(names, library="np")
    opposite, same = [], []
    leading = {"mu1_pt": [], "mu2_eta": []}
    for pt, eta, phi, mass, charge in zip(*(raw[k] for k in names), strict=True):
        if len(pt) < 2:
            continue
        i, j = np.argsort(-pt.astype(np.float64), kind="stable")[:2]
        args = [(float(pt[k]), float(eta[k]), float(phi[k]), float(mass[k])) for k in (i, j)]
        m = invariant_mass(four_vector(*args[0]) + four_vector(*args[1]))
        if charge[i] * charge[j] < 0:
            opposite.append(m)
            leading["mu1_pt"].append(args[0][0])
            leading["mu2_eta"].append(args[1][1])
        else:
            same.append(m)
    return opposite, same, leading


def test_double_mu_rntuple_dimuons_match_plain_numpy(shared_data):
    path = shared_data / DOUBLE_MU
    progress = []
    dimuons = read_dimuons(path, step_size=300, progress=progress.append)
    assert progress == [300, 300, 300, 100]
    opposite, same, leading = plain_dimuons(path)
    assert len(dimuons.opposite_sign) == len(opposite) == 611
    assert len(dimuons.same_sign) == len(same) == 261
    np.testing.assert_allclose(dimuons.opposite_sign.mass, opposite, rtol=1e-9)
    np.testing.assert_allclose(dimuons.same_sign.mass, same, rtol=1e-9)
    np.testing.assert_array_equal(dimuons.opposite_sign.column("mu1_pt"), leading["mu1_pt"])
    np.testing.assert_array_equal(dimuons.opposite_sign.column("mu2_eta"), leading["mu2_eta"])
    assert dimuons.opposite_sign.provenance["n_entries"] == 1000
    # the J/psi (3.097 GeV) shows up among real opposite-sign pairs
    assert np.count_nonzero(np.abs(dimuons.opposite_sign.mass - 3.097) < 0.05) >= 5


def test_double_mu_first_pair_by_hand(shared_data):
    # entry 1: muons (10.538, -0.428, -0.275, +1) and (16.327, 0.349, 2.540, -1)
    dimuons = read_dimuons(shared_data / DOUBLE_MU, entry_stop=2)
    assert len(dimuons.opposite_sign) == 1
    raw = uproot.open(shared_data / DOUBLE_MU)["Events"].arrays(library="np", entry_start=1, entry_stop=2)
    p = [four_vector(*(float(raw[f"Muon_{q}"][0][k]) for q in ("pt", "eta", "phi", "mass"))) for k in (0, 1)]
    assert dimuons.opposite_sign.mass[0] == pytest.approx(invariant_mass(p[0] + p[1]), rel=1e-12)
    assert dimuons.opposite_sign.column("mu1_pt")[0] == pytest.approx(16.327, abs=1e-3)


@pytest.mark.parametrize("name", [TTBAR_TREE, TTBAR_RNTUPLE])
def test_ttbar_dimuons_carry_the_muon_quantities_of_the_file(shared_data, name):
    dimuons = read_dimuons(shared_data / name)
    events = dimuons.same_sign if len(dimuons.same_sign) else dimuons.opposite_sign
    for quantity in ("pfRelIso03_all", "pfRelIso04_all", "ip3d", "dxy", "dz", "tightId"):
        assert f"mu1_{quantity}" in events.feature_names
    raw = uproot.open(shared_data / name)["Events"].arrays(
        ["Muon_pt", "Muon_ip3d", "Muon_tightId"], library="ak"
    )
    two = raw[np.asarray([len(x) >= 2 for x in raw["Muon_pt"]])]
    first = two[0]
    order = np.argsort(-np.asarray(first["Muon_pt"]), kind="stable")
    row = events if len(dimuons.same_sign) else dimuons.opposite_sign
    assert row.column("mu1_ip3d")[0] == pytest.approx(float(first["Muon_ip3d"][order[0]]))
    assert row.column("mu2_tightId")[0] == float(first["Muon_tightId"][order[1]])


@pytest.mark.parametrize(("name", "n_mu", "n_e"), [(TTBAR_TREE, 41, 69), (TTBAR_RNTUPLE, 6, 13)])
def test_nanoaod_lepton_table(shared_data, name, n_mu, n_e):
    table = read_leptons(shared_data / name, step_size=7)
    counts = table["flavour"].value_counts()
    assert counts["mu"] == n_mu
    assert counts["e"] == n_e
    raw = uproot.open(shared_data / name)["Events"].arrays(
        ["Electron_pt", "Electron_eta", "Electron_mass"], library="np"
    )
    entry = next(i for i, pts in enumerate(raw["Electron_pt"]) if len(pts))
    electrons = table[(table["entry"] == entry) & (table["flavour"] == "e")]
    pt, eta, mass = (
        raw[k][entry].astype(np.float64) for k in ("Electron_pt", "Electron_eta", "Electron_mass")
    )
    order = np.argsort(-pt, kind="stable")
    np.testing.assert_allclose(electrons["pt"], pt[order], rtol=1e-12)
    expected_e = np.sqrt((pt * np.cosh(eta)) ** 2 + mass * np.abs(mass))[order]
    np.testing.assert_allclose(electrons["E"], expected_e, rtol=1e-9)
    assert set(table["charge"]) <= {-1, 1}


def test_nanoaod_jets(shared_data):
    jets = read_jets(shared_data / TTBAR_TREE, extra=["btagDeepFlavB"])
    raw = uproot.open(shared_data / TTBAR_TREE)["Events"].arrays(
        ["Jet_pt", "Jet_eta", "Jet_mass"], library="np"
    )
    assert len(jets) == sum(len(x) for x in raw["Jet_pt"]) == 537
    first = jets[jets["entry"] == 0]
    pt, eta, mass = (raw[k][0].astype(np.float64) for k in ("Jet_pt", "Jet_eta", "Jet_mass"))
    np.testing.assert_allclose(first["E"], np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2), rtol=1e-9)
    assert np.all(np.diff(first["pt"]) <= 0)
    assert "btagDeepFlavB" in jets.columns


def test_flat_ntuple_leptons_from_cartesian_momenta(shared_data):
    table = read_flat_leptons(shared_data / HZZ, step_size=500)
    raw = uproot.open(shared_data / HZZ)["events"].arrays(
        ["NMuon", "NElectron", "Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E"], library="np"
    )
    assert (table["flavour"] == "mu").sum() == raw["NMuon"].sum() == 3825
    assert (table["flavour"] == "e").sum() == raw["NElectron"].sum() == 171
    entry = 2
    px, py, pz, e = (raw[k][entry].astype(np.float64) for k in ("Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E"))
    pt = np.hypot(px, py)
    order = np.argsort(-pt, kind="stable")
    muons = table[(table["entry"] == entry) & (table["flavour"] == "mu")]
    np.testing.assert_allclose(muons["pt"], pt[order], rtol=1e-12)
    np.testing.assert_allclose(muons["eta"], np.arcsinh(pz / pt)[order], rtol=1e-12)
    np.testing.assert_allclose(muons["phi"], np.arctan2(py, px)[order], rtol=1e-12)
    np.testing.assert_allclose(muons["E"], e[order], rtol=1e-12)
    # muon masses from E and |p| (float32 inputs): near 0.1057 GeV
    assert np.median(table.loc[table["flavour"] == "mu", "mass"]) == pytest.approx(0.1057, abs=2e-3)

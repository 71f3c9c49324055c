"""The dimuon generator: NanoAOD layout, detector model, physics of the samples and the repeated decays."""

from __future__ import annotations

import dataclasses
import json

import awkward as ak
import numpy as np
import pytest
import scipy.stats
import uproot
import vector

from bumphunt.cli import main
from bumphunt.errors import ConfigError
from bumphunt.generate import DimuonPlan, generate_dimuon
from bumphunt.generate.cards import bbbar, drell_yan, upsilon
from bumphunt.generate.dimuon_loop import generate_dimuon_chunk
from bumphunt.generate.mix import mix_samples
from bumphunt.io.nanoaod import read_dimuons
from bumphunt.io.nanoaod_writer import read_root_provenance
from bumphunt.physics.muon_detector import DetectorModel, impact_parameters

#: PDG masses of Upsilon(1S), (2S), (3S) (GeV).
UPSILON_MASSES = np.array([9.4603, 10.02326, 10.3552])
REAL_NANOAOD = "nanoAOD_2015_CMS_Open_Data_ttbar.root"


@pytest.fixture(scope="module")
def drell_yan_file(tmp_path_factory):
    """60 Drell-Yan events in two chunks, written as a NanoAOD file (about 4 s)."""
    path = tmp_path_factory.mktemp("dimuon") / "dy.root"
    summary = generate_dimuon(DimuonPlan(drell_yan(), n_events=60, seed=5, chunk_size=30), path)
    return path, summary


@pytest.fixture(scope="module")
def upsilon_events() -> ak.Array:
    """120 Upsilon events, each Upsilon decayed 40 times (4 times the card's default, so that Pythia
    generates a quarter of the events; about 12 s)."""
    return generate_dimuon_chunk(upsilon(decay_repeats=40), 120, seed=8).events


@pytest.fixture(scope="module")
def bbbar_events() -> ak.Array:
    """40 b bbar events with two muons (about 12 s)."""
    return generate_dimuon_chunk(bbbar(), 40, seed=9).events


def _pair_mass(muons: ak.Array) -> np.ndarray:
    one, two = (vector.zip({k: muons[k][:, i] for k in ("pt", "eta", "phi", "mass")}) for i in (0, 1))
    return ak.to_numpy((one + two).mass)


def test_branch_types_are_those_of_real_nanoaod(drell_yan_file, shared_data):
    path, _ = drell_yan_file
    real = uproot.open(shared_data / REAL_NANOAOD)["Events"]
    ours = uproot.open(path)["Events"]
    names = ours.keys()  # iterating a TTree yields branches, not names
    common = [name for name in names if name in real]
    assert len(common) >= 30
    differ = {n: (ours[n].typename, real[n].typename) for n in common if ours[n].typename != real[n].typename}
    # uproot writes collection counters as int32 where CMS writes uint32 (documented)
    assert differ == {"nMuon": ("int32_t", "uint32_t"), "nJet": ("int32_t", "uint32_t")}
    assert set(ours.keys()) - set(real.keys()) == set()
    arrays = ours.arrays(["nMuon", "Muon_pt", "nJet", "Jet_pt"])
    assert np.array_equal(ak.to_numpy(arrays["nMuon"]), ak.to_numpy(ak.num(arrays["Muon_pt"])))
    assert np.array_equal(ak.to_numpy(arrays["nJet"]), ak.to_numpy(ak.num(arrays["Jet_pt"])))


def test_existing_reader_reads_the_generated_file(drell_yan_file):
    path, summary = drell_yan_file
    dimuons = read_dimuons(path)
    assert len(dimuons.opposite_sign) == 60  # Drell-Yan pairs have opposite charges
    assert len(dimuons.same_sign) == 0
    names = dimuons.opposite_sign.feature_names
    for quantity in ("ip3d", "sip3d", "pfRelIso03_all", "pfRelIso04_all", "tightId"):
        assert f"mu1_{quantity}" in names and f"mu2_{quantity}" in names
    mass = dimuons.opposite_sign.mass
    assert np.all((mass > 3.0) & (mass < 21.0))
    provenance = read_root_provenance(path)
    assert provenance == json.loads(json.dumps(summary.provenance))
    assert provenance["process"] == "drell-yan" and provenance["n_events"] == 60
    assert provenance["detector"]["muon_eta_max"] == 2.4
    efficiency = provenance["n_selected_before_truncation"] / provenance["n_generated"]
    assert provenance["sigma_selected_pb"] == pytest.approx(provenance["sigma_generated_pb"] * efficiency)
    assert provenance["decay_repeats"] == 1 and provenance["events_sharing_a_generated_event"] == 0


def test_stored_muons_pass_the_acceptance(drell_yan_file):
    path, _ = drell_yan_file
    muons = uproot.open(path)["Events"].arrays(filter_name="Muon_*")
    pt, eta = ak.flatten(muons["Muon_pt"]), ak.flatten(muons["Muon_eta"])
    assert ak.all(pt > 3.0) and ak.all(abs(eta) < 2.4)
    assert ak.all(ak.num(muons["Muon_pt"]) >= 2)
    assert ak.all(muons["Muon_pt"][:, :-1] >= muons["Muon_pt"][:, 1:])  # ordered by pT
    tight, medium = ak.flatten(muons["Muon_tightId"]), ak.flatten(muons["Muon_mediumId"])
    assert not ak.any(tight & ~medium)  # tight implies medium
    # the two leading muons are the Drell-Yan pair (others come from hadron decays in the event)
    assert np.mean(ak.to_numpy(ak.all(muons["Muon_genPartFlav"][:, :2] == 1, axis=1))) > 0.95


def test_upsilon_peaks_sit_at_the_pdg_masses_within_the_resolution(upsilon_events):
    muons = upsilon_events["Muon"]
    mass = _pair_mass(muons)
    model = DetectorModel()
    relative = np.hypot(*(model.relative_pt_resolution(ak.to_numpy(muons["eta"][:, i])) for i in (0, 1)))
    sigma = mass * relative / 2.0  # m**2 ~ pT1 pT2: dm/m = (dpT1/pT1 (+) dpT2/pT2) / 2
    nearest = UPSILON_MASSES[np.argmin(np.abs(mass[:, None] - UPSILON_MASSES), axis=1)]
    pull = (mass - nearest) / sigma
    core = np.abs(pull) < 5  # pairs with a muon from elsewhere (rare) are not Upsilon decays
    assert core.mean() > 0.9
    assert abs(np.mean(pull[core])) < 0.25
    assert 0.8 < np.std(pull[core]) < 1.25
    assert np.mean(nearest[core] == UPSILON_MASSES[0]) > 0.5  # the 1S dominates
    assert set(np.unique(ak.to_numpy(ak.flatten(muons["genPartFlav"])))) <= {5, 4, 3}


def test_b_hadron_muons_have_larger_impact_parameters_than_prompt_ones(bbbar_events, drell_yan_file):
    path, _ = drell_yan_file
    prompt = uproot.open(path)["Events"].arrays(["Muon_ip3d", "Muon_sip3d"])
    muons = ak.flatten(bbbar_events["Muon"])
    from_b = muons[muons["genPartFlav"] == 5]
    assert len(from_b) > 40
    assert np.median(ak.to_numpy(from_b["ip3d"])) > 3 * np.median(
        ak.to_numpy(ak.flatten(prompt["Muon_ip3d"]))
    )
    assert np.median(ak.to_numpy(from_b["sip3d"])) > 3 * np.median(
        ak.to_numpy(ak.flatten(prompt["Muon_sip3d"]))
    )


def test_muons_in_jets_are_less_isolated_than_drell_yan_muons(bbbar_events, drell_yan_file):
    path, _ = drell_yan_file
    prompt = ak.to_numpy(ak.flatten(uproot.open(path)["Events"]["Muon_pfRelIso04_all"].array()))
    muons = ak.flatten(bbbar_events["Muon"])
    in_jets = ak.to_numpy(muons[muons["jetIdx"] >= 0]["pfRelIso04_all"])
    assert len(in_jets) >= 5
    assert np.median(in_jets) > 0.3 > np.median(prompt)
    jets = bbbar_events["Jet"]
    assert ak.sum(jets["nMuons"]) == ak.sum(bbbar_events["Muon"]["jetIdx"] >= 0)


def test_impact_parameters_of_straight_tracks():
    # a track from (0, 1, 0) along x: transverse distance 1 (sign: y px > 0), no z offset
    dxy, dz, ip3d = impact_parameters([[0.0, 1.0, 0.0]], [[2.0, 0.0, 0.0]])
    assert dxy[0] == pytest.approx(1.0) and dz[0] == pytest.approx(0.0) and ip3d[0] == pytest.approx(1.0)
    # from (0, 0, 1) at 45 degrees in the x-z plane: closest approach 1 / sqrt(2)
    dxy, dz, ip3d = impact_parameters([[0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0]])
    assert dxy[0] == pytest.approx(0.0) and dz[0] == pytest.approx(1.0)
    assert ip3d[0] == pytest.approx(1.0 / np.sqrt(2.0))
    # a track through the origin has no impact parameter
    assert impact_parameters([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])[2][0] == pytest.approx(0.0, abs=1e-12)


def _rates(chunk, edges):
    """Rate per generated event of the returned events in bins of the leading muon pT, and its variance
    with events of the same generated event counted as one cluster."""
    scale = chunk.n_passed / len(chunk.events) / chunk.n_generated  # the surplus passed events scale it
    bins = np.digitize(ak.to_numpy(chunk.events["Muon"]["pt"][:, 0]), edges) - 1
    clusters = np.zeros((chunk.parents.max() + 1, len(edges) - 1))
    np.add.at(clusters, (chunk.parents, bins), 1.0)
    return clusters.sum(axis=0) * scale, (clusters**2).sum(axis=0) * scale**2


def test_repeated_decays_agree_with_an_unrepeated_sample():
    """b bbar events with a stored muon, with b-hadron decays repeated 20 times per generated event and
    without repeats: rate per generated event in bins of the leading muon pT (chi2 test, siblings as
    clusters)."""
    card = bbbar(decay_repeats=20)
    single = generate_dimuon_chunk(
        dataclasses.replace(card, repeated_decays=(), decay_repeats=1), 100, 31, min_muons=1
    )
    repeated = generate_dimuon_chunk(card, 300, 41, min_muons=1)
    edges = np.array([3.0, 4.0, 6.0, np.inf])
    rate_1, var_1 = _rates(single, edges)
    rate_r, var_r = _rates(repeated, edges)
    chi2 = float(np.sum((rate_1 - rate_r) ** 2 / (var_1 + var_r)))
    assert chi2 < scipy.stats.chi2.isf(0.001, len(edges) - 1)
    # repeating did its job: more muon events per event Pythia generated
    per_event = repeated.n_passed / (repeated.n_generated / card.decay_repeats)
    assert per_event > 5 * single.n_passed / single.n_generated
    # siblings are distinct events (the decays and the lifetimes are drawn again)
    first = np.flatnonzero(np.bincount(repeated.parents) > 1)[0]
    siblings = repeated.events[repeated.parents == first]
    assert len(np.unique(ak.to_numpy(siblings["Muon"]["pt"][:, 0]))) == len(siblings)


def test_bbbar_muons_come_from_heavy_flavour_decays(bbbar_events):
    # the stored muons of the (repeated) b bbar sample come from b or c hadrons, not from elsewhere
    flavour = ak.to_numpy(ak.flatten(bbbar_events["Muon"]["genPartFlav"]))
    assert np.isin(flavour, [4, 5]).mean() > 0.9


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="decay_repeats"):
        bbbar(decay_repeats=0)
    with pytest.raises(ConfigError, match="min_muons"):
        DimuonPlan(bbbar(), n_events=10, min_muons=0)
    with pytest.raises(ConfigError, match=r"suffix \.root"):
        generate_dimuon(DimuonPlan(bbbar(), n_events=10), tmp_path / "out.h5")
    assert not list(tmp_path.iterdir())


def test_cli_names_a_bad_process_and_writes_nothing(tmp_path, capsys):
    status = main(["generate", "dimuon", "--process", "zprime", "-n", "5", "-o", str(tmp_path / "x.root")])
    assert status == 2
    assert "zprime" in capsys.readouterr().err
    output = str(tmp_path / "x.root")
    status = main(
        ["generate", "dimuon", "--process", "drell-yan", "--decay-repeats", "5", "-n", "5", "-o", output]
    )
    assert status == 2
    assert "--decay-repeats does not apply to --process drell-yan" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_mixing_keeps_events_at_their_cross_section(drell_yan_file, tmp_path):
    path, summary = drell_yan_file
    copy = tmp_path / "dy-copy.root"
    copy.write_bytes(path.read_bytes())
    per_event_pb = summary.provenance["sigma_generated_pb"] / summary.provenance["n_generated"]
    # every Drell-Yan event weighs the same: the largest luminosity keeps them all
    full = mix_samples([path, copy], tmp_path / "all.root", seed=1)
    assert full.luminosity_pb == pytest.approx(1.0 / per_event_pb)
    assert sum(full.kept.values()) == 120
    events = uproot.open(full.output)["Events"].arrays(["genWeight", "Muon_pt"])
    assert np.all(ak.to_numpy(events["genWeight"]) == 1.0)
    assert len(read_dimuons(full.output).opposite_sign) == 120
    # a fifth of that luminosity keeps a binomial fifth of them
    fifth = mix_samples([path, copy], tmp_path / "fifth.root", luminosity_pb=0.2 / per_event_pb, seed=2)
    assert fifth.expected[str(path)] == pytest.approx(12.0)
    assert 24 - 4 * np.sqrt(24 * 0.8) < sum(fifth.kept.values()) < 24 + 4 * np.sqrt(24 * 0.8)
    assert read_root_provenance(fifth.output)["luminosity_pb"] == pytest.approx(0.2 / per_event_pb)
    with pytest.raises(ConfigError, match="without using an event twice"):
        mix_samples([path], tmp_path / "x.root", luminosity_pb=2.0 / per_event_pb)
    assert not (tmp_path / "x.root").exists()


def test_events_whose_muons_pass_without_the_repeated_decays_are_left_out():
    """Drell-Yan muons need no repeated decay: repeating the (irrelevant) charm decays of such events
    would give identical copies of one dimuon, a fake resonance; the repeater leaves them out."""
    from bumphunt.generate.cards import CHARM_HADRONS
    from bumphunt.generate.dimuon_loop import _DecayRepeater
    from bumphunt.generate.pythia_loop import make_pythia

    card = dataclasses.replace(drell_yan(), repeated_decays=CHARM_HADRONS, decay_repeats=5)
    repeater = _DecayRepeater(card, DetectorModel(), min_muons=2)
    pythia = make_pythia(card, 3, configure=repeater.configure)
    kept = [repeater.next(pythia) for _ in range(40)]
    assert all(repeats == [] for repeats in kept if repeats is not None)
    assert repeater.n_left_out >= 5  # about a quarter of Drell-Yan events have both muons inside

"""The mass-bin scan: generated MOD files, identical samples, an injected resonance, the command."""

from __future__ import annotations

import json

import awkward as ak
import h5py
import numpy as np
import pytest

from bumphunt.cli import main
from bumphunt.errors import ConfigError
from bumphunt.io.mod_hdf5 import read_mod_dijet_particles
from bumphunt.massbin_scan import MassBinScanPlan, pair_auc, run_massbin_scan
from bumphunt.physics.particle_features import jet_particle_features

SMALL = {
    "phi_sizes": (64, 64, 64),
    "f_sizes": (64, 64),
    "max_particles": 80,  # quark jets of the resonance have fewer particles: keep (nearly) all of them
    "n_folds": 3,
    "n_ensemble": 1,
    "max_epochs": 20,
    "patience": 4,
    "device": "cpu",
}


def test_generated_mod_files_follow_the_cms_selection(mod_samples):
    sample = read_mod_dijet_particles(mod_samples["qcd"])
    assert sample.kind == "gens" and len(sample.mass) == 700
    assert sample.mass.min() > 750.0
    with h5py.File(mod_samples["qcd"]) as file:
        cols = [c.decode() for c in file["jets_f"].attrs["cols"]]
        jets = file["jets_f"][:]
    assert np.all(jets[:, cols.index("jet_pt")] > 375.0) and np.all(
        np.abs(jets[:, cols.index("jet_eta")]) < 1.9
    )
    signal = read_mod_dijet_particles(mod_samples["zprime"])
    assert 880.0 < np.median(signal.mass) < 960.0
    jet_pt = ak.sum(sample.particles["pt"], axis=2)  # particles of each jet carry its pT (massless E-scheme)
    assert np.all(ak.to_numpy(jet_pt) > 350.0)


def test_two_halves_of_the_same_events_give_an_auc_within_its_error_of_one_half(mod_samples):
    sample = read_mod_dijet_particles(mod_samples["qcd"])
    features, mask = jet_particle_features(ak.flatten(sample.particles, axis=1), 30)
    order = np.random.default_rng(0).permutation(len(sample.mass))
    plan = MassBinScanPlan((str(mod_samples["qcd"]),), **{**SMALL, "n_ensemble": 2})
    result = pair_auc(features, mask, np.sort(order[:350]), np.sort(order[350:]), plan, seed=1)
    assert 0.0 < result["error"] < 0.06
    assert abs(result["auc"] - 0.5) < 2 * result["error"], result
    # two members: the training noise is measured and enters the error beside the test noise
    assert len(result["member_aucs"]) == 2 and result["training_error"] > 0.0
    assert result["error"] >= np.hypot(result["test_error"], result["training_error"]) - 1e-12


def test_an_injected_resonance_raises_the_auc_of_the_pairs_around_its_mass_only(mod_samples):
    plan = MassBinScanPlan(
        (str(mod_samples["qcd"]),),
        edges=(800.0, 900.0, 1000.0, 1150.0, 1400.0),
        null="background",
        null_sources=(str(mod_samples["qcd"]),),
        signal=str(mod_samples["zprime"]),
        n_signal=300,
        min_events=50,
        **SMALL,
    )
    summary = run_massbin_scan(plan)
    z = summary["z"]
    signal = [(p["signal_low"], p["signal_high"]) for p in summary["pairs"]]
    assert signal[0][1] > 100 and sum(signal[-1]) < 40
    assert z[0] > 2.0 and z[1] > 2.0, z  # the pairs with the 900-1000 GeV bin
    assert abs(z[-1]) < 2.0, z  # 1000-1150 against 1150-1400 GeV: little signal


def test_massbin_command_and_its_errors(mod_samples, tmp_path, capsys):
    out = tmp_path / "scan"
    args = ["massbin-scan", str(mod_samples["qcd"]), "-o", str(out), "--edges", "800,900,1000,1150",
            "--min-events", "50", "--folds", "2", "--epochs", "2", "--max-particles", "20", "--null", "none",
            "--device", "cpu", "--emd-pairs", "20"]  # fmt: skip
    assert main(args) == 0
    assert "PFN between adjacent dijet-mass bins" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["pairs"]) == 2 and (out / "auc_scan.png").stat().st_size > 10_000
    assert all(pair["emd"]["cross"] > 0 for pair in summary["pairs"])
    assert "| 800-900 | 900-1000 |" in (out / "report.md").read_text()

    def error(*extra: str, edges: str = "800,900,1000,1150") -> str:
        assert main([*args[:4], "--edges", edges, *args[6:-2], *extra]) == 2
        message = capsys.readouterr().err.strip()
        assert "\n" not in message
        return message

    assert "need at least three increasing bin edges" in error(edges="800,1000,900")
    message = error("--min-events", "400")
    assert "data: bin 800-900 GeV holds" in message and "min_events=400" in message
    broken = tmp_path / "nojets.h5"
    with h5py.File(broken, "w") as file:
        file.create_dataset("jets_i", data=np.zeros((2, 6), dtype=np.int64)).attrs["cols"] = np.array(
            ["fn", "rn", "lbn", "evn", "npv", "quality"], dtype="S"
        )
    assert main(["massbin-scan", str(broken), "-o", str(out)]) == 2
    message = capsys.readouterr().err
    assert str(broken) in message and "jets_f" in message
    with pytest.raises(ConfigError, match="null='background' needs null_sources"):
        MassBinScanPlan(("a.h5",), null="background")


def test_auc_standard_error_matches_the_spread_of_toy_aucs():
    from sklearn.metrics import roc_auc_score

    from bumphunt.massbin_scan import auc_standard_error

    rng = np.random.default_rng(5)
    for shift in (0.0, 1.0):
        aucs = [
            roc_auc_score(
                np.repeat([0, 1], [300, 200]), np.r_[rng.normal(0, 1, 300), rng.normal(shift, 1, 200)]
            )
            for _ in range(2000)
        ]
        expected = auc_standard_error(float(np.mean(aucs)), 200, 300)
        assert np.std(aucs) == pytest.approx(expected, rel=0.08)

"""The lepton-flavour study: baseline, models, overtraining curves, the command and its errors."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest

from bumphunt.cli import main
from bumphunt.errors import ConfigError
from bumphunt.generate.leptons import LEPTON_LAYOUT
from bumphunt.io.lepton_files import read_lepton_sample
from bumphunt.io.root_writer import write_root_tree
from bumphunt.lepton_id import LeptonStudyPlan, run_lepton_study
from bumphunt.methods.classifiers import stratified_split
from bumphunt.methods.threshold import ThresholdClassifier
from bumphunt.methods.training_curves import mlp_training_curves
from bumphunt.physics.lepton_representations import representation

FAST = {"mlp_epochs": 15, "curve_epochs": 10, "record_every": 5, "n_bootstrap": 1}


def test_threshold_classifier_finds_the_best_cut_and_side():
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    cut = ThresholdClassifier().fit(x, [1, 1, 1, 0, 0, 1])
    assert cut.threshold_ == 2.5 and cut.direction_ == -1
    assert cut.train_accuracy_ == pytest.approx(5 / 6)
    assert cut.predict([[2.0], [3.0]]).tolist() == [1, 0]
    above = ThresholdClassifier().fit(x, [0, 0, 0, 1, 1, 1])
    assert above.threshold_ == 2.5 and above.direction_ == 1 and above.train_accuracy_ == 1.0
    tied = ThresholdClassifier().fit(
        [[1.0], [1.0], [2.0], [2.0]], [0, 1, 0, 1]
    )  # no cut between equal values
    assert tied.threshold_ in (0.0, 1.5, 3.0)


def _xy(path, name="pt_eta_phi_E"):
    table = read_lepton_sample(path)
    X = representation(name, table["pt"], table["eta"], table["phi"], table["E"], precision="float32")
    return X, (table["flavour"] == "mu").to_numpy().astype(int)


def test_training_curves_record_every_few_epochs_and_reproduce(lepton_file):
    X, y = _xy(lepton_file)
    args = (X[:200], y[:200], X[200:], y[200:])
    first = mlp_training_curves(*args, epochs=12, record_every=5, seed=3, device="cpu")
    assert first.epochs.tolist() == [1, 5, 10, 12]
    again = mlp_training_curves(*args, epochs=12, record_every=5, seed=3, device="cpu")
    np.testing.assert_array_equal(first.test_accuracy, again.test_accuracy)
    np.testing.assert_array_equal(first.train_loss, again.train_loss)
    other = mlp_training_curves(*args, epochs=12, record_every=5, seed=4, device="cpu")
    assert not np.array_equal(first.train_loss, other.train_loss)


def _without_times(value):
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def test_seeds_reproduce_the_accuracies_exactly(lepton_file):
    plan = LeptonStudyPlan(
        str(lepton_file), seeds=(5,), representations=("px_py_pz_E",), device="cpu", **FAST
    )
    first, second = run_lepton_study(plan), run_lepton_study(plan)
    assert _without_times(first["per_seed"]) == _without_times(second["per_seed"])
    other = run_lepton_study(LeptonStudyPlan(**{**plan.__dict__, "seeds": (6,)}))
    assert other["per_seed"][0]["models"] != first["per_seed"][0]["models"]
    record = first["per_seed"][0]
    assert record["baseline"]["accuracy"] > 0.95 > record["majority_accuracy"]


def test_small_training_sets_show_a_larger_train_test_gap(lepton_file):
    table = read_lepton_sample(lepton_file)
    y = (table["flavour"] == "mu").to_numpy().astype(int)
    n_train = len(stratified_split(y, 0.3, np.random.default_rng(0))[0])  # the same for every seed
    plan = LeptonStudyPlan(
        str(lepton_file),
        seeds=(0, 1),
        models=("trees",),
        representations=("p2_minus_E2",),
        curve_sizes=(30, n_train),
        curve_epochs=60,
        record_every=20,
        n_bootstrap=3,
        device="cpu",
    )
    summary = run_lepton_study(plan, table=table)
    gaps = {int(size): entry["final_gap"]["median"] for size, entry in summary["aggregate"]["curves"].items()}
    assert gaps[30] > gaps[n_train] + 0.05, gaps


def test_lepton_id_command_writes_report_summary_and_figures(lepton_file, tmp_path, capsys):
    out = tmp_path / "study"
    status = main(
        ["lepton-id", str(lepton_file), "-o", str(out), "--seeds", "0", "--epochs", "10",
         "--curve-epochs", "6", "--record-every", "3", "--bootstrap", "1", "--models", "trees",
         "--device", "cpu"]
    )  # fmt: skip
    assert status == 0
    assert "mass cut" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["aggregate"]["models"]["trees"]) == {"pt_eta_phi_E", "px_py_pz_E", "p2_minus_E2"}
    report = (out / "report.md").read_text()
    assert "| mass cut | p2_minus_E2 |" in report
    for name in (
        "overtraining_accuracy",
        "overtraining_loss",
        "final_gap",
        "baseline_by_energy",
        "baseline_variable",
    ):
        assert (out / f"{name}.png").stat().st_size > 10_000


def _error(capsys, *args) -> str:
    assert main(list(args)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_bad_input_is_one_line_naming_the_file_or_setting(lepton_file, tmp_path, capsys):
    empty = tmp_path / "empty.root"
    nothing = ak.zip({name: np.zeros(0, dtype) for name, dtype in LEPTON_LAYOUT["Muon"].items()})
    no_leptons = ak.unflatten(nothing, np.zeros(3, dtype=np.int64))
    events = ak.zip({"Electron": no_leptons, "Muon": no_leptons}, depth_limit=1)
    write_root_tree(empty, "events", LEPTON_LAYOUT, [events], {})
    assert f"file {str(empty)!r} holds no electrons or muons" in _error(
        capsys, "lepton-id", str(empty), "-o", "x"
    )
    table = tmp_path / "leptons.csv"
    table.write_text("pt,eta,phi,E\n10,0,0,10\n")
    err = _error(capsys, "lepton-id", str(table), "-o", "x", "--label", "isMuon")
    assert "column 'isMuon' not found" in err and "leptons.csv" in err
    err = _error(capsys, "lepton-id", str(lepton_file), "-o", "x", "--sizes", "100,1000000")
    assert "curve_sizes: training-set sizes [1000000] exceed the" in err
    err = _error(capsys, "lepton-id", str(lepton_file), "-o", "x", "--representations", "pt,E")
    assert "unknown representation 'pt'" in err
    with pytest.raises(ConfigError, match="test_fraction"):
        LeptonStudyPlan(str(lepton_file), test_fraction=1.0)

"""bumphunt interpret end to end on small generated jet samples (Pythia 8 + FastJet)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pythia8mc")

from bumphunt.cli import main
from bumphunt.generate import JET_PROCESSES, JetPlan, generate_jets

OBSERVABLES = "mass,pt,multiplicity,tau21_b1,tau32_b1,efp_d2_0,efp_d3_1,tau2_b1,image_ptd"


@pytest.fixture(scope="module")
def jets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jets")
    for name, n, seed in (("qcd", 400, 4), ("top", 80, 5)):
        generate_jets(
            JetPlan(JET_PROCESSES[name](), n_events=n, seed=seed, chunk_size=n), folder / f"{name}.h5"
        )
    return folder


def _args(jets, out, *extra):
    return [
        "interpret",
        str(jets / "qcd.h5"),
        "--signal",
        f"top={jets / 'top.h5'}",
        "-o",
        str(out),
        "--train",
        "200",
        "--validation",
        "80",
        "--test",
        "100",
        "--signal-jets",
        "60",
        "--observables",
        OBSERVABLES,
        "--ae-epochs",
        "3",
        "--mimicker-epochs",
        "5",
        "--device",
        "cpu",
        *extra,
    ]


def test_interpret_trains_selects_and_reports(jets, tmp_path, capsys):
    extra = ("--steps", "2", "--start", "mass,pt", "--tries", "2")
    extra += ("--ae-schedule", "cosine", "--ae-warmup", "1", "--autoencoders", "2")
    assert main(_args(jets, tmp_path / "out", *extra)) == 0
    printed = capsys.readouterr().out
    assert "HLN: greedy selection" in printed and "PNN: greedy selection" in printed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sizes"] == {"train": 200, "validation": 80, "test": 100, "signal:top": 60}
    for kind in ("hln", "pnn"):
        result = summary["mimickers"][kind]
        # the start set, then one observable per step, never one twice
        assert result["chosen"][:2] == ["mass", "pt"] and len(set(result["chosen"])) == 4
        assert [s["added"] for s in result["selection"]][1:] == result["chosen"][2:]
        assert 0 <= result["ado_validation"] <= 1 and 0 <= result["ado_test"] <= 1
    assert set(summary["auc"]["top"]) == {"autoencoder", "hln", "pnn"}
    # two autoencoders of different seeds, trained apart; the score is their geometric mean
    assert summary["autoencoder"]["members"] == 2 and len(set(summary["autoencoder"]["validation_loss"])) == 2
    assert len(summary["autoencoder"]["restarts"]) == 2
    for name in ("selection_path.png", "roc_top.png"):
        assert (tmp_path / "out" / name).is_file()


def test_bad_input_is_one_line_naming_the_setting(jets, tmp_path, capsys):
    assert main(_args(jets, tmp_path / "a", "--pt-range", "2000", "3000")) == 2
    assert "pt_range: no jet of" in capsys.readouterr().err
    bad = _args(jets, tmp_path / "b")
    bad[bad.index(OBSERVABLES)] = "mass,pt,girth"
    assert main(bad) == 2
    assert "unknown observable(s) ['girth']" in capsys.readouterr().err
    assert main(_args(jets, tmp_path / "d", "--autoencoders", "0")) == 2
    assert "n_autoencoders must be a positive integer, got 0" in capsys.readouterr().err
    assert main(_args(jets, tmp_path / "e", "--ae-learning-rate", "0")) == 2
    assert "autoencoder_learning_rate must be a positive number, got 0.0" in capsys.readouterr().err
    assert main(_args(jets, tmp_path / "f", "--ae-schedule", "plateau")) == 2
    assert (
        "autoencoder_warmup_epochs needs autoencoder_schedule 'cosine', got 'plateau'"
        in capsys.readouterr().err
    )
    assert main(_args(jets, tmp_path / "g", "--tries", "0")) == 2
    assert "selection_tries must be a positive integer, got 0" in capsys.readouterr().err
    assert main(_args(jets, tmp_path / "h", "--steps", "0")) == 2
    assert "n_steps must be an integer >= 1 without start observables, got 0" in capsys.readouterr().err
    assert main([*_args(jets, tmp_path / "c")[:3], "top", *_args(jets, tmp_path / "c")[4:]]) == 2
    assert "--signal: expected NAME=FILE" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "abcdefgh")

"""``bumphunt run`` / ``demo`` / ``config``: results directory, one-line errors before any work, atomicity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import bumphunt.search
from bumphunt.cli import main
from bumphunt.summary import read_summary


@pytest.fixture
def no_work(monkeypatch):
    """Make any search training fail loudly: the errors under test must come before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the search started although the configuration is bad")

    monkeypatch.setattr(bumphunt.search, "run_search", refuse)


def write_config(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_config_schema_and_example(capsys, tmp_path):
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "method" in schema["properties"]
    assert main(["config", "example"]) == 0
    example = capsys.readouterr().out
    path = tmp_path / "example.yaml"
    path.write_text(example)
    assert main(["config", "check", str(path)]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["data"]["path"] == str(tmp_path / "events.h5")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["method"].update(name="gan"),
            r"method\.name: Input should be 'autoencoder', 'cathode', 'cwola'",
        ),
        (
            lambda c: c["windows"].update(
                scan={"start": 2000.0, "stop": 4200.0, "sr_width": 400.0, "step": 400.0}
            ),
            r"windows: the signal region of SR \[2200, 2600\).*outside the data's mass range",
        ),
        (
            lambda c: c["windows"].update(
                scan=None, sr=[3300.0, 3700.0], sidebands=[[3100.0, 3400.0], [3700.0, 3900.0]]
            ),
            r"windows: sidebands .* without overlapping",
        ),
        (
            lambda c: c["statistics"].update(bin_width=200.0, shape="dijet5"),
            r"windows: the sidebands of SR \[3200, 3600\).* too few for the 5 parameters of "
            r"statistics\.shape",
        ),
        (
            lambda c: c["statistics"].update(min_sideband_events=1e5),
            r"low sideband of SR \[3200, 3600\).*statistics\.min_sideband_events",
        ),
        (lambda c: c["data"].update(path="/nonexistent/events.h5"), r"/nonexistent/events\.h5"),
        (lambda c: c.update(bogus=1), r"bogus: unknown key"),
    ],
)
def test_bad_configs_fail_before_any_work_with_one_line(
    small_config, tmp_path, capsys, no_work, change, message
):
    config = small_config(tmp_path / "results")
    change(config)
    status = main(["run", str(write_config(tmp_path, config))])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert not (tmp_path / "results").exists()


def test_existing_results_directory_is_refused_before_any_work(small_config, tmp_path, capsys, no_work):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.txt").write_text("mine")
    status = main(["run", str(write_config(tmp_path, small_config(tmp_path / "results")))])
    assert status == 2
    assert "exists; choose another (-o) or replace it (--overwrite" in capsys.readouterr().err
    assert (tmp_path / "results" / "keep.txt").read_text() == "mine"


def test_interrupted_run_leaves_no_results_directory(small_config, tmp_path, capsys, monkeypatch):
    import bumphunt.report.html

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    # the interrupt comes while the results are being written, the latest possible moment
    monkeypatch.setattr(bumphunt.report.html, "write_report", interrupt)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text("{}")
    config = small_config(tmp_path / "old", name="cwola")
    config["output"]["overwrite"] = True
    config["statistics"]["global_toys"] = 2
    status = main(["run", str(write_config(tmp_path, config))])
    assert status == 130
    assert "no results directory was written" in capsys.readouterr().err
    assert (tmp_path / "old" / "summary.json").read_text() == "{}"  # the old results are untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old", "search.yaml"]  # no temporary left


def test_run_prints_a_global_significance_beyond_its_toys_with_an_error(small_config, tmp_path, capsys):
    config = small_config(tmp_path / "ignored", name="cwola")
    config["statistics"]["global_toys"] = 200
    config["data"]["injection"]["s_over_b"] = 0.08
    out = tmp_path / "res"
    assert main(["run", str(write_config(tmp_path, config)), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    glob = summary["global"]
    # no toy comes near the data, so the excursion tail measures the global significance
    assert glob["n_above"] == 0 and glob["estimate"] == "tail" and not glob["z_is_lower_limit"]
    assert 3.5 < glob["z"] < 8 and 0 < glob["z_error"] < 0.5
    assert len(glob["tail"]["coefficients"]) == 2 and glob["tail"]["n_bootstrap"] > 150
    assert f"{glob['z']:.2f} +- {glob['z_error']:.2f} sigma" in " ".join(printed.split())
    assert "Gross-Vitells excursion tail" in " ".join(printed.split())
    html = (out / "report.html").read_text()
    assert f"{glob['z']:.2f} ± {glob['z_error']:.2f}\u2009\u03c3" in html
    # a far larger excess lies beyond the 8 sigma to which the tail is reported: a bound
    config["data"]["injection"]["s_over_b"] = 0.25
    assert main(["run", str(write_config(tmp_path, config)), "-o", str(out), "--overwrite"]) == 0
    printed = capsys.readouterr().out
    glob = json.loads((out / "summary.json").read_text())["global"]
    assert glob["estimate"] == "bound" and glob["z_is_lower_limit"] and glob["z"] == 8.0
    assert ">= 8.00 sigma (the Gross-Vitells excursion tail fitted to the toys lies beyond)" in " ".join(
        printed.split()
    )


def test_run_writes_the_results_directory(small_config, tmp_path, capsys):
    config = small_config(tmp_path / "ignored", name="cwola")
    config["statistics"]["global_toys"] = 5
    out = tmp_path / "res"
    assert main(["run", str(write_config(tmp_path, config)), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Largest excess: SR [3200, 3600) GeV" in printed
    assert "the excess window contains the signal mass: yes" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema"] == "bumphunt.summary" and summary["schema_version"] == 1
    typed = read_summary(out / "summary.json")  # the file is a valid summary of the schema
    assert typed.to_dict() == summary and typed.global_significance.n_toys == 5
    assert summary["config"]["output"]["directory"] == str(out)
    assert summary["provenance"]["injection"]["s_over_b"] == 0.25
    generator = summary["provenance"]["file_provenance"]  # carried from the generated file to the results
    assert generator["command"].startswith("bumphunt generate dijet --process qcd")
    assert generator["seed"] == 1001 and "pythia_settings" in generator
    html = (out / "report.html").read_text()
    pngs = sorted(p.name for p in (out / "plots").iterdir())
    assert pngs == ["efficiency_vs_mass.png", "roc_sic.png", "scan.png", "significance_vs_efficiency.png",
                    "spectrum_all.png", "spectrum_selected.png"]  # fmt: skip
    # the efficiency-versus-mass curve of every window and cut below 100 %, with the fit through the SR
    for window in summary["windows"]:
        for point in window["points"]:
            curve = point["efficiency_curve"]
            assert sum(curve["n_total"]) == window["n_sr"] + window["n_sb"]
            assert sum(curve["n_passed"]) <= sum(curve["n_total"])
    assert html.count('src="data:image/png;base64,') == len(pngs)
    import pandas as pd

    scores = pd.read_parquet(out / "scores.parquet")
    assert set(scores.columns) == {"window", "mass", "region", "score", "label"}
    assert scores["window"].nunique() == 2


@pytest.mark.slow
def test_demo_finds_the_injected_signal(tmp_path, capsys):
    """The full demo (minutes on 2 cores): the excess is in the window of the injected W'."""
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "the excess window contains the signal mass: yes" in printed
    summary = json.loads((out / "summary.json").read_text())
    best = summary["windows"][summary["best_window"]]
    assert best["sr"][0] <= 3500 < best["sr"][1]
    assert summary["local_z"] > 3
    # a discovery: a measured global significance (counted or extrapolated, not a bound) of 5 sigma
    assert summary["global"]["estimate"] in ("toys", "tail") and summary["global"]["z"] >= 5
    assert 0 < summary["global"]["z_error"] < 0.5
    assert summary["timing"]["total_s"] < 600

"""``bumphunt run`` on CMS NanoAOD dimuons: the shipped example configuration on the real 2012 file,
overrides, and one-line errors for bad NanoAOD input."""

from __future__ import annotations

import json

import pytest
import yaml

from bumphunt.cli import main
from bumphunt.config import apply_overrides, dimuon_example_yaml, parse_config
from bumphunt.errors import ConfigError
from bumphunt.summary import read_summary

REAL_2012 = "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
#: The real 2012 file has muon momenta and charges only: no isolation, impact parameters or IDs.
KINEMATIC_ONLY = [
    "data.dimuon.isolation=[]",
    "data.dimuon.tight_id=false",
    "data.features=[pt, eta, mu1_pt, mu2_pt]",
    "method.flow.asinh_features=[]",
]
SMALL = [
    "method.n_folds=2",
    "method.classifier={kind: hgb, n_members: 1, max_iter: 30}",
    "method.flow={max_epochs: 3, transforms: 2, hidden_features: [16]}",
]


@pytest.fixture
def example(tmp_path):
    path = tmp_path / "dimuon.yaml"
    path.write_text(dimuon_example_yaml())
    return path


def _run(example, data, out, *extra):
    args = ["run", str(example), "-o", str(out), "--set", f"data.path={data}"]
    for setting in (*KINEMATIC_ONLY, *SMALL, *extra):
        args += ["--set", setting]
    return main(args)


def test_example_configuration_is_the_seed_search():
    config = parse_config(yaml.safe_load(dimuon_example_yaml()), "dimuon example")
    assert config.data.format == "nanoaod"
    assert config.windows.sr == (9.0, 10.6)
    assert config.windows.sidebands == ((5.0, 9.0), (10.6, 16.0))
    assert round(1.6 / config.statistics.bin_width) == 12
    assert config.data.dimuon.isolation[0].min == 0.55


def test_example_runs_end_to_end_on_the_real_2012_file(example, shared_data, tmp_path, capsys):
    out = tmp_path / "results"
    assert _run(example, shared_data / REAL_2012, out) == 0
    summary = read_summary(out / "summary.json")
    window = summary.windows[0]
    assert window.status == "ok"
    assert (window.sr, window.sb) == ((9.0, 10.6), [(5.0, 9.0), (10.6, 16.0)])
    # 1000 real events: 16 opposite-sign candidates in the SR and 49 in the sidebands
    assert (window.n_sr, window.n_sb) == (16, 49)
    assert summary.provenance["dimuon_selection"]["sign"] == "opposite"
    # the background shape is chosen among odd polynomials by the F-test on the uncut sidebands
    choice = window.shape_choice
    assert choice.candidates == ["poly3", "poly5", "poly7"]
    assert choice.chosen in choice.tried and window.fit.shape == choice.chosen
    assert len(choice.p_values) == len(choice.tried) - 1
    # and the likelihood-reweighting test runs next to cut-and-count
    assert window.reweighted is not None and window.reweighted.status in ("ok", "no_excess")
    assert window.reweighted.z >= 0.0
    # the mass-only scan of every selected pair (no mass range): the J/psi comes first
    scan = summary.mass_scan
    assert scan.status == "ok" and len(scan.counts) == len(scan.edges) - 1
    assert scan.excesses[0].low < 3.097 < scan.excesses[0].high
    assert (out / "plots" / "mass_scan.png").is_file()
    assert (out / "report.html").is_file()
    assert "local significance" in capsys.readouterr().out


def test_same_sign_by_override(example, shared_data, tmp_path):
    out = tmp_path / "same"
    assert _run(example, shared_data / REAL_2012, out, "data.dimuon.sign=same") == 0
    summary = read_summary(out / "summary.json")
    assert summary.provenance["dimuon_selection"]["sign"] == "same"
    assert summary.windows[0].n_sr + summary.windows[0].n_sb < 65


def test_other_sign_validation_is_reported_next_to_the_primary(example, shared_data, tmp_path, capsys):
    out = tmp_path / "validated"
    assert _run(example, shared_data / REAL_2012, out, "data.dimuon.validate_other_sign=true") == 0
    summary = read_summary(out / "summary.json")
    assert summary.provenance["dimuon_selection"]["sign"] == "opposite"
    validation = summary.validation
    assert validation.sign == "same"
    assert validation.windows[0].sr == (9.0, 10.6)
    # 1000 real events hold 32 same-sign candidates in 5-16 GeV: too few to train on in the SR, and
    # the window says so instead of reporting a number
    assert validation.n_events == 32
    assert validation.windows[0].status == "failed" and "events" in validation.windows[0].message
    assert "Validation: the same search on same-sign pairs" in (out / "report.html").read_text()
    assert "Validation on same-sign pairs" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("data.features=[pt, mu1_ip3d]", "branch 'Muon_ip3d' not found"),
        ("data.dimuon.bounds={pt: [1000.0, 2000.0]}", "no opposite-sign dimuon candidate passes"),
        ("windows={sr: [50.0, 60.0], sidebands: [[40.0, 50.0], [60.0, 70.0]]}", "outside the data"),
    ],
)
def test_bad_nanoaod_input_is_one_line_with_status_2(
    example, shared_data, tmp_path, capsys, setting, message
):
    out = tmp_path / "results"
    assert _run(example, shared_data / REAL_2012, out, setting) == 2
    err = capsys.readouterr().err
    assert message in err
    assert REAL_2012 in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_shape_choice_must_be_nested_and_of_one_family():
    values = yaml.safe_load(dimuon_example_yaml())
    for bad in (["poly5", "poly3"], ["poly3", "dijet4"], ["poly3"]):
        values["statistics"]["shape_choice"] = bad
        with pytest.raises(ConfigError, match="shape_choice"):
            parse_config(values, "dimuon example")


def test_overrides_set_nested_keys_and_refuse_bad_ones():
    values = {"data": {"path": "/a.root", "dimuon": {"sign": "opposite"}}}
    changed = apply_overrides(values, ["data.dimuon.sign=same", "method.n_folds=3", "data.path=/b.root"], "x")
    assert changed["data"]["dimuon"]["sign"] == "same"
    assert changed["method"]["n_folds"] == 3
    assert changed["data"]["path"] == "/b.root"
    assert values["data"]["dimuon"]["sign"] == "opposite"  # the input is not changed
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides(values, ["data.dimuon.sign"], "x")
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides(values, ["data.path.x=1"], "x")


def test_mass_scan_of_the_real_2012_file_finds_the_j_psi_and_the_z(shared_data, tmp_path, capsys):
    out = tmp_path / "scan"
    args = ["scan", str(shared_data / REAL_2012), "--bins-per-decade", "25", "--degree", "4", "--toys", "200"]
    assert main([*args, "--muon-pt-min", "0", "-o", str(out)]) == 0
    record = json.loads((out / "mass_scan.json").read_text())
    first, second = record["excesses"][:2]
    assert first["low"] < 3.097 < first["high"]  # J/psi
    assert second["low"] < 91.19 < second["high"]  # Z
    assert first["local_z"] > 5 and second["local_z"] > 5
    assert (out / "mass_scan.png").stat().st_size > 10_000
    assert "3.02 - 3.311" in capsys.readouterr().out


@pytest.fixture(scope="module")
def generated_drell_yan(tmp_path_factory):
    """500 Drell-Yan events (unweighted as generated, about 15 s)."""
    pytest.importorskip("pythia8mc")
    from bumphunt.generate import DimuonPlan, generate_dimuon
    from bumphunt.generate.cards import drell_yan

    path = tmp_path_factory.mktemp("generated") / "dy.root"
    generate_dimuon(DimuonPlan(drell_yan(4.5, 20.0), n_events=500, seed=11, chunk_size=500), path)
    return path


def test_example_runs_end_to_end_on_a_generated_sample(example, generated_drell_yan, tmp_path, capsys):
    out = tmp_path / "generated"
    # the generated file carries isolation, impact parameters and IDs, so the example's features run as
    # they are; Drell-Yan pairs are isolated (no anti-isolation cut) and, with both muons above 3 GeV,
    # mostly heavier than 10 GeV (acceptance): the window moves above that turn-on
    args = ["run", str(example), "-o", str(out), "--set", f"data.path={generated_drell_yan}"]
    settings = (
        "data.dimuon.isolation=[]",
        "data.mass_range=[11.0, 20.0]",
        "windows={sr: [13.5, 15.5], sidebands: [[11.0, 13.5], [15.5, 20.0]]}",
        "data.dimuon.validate_other_sign=true",
        *SMALL,
    )
    for setting in settings:
        args += ["--set", setting]
    assert main(args) == 0
    summary = read_summary(out / "summary.json")
    window = summary.windows[0]
    assert window.status == "ok" and window.n_sr > 50
    assert summary.data.features == [
        "pt", "eta", "mu1_ip3d", "mu2_ip3d", "mu1_pfRelIso04_all", "mu2_pfRelIso04_all",
    ]  # fmt: skip
    assert window.shape_choice is not None and window.reweighted is not None
    # Drell-Yan pairs have opposite charges: the validation has (almost) nothing to search and says so
    assert summary.validation.sign == "same"
    assert summary.validation.message and summary.validation.windows == []
    assert "Validation on same-sign pairs not run" in capsys.readouterr().out

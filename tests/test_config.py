"""The YAML configuration: validation messages, schema, example, paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bumphunt.config import SearchConfig, example_yaml, json_schema, load_config, parse_config
from bumphunt.errors import ConfigError, MissingFileError

MINIMAL = {"data": {"path": "events.h5", "mass_range": [2800, 4600]}, "windows": {"sr": [3300, 3700]}}


def with_(base: dict, **updates: dict) -> dict:
    out = json.loads(json.dumps(base))
    for key, value in updates.items():
        out[key] = {**out.get(key, {}), **value}
    return out


def test_minimal_config_gets_the_documented_defaults():
    cfg = parse_config(MINIMAL)
    assert cfg.method.name == "cathode"
    assert cfg.method.classifier.kind == "hgb" and cfg.method.classifier.n_members == 10
    assert cfg.windows.sideband_width == 200.0
    assert cfg.data.features == ("mj_min", "delta_mj", "tau21_jmin", "tau21_jmax")
    assert cfg.statistics.shape == "dijet4"


def test_default_config_builds_the_library_defaults():
    """A configuration that sets nothing gets the detector, classifier and flow a Python user gets."""
    from bumphunt.methods import Cathode, ConditionalFlow, HGBEnsemble
    from bumphunt.search import build_detector

    detector = build_detector(parse_config(MINIMAL).method)
    assert isinstance(detector, Cathode)
    ignore = {"seed", "progress", "flow", "classifier"}
    defaults = Cathode().get_params(deep=False)
    assert {k: v for k, v in detector.get_params(deep=False).items() if k not in ignore} == {
        k: v for k, v in defaults.items() if k not in ignore
    }
    assert detector.flow.get_params() == {**ConditionalFlow().get_params(), "progress": None}
    classifier = HGBEnsemble().get_params()
    assert {k: detector.classifier.get_params()[k] for k in classifier} == classifier


def test_flow_members_build_a_mixture_of_the_configured_flow():
    from bumphunt.methods import ConditionalFlow, FlowMixture
    from bumphunt.search import build_detector

    method = parse_config(with_(MINIMAL, method={"flow": {"members": 3, "bins": 6}})).method
    detector = build_detector(method)
    assert isinstance(detector.flow, FlowMixture) and detector.flow.members == 3
    assert isinstance(detector.flow.flow, ConditionalFlow) and detector.flow.flow.bins == 6
    with pytest.raises(ConfigError, match=r"method\.flow\.members"):
        parse_config(with_(MINIMAL, method={"flow": {"members": 0}}))


def test_example_is_valid_and_documents_every_section():
    values = yaml.safe_load(example_yaml())
    cfg = parse_config(values, "example")
    assert cfg.windows.scan is not None and cfg.windows.scan.sr_width == 400
    for section in ("data", "windows", "method", "statistics", "output", "ensemble"):
        assert f"\n{section}:" in example_yaml()
    assert example_yaml().count("#") > 20  # commented


def test_schema_is_json_with_every_section_and_the_allowed_methods():
    schema = json.loads(json_schema())
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) >= {"data", "windows", "method", "statistics", "output", "ensemble"}
    method = schema["$defs"]["MethodConfig"]["properties"]["name"]
    assert method["enum"] == ["autoencoder", "cathode", "cwola", "cluster_scan", "iad", "supervised"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            with_(MINIMAL, method={"name": "gan"}),
            r"^c\.yaml: method\.name: Input should be 'autoencoder', 'cathode', 'cwola', 'cluster_scan', "
            r"'iad' or 'supervised' "
            r"\(got 'gan'\)$",
        ),
        (with_(MINIMAL, methd={}), r"^c\.yaml: methd: unknown key"),
        (with_(MINIMAL, windows={"sr": [3700, 3300]}), r"windows\.sr: .*low < high"),
        (
            with_(MINIMAL, windows={"sidebands": [[3000, 3400], [3700, 3900]]}),
            r"windows: sidebands .* must lie below and above the signal region .* without overlapping",
        ),
        (
            with_(MINIMAL, windows={"scan": {"start": 3000, "stop": 4000, "sr_width": 400, "step": 100}}),
            r"exactly one of 'sr'",
        ),
        (with_(MINIMAL, statistics={"shape": "dijet9"}), r"statistics\.shape: .*got 'dijet9'"),
        (with_(MINIMAL, statistics={"efficiencies": [1.0, 1.5]}), r"statistics\.efficiencies\.1"),
        (with_(MINIMAL, method={"name": "iad"}), r"method 'iad' needs a background-only sample"),
        (
            with_(MINIMAL, method={"flow": {"mass_scaled": ["mjj"]}}),
            r"method\.flow\.mass_scaled \['mjj'\] are not in data\.features",
        ),
        (
            with_(MINIMAL, ensemble={"executor": {"kind": "ray"}}),
            r"ensemble\.executor\.kind: Input should be",
        ),
        ({"windows": {"sr": [1, 2]}}, r"^c\.yaml: data: Field required$"),
    ],
)
def test_bad_settings_give_one_line_naming_the_key(config, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(config, "c.yaml")
    assert "\n" not in str(info.value)


def test_scan_with_injection_needs_a_reference_sr():
    config = {
        "data": {"path": "x.h5", "injection": {"signal": "s.h5", "s_over_b": 0.01}},
        "windows": {"scan": {"start": 3000, "stop": 4000, "sr_width": 400, "step": 100}},
    }
    with pytest.raises(ConfigError, match=r"data\.injection\.sr is required"):
        parse_config(config)
    config["data"]["injection"]["sr"] = [3300, 3700]
    assert parse_config(config).data.injection.sr == (3300.0, 3700.0)


def test_load_config_resolves_paths_next_to_the_file(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    values = with_(MINIMAL, output={"directory": "out"})
    values["data"]["background"] = "/abs/bkg.h5"
    (tmp_path / "sub" / "search.yaml").write_text(yaml.safe_dump(values))
    cfg = load_config(tmp_path / "sub" / "search.yaml")
    assert cfg.data.path == tmp_path / "sub" / "events.h5"
    assert cfg.data.background == Path("/abs/bkg.h5")
    assert cfg.output.directory == tmp_path / "sub" / "out"


def test_load_config_errors(tmp_path: Path):
    with pytest.raises(MissingFileError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  path: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: line \d+ is not valid YAML"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listing)


def test_config_is_frozen_and_round_trips_through_json():
    cfg = parse_config(MINIMAL)
    with pytest.raises(Exception, match="frozen"):
        cfg.name = "x"
    again = SearchConfig.model_validate(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg

"""The search pipeline end to end on a slice of the shipped demo events (Pythia 8 + FastJet)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bumphunt.config import parse_config
from bumphunt.demo import DEMO_SR
from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.events import EventSet
from bumphunt.search import build_windows, check_windows, inject_signal, load_data, run_search


def test_injection_gives_the_asked_signal_over_background(demo_slice):
    background = EventSet.from_parquet(demo_slice["background"])
    signal = EventSet.from_parquet(demo_slice["signal"])
    events, record = inject_signal(background, signal, s_over_b=0.05, sr=DEMO_SR, seed=3)
    in_sr = (events.mass >= DEMO_SR[0]) & (events.mass < DEMO_SR[1])
    n_sig_sr = int(np.count_nonzero(in_sr & (events.label == 1)))
    n_bkg_sr = int(np.count_nonzero(in_sr & (events.label == 0)))
    assert record["n_signal_sr"] == n_sig_sr and record["n_background_sr"] == n_bkg_sr
    assert n_sig_sr / n_bkg_sr == pytest.approx(0.05, rel=0.15)  # binomial spread of the SR fraction
    again, _ = inject_signal(background, signal, s_over_b=0.05, sr=DEMO_SR, seed=3)
    np.testing.assert_array_equal(again.mass, events.mass)
    with pytest.raises(ConfigError, match=r"needs .* signal events"):
        inject_signal(background, signal.take(np.arange(10)), s_over_b=0.05, sr=DEMO_SR, seed=3)


def test_windows_outside_the_data_fail_before_training(small_config, tmp_path):
    config = small_config(tmp_path / "out")
    config["windows"]["scan"] = {"start": 2800.0, "stop": 4200.0, "sr_width": 400.0, "step": 400.0}
    cfg = parse_config(config)
    data = load_data(cfg)
    with pytest.raises(
        ConfigError,
        match=r"windows: the sidebands of SR \[3000, 3400\).* outside .*\[3000, 4200\] GeV of "
        r".*background\.parquet$",
    ):
        check_windows(build_windows(cfg.windows), data.events, mass_range=cfg.data.mass_range)


def test_missing_feature_is_named(small_config, tmp_path):
    config = small_config(tmp_path / "out")
    config["data"]["features"] = ["mj_min", "tau32_jmax"]
    with pytest.raises(DataFormatError, match=r"feature\(s\) \['tau32_jmax'\] named in data.features"):
        load_data(parse_config(config))


@pytest.mark.parametrize("method", ["cathode", "cwola", "cluster_scan", "autoencoder"])
def test_search_finds_a_large_injected_signal_in_the_right_window(small_config, tmp_path, method):
    cfg = parse_config(small_config(tmp_path / "out", name=method))
    stages: set[str] = set()
    result = run_search(cfg, progress=lambda stage, done, total: stages.add(stage))
    typed = result.summary()
    assert typed.best is not None and typed.best.sr == (3200.0, 3600.0)
    summary = json.loads(json.dumps(typed.to_dict()))  # JSON-ready
    assert stages == {"windows", "training", "toys"}
    assert [w["sr"] for w in summary["windows"]] == [[3200.0, 3600.0], [3600.0, 4000.0]]
    assert all(w["status"] == "ok" for w in summary["windows"])
    best = summary["windows"][summary["best_window"]]
    # 25 % S/B of a 3.5 TeV resonance: the excess sits in the window with most of the signal
    assert best["sr"] == [3200.0, 3600.0]
    assert summary["truth"]["best_window_contains_truth"] is True
    # the unsupervised autoencoder, which never compares SR with sidebands, enriches the signal less
    assert summary["local_z"] > (2.0 if method == "autoencoder" else 3.0)
    assert summary["global"]["n_toys"] == 10
    assert 0 <= summary["global"]["p_value"] <= 1
    assert best["truth"]["n_signal_sr"] > 0 and 0 < best["truth"]["auc"] <= 1
    if method == "cathode":
        check = best["background_check"]
        assert 0.3 < check["auc"] < 0.8
        assert check["pull"] == pytest.approx((check["auc"] - 0.5) / check["null_std"])
    else:
        assert best["background_check"] is None
    # every point's numbers are consistent: background from the fit, z from the count
    for point in best["points"]:
        assert point["status"] == "ok"
        assert point["background"] > 0 and point["n_sr"] > 0


def test_the_selected_spectrum_shows_the_events_that_pass_and_their_prediction(small_config, tmp_path):
    from bumphunt.results import _window_spectra

    config = small_config(tmp_path / "out", name="cwola")
    config["statistics"].update(global_toys=0, efficiencies=[1.0, 0.2, 0.05])
    config["windows"]["sideband_mode"] = "range"
    result = run_search(parse_config(config))
    window = result.windows[result.best]
    spectra = _window_spectra(window)
    (counts, edges, expected, error), point = spectra["spectrum_selected"]
    assert point.efficiency < 1.0
    inside = (window.mass >= edges[0]) & (window.mass < edges[-1])
    passed = int(np.count_nonzero(inside & (window.scores >= point.threshold)))
    # the events that pass the cut, not the uncut spectrum
    assert counts.sum() == passed < int(inside.sum())
    sr = window.window.in_sr(0.5 * (edges[1:] + edges[:-1]))
    assert counts[sr].sum() == point.n_sr
    # the prediction in the SR adds up to the background the significance used
    assert expected[sr].sum() == pytest.approx(point.background, rel=0.02)
    assert np.all(error > 0)
    (all_counts, _, all_expected, _), _ = spectra["spectrum_all"]
    assert all_counts.sum() == int(inside.sum())
    assert all_expected.sum() > 3 * expected.sum()


def test_range_sidebands_reach_the_ends_of_the_scan(small_config, tmp_path):
    config = small_config(tmp_path / "out")
    config["windows"].pop("sideband_mode", None)  # the default
    windows = build_windows(parse_config(config).windows)
    assert [w.sr for w in windows] == [(3200.0, 3600.0), (3600.0, 4000.0)]
    assert all(w.sb_low == 3000.0 and w.sb_high == 4200.0 for w in windows)
    del config["windows"]["scan"]
    config["windows"]["sr"] = [3300.0, 3700.0]
    single = parse_config(config)
    assert build_windows(single.windows, single.data.mass_range)[0].sb == ((3000.0, 3300.0), (3700.0, 4200.0))
    config["data"]["mass_range"] = None
    with pytest.raises(
        ConfigError,
        match=r"sideband_mode 'range' \(the default\) with one SR needs data\.mass_range.*"
        r"windows\.sideband_mode: adjacent",
    ):
        parse_config(config)
    config["windows"]["sideband_mode"] = "adjacent"
    assert build_windows(parse_config(config).windows)[0].sb == ((3100.0, 3300.0), (3700.0, 3900.0))


def test_too_few_sideband_events_for_the_model_stop_before_training(small_config, tmp_path):
    config = small_config(tmp_path / "out")
    config["windows"]["sideband_mode"] = "adjacent"  # 200 GeV sidebands
    config["statistics"]["min_sideband_events"] = 1e6
    cfg = parse_config(config)
    data = load_data(cfg)
    with pytest.raises(
        ConfigError, match=r"low sideband of SR \[3200, 3600\).*statistics.min_sideband_events"
    ):
        check_windows(
            build_windows(cfg.windows), data.events, mass_range=cfg.data.mass_range, statistics=cfg.statistics
        )
    config["statistics"].update(min_sideband_events=10, bin_width=200.0, shape="dijet5")
    cfg = parse_config(config)
    with pytest.raises(ConfigError, match=r"fill 2 bins of statistics.bin_width = 200 GeV.*statistics.shape"):
        check_windows(
            build_windows(cfg.windows), data.events, mass_range=cfg.data.mass_range, statistics=cfg.statistics
        )
    with pytest.raises(ConfigError, match=r"statistics\.shape"):  # the search itself checks first
        run_search(cfg)

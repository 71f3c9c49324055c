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

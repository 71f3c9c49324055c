"""Cuts at fixed sideband efficiency and the significance after each."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError, EmptySelectionError
from bumphunt.stats import (
    DIMUONAD_EFFICIENCIES,
    efficiency_grid,
    sample_masses,
    selection_scan,
    sideband_thresholds,
)
from bumphunt.stats.selection import apply_selection


@pytest.fixture
def injected(toy_truth, window):
    """1e5 background events (uniform scores) and 100 signal events at 3500 GeV (scores above all)."""
    shape, truth = toy_truth("dijet3", 1e5)
    rng = np.random.default_rng(41)
    bkg = sample_masses(shape, truth, window.sb_low, window.sb_high, rng)
    sig = rng.normal(3500.0, 60.0, 100)
    mass = np.concatenate([bkg, sig])
    scores = np.concatenate([rng.uniform(0, 1, bkg.size), rng.uniform(1, 2, sig.size)])
    return mass, scores


def test_thresholds_keep_the_requested_sideband_fraction():
    scores = np.random.default_rng(42).uniform(size=10_000)
    cuts = sideband_thresholds(scores, [1.0, 0.25, 0.1, 0.01, 0.00005])
    kept = [np.sum(scores >= c) for c in cuts]
    assert kept == [10_000, 2_500, 1_000, 100, 1]


def test_efficiency_grid_contains_the_dimuonad_list():
    grid = efficiency_grid(n_log=10, min_efficiency=1e-3)
    assert set(DIMUONAD_EFFICIENCIES) <= set(grid.tolist())
    assert np.all(np.diff(grid) < 0)
    assert grid[0] == 1.0 and grid[-1] == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match="min_efficiency"):
        efficiency_grid(min_efficiency=0.0)


def test_selection_enriches_an_injected_signal(injected, window, bin_width):
    mass, scores = injected
    efficiencies = (1.0, 0.25, 0.1, 0.05, 0.01)  # 0.005 leaves too few events in the high sideband
    scan = selection_scan(
        mass, scores, window, bin_width=bin_width, shape="dijet3", efficiencies=efficiencies
    )
    by_eff = {p.efficiency: p for p in scan.points}
    assert all(p.status == "ok" for p in scan.points)
    for p in scan.points:
        assert p.sideband_efficiency == pytest.approx(p.efficiency, rel=0.02)
    assert by_eff[1.0].z < 4
    assert by_eff[0.01].z > 10
    assert by_eff[0.01].n_sr == pytest.approx(100 + by_eff[0.01].background, abs=4 * np.sqrt(150))
    assert scan.max_z == max(p.z for p in scan.points)


def test_signal_fit_method_finds_the_signal(injected, window, bin_width):
    mass, scores = injected
    count = selection_scan(mass, scores, window, bin_width=bin_width, shape="dijet3", efficiencies=[0.05])
    fit = selection_scan(
        mass, scores, window, bin_width=bin_width, shape="dijet3", efficiencies=[0.05],
        method="signal_fit", signal_width=60.0,
    )  # fmt: skip
    assert fit.points[0].signal_fit.signal == pytest.approx(
        100, abs=4 * fit.points[0].signal_fit.signal_error
    )
    # both find the signal; the fit, which uses the Gaussian shape in a 400 GeV SR, is more sensitive
    assert count.points[0].z > 5 and fit.points[0].z > count.points[0].z


def test_too_few_sideband_events_are_flagged(toy_truth, window, bin_width):
    shape, truth = toy_truth("dijet3", 5000)
    rng = np.random.default_rng(43)
    mass = sample_masses(shape, truth, window.sb_low, window.sb_high, rng)
    scan = selection_scan(
        mass, rng.uniform(size=mass.size), window, bin_width=bin_width, shape="dijet3",
        efficiencies=[1.0, 0.002], min_sideband_events=10,
    )  # fmt: skip
    assert scan.points[0].status == "ok"
    failed = scan.points[1]
    assert failed.status == "failed" and failed.z == 0.0 and failed.p_value is None
    assert "too few events" in failed.message
    assert scan.n_failed == 1
    json.dumps(scan.to_dict())


def test_efficiency_below_one_sideband_event_is_flagged(window, bin_width):
    rng = np.random.default_rng(44)
    mass = rng.uniform(window.sb_low, window.sb_high, 500)
    scan = selection_scan(
        mass, rng.uniform(size=500), window, bin_width=500.0, shape="poly1", efficiencies=[1e-4]
    )
    assert scan.points[0].status == "failed"
    assert "less than one" in scan.points[0].message


def test_empty_selection():
    with pytest.raises(EmptySelectionError, match="no event has an anomaly score >= 2"):
        apply_selection(np.array([3000.0, 3500.0]), np.array([0.1, 0.9]), 2.0)
    with pytest.raises(EmptySelectionError, match="no sideband events"):
        sideband_thresholds([], [0.1])


def test_scores_must_match_masses(window, bin_width):
    with pytest.raises(DataFormatError, match="one value per event"):
        selection_scan(np.array([3000.0, 3500.0]), np.array([0.1]), window, bin_width=bin_width)


def test_sr_outside_data_range(window, bin_width):
    mass = np.linspace(4000.0, 7000.0, 100)
    with pytest.raises(ConfigError, match="outside the data range"):
        selection_scan(mass, np.zeros(100), window, bin_width=bin_width)


def test_unknown_method(window, bin_width):
    with pytest.raises(ConfigError, match="method must be one of"):
        selection_scan(np.array([3000.0]), np.array([0.1]), window, bin_width=bin_width, method="bdt")


def test_bad_efficiency(window, bin_width):
    mass = np.linspace(2000.0, 7000.0, 100)
    with pytest.raises(ConfigError, match="efficiencies"):
        selection_scan(mass, np.zeros(100), window, bin_width=bin_width, efficiencies=[1.5])


def test_a_point_whose_fit_fails_falls_back_to_smaller_shapes(toy_truth, window, bin_width):
    shape, truth = toy_truth("poly3", 2000)
    rng = np.random.default_rng(1)
    mass = sample_masses(shape, truth, window.sb_low, window.sb_high, rng)
    settings = dict(bin_width=bin_width, shape="poly7", background="sideband_fit", min_sideband_events=3)
    efficiencies = [1.0, 0.05]
    scores = rng.uniform(size=mass.size)
    alone = selection_scan(mass, scores, window, efficiencies=efficiencies, **settings)
    assert alone.points[1].status == "failed" and "not positive" in alone.points[1].message
    helped = selection_scan(
        mass, scores, window, efficiencies=efficiencies, fallback_shapes=["poly5", "poly3"], **settings
    )
    assert helped.points[0].fit.shape.name == "poly7"  # where the chosen shape fits, it is used
    assert helped.points[1].status == "ok" and helped.points[1].fit.shape.name in ("poly5", "poly3")

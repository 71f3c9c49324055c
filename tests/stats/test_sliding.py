"""Sliding-window search with a real detector (bumphunt.methods.CWoLa: SR vs SB, boosted trees)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.methods import CWoLa, HGBEnsemble
from bumphunt.stats import (
    Detector,
    Window,
    background_fit_sampler,
    bootstrap_sampler,
    dijet,
    fit_background,
    global_significance,
    sample_masses,
    sliding_search_statistic,
    sliding_window_search,
    sliding_windows,
)
from bumphunt.stats.sliding import uniform_score_statistic

MASS_RANGE = (2000.0, 5200.0)
WINDOWS = sliding_windows(*MASS_RANGE, sr_width=400.0, sb_width=400.0, step=400.0)
SELECTION = {"shape": "dijet3", "efficiencies": (1.0, 0.1, 0.05, 0.02), "min_sideband_events": 5.0}


def cwola() -> CWoLa:
    """CWoLa hunting (SR vs SB) with a small tree ensemble: bumphunt's detector in the search."""
    return CWoLa(HGBEnsemble(n_members=1, max_iter=40, max_leaf_nodes=15), n_folds=3, seed=0)


class FirstFeature:
    """A fixed score: the first feature (no training), for cheap pseudo-experiments."""

    def fit_score(self, mass: np.ndarray, features: np.ndarray, window: Window) -> np.ndarray:
        return features[:, 0]


def _background(n: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = dijet(3)
    params = np.array([1.0, 10.0, 5.0])
    params[0] *= n / shape.bin_integrals(list(MASS_RANGE), params)[0]
    mass = sample_masses(shape, params, *MASS_RANGE, rng)
    return mass, rng.normal(0.0, 1.0, size=(mass.size, 2))


@pytest.fixture(scope="module")
def injected():
    """6e4 background events, 2 Gaussian features; 60 signal events at 3800 GeV shifted in both features."""
    rng = np.random.default_rng(71)
    mass, features = _background(6e4, rng)
    sig_mass = rng.normal(3800.0, 50.0, 60)
    sig_features = rng.normal(2.5, 0.4, size=(60, 2))
    return np.concatenate([mass, sig_mass]), np.concatenate([features, sig_features])


def test_cwola_finds_the_injected_signal(injected):
    mass, features = injected
    assert isinstance(cwola(), Detector)
    result = sliding_window_search(mass, features, cwola(), WINDOWS, bin_width=50.0, **SELECTION)
    assert all(w.status == "ok" for w in result.windows)
    best = result.windows[result.best]
    assert best.window.sr_low <= 3800.0 < best.window.sr_high
    by_eff = {p.efficiency: p for p in best.scan.points}
    assert by_eff[1.0].z < 2  # 60 events over a background of about 560: invisible without a cut
    assert result.max_z > 4.5
    others = [w.z for w in result.windows if not w.window.in_sr(3800.0)]
    assert max(others) < 3
    np.testing.assert_array_equal(result.local_z, [w.z for w in result.windows])
    json.dumps(result.to_dict())


def test_global_significance_from_bootstrap():
    rng = np.random.default_rng(72)
    mass, features = _background(3e4, rng)
    signal_mass = rng.normal(3800.0, 50.0, 100)
    data_mass = np.concatenate([mass, signal_mass])
    data_features = np.concatenate([features, rng.normal(3.0, 0.3, size=(100, 2))])
    observed = sliding_window_search(
        data_mass, data_features, FirstFeature(), WINDOWS, bin_width=50.0, **SELECTION
    )
    null = bootstrap_sampler(*_background(3e4, np.random.default_rng(73)))
    statistic = sliding_search_statistic(null, FirstFeature(), WINDOWS, bin_width=50.0, **SELECTION)
    result = global_significance(observed.max_z, statistic, n_toys=20, seed=5)
    assert result.toys.size == 20
    assert observed.max_z > result.toys.max()
    assert result.p_value == 0.0 and result.z_is_lower_limit
    # a background-only observation is not exceptional among the toys
    quiet = sliding_window_search(
        *_background(3e4, np.random.default_rng(74)), FirstFeature(), WINDOWS, bin_width=50.0, **SELECTION
    )
    again = global_significance(quiet.max_z, statistic, n_toys=20, seed=5)
    np.testing.assert_array_equal(again.toys, result.toys)  # same seed, same toys
    assert again.p_value > 0.1


def test_background_fit_sampler_draws_the_fitted_spectrum():
    rng = np.random.default_rng(74)
    mass, _ = _background(2e4, rng)
    edges = np.linspace(*MASS_RANGE, 33)
    fit = fit_background(np.histogram(mass, edges)[0], edges, dijet(3))
    sampler = background_fit_sampler(fit, lambda g, m: g.normal(size=(m.size, 2)))
    toy_mass, toy_features = sampler(np.random.default_rng(75))
    assert toy_features.shape == (toy_mass.size, 2)
    assert abs(toy_mass.size - fit.expected().sum()) < 5 * np.sqrt(fit.expected().sum())
    again, _ = background_fit_sampler(fit)(np.random.default_rng(75))
    assert again.size == toy_mass.size


def test_failed_windows_are_flagged():
    rng = np.random.default_rng(76)
    mass, features = _background(5e3, rng)
    windows = [
        *WINDOWS[:2],
        Window.from_edges(5200.0, 5600.0, 6000.0, 6400.0),
    ]  # the last SR is beyond the data
    result = sliding_window_search(mass, features, FirstFeature(), windows, bin_width=50.0, **SELECTION)
    assert [w.status for w in result.windows] == ["ok", "ok", "failed"]
    assert "outside the data range" in result.windows[2].message
    assert result.windows[2].z == 0.0 and result.windows[2].scan is None


def test_progress_is_reported():
    rng = np.random.default_rng(77)
    mass, features = _background(5e3, rng)
    calls = []
    sliding_window_search(
        mass,
        features,
        FirstFeature(),
        WINDOWS[:3],
        bin_width=100.0,
        progress=lambda i, n: calls.append((i, n)),
        **SELECTION,
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_bad_input():
    mass = np.linspace(2000.0, 5000.0, 100)
    with pytest.raises(DataFormatError, match="features"):
        sliding_window_search(mass, np.zeros((99, 2)), FirstFeature(), WINDOWS, bin_width=50.0)
    with pytest.raises(ConfigError, match="fit_score"):
        sliding_window_search(mass, np.zeros((100, 2)), object(), WINDOWS, bin_width=50.0)
    with pytest.raises(ConfigError, match="windows is empty"):
        sliding_window_search(mass, np.zeros((100, 2)), FirstFeature(), [], bin_width=50.0)
    with pytest.raises(ConfigError, match="n_toys"):
        global_significance(1.0, lambda rng: 0.0, n_toys=0, seed=1)


def test_uniform_score_toys_tally_failures_and_say_when_a_p_value_is_only_bounded(caplog):
    rng = np.random.default_rng(76)
    mass, _ = _background(2e4, rng)
    edges = np.linspace(*MASS_RANGE, 65)
    fit = fit_background(np.histogram(mass, edges)[0], edges, dijet(3))
    # 0.002 of the sidebands is a handful of events: those points fail in every toy
    selection = {**SELECTION, "efficiencies": (1.0, 0.1, 0.002), "min_sideband_events": 10.0}
    statistic = uniform_score_statistic(fit, WINDOWS, bin_width=50.0, **selection)
    with caplog.at_level("DEBUG", logger="bumphunt"):
        result = global_significance(6.0, statistic, n_toys=10, seed=3)
    assert statistic.n_points == 10 * len(WINDOWS) * 3
    assert statistic.n_failed >= 10 * len(WINDOWS)  # the 0.002 cut in every window of every toy
    assert "too few events in the high sideband of SR [#, #)" in " ".join(statistic.failures)
    assert f"{statistic.n_failed} of {statistic.n_points} selection points failed" in (
        statistic.failure_summary()
    )
    assert not any("too few events" in r.getMessage() for r in caplog.records)  # no line per point
    # nothing above 6 sigma: a bound, and the number of toys that would measure the p-value
    assert result.z_is_lower_limit and not result.resolved and result.n_above == 0
    assert result.toys_needed == 10 * 10
    measured = global_significance(0.0, statistic, n_toys=10, seed=3)
    assert measured.resolved and measured.n_above == 10 and measured.toys_needed == 10

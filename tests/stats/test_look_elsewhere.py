"""Look-elsewhere correction: global significance from background-only toys."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.stats import (
    Window,
    background_fit_sampler,
    dijet,
    fit_background,
    global_significance,
    sample_masses,
    selection_scan,
    sliding_windows,
    uniform_score_statistic,
)

MASS_RANGE = (2000.0, 5200.0)
WINDOWS = sliding_windows(*MASS_RANGE, sr_width=400.0, sb_width=400.0, step=400.0)
SELECTION = {"shape": "dijet3", "efficiencies": (1.0, 0.1, 0.05, 0.02), "min_sideband_events": 5.0}


def _background(n: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = dijet(3)
    params = np.array([1.0, 10.0, 5.0])
    params[0] *= n / shape.bin_integrals(list(MASS_RANGE), params)[0]
    mass = sample_masses(shape, params, *MASS_RANGE, rng)
    return mass, rng.normal(0.0, 1.0, size=(mass.size, 2))


def _max_z(mass: np.ndarray, scores: np.ndarray, windows: list[Window]) -> float:
    """The search statistic with a fixed score (no training): the largest local Z over windows."""
    best = 0.0
    for window in windows:
        inside = window.in_window(mass)
        scan = selection_scan(mass[inside], scores[inside], window, bin_width=50.0, **SELECTION)
        best = max(best, scan.max_z)
    return best


def test_global_significance_from_bootstrap():
    rng = np.random.default_rng(72)
    mass, features = _background(3e4, rng)
    data_mass = np.concatenate([mass, rng.normal(3800.0, 50.0, 100)])
    data_score = np.concatenate([features[:, 0], rng.normal(3.0, 0.3, 100)])
    observed = _max_z(data_mass, data_score, WINDOWS)
    null_mass, null_features = _background(3e4, np.random.default_rng(73))

    def statistic(generator: np.random.Generator) -> float:
        idx = generator.integers(0, null_mass.size, size=null_mass.size)
        return _max_z(null_mass[idx], null_features[idx, 0], WINDOWS)

    result = global_significance(observed, statistic, n_toys=20, seed=5)
    assert result.toys.size == 20
    assert observed > result.toys.max()
    assert result.p_value == 0.0 and result.z_is_lower_limit
    # a background-only observation is not exceptional among the toys
    quiet_mass, quiet_features = _background(3e4, np.random.default_rng(74))
    quiet = _max_z(quiet_mass, quiet_features[:, 0], WINDOWS)
    again = global_significance(quiet, statistic, n_toys=20, seed=5)
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


def test_bad_input():
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

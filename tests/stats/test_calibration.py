"""Local p-values are uniform on background-only pseudo-experiments."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.stats import null_p_values, summarize_p_values


def test_summary_of_uniform_and_skewed_p_values():
    rng = np.random.default_rng(81)
    uniform = summarize_p_values(rng.uniform(size=2000))
    assert uniform.ks_p_value > 0.01
    assert uniform.fraction_beyond_2sigma == pytest.approx(
        0.02275, abs=4 * uniform.fraction_beyond_2sigma_error
    )
    skewed = summarize_p_values(rng.uniform(size=2000) ** 1.5)  # too many small p-values
    assert skewed.ks_p_value < 1e-6
    assert skewed.fraction_beyond_2sigma > 0.05


def test_summary_rejects_bad_p_values():
    with pytest.raises(ConfigError, match="p-values"):
        summarize_p_values([0.5, 1.5])


@pytest.mark.parametrize(("method", "width"), [("cut_and_count", None), ("signal_fit", 100.0)])
def test_p_values_are_uniform_quick(method, width, toy_truth, window, bin_width):
    shape, truth = toy_truth("dijet4", 1e5)
    result = null_p_values(
        shape, truth, window, bin_width=bin_width, n_toys=80, seed=82, method=method, signal_width=width
    )
    assert result.n_failed == 0 and result.p_values.size == 80
    assert result.ks_p_value > 0.01


def test_wrong_background_shape_is_not_calibrated(toy_truth, window, bin_width):
    # fitting a 3-parameter function to a 4-parameter truth biases the SR prediction: p-values pile up
    shape, truth = toy_truth("dijet4", 2e5)
    result = null_p_values(shape, truth, window, bin_width=bin_width, n_toys=40, seed=83, fit_shape="dijet3")
    assert result.ks_p_value < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize(("method", "width"), [("cut_and_count", None), ("signal_fit", 100.0)])
def test_p_values_are_uniform_over_1500_toys(method, width, toy_truth, window, bin_width):
    shape, truth = toy_truth("dijet4", 1e5)
    result = null_p_values(
        shape, truth, window, bin_width=bin_width, n_toys=1500, seed=84, method=method, signal_width=width
    )
    print(
        f"{method}: KS p = {result.ks_p_value:.3f}, beyond 2 sigma {result.fraction_beyond_2sigma:.4f} "
        f"+- {result.fraction_beyond_2sigma_error:.4f}, failed {result.n_failed}"
    )
    assert result.n_failed == 0
    assert result.ks_p_value > 0.01
    assert abs(result.fraction_beyond_2sigma - 0.02275) < 3 * result.fraction_beyond_2sigma_error

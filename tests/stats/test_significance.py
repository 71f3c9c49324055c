"""Cut-and-count significance against known answers: Asimov formulas, exact Poisson and binomial tests."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from bumphunt.errors import ConfigError
from bumphunt.stats import asimov_significance, cut_and_count, p_from_z, z_from_p


def _asimov(s: float, b: float) -> float:
    return math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))


def _asimov_with_uncertainty(s: float, b: float, sigma: float) -> float:
    """Cowan's formula for the expected discovery significance with background uncertainty."""
    s2 = sigma**2
    first = (s + b) * math.log((s + b) * (b + s2) / (b**2 + (s + b) * s2))
    second = b**2 / s2 * math.log(1 + s2 * s / (b * (b + s2)))
    return math.sqrt(2 * (first - second))


@pytest.mark.parametrize(("s", "b"), [(5.0, 2.0), (30.0, 100.0), (300.0, 1e4), (1e3, 1e6)])
def test_count_on_asimov_data_is_the_asimov_formula(s, b):
    assert cut_and_count(s + b, b).z == pytest.approx(_asimov(s, b), rel=1e-12)
    assert asimov_significance(s, b) == pytest.approx(_asimov(s, b), rel=1e-12)


@pytest.mark.parametrize(("s", "b", "sigma"), [(10.0, 20.0, 5.0), (100.0, 1e3, 50.0), (50.0, 1e4, 300.0)])
def test_count_with_uncertainty_on_asimov_data_is_cowans_formula(s, b, sigma):
    expected = _asimov_with_uncertainty(s, b, sigma)
    assert cut_and_count(s + b, b, sigma).z == pytest.approx(expected, rel=1e-10)
    assert asimov_significance(s, b, sigma) == pytest.approx(expected, rel=1e-10)


def test_large_count_limit():
    # s << b: Z -> s / sqrt(b) and s / sqrt(b + sigma^2)
    assert asimov_significance(100.0, 1e6) == pytest.approx(0.1, rel=1e-4)
    assert asimov_significance(100.0, 1e6, 1e3) == pytest.approx(100 / math.sqrt(2e6), rel=1e-4)
    # the exact Poisson significance converges to the asymptotic one
    result = cut_and_count(10300.0, 1e4)
    assert result.z_exact == pytest.approx(result.z, rel=0.01)


@pytest.mark.parametrize(("n", "b"), [(1, 0.1), (3, 0.5), (7, 2.3), (12, 4.0)])
def test_exact_poisson_for_small_counts(n, b):
    result = cut_and_count(n, b)
    p = stats.poisson.sf(n - 1, b)
    assert result.p_value_exact == pytest.approx(p, rel=1e-10)
    assert result.z_exact == pytest.approx(stats.norm.isf(p), rel=1e-10)


@pytest.mark.parametrize(("n", "m", "tau"), [(5, 6, 5.0), (10, 20, 4.0), (3, 50, 25.0)])
def test_exact_with_uncertainty_is_the_binomial_test(n, m, tau):
    # on/off problem with integer off count m and ratio tau: b = m / tau, sigma_b = sqrt(m) / tau
    result = cut_and_count(n, m / tau, math.sqrt(m) / tau)
    p = stats.binomtest(n, n + m, 1 / (1 + tau), alternative="greater").pvalue
    assert result.p_value_exact == pytest.approx(p, rel=1e-9)


def test_deficit_has_no_significance():
    result = cut_and_count(80.0, 100.0, 5.0)
    assert result.z == 0.0
    assert result.z_signed < 0
    assert result.signal == -20.0
    assert result.p_value > 0.5
    assert result.z_exact == 0.0


def test_no_events_observed():
    result = cut_and_count(0.0, 3.0)
    assert result.z == 0.0 and result.p_value_exact == 1.0
    assert result.q0 == pytest.approx(6.0)  # 2 (b - n)


def test_uncertainty_lowers_significance():
    assert cut_and_count(150, 100, 10).z < cut_and_count(150, 100).z


def test_z_and_p_are_inverse():
    for z in (0.5, 2.0, 5.0):
        assert z_from_p(p_from_z(z)) == pytest.approx(z)
    assert p_from_z(2.0) == pytest.approx(0.02275, abs=1e-5)


def test_asimov_zero_signal():
    assert asimov_significance(0.0, 10.0) == 0.0


@pytest.mark.parametrize(
    ("n", "b", "sigma", "match"),
    [(5, 0.0, 0, "background b"), (5, 1.0, -1, "sigma_b"), (-1, 1.0, 0, "n_obs")],
)
def test_bad_input(n, b, sigma, match):
    with pytest.raises(ConfigError, match=match):
        cut_and_count(n, b, sigma)


def test_result_is_json():
    data = json.loads(json.dumps(cut_and_count(120, 100, 5).to_dict()))
    assert data["n_obs"] == 120 and data["background_error"] == 5
    assert np.isfinite(data["z"])

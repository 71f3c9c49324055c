"""p-values against a sampled null: counted inside its reach, from a generalized Pareto tail beyond it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from bumphunt.stats.null_tail import empirical_p_value, null_p_value


def test_inside_the_reach_the_p_value_is_counted_with_ties_half():
    null = np.array([1.0, 2.0, 2.0, 3.0] * 10)
    assert empirical_p_value(2.0, null) == pytest.approx((30 + 10) / 80)
    result = null_p_value(2.0, null)
    assert result.method == "empirical" and not result.is_limit
    assert result.p == pytest.approx(0.5) and result.z == pytest.approx(0.0, abs=1e-12)
    assert result.tail_gof_p is None and result.n_null == 40


def test_beyond_the_reach_the_tail_fit_gives_a_p_value_below_one_over_n():
    rng = np.random.default_rng(1)
    null = rng.chisquare(5, 200)
    result = null_p_value(null.max() + 3.0, null)
    assert result.method == "gpd tail" and 0 < result.p < 1 / 200
    assert 0 <= result.tail_gof_p <= 1
    assert result.z == pytest.approx(scipy.stats.norm.isf(result.p))


@pytest.mark.parametrize(
    ("draw", "survival"),
    [
        (lambda rng, n: rng.chisquare(5, n), lambda t: scipy.stats.chi2.sf(t, 5)),
        (
            lambda rng, n: np.abs(rng.normal(size=(n, 16))).max(axis=1),
            lambda t: 1.0 - (1.0 - 2.0 * scipy.stats.norm.sf(t)) ** 16,
        ),
    ],
    ids=["chi2", "largest-of-16-pulls"],
)
def test_the_tail_fit_reaches_three_sigma_from_200_resamplings_without_overstating(draw, survival):
    # 3 sigma (p = 0.00135) lies beyond 200 resamplings: on 100 null samples of 200 the extrapolated Z
    # is close to 3 and errs on the side of too little significance (an exponential tail at the least)
    truth = scipy.optimize.brentq(lambda t: survival(t) - scipy.stats.norm.sf(3.0), 0.1, 50.0)
    rng = np.random.default_rng(2)
    z = np.array([null_p_value(truth, draw(rng, 200)).z for _ in range(100)])
    assert 2.5 < np.median(z) < 3.1
    assert np.mean(z > 3.3) < 0.1


def test_a_bounded_null_never_gives_an_infinite_significance():
    null = np.random.default_rng(3).uniform(0, 1, 500)
    result = null_p_value(5.0, null)
    assert result.p > 0 and np.isfinite(result.z) and result.z <= 8.0


def test_below_every_null_value_the_significance_is_the_negative_cap():
    result = null_p_value(-1.0, [1.0, 2.0, 3.0])
    assert result.p == 1.0 and result.z == -8.0


def test_far_beyond_the_cap_is_a_lower_limit():
    null = np.random.default_rng(4).normal(size=300)
    result = null_p_value(1e3, null)
    assert result.is_limit and result.z == 8.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="empty"):
        null_p_value(1.0, [np.nan])
    with pytest.raises(ValueError, match="tail_fraction"):
        null_p_value(1.0, [1.0, 2.0], tail_fraction=0.9)
    with pytest.raises(ValueError, match="min_beyond"):
        null_p_value(1.0, [1.0, 2.0], min_beyond=0)

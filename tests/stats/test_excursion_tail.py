"""The Gross-Vitells excursion tail of a scan's largest local significance, against brute force.

The fields here are smooth Gaussian random fields on a grid (statistics code may be tested on a
Gaussian toy): their largest value has a tail that brute force measures to about 3.5 sigma.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, stats

from bumphunt.errors import ConfigError
from bumphunt.stats.excursion_tail import euler_characteristic, fit_excursion_tail, tail_p_value
from bumphunt.stats.look_elsewhere import GlobalSignificance, with_excursion_tail


def _fields(n: int, shape: tuple[int, int], smoothing: tuple[float, float], seed: int) -> np.ndarray:
    """Unit-variance Gaussian fields, one-sided as a search's local significances are."""
    rng = np.random.default_rng(seed)
    white = rng.normal(size=(n, shape[0] + 20, shape[1] + 20))
    smooth = ndimage.gaussian_filter(white, sigma=(0, *smoothing), mode="constant")[:, 10:-10, 10:-10]
    smooth /= smooth.std(axis=0, keepdims=True)
    return np.maximum(smooth, 0.0)


def test_euler_characteristic_counts_blobs_minus_holes():
    one = np.zeros((5, 5), bool)
    one[1:3, 1:4] = True
    two = one.copy()
    two[4, 4] = True
    ring = np.zeros((5, 5), bool)
    ring[1:4, 1:4] = True
    ring[2, 2] = False
    assert euler_characteristic(one) == 1
    assert euler_characteristic(two) == 2
    assert euler_characteristic(ring) == 0
    assert euler_characteristic(np.zeros((2, 3), bool)) == 0
    np.testing.assert_array_equal(euler_characteristic(np.stack([one, two, ring])), [1, 2, 0])


@pytest.mark.parametrize("shape, smoothing", [((24, 6), (2.0, 1.0)), ((1, 40), (0.0, 2.0))])
def test_the_tail_from_1000_toys_matches_brute_force(shape, smoothing):
    fit_toys = _fields(1000, shape, smoothing, seed=1)
    brute = _fields(60_000, shape, smoothing, seed=2).max(axis=(1, 2))
    tail = fit_excursion_tail(fit_toys)
    assert tail.coefficients.size == (2 if shape[0] > 1 else 1)
    for level in (3.0, 3.5):
        counted = np.mean(brute >= level)
        assert np.sum(brute >= level) >= 30
        # within 25 % where brute force measures it (its own error is at most 18 %)
        assert tail.p_value(level) == pytest.approx(counted, rel=0.25), level


def test_an_extrapolated_significance_has_an_error_that_covers_the_truth():
    shape, smoothing = (24, 6), (2.0, 1.0)
    toys = _fields(1000, shape, smoothing, seed=3)
    brute = _fields(60_000, shape, smoothing, seed=4).max(axis=(1, 2))
    level = float(np.quantile(brute, 1 - 1e-3))  # about 3.7 sigma global: no more than a few of 1000 toys
    result = tail_p_value(level, toys, n_bootstrap=100, seed=0)
    truth = stats.norm.isf(1e-3)
    assert np.sum(toys.max(axis=(1, 2)) >= level) < 10
    assert 0.0 < result.z_error < 0.3
    assert abs(result.z - truth) < 3 * result.z_error + 0.05


def test_with_excursion_tail_keeps_a_counted_p_value_and_extrapolates_a_bound():
    toys = _fields(500, (10, 4), (1.5, 1.0), seed=5)
    maxima = toys.max(axis=(1, 2))

    def significance(observed: float) -> GlobalSignificance:
        n_above = int(np.sum(maxima >= observed))
        p = n_above / maxima.size
        return GlobalSignificance(
            observed=observed,
            toys=maxima,
            p_value=p,
            p_value_error=0.0,
            z=float(stats.norm.isf(max(p, 1 / maxima.size))),
            z_is_lower_limit=n_above == 0,
        )

    counted = significance(2.0)
    assert with_excursion_tail(counted, toys) is counted
    assert counted.estimate == "toys"
    bound = significance(6.0)
    assert bound.estimate == "bound"
    measured = with_excursion_tail(bound, toys)
    assert measured.estimate == "tail" and not measured.z_is_lower_limit
    assert measured.z > 4.5 and np.isfinite(measured.z_error)
    with pytest.raises(ConfigError, match="grids"):
        with_excursion_tail(bound, toys[:10])


def test_too_few_toys_for_the_tail_name_the_setting():
    with pytest.raises(ConfigError, match="global_toys"):
        fit_excursion_tail(np.zeros((50, 3, 3)))
    with pytest.raises(ConfigError, match="shape"):
        fit_excursion_tail(np.zeros((5,)))

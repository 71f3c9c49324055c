"""Background shapes: the literature forms, integrals, Jacobians, sampling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, stats

from bumphunt.errors import ConfigError, FitError
from bumphunt.stats import dijet, get_shape, polynomial, sample_masses

MASSES = np.array([1500.0, 2500.0, 3500.0, 5000.0, 7000.0])


def _dijet_reference(m: np.ndarray, p: list[float], sqrt_s: float = 13000.0) -> np.ndarray:
    """The dijet functions written out as in the CMS/ATLAS papers."""
    x = m / sqrt_s
    exponent = p[2] + (p[3] * np.log(x) if len(p) > 3 else 0) + (p[4] * np.log(x) ** 2 if len(p) > 4 else 0)
    return p[0] * (1 - x) ** p[1] / x**exponent


@pytest.mark.parametrize("params", [[2.0, 9.0, 4.5], [2.0, 9.0, 4.5, 0.3], [2.0, 9.0, 4.5, 0.3, -0.05]])
def test_dijet_matches_literature_form(params):
    shape = dijet(len(params))
    np.testing.assert_allclose(shape.density(MASSES, params), _dijet_reference(MASSES, params), rtol=1e-12)


def test_dijet_sqrt_s_scales_x():
    params = [1.0, 8.0, 5.0, 0.2]
    np.testing.assert_allclose(
        dijet(4, sqrt_s=8000.0).density(MASSES / 2, params),
        _dijet_reference(MASSES / 2, params, sqrt_s=8000.0),
        rtol=1e-12,
    )


def test_polynomial_is_power_series_in_scaled_mass():
    shape = polynomial(2, (2000.0, 6000.0))
    u = (MASSES - 4000.0) / 2000.0
    np.testing.assert_allclose(shape.density(MASSES, [3.0, -1.0, 0.5]), 3.0 - u + 0.5 * u**2, rtol=1e-12)


@pytest.mark.parametrize("name", ["dijet3", "dijet5", "poly4"])
def test_bin_integrals_match_quadrature(name):
    shape = get_shape(name, (2000.0, 6000.0))
    params = {"dijet3": [1.0, 9.0, 4.5], "dijet5": [1.0, 9.0, 4.5, 0.3, -0.05], "poly4": [5, -3, 1, 0.5, 0.1]}
    p = params[name]
    edges = np.array([2000.0, 2100.0, 2600.0, 4000.0, 6000.0])
    expected = [
        integrate.quad(lambda m: shape.density(m, p), lo, hi, epsrel=1e-12)[0]
        for lo, hi in itertools.pairwise(edges)
    ]
    np.testing.assert_allclose(shape.bin_integrals(edges, p), expected, rtol=1e-9)


@pytest.mark.parametrize("name", ["dijet4", "poly2"])
def test_jacobian_matches_finite_differences(name):
    shape = get_shape(name, (2000.0, 6000.0))
    p = np.array([1.0, 9.0, 4.5, 0.3]) if name == "dijet4" else np.array([5.0, -3.0, 1.0])
    edges = np.linspace(2000.0, 6000.0, 9)
    numeric = np.empty((edges.size - 1, p.size))
    for k in range(p.size):
        h = 1e-6 * max(abs(p[k]), 1.0)
        up, down = p.copy(), p.copy()
        up[k] += h
        down[k] -= h
        numeric[:, k] = (shape.bin_integrals(edges, up) - shape.bin_integrals(edges, down)) / (2 * h)
    np.testing.assert_allclose(shape.bin_jacobian(edges, p), numeric, rtol=1e-6)


def test_internal_parameters_round_trip():
    shape = dijet(5)
    p = np.array([3.5e-2, 9.0, 4.5, 0.3, -0.05])
    theta = shape.to_internal(p)
    assert theta[0] == pytest.approx(np.log(3.5e-2))
    back, scale = shape.from_internal(theta)
    np.testing.assert_allclose(back, p, rtol=1e-14)
    np.testing.assert_allclose(scale, [3.5e-2, 1, 1, 1, 1])


def test_sample_masses_follows_density():
    shape = dijet(3)
    params = [1.0, 10.0, 5.0]
    edges = np.linspace(2000.0, 5000.0, 31)
    params[0] *= 20000.0 / shape.bin_integrals([2000.0, 5000.0], params)[0]
    masses = sample_masses(shape, params, 2000.0, 5000.0, np.random.default_rng(11))
    assert masses.min() >= 2000.0 and masses.max() < 5000.0
    assert abs(masses.size - 20000) < 5 * np.sqrt(20000)
    observed = np.histogram(masses, edges)[0]
    expected = shape.bin_integrals(edges, params) * masses.size / 20000.0
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, edges.size - 2) > 0.001


def test_sample_masses_rejects_negative_density():
    with pytest.raises(FitError, match="negative"):
        sample_masses(polynomial(1, (0.0, 1.0)), [0.0, 1.0], 0.0, 1.0, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("spec", "match"), [("dijet6", "3, 4 or 5"), ("expo2", "dijet3"), ("poly-1", "dijet3")]
)
def test_get_shape_rejects_unknown_names(spec, match):
    with pytest.raises(ConfigError, match=match):
        get_shape(spec, (1.0, 2.0))


def test_polynomial_rejects_empty_domain():
    with pytest.raises(ConfigError, match="domain"):
        polynomial(2, (3.0, 3.0))


def test_dijet_rejects_nonpositive_normalisation_for_fit():
    with pytest.raises(FitError, match="p0"):
        dijet(3).to_internal([-1.0, 1.0, 1.0])

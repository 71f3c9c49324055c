"""Likelihood reweighting by the classifier's likelihood ratio."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.stats import (
    fit_sidebands,
    likelihood_ratio_from_probability,
    reweighted_significance,
    sample_masses,
    selection_scan,
    signal_weights,
)


def test_likelihood_ratio_and_weights():
    np.testing.assert_allclose(likelihood_ratio_from_probability([0.5, 0.75, 0.0]), [1.0, 3.0, 0.0])
    np.testing.assert_allclose(likelihood_ratio_from_probability([0.5], prior_ratio=2.0), [2.0])
    # r = (1 - mu) + mu w  =>  w = (r - (1 - mu)) / mu, clipped at 0
    np.testing.assert_allclose(signal_weights([1.0, 1.5, 0.5], 0.1), [1.0, 6.0, 0.0])


def test_bad_probabilities_and_fraction():
    with pytest.raises(DataFormatError, match=r"\[0, 1\)"):
        likelihood_ratio_from_probability([1.0])
    with pytest.raises(ConfigError, match="signal_fraction"):
        signal_weights([1.0], 0.0)


@pytest.fixture
def background(toy_truth, window):
    shape, truth = toy_truth("dijet3", 5e4)
    return sample_masses(shape, truth, window.sb_low, window.sb_high, np.random.default_rng(51))


def test_unit_ratios_reproduce_the_unweighted_count(background, window, bin_width):
    # r = 1 for every event gives w = 1: the test is the plain cut-and-count without a cut
    result = reweighted_significance(
        background,
        np.ones_like(background),
        window,
        bin_width=bin_width,
        shape="dijet3",
        signal_fraction=0.05,
    )
    plain = selection_scan(
        background, np.zeros_like(background), window, bin_width=bin_width, shape="dijet3", efficiencies=[1.0]
    ).points[0]
    assert result.sum_weights == result.sum_weights2 == plain.n_sr
    assert result.count.background == pytest.approx(plain.background, rel=1e-4)
    assert result.count.z_signed == pytest.approx(plain.count.z_signed, abs=1e-3)


def test_constant_weights_do_not_change_the_significance(background, window, bin_width):
    # weights w = c scale counts and prediction alike; the effective-count test is scale free
    one = reweighted_significance(
        background, np.ones_like(background), window, bin_width=bin_width, shape="dijet3", signal_fraction=0.5
    )
    three = reweighted_significance(
        background,
        np.full(background.size, 2.0),
        window,
        bin_width=bin_width,
        shape="dijet3",
        signal_fraction=0.5,
    )  # r = 2, mu = 0.5: w = 3
    assert three.sum_weights == pytest.approx(3 * one.sum_weights)
    assert three.count.z_signed == pytest.approx(one.count.z_signed, abs=1e-3)


def test_reweighting_enriches_a_signal(background, window, bin_width):
    # one feature x: background N(0, 1), signal N(3, 0.5); the likelihood ratio is known exactly
    rng = np.random.default_rng(52)
    signal_mass = rng.normal(3500.0, 60.0, 60)
    mass = np.concatenate([background, signal_mass])
    x = np.concatenate([rng.normal(0, 1, background.size), rng.normal(3, 0.5, signal_mass.size)])
    fit = fit_sidebands(background, window, "dijet3", bin_width=bin_width)
    b_sr, _ = fit.integral(window.sr_low, window.sr_high)
    mu_true = 60 / (60 + b_sr)
    density_ratio = stats.norm.pdf(x, 3, 0.5) / stats.norm.pdf(x)
    ratio = (1 - mu_true) + mu_true * density_ratio
    result = reweighted_significance(mass, ratio, window, bin_width=bin_width, shape="dijet3")
    unweighted = selection_scan(
        mass, np.zeros_like(mass), window, bin_width=bin_width, shape="dijet3", efficiencies=[1.0]
    ).points[0]
    assert result.status == "ok"
    assert unweighted.z < 3
    assert result.z > 3 * unweighted.z
    assert result.signal_fraction == pytest.approx(mu_true, rel=1.0)


def test_no_excess_is_flagged(background, window, bin_width):
    mass = background[~window.in_sr(background) | (np.arange(background.size) % 2 == 0)]  # SR deficit
    result = reweighted_significance(mass, np.ones_like(mass), window, bin_width=bin_width, shape="dijet3")
    assert result.status == "no_excess" and result.z == 0.0 and result.count is None
    assert "not above the predicted background" in result.message


def test_ratios_must_match_masses(background, window, bin_width):
    with pytest.raises(DataFormatError, match="likelihood_ratio"):
        reweighted_significance(background, np.ones(3), window, bin_width=bin_width)

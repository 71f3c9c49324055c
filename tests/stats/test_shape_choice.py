"""Choice of the number of parameters: F-test and likelihood-ratio test on toys of known truth."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.stats import choose_shape, dijet, fit_background
from bumphunt.stats.shape_choice import nested_test


def _rate(toy_truth, edges, sidebands, truth_name, shapes, test, n_toys, seed):
    shape, truth = toy_truth(truth_name, 1e6)
    mu = shape.bin_integrals(edges, truth)
    rng = np.random.default_rng(seed)
    chosen = [
        choose_shape(rng.poisson(mu), edges, shapes, fitted=sidebands, test=test).best.shape.name
        for _ in range(n_toys)
    ]
    return np.mean(np.array(chosen) == truth_name)


@pytest.mark.parametrize("truth_name", ["dijet3", "dijet4"])
def test_f_test_picks_the_true_number_of_parameters(truth_name, toy_truth, edges, sidebands):
    rate = _rate(toy_truth, edges, sidebands, truth_name, ("dijet3", "dijet4", "dijet5"), "f", 200, seed=21)
    assert rate >= 0.9


def test_f_test_picks_the_true_polynomial_degree(toy_truth, edges, sidebands):
    rate = _rate(
        toy_truth, edges, sidebands, "poly3", ("poly1", "poly2", "poly3", "poly4"), "f", 100, seed=22
    )
    assert rate >= 0.9


def test_likelihood_ratio_test_picks_the_true_number_of_parameters(toy_truth, edges, sidebands):
    rate = _rate(toy_truth, edges, sidebands, "dijet4", ("dijet3", "dijet4", "dijet5"), "lr", 100, seed=23)
    assert rate >= 0.9


def test_nested_test_statistics(toy_truth, edges, sidebands):
    shape, truth = toy_truth("dijet4", 1e6)
    counts = np.random.default_rng(24).poisson(shape.bin_integrals(edges, truth))
    small = fit_background(counts, edges, dijet(3), fitted=sidebands)
    large = fit_background(counts, edges, dijet(4), fitted=sidebands)
    f, p_f = nested_test(small, large, "f")
    lr, p_lr = nested_test(small, large, "lr")
    assert lr == pytest.approx(small.chi2 - large.chi2)
    assert f == pytest.approx(lr / (large.chi2 / large.ndf))
    assert p_f < 1e-6 and p_lr < 1e-6  # p3 = 1 is many standard deviations from 0 with 1e6 events


def test_choice_records_every_step(toy_truth, edges, sidebands):
    shape, truth = toy_truth("dijet3", 1e5)
    counts = np.random.default_rng(25).poisson(shape.bin_integrals(edges, truth))
    choice = choose_shape(counts, edges, fitted=sidebands)
    assert choice.best is choice.fits[choice.chosen]
    assert len(choice.p_values) == len(choice.fits) - 1
    assert choice.to_dict()["fits"][0]["shape"]["name"] == "dijet3"


def test_choice_rejects_non_nested_shapes(edges):
    with pytest.raises(ConfigError, match="nested"):
        choose_shape(np.ones(edges.size - 1), edges, ("dijet3", "poly4"))
    with pytest.raises(ConfigError, match="nested"):
        choose_shape(np.ones(edges.size - 1), edges, ("dijet4", "dijet3"))


def test_choice_rejects_unknown_test(edges):
    with pytest.raises(ConfigError, match="test must be one of"):
        choose_shape(np.ones(edges.size - 1), edges, test="chi2")

"""Choice of the number of parameters: F-test and likelihood-ratio test on toys of known truth."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError, FitError
from bumphunt.events import Window
from bumphunt.stats import choose_shape, dijet, fit_background
from bumphunt.stats.fit import window_edges
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


def test_a_shape_that_cannot_fit_is_skipped_and_named():
    # opposite-sign dimuons of a generated b bbar sample (tight ID), 5-16 GeV in the 12-bins-per-SR
    # binning of the dimuon example: a turn-on at 5 GeV that a cubic cannot follow without turning
    # negative, so the choice starts at poly5
    counts = np.array([
        2, 4, 5, 4, 7, 4, 1, 5, 8, 12, 14, 14, 16, 19, 19, 17, 26, 28, 32, 21,
        30, 23, 27, 19, 33, 31, 35, 33, 34, 35, 24, 36, 32, 44, 27, 26, 35, 28, 26, 35,
        20, 24, 31, 23, 28, 18, 25, 22, 29, 18, 21, 19, 16, 27, 17, 12, 23, 21, 17, 16,
        18, 8, 11, 11, 10, 14, 17, 13, 15, 12, 12, 6, 12, 9, 6, 3, 10, 9, 14, 11,
        10, 7, 4, 7, 12,
    ], dtype=float)  # fmt: skip
    window = Window((9.0, 10.6), ((5.0, 9.0), (10.6, 16.0)))
    edges = window_edges(window, 0.13333333)
    assert edges.size == counts.size + 1
    sidebands = ~window.in_sr(0.5 * (edges[1:] + edges[:-1]))
    choice = choose_shape(counts, edges, ["poly3", "poly5", "poly7"], fitted=sidebands)
    assert choice.fits[0].shape.name == "poly5"
    assert choice.best.shape.name in ("poly5", "poly7")
    assert "skipped poly3" in choice.message and "not positive" in choice.message
    with pytest.raises(FitError, match="no shape of"):
        choose_shape(np.zeros_like(counts), edges, ["poly3", "poly5"], fitted=sidebands)

"""Sideband fits: parameter pulls, SR prediction coverage, fit quality, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError, FitError
from bumphunt.stats import Window, dijet, fit_background, fit_sidebands, sample_masses, window_histogram
from bumphunt.stats.shapes import get_shape
from bumphunt.stats.windows import window_edges


def _pulls(shape, truth, edges, sidebands, window, n_toys, seed):
    """Pulls of the parameters (ln p0 for the dijet normalisation) and of the SR prediction."""
    rng = np.random.default_rng(seed)
    mu = shape.bin_integrals(edges, truth)
    sr_true = mu[~sidebands].sum()
    pulls = []
    for _ in range(n_toys):
        fit = fit_background(rng.poisson(mu), edges, shape, fitted=sidebands)
        values, errors, true = fit.values.copy(), fit.errors.copy(), truth.copy()
        if shape.log_linear:  # the normalisation is Gaussian in ln p0, in which the fit runs
            errors[0] /= values[0]
            values[0], true[0] = np.log(values[0]), np.log(true[0])
        b, b_err = fit.integral(window.sr_low, window.sr_high)
        pulls.append([*((values - true) / errors), (b - sr_true) / b_err])
    return np.array(pulls)


@pytest.mark.parametrize("name", ["dijet3", "dijet4", "dijet5", "poly3"])
def test_pulls_quick(name, toy_truth, edges, sidebands, window):
    shape, truth = toy_truth(name, 1e6)
    pulls = _pulls(shape, truth, edges, sidebands, window, n_toys=60, seed=1)
    # 60 toys: standard error of the mean 0.13, of the width 0.09
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.45)
    assert np.all(np.abs(pulls.std(axis=0) - 1) < 0.3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dijet3", "dijet4", "dijet5", "poly3"])
def test_pulls_over_1000_toys(name, toy_truth, edges, sidebands, window):
    shape, truth = toy_truth(name, 1e6)
    pulls = _pulls(shape, truth, edges, sidebands, window, n_toys=1000, seed=2)
    print(f"{name}: pull means {pulls.mean(axis=0).round(3)}, widths {pulls.std(axis=0).round(3)}")
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.1)
    assert np.all(np.abs(pulls.std(axis=0) - 1) < 0.1)


def test_fit_quality_follows_chi2(toy_truth, edges, sidebands):
    shape, truth = toy_truth("dijet4", 2e5)
    rng = np.random.default_rng(3)
    mu = shape.bin_integrals(edges, truth)
    fits = [fit_background(rng.poisson(mu), edges, shape, fitted=sidebands) for _ in range(100)]
    assert fits[0].ndf == sidebands.sum() - 4
    chi2 = np.array([f.chi2 for f in fits])
    # mean ndf, variance 2 ndf: 100 toys give a standard error of sqrt(2 ndf / 100)
    assert abs(chi2.mean() - fits[0].ndf) < 4 * np.sqrt(2 * fits[0].ndf / 100)
    p = np.array([f.p_value for f in fits])
    assert 0.3 < p.mean() < 0.7


def test_wrong_shape_fits_badly(toy_truth, edges, sidebands):
    shape, truth = toy_truth("dijet4", 1e6)
    counts = np.random.default_rng(4).poisson(shape.bin_integrals(edges, truth))
    good = fit_background(counts, edges, shape, fitted=sidebands)
    bad = fit_background(counts, edges, dijet(3), fitted=sidebands)
    assert good.p_value > 0.01
    assert bad.p_value < 1e-6
    assert bad.chi2_per_ndf > 1.5


def test_fit_sidebands_ignores_the_sr(toy_truth, window, bin_width):
    shape, truth = toy_truth("dijet3", 1e5)
    rng = np.random.default_rng(5)
    masses = sample_masses(shape, truth, window.sb_low, window.sb_high, rng)
    bump = rng.normal(3500.0, 60.0, size=3000)
    plain = fit_sidebands(masses, window, "dijet3", bin_width=bin_width)
    with_bump = np.concatenate([masses, bump[window.in_sr(bump)]])
    bumped = fit_sidebands(with_bump, window, "dijet3", bin_width=bin_width)
    np.testing.assert_allclose(bumped.values, plain.values, rtol=1e-5)
    b, b_err = plain.integral(window.sr_low, window.sr_high)
    b_true = shape.bin_integrals([window.sr_low, window.sr_high], truth)[0]
    assert abs(b - b_true) < 4 * b_err


def test_unit_weights_give_the_unweighted_fit(toy_truth, window, bin_width):
    shape, truth = toy_truth("dijet4", 5e4)
    masses = sample_masses(shape, truth, window.sb_low, window.sb_high, np.random.default_rng(6))
    plain = fit_sidebands(masses, window, "dijet4", bin_width=bin_width)
    weighted = fit_sidebands(masses, window, "dijet4", bin_width=bin_width, weights=np.ones_like(masses))
    np.testing.assert_allclose(weighted.values, plain.values, rtol=1e-4)
    np.testing.assert_allclose(weighted.errors, plain.errors, rtol=1e-3)


def test_constant_weights_scale_normalisation_not_errors_of_shape(toy_truth, window, bin_width):
    shape, truth = toy_truth("dijet3", 5e4)
    masses = sample_masses(shape, truth, window.sb_low, window.sb_high, np.random.default_rng(7))
    plain = fit_sidebands(masses, window, "dijet3", bin_width=bin_width)
    scaled = fit_sidebands(masses, window, "dijet3", bin_width=bin_width, weights=np.full(masses.size, 0.2))
    assert scaled.values[0] == pytest.approx(0.2 * plain.values[0], rel=1e-4)
    np.testing.assert_allclose(scaled.values[1:], plain.values[1:], rtol=1e-4)
    np.testing.assert_allclose(scaled.errors[1:], plain.errors[1:], rtol=1e-3)


def test_result_is_json(toy_truth, window, bin_width):
    shape, truth = toy_truth("poly3", 5e4)
    masses = sample_masses(shape, truth, window.sb_low, window.sb_high, np.random.default_rng(8))
    fit = fit_sidebands(masses, window, "poly3", bin_width=bin_width)
    data = json.loads(json.dumps(fit.to_dict()))
    assert data["shape"]["name"] == "poly3"
    assert data["shape"]["domain"] == [window.sb_low, window.sb_high]
    assert len(data["covariance"]) == 4
    assert data["ndf"] == fit.ndf


def test_too_few_events_in_a_sideband(window, bin_width):
    rng = np.random.default_rng(9)
    low, sr = rng.uniform(2000.0, 3300.0, 500), rng.uniform(3300.0, 3700.0, 100)
    masses = np.concatenate([low, sr, [3800.0] * 5])
    with pytest.raises(FitError, match=r"too few events in the high sideband .*: 5, need at least 10"):
        fit_sidebands(masses, window, "dijet3", bin_width=bin_width)


def test_sr_outside_data_range(window, bin_width):
    masses = np.random.default_rng(10).uniform(1000.0, 3000.0, 1000)
    with pytest.raises(ConfigError, match=r"signal region \[3300, 3700\) GeV is outside the data range"):
        fit_sidebands(masses, window, "dijet3", bin_width=bin_width)


def test_fit_that_does_not_converge(toy_truth, edges, sidebands):
    shape, truth = toy_truth("dijet5", 1e5)
    counts = np.random.default_rng(11).poisson(shape.bin_integrals(edges, truth))
    with pytest.raises(FitError, match="dijet5 fit to \\[2000, 7000\\] GeV did not converge"):
        fit_background(counts, edges, shape, fitted=sidebands, start=[1.0, 0.0, 0.0, 0.0, 0.0], max_calls=10)


def test_fewer_bins_than_parameters():
    with pytest.raises(FitError, match="3 fitted bins for 5 parameters"):
        fit_background([10, 8, 6], [2000.0, 2100.0, 2200.0, 2300.0], dijet(5))


def test_empty_fitted_bins():
    with pytest.raises(FitError, match="no events"):
        fit_background(np.zeros(10), np.linspace(2000, 3000, 11), dijet(3))


def test_counts_must_match_edges():
    with pytest.raises(DataFormatError, match="shape \\(4,\\)"):
        fit_background([1, 2, 3], np.linspace(0, 1, 5), dijet(3))


def test_weights_must_match_masses(window, bin_width):
    with pytest.raises(DataFormatError, match="weights"):
        window_histogram(np.array([3000.0, 3500.0]), window, bin_width, weights=np.ones(3))


def test_no_events():
    with pytest.raises(ConfigError, match="no events"):
        fit_sidebands(np.array([]), Window.from_edges(1.0, 2.0, 3.0, 4.0), "dijet3", bin_width=0.5)


def test_sparse_selected_spectra_fit_or_fail_cleanly() -> None:
    """Tight selections leave a few events per bin: the fit succeeds or raises FitError, never crashes.

    With the all-parameter start values alone, most of these spectra made the start expectation
    overflow and the SVD of the whitening step raise numpy's LinAlgError.
    """
    window = Window.around((3300, 3700), 200)
    edges = window_edges(window, 50.0)
    shape = get_shape("dijet4", (window.sb_low, window.sb_high))
    sb = ~window.in_sr(0.5 * (edges[1:] + edges[:-1]))
    n_ok = 0
    for seed in range(60):
        counts = np.random.default_rng(seed).poisson(np.linspace(3, 0.3, edges.size - 1)).astype(float)
        try:
            fit = fit_background(counts, edges, shape, fitted=sb)
        except FitError:
            continue
        assert np.all(np.isfinite(fit.expected()))
        n_ok += 1
    assert n_ok >= 10


def test_narrow_window_fits_keep_p0_at_the_density_of_the_window_centre() -> None:
    """In narrow windows ln p0 and the exponents of the usual dijet function are nearly degenerate and p0
    wanders over hundreds of decades (3e274 was seen; its covariance overflowed to inf). Fits through
    get_shape write the exponent relative to the window centre: p0 is the density there.
    """
    window = Window.around((3300, 3700), 200)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        mass = 3100 + rng.exponential(500, 60000)
        mass = mass[mass < 3900]
        fit = fit_sidebands(mass, window, "dijet4", bin_width=50)
        assert fit.shape.reference == 3500.0
        density_at_centre = np.count_nonzero(np.abs(mass - 3500) < 100) / 200.0  # events per GeV
        assert fit.values[0] == pytest.approx(density_at_centre, rel=0.1)
        assert np.all(np.isfinite(fit.covariance))
        b, b_err = fit.integral(window.sr_low, window.sr_high)
        # statistical error of a ~22k-event extrapolation from ~20k sideband events with 4 parameters
        assert np.isfinite(b_err) and 0.5 * np.sqrt(b) < b_err < 5 * np.sqrt(b)
        assert b == pytest.approx(np.count_nonzero(window.in_sr(mass)), rel=0.03)


def test_reference_changes_p0_only() -> None:
    plain, centred = dijet(4), dijet(4, reference=3500.0)
    params = np.array([2.0, 10.0, 5.0, 0.1])
    m = np.linspace(3000.0, 4000.0, 11)
    # the same family: p0 absorbs the exponent at the reference
    p0 = plain.density(np.array([3500.0]), params)[0]
    np.testing.assert_allclose(centred.density(m, [p0, *params[1:]]), plain.density(m, params), rtol=1e-12)
    with pytest.raises(ConfigError, match="reference"):
        dijet(4, reference=20000.0)

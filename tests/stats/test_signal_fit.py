"""Signal-plus-background profile-likelihood fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bumphunt.errors import ConfigError
from bumphunt.stats import fit_signal


def _with_signal(shape, truth, edges, n_signal, mass, width):
    return shape.bin_integrals(edges, truth) + n_signal * np.diff(stats.norm.cdf(edges, mass, width))


def test_signal_is_recovered(toy_truth, edges):
    shape, truth = toy_truth("dijet4", 1e6)
    rng = np.random.default_rng(31)
    fits = [
        fit_signal(
            rng.poisson(_with_signal(shape, truth, edges, 2000.0, 3500.0, 100.0)),
            edges,
            shape,
            mass=3500.0,
            width=100.0,
        )
        for _ in range(30)
    ]
    pulls = np.array([(f.signal - 2000.0) / f.signal_error for f in fits])
    assert abs(pulls.mean()) < 0.6 and 0.6 < pulls.std() < 1.4
    z = np.array([f.z for f in fits])
    assert np.all(z > 2.0)
    # the median significance is the Asimov one: signal / its error
    assert np.median(z) == pytest.approx(2000.0 / np.median([f.signal_error for f in fits]), rel=0.2)


def test_q0_is_the_chi2_difference(toy_truth, edges):
    shape, truth = toy_truth("dijet3", 2e5)
    counts = np.random.default_rng(32).poisson(_with_signal(shape, truth, edges, 800.0, 3500.0, 80.0))
    fit = fit_signal(counts, edges, shape, mass=3500.0, width=80.0)
    assert fit.q0 == pytest.approx(fit.background.chi2 - fit.chi2)
    assert fit.z_signed == pytest.approx(np.sqrt(fit.q0))
    assert fit.ndf == fit.background.ndf - 1
    assert fit.background.fitted.all()


def test_deficit_gives_negative_signal_and_zero_z(toy_truth, edges):
    shape, truth = toy_truth("dijet3", 2e5)
    counts = np.random.default_rng(33).poisson(_with_signal(shape, truth, edges, -600.0, 3500.0, 80.0))
    fit = fit_signal(counts, edges, shape, mass=3500.0, width=80.0)
    assert fit.signal < 0 and fit.z == 0.0 and fit.z_signed < 0 and fit.p_value > 0.5


def test_profiled_width_finds_the_true_width(toy_truth, edges):
    shape, truth = toy_truth("dijet3", 2e5)
    counts = np.random.default_rng(34).poisson(_with_signal(shape, truth, edges, 3000.0, 3500.0, 150.0))
    grid = [50.0, 100.0, 150.0, 200.0, 300.0]
    fit = fit_signal(counts, edges, shape, mass=3500.0, width_grid=grid)
    assert fit.width_profiled and fit.width == 150.0
    fixed = fit_signal(counts, edges, shape, mass=3500.0, width=150.0)
    assert fit.q0 == pytest.approx(fixed.q0)


def test_mass_outside_histogram(toy_truth, edges):
    shape, _ = toy_truth("dijet3", 1e4)
    with pytest.raises(ConfigError, match="signal mass 8000 GeV is outside"):
        fit_signal(np.ones(edges.size - 1), edges, shape, mass=8000.0, width=100.0)


def test_bad_width(toy_truth, edges):
    shape, _ = toy_truth("dijet3", 1e4)
    with pytest.raises(ConfigError, match="widths must be positive"):
        fit_signal(np.ones(edges.size - 1), edges, shape, mass=3500.0, width=-5.0)

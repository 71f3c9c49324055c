"""BumpHunter scan, cross-checked against the pyBumpHunter package on the same histograms."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.stats import bumphunter
from bumphunt.stats.scan import scan_windows

EDGES = np.linspace(2000.0, 6000.0, 41)


def _histograms(seed: int, bump: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A falling reference (with empty first and last bins) and Poisson data with a small bump."""
    centers = 0.5 * (EDGES[1:] + EDGES[:-1])
    reference = 4e4 * np.exp(-(centers - 2000.0) / 600.0) * 0.2
    reference[[0, -1]] = 0.0
    data = np.random.default_rng(seed).poisson(reference)
    data[14 : 14 + len(bump)] += np.array(bump, dtype=data.dtype)
    return data, reference


def _pybumphunter(data, reference, n_toys, **settings):
    pbh = pytest.importorskip("pyBumpHunter", reason="pyBumpHunter (dev extra) is needed for the cross-check")
    hunter = pbh.BumpHunter1D(
        rang=[EDGES[0], EDGES[-1]], bins=EDGES, npe=n_toys, nworker=1, seed=3, **settings
    )
    with contextlib.redirect_stdout(io.StringIO()):  # pyBumpHunter prints its progress
        hunter.bump_scan(data, reference, is_hist=True)
    return hunter


@pytest.mark.parametrize(
    "settings",
    [
        {"width_min": 1, "width_max": 8, "width_step": 1, "scan_step": 1},
        {"width_min": 2, "width_max": 10, "width_step": 2, "scan_step": "half"},
        {"width_min": 3, "width_max": 6, "width_step": 1, "scan_step": "full"},
    ],
)
def test_local_p_values_match_pybumphunter(settings):
    data, reference = _histograms(61, (25, 40, 25))
    hunter = _pybumphunter(data, reference, 10, **settings)
    ours = bumphunter(data, reference, EDGES, n_toys=10, seed=1, **settings)
    theirs = np.concatenate([np.atleast_1d(r) for r in hunter.res_ar])
    assert ours.p_values.shape == theirs.shape
    np.testing.assert_allclose(ours.p_values, theirs, rtol=1e-6, atol=0)
    assert ours.t == pytest.approx(hunter.t_ar[0], rel=1e-6)
    assert ours.best_low == EDGES[hunter.min_loc_ar[0]]
    assert ours.best_high == EDGES[hunter.min_loc_ar[0] + hunter.min_width_ar[0]]


def test_windows_match_pybumphunter_positions():
    data, reference = _histograms(62, ())
    starts, widths = scan_windows(reference, width_min=2, width_max=5, scan_step="half")
    # the scan skips the empty first and last reference bins, as pyBumpHunter does
    assert starts.min() == 1 and (starts + widths).max() == 39
    hunter = _pybumphunter(data, reference, 10, width_min=2, width_max=5, scan_step="half")
    assert starts.size == sum(np.atleast_1d(r).size for r in hunter.res_ar)


def test_global_p_value_matches_pybumphunter():
    data, reference = _histograms(63, (15, 25, 15))
    n_toys = 4000
    hunter = _pybumphunter(data, reference, n_toys, width_min=1, width_max=6)
    ours = bumphunter(data, reference, EDGES, n_toys=n_toys, seed=7, width_min=1, width_max=6)
    error = np.hypot(
        ours.global_p_value_error, np.sqrt(hunter.global_Pval * (1 - hunter.global_Pval) / n_toys)
    )
    assert 0.001 < ours.global_p_value < 0.5  # the test is informative only away from 0 and 1
    assert abs(ours.global_p_value - hunter.global_Pval) < 3 * error


def test_global_p_value_is_uniform_without_signal():
    # background-only data: the global p-value over repeated experiments is uniform
    rng = np.random.default_rng(64)
    _, reference = _histograms(64, ())
    p = [
        bumphunter(rng.poisson(reference), reference, EDGES, n_toys=200, seed=i).global_p_value
        for i in range(60)
    ]
    assert 0.35 < np.mean(p) < 0.65


def test_strong_bump_gives_lower_limit():
    data, reference = _histograms(65, (200, 300, 200))
    result = bumphunter(data, reference, EDGES, n_toys=100, seed=1)
    assert result.global_p_value == 0.0 and result.global_z_is_lower_limit
    assert result.global_z == pytest.approx(2.326, abs=1e-3)  # from p = 1 / 100
    assert (result.best_low, result.best_high) == (EDGES[14], EDGES[17])
    json.dumps(result.to_dict())


def test_bad_input():
    data, reference = _histograms(66, ())
    with pytest.raises(DataFormatError, match="same size"):
        bumphunter(data[:-1], reference, EDGES, n_toys=10, seed=1)
    with pytest.raises(DataFormatError, match="no positive bin"):
        bumphunter(data, np.zeros_like(reference), EDGES, n_toys=10, seed=1)
    with pytest.raises(ConfigError, match="width_min"):
        bumphunter(data, reference, EDGES, n_toys=10, seed=1, width_min=5, width_max=3)
    with pytest.raises(ConfigError, match="scan_step"):
        bumphunter(data, reference, EDGES, n_toys=10, seed=1, scan_step="quarter")

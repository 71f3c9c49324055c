"""Mass-only scan of a whole spectrum: log binning, the smooth reference, ranked excesses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.stats.spectrum_scan import log_edges, scan_spectrum, smooth_reference


def test_log_edges_have_equal_steps_in_log_mass():
    edges = log_edges(1.0, 100.0, 20)
    assert edges[0] == 1.0 and edges[-1] == pytest.approx(100.0)
    assert len(edges) == 41
    np.testing.assert_allclose(np.diff(np.log10(edges)), 0.05)
    assert log_edges(1.0, 150.0, 20)[-1] >= 150.0
    with pytest.raises(ConfigError):
        log_edges(10.0, 1.0, 20)


def test_smooth_reference_follows_a_falling_spectrum_and_leaves_out_a_peak():
    rng = np.random.default_rng(3)
    background = 1.0 + rng.exponential(6.0, 40_000)
    peak = rng.normal(9.46, 0.1, 400)
    edges = log_edges(1.0, 60.0, 60)
    counts = np.histogram(np.concatenate([background, peak]), edges)[0].astype(float)
    truth = np.histogram(background, edges)[0].astype(float)
    expected, excluded = smooth_reference(counts, edges, degree=6)
    in_peak = (edges[:-1] < 9.9) & (edges[1:] > 9.0)
    assert excluded[in_peak].any()  # the peak bins are left out of the fit
    assert not excluded[edges[1:] < 5.0].any()
    # away from the peak the reference agrees with the background truth within its fluctuations
    populated = (truth > 50) & ~in_peak
    pulls = (expected[populated] - truth[populated]) / np.sqrt(truth[populated])
    assert np.mean(np.abs(pulls)) < 1.5
    assert expected.sum() == pytest.approx(counts[~excluded].sum() + expected[excluded].sum(), rel=1e-6)


def test_the_peak_is_the_first_excess_and_background_alone_gives_nothing_global():
    rng = np.random.default_rng(4)
    background = 1.0 + rng.exponential(6.0, 40_000)
    with_peak = np.concatenate([background, rng.normal(9.46, 0.1, 300)])
    found = scan_spectrum(with_peak, n_toys=300, seed=1)
    first = found.excesses[0]
    assert first.low < 9.46 < first.high and first.high - first.low < 1.5
    assert first.local_z > 5 and first.global_z > 2.5
    assert all(a.local_p <= b.local_p for a, b in itertools.pairwise(found.excesses))
    ranges = sorted((e.low, e.high) for e in found.excesses)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ranges))  # no overlaps
    alone = scan_spectrum(background, n_toys=300, seed=1)
    assert alone.excesses[0].global_z < 3.0
    assert found.n_events == int(found.counts.sum())


def test_too_few_masses_are_refused():
    with pytest.raises(DataFormatError, match="too few masses"):
        scan_spectrum(np.array([0.5, 2.0, 3.0]))

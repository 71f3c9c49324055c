"""Windows, their binning and sliding sets."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.stats import Window, sliding_windows, window_edges


def test_window_masks_partition_the_range():
    w = Window.from_edges(2000.0, 3300.0, 3700.0, 5000.0)
    m = np.array([1999.0, 2000.0, 3299.9, 3300.0, 3699.9, 3700.0, 4999.9, 5000.0])
    np.testing.assert_array_equal(w.in_sr(m), [0, 0, 0, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(w.in_sb(m), [0, 1, 1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(w.in_window(m), w.in_sr(m) | w.in_sb(m))
    assert w.center == 3500.0


def test_window_around():
    assert Window.around((3300.0, 3700.0), 300.0) == Window.from_edges(3000.0, 3300.0, 3700.0, 4000.0)


@pytest.mark.parametrize("edges", [(3300.0, 3300.0, 3700.0, 4000.0), (3000.0, 3700.0, 3300.0, 4000.0)])
def test_window_rejects_unordered_edges(edges):
    with pytest.raises(ConfigError, match="sb_low < sr_low < sr_high < sb_high"):
        Window.from_edges(*edges)


def test_window_edges_put_sr_on_bin_edges():
    w = Window.from_edges(2000.0, 3310.0, 3690.0, 5000.0)
    edges = window_edges(w, 100.0)
    assert edges[0] == 2000.0 and edges[-1] == 5000.0
    assert 3310.0 in edges and 3690.0 in edges
    assert np.all(np.diff(edges) <= 100.0 + 1e-9)
    assert np.sum((edges > 3310.0) & (edges < 3690.0)) == 3  # 380 GeV in 4 bins of 95 GeV


def test_window_edges_rejects_bad_width():
    with pytest.raises(ConfigError, match="bin_width"):
        window_edges(Window.from_edges(1.0, 2.0, 3.0, 4.0), 0.0)


def test_sliding_windows_cover_range_inside():
    windows = sliding_windows(2000.0, 6000.0, sr_width=400.0, sb_width=400.0, step=200.0)
    assert windows[0] == Window.from_edges(2000.0, 2400.0, 2800.0, 3200.0)
    assert windows[-1].sb_high == 6000.0
    assert len(windows) == 15
    np.testing.assert_allclose(np.diff([w.center for w in windows]), 200.0)


def test_sliding_windows_rejects_range_too_small():
    with pytest.raises(ConfigError, match="no window"):
        sliding_windows(2000.0, 2500.0, sr_width=400.0, sb_width=400.0, step=100.0)


def test_range_sidebands_take_every_mass_outside_the_sr():
    adjacent = sliding_windows(2000.0, 6000.0, sr_width=400.0, sb_width=400.0, step=200.0)
    wide = sliding_windows(2000.0, 6000.0, sr_width=400.0, sb_width=400.0, step=200.0, sidebands="range")
    # the same SRs, each with the whole range outside it as sideband
    assert [w.sr for w in wide] == [w.sr for w in adjacent]
    for window in wide:
        assert window.sb == ((2000.0, window.sr_low), (window.sr_high, 6000.0))
        assert window.contiguous


def test_sliding_windows_rejects_an_unknown_sideband_mode():
    with pytest.raises(ConfigError, match="sidebands must be one of"):
        sliding_windows(2000.0, 6000.0, sr_width=400.0, sb_width=400.0, step=200.0, sidebands="wide")

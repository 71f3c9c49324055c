"""Toy spectra with known truth for the statistics tests (GeV)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bumphunt.stats import Shape, Window, get_shape, window_edges

WINDOW = Window.from_edges(2000.0, 3300.0, 3700.0, 7000.0)
"""SR 3300-3700 GeV with 1300 and 3300 GeV wide sidebands (a dijet-like range)."""

BIN_WIDTH = 50.0

SHAPE_PARAMS = {
    "dijet3": (1.0, 10.0, 5.0),
    "dijet4": (1.0, 10.0, 5.0, 1.0),
    "dijet5": (1.0, 10.0, 5.0, 0.5, 0.1),
    "poly3": (60.0, -70.0, 30.0, -5.0),
}
"""True parameters of the toy spectra, before normalisation (dijet p1.. in the CMS range)."""


def normalised(shape: Shape, params: tuple[float, ...], n_events: float, window: Window) -> np.ndarray:
    """``params`` scaled so that the shape holds ``n_events`` in ``window`` (p0 for dijets, all for poly)."""
    p = np.array(params, dtype=np.float64)
    total = shape.bin_integrals([window.sb_low, window.sb_high], p)[0]
    if shape.log_linear:
        p[0] *= n_events / total
    else:
        p *= n_events / total
    return p


@pytest.fixture
def toy_truth() -> Callable[[str, float], tuple[Shape, np.ndarray]]:
    """``make(name, n_events)`` -> (shape, true parameters) over :data:`WINDOW`."""

    def make(name: str, n_events: float) -> tuple[Shape, np.ndarray]:
        shape = get_shape(name, (WINDOW.sb_low, WINDOW.sb_high))
        return shape, normalised(shape, SHAPE_PARAMS[name], n_events, WINDOW)

    return make


@pytest.fixture
def edges() -> np.ndarray:
    """Bin edges of :data:`WINDOW` at :data:`BIN_WIDTH`."""
    return window_edges(WINDOW, BIN_WIDTH)


@pytest.fixture
def sidebands(edges: np.ndarray) -> np.ndarray:
    """Boolean mask of the sideband bins."""
    return ~WINDOW.in_sr(0.5 * (edges[1:] + edges[:-1]))


@pytest.fixture
def window() -> Window:
    """The toy window :data:`WINDOW`."""
    return WINDOW


@pytest.fixture
def bin_width() -> float:
    """The toy bin width :data:`BIN_WIDTH` (GeV)."""
    return BIN_WIDTH

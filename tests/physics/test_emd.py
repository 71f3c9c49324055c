"""Energy mover's distance between jets (POT)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bumphunt.errors import DependencyError

pytest.importorskip("ot")

from bumphunt.physics.emd import bin_distance, jet_emd


def _jet(points, weights):
    features = np.zeros((len(points) + 2, 3), dtype=np.float32)
    features[: len(points), 0] = weights
    features[: len(points), 1:] = points
    mask = np.arange(len(features)) < len(points)
    return features, mask


def test_emd_of_simple_jets():
    one = _jet([[0.0, 0.0]], [1.0])
    moved = _jet([[0.3, 0.4]], [1.0])
    assert jet_emd(*one, *one) == 0.0
    assert jet_emd(*one, *moved, radius=0.5) == pytest.approx(0.5 / 0.5)
    split = _jet([[0.0, 0.0], [0.0, 0.2]], [0.5, 0.5])
    assert jet_emd(*one, *split, radius=0.5) == pytest.approx(0.5 * 0.2 / 0.5)
    assert jet_emd(*split, *one) == pytest.approx(jet_emd(*one, *split))


def test_bin_distance_is_zero_for_alike_samples_and_grows_for_different_ones():
    rng = np.random.default_rng(0)

    def jets(n, width):
        features = np.zeros((n, 20, 3), dtype=np.float32)
        features[..., 0] = rng.exponential(1.0, (n, 20))
        features[..., 1:] = rng.normal(0.0, width, (n, 20, 2))
        return features, np.ones((n, 20), dtype=bool)

    narrow, other_narrow, wide = jets(200, 0.05), jets(200, 0.05), jets(200, 0.2)
    alike = bin_distance(*narrow, *other_narrow, n_pairs=150)
    assert abs(alike["distance"]) < 3 * alike["error"]
    different = bin_distance(*narrow, *wide, n_pairs=150)
    assert different["distance"] > 5 * different["error"]


def test_without_pot_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)
    one = _jet([[0.0, 0.0]], [1.0])
    with pytest.raises(DependencyError, match=r"install the 'emd' extra"):
        jet_emd(*one, *one)

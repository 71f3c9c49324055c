"""KDE of the SR masses: samples stay in the SR, follow the spectrum, are seeded."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.methods.mass_density import KDEMassDensity


def falling_spectrum(n: int, seed: int) -> np.ndarray:
    """Exponentially falling masses (slope 1/300 GeV) cut to the SR 3300-3700 GeV."""
    rng = np.random.default_rng(seed)
    m = 3300.0 + rng.exponential(300.0, 3 * n)
    return m[m < 3700.0][:n]


def test_samples_follow_the_spectrum_inside_the_sr() -> None:
    masses = falling_spectrum(4000, seed=0)
    density = KDEMassDensity().fit(masses, (3300.0, 3700.0))
    samples = density.sample(40000, seed=1)
    assert len(samples) == 40000
    assert samples.min() >= 3300.0
    assert samples.max() < 3700.0
    # fractions in four 100 GeV bins (about 38, 28, 20 and 14 %), edge bins included
    edges = np.linspace(3300.0, 3700.0, 5)
    expected = np.histogram(masses, edges)[0] / len(masses)
    observed = np.histogram(samples, edges)[0] / len(samples)
    np.testing.assert_allclose(observed, expected, atol=0.03)


def test_seed_reproduces() -> None:
    density = KDEMassDensity(bandwidth=0.2).fit(falling_spectrum(500, seed=2), (3300.0, 3700.0))
    np.testing.assert_array_equal(density.sample(100, seed=3), density.sample(100, seed=3))
    assert not np.array_equal(density.sample(100, seed=3), density.sample(100, seed=4))


def test_bad_inputs() -> None:
    with pytest.raises(DataFormatError, match=r"1 masses lie outside the interval \[3300, 3700\) GeV"):
        KDEMassDensity().fit(np.array([3400.0, 3500.0, 3700.0]), (3300.0, 3700.0))
    with pytest.raises(DataFormatError, match="at least 2 distinct masses"):
        KDEMassDensity().fit(np.array([3400.0, 3400.0]), (3300.0, 3700.0))
    with pytest.raises(ConfigError, match="bandwidth must be"):
        KDEMassDensity(bandwidth=-1.0).fit(np.array([3400.0, 3500.0]), (3300.0, 3700.0))

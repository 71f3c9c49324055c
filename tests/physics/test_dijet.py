"""The CATHODE feature set against the formulas of the CATHODE reference preprocessing.

``cathode_reference`` below restates, in plain numpy, what ``run_data_preparation_LHCORD.py`` of
github.com/HEPML-AnomalyDetection/CATHODE computes (there in TeV; here in GeV): the energy of each jet
from its three-momentum and mass, mjj from the summed four-momenta, lighter/heavier jet chosen with
argmin/argmax over (mj1, mj2), tau21 = tau2 / (1e-5 + tau1), and DeltaR of the two jets' three-momenta
(pseudorapidity and azimuth) as ``vector``'s ``deltaR`` computes it in the CATHODE sculpting study.
"""

from __future__ import annotations

import numpy as np
import pytest
import vector

from bumphunt.physics.dijet import CATHODE_FEATURES, cathode_features


def cathode_reference(rows: np.ndarray) -> dict[str, np.ndarray]:
    pj = rows[:, [0, 1, 2]] + rows[:, [7, 8, 9]]
    e = np.sqrt(np.sum(rows[:, [0, 1, 2, 3]] ** 2, axis=1)) + np.sqrt(
        np.sum(rows[:, [7, 8, 9, 10]] ** 2, axis=1)
    )
    mjj = np.sqrt(e**2 - np.sum(pj**2, axis=1))
    masses = rows[:, [3, 10]]
    tau21 = rows[:, [5, 12]] / (1e-5 + rows[:, [4, 11]])
    lo, hi = np.argmin(masses, axis=1), np.argmax(masses, axis=1)
    n = np.arange(len(rows))
    j1 = vector.array({"px": rows[:, 0], "py": rows[:, 1], "pz": rows[:, 2]})
    j2 = vector.array({"px": rows[:, 7], "py": rows[:, 8], "pz": rows[:, 9]})
    return {
        "mjj": mjj,
        "mj_min": masses[n, lo],
        "delta_mj": masses[n, hi] - masses[n, lo],
        "tau21_jmin": tau21[n, lo],
        "tau21_jmax": tau21[n, hi],
        "delta_r_jj": np.asarray(j1.deltaR(j2)),
    }


def random_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = np.empty((n, 14))
    for offset in (0, 7):
        pt = rng.uniform(1200.0, 2500.0, n)
        phi = rng.uniform(-np.pi, np.pi, n)
        rows[:, offset] = pt * np.cos(phi)
        rows[:, offset + 1] = pt * np.sin(phi)
        rows[:, offset + 2] = pt * np.sinh(rng.normal(0.0, 1.0, n))
        rows[:, offset + 3] = rng.uniform(10.0, 600.0, n)
        tau1 = rng.uniform(0.0, 200.0, n)
        rows[:, offset + 4] = tau1
        rows[:, offset + 5] = tau1 * rng.uniform(0.1, 1.0, n)
        rows[:, offset + 6] = rows[:, offset + 5] * rng.uniform(0.1, 1.0, n)
    rows[:5, 4] = 0.0  # single-particle jets: tau1 = tau2 = 0
    rows[:5, 5] = 0.0
    rows[5:10, 10] = rows[5:10, 3]  # equal jet masses: ties as argmin/argmax resolve them
    return rows


def test_cathode_features_equal_the_reference_formulas():
    rows = random_rows(5000, seed=3)
    ours = cathode_features(rows, with_delta_r=True)
    reference = cathode_reference(rows)
    assert list(ours) == ["mjj", *CATHODE_FEATURES, "delta_r_jj"]
    for name in ("mjj", "mj_min", "delta_mj", "tau21_jmin", "tau21_jmax"):  # bit for bit
        np.testing.assert_array_equal(ours[name], reference[name], err_msg=name)
    np.testing.assert_allclose(ours["delta_r_jj"], reference["delta_r_jj"], rtol=1e-12, atol=1e-12)


def test_single_particle_jets_and_ties():
    rows = random_rows(20, seed=4)
    ours = cathode_features(rows)
    np.testing.assert_array_equal(ours["delta_mj"][5:10], 0.0)
    np.testing.assert_array_equal(ours["tau21_jmin"][5:10], ours["tau21_jmax"][5:10])
    assert np.all(np.isfinite(ours["tau21_jmin"][:5]))


def test_back_to_back_jets_give_the_textbook_mass():
    # two massless jets back to back at eta = 0: mjj = 2 pT
    rows = np.zeros((1, 14))
    rows[0, 0], rows[0, 7] = 1500.0, -1500.0
    assert cathode_features(rows)["mjj"][0] == pytest.approx(3000.0, rel=1e-15)


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match=r"shape \(n, 14\)"):
        cathode_features(np.zeros((3, 13)))

"""Energy flow polynomials: the graphs, agreement with energyflow, invariances, bad input."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.physics.efp import EFP_GRAPHS, efp_names, efps


def _jets(seed: int, n_jets: int = 30, centre: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-padded toy constituents (pT, y, phi) of jets with 5 to 40 particles around (0, centre)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(5, 40, n_jets)
    shape = (n_jets, counts.max())
    pt, y, phi = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, k in enumerate(counts):
        pt[i, :k] = rng.exponential(10.0, k)
        y[i, :k] = rng.normal(0.0, 0.3, k)
        phi[i, :k] = rng.normal(centre, 0.3, k)
    return pt, y, phi


def test_the_graphs_are_the_multigraphs_up_to_degree_five():
    # loopless multigraphs without isolated vertices by edges: 1, 3, 8, 23, 66 (energyflow's EFPSet)
    assert Counter(g.degree for g in EFP_GRAPHS) == {1: 1, 2: 3, 3: 8, 4: 23, 5: 66}
    assert sum(g.connected for g in EFP_GRAPHS) == 53
    assert len(set(efp_names())) == 101 and len(efp_names(2, connected_only=True)) == 3


@pytest.mark.parametrize(("kappa", "beta"), [(1.0, 1.0), (2.0, 0.5)])
def test_efps_agree_with_energyflow(kappa: float, beta: float):
    ef = pytest.importorskip("energyflow")
    pt, y, phi = _jets(1, n_jets=150)  # several groups of jets of similar multiplicity
    ours = efps(pt, y, phi, kappa=kappa, beta=beta)
    reference = ef.EFPSet(("d<=", 5), measure="hadr", beta=beta, kappa=kappa, normed=True, coords="ptyphim")
    jets = [np.column_stack([p[p > 0], a[p > 0], b[p > 0]]) for p, a, b in zip(pt, y, phi, strict=True)]
    values = reference.batch_compute(jets, n_jobs=1)[:, 1:]  # column 0 is the constant degree-0 EFP
    matched = set()
    for value in ours.values():
        distance = np.max(np.abs(values - value[:, None]) / np.abs(values), axis=0)
        assert distance.min() < 1e-9
        matched.add(int(np.argmin(distance)))
    assert len(matched) == 101  # one to one


def _direct(
    pt: np.ndarray, y: np.ndarray, phi: np.ndarray, name: str, kappa: float, beta: float
) -> np.ndarray:
    """An EFP as the plain sum over one particle per vertex (einsum), real particles only."""
    graph = next(g for g in EFP_GRAPHS if g.name == name)
    letters = "abcdefghij"
    out = []
    for p, a, b in zip(pt, y, phi, strict=True):
        keep = p > 0
        z = (p[keep] / p[keep].sum()) ** kappa
        dphi = np.abs(b[keep][:, None] - b[keep][None, :])
        dphi = np.minimum(dphi, 2 * np.pi - dphi)
        theta = ((a[keep][:, None] - a[keep][None, :]) ** 2 + dphi**2) ** (beta / 2)
        value = 1.0
        for n_vertices, edges in graph.parts:
            terms = [letters[v] for v in range(n_vertices)] + [letters[i] + letters[j] for i, j in edges]
            value *= np.einsum(",".join(terms) + "->", *([z] * n_vertices), *([theta] * len(edges)))
        out.append(value)
    return np.array(out)


@pytest.mark.parametrize(("kappa", "beta"), [(-1.0, 1.0), (0.0, 2.0), (0.5, 0.5), (2.0, 1.0)])
def test_generalized_efps_are_the_sums_over_vertices(kappa: float, beta: float):
    pt, y, phi = _jets(4, n_jets=8)
    names = ["efp_d1_0", "efp_d2_1", "efp_d3_3", "efp_d4_5", "efp_d4_8", "efp_d3_6", "efp_d5_0"]
    ours = efps(*(np.pad(a, ((0, 0), (0, 3))) for a in (pt, y, phi)), names, kappa=kappa, beta=beta)
    for name in names:
        np.testing.assert_allclose(ours[name], _direct(pt, y, phi, name, kappa, beta), rtol=1e-10)


def test_efps_depend_only_on_angles_between_particles_and_momentum_fractions():
    pt, y, phi = _jets(2, centre=0.0)
    values = efps(pt, y, phi)
    angle = 0.7
    rotated_y = np.cos(angle) * y - np.sin(angle) * phi
    rotated_phi = np.sin(angle) * y + np.cos(angle) * phi + 0.3
    for name, value in efps(3.0 * pt, rotated_y + 1.2, rotated_phi).items():
        np.testing.assert_allclose(value, values[name], rtol=1e-9)
    # padding drops out; a disconnected graph is the product of its parts
    padded = efps(*(np.pad(a, ((0, 0), (0, 7))) for a in (pt, y, phi)))
    for name, value in padded.items():
        np.testing.assert_allclose(value, values[name], rtol=1e-12)
    assert not EFP_GRAPHS[3].connected and EFP_GRAPHS[3].name == "efp_d2_2"
    np.testing.assert_allclose(values["efp_d2_2"], values["efp_d1_0"] ** 2, rtol=1e-12)


def test_bad_input_is_named():
    pt, y, phi = _jets(3)
    with pytest.raises(ConfigError, match=r"unknown EFP name\(s\) \['efp_d7_0'\]"):
        efps(pt, y, phi, ["efp_d7_0"])
    with pytest.raises(ConfigError, match="beta must be positive"):
        efps(pt, y, phi, beta=0.0)
    with pytest.raises(ConfigError, match="kappa must be a finite number"):
        efps(pt, y, phi, kappa=float("nan"))
    with pytest.raises(DataFormatError, match="one shape"):
        efps(pt, y[:, :-1], phi)
    with pytest.raises(DataFormatError, match="not negative"):
        efps(-pt, y, phi)
    with pytest.raises(ConfigError, match="max_degree"):
        efp_names(6)

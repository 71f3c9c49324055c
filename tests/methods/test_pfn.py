"""Particle Flow Networks: permutation invariance, padding, training, and the scale-free particle inputs."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch

from bumphunt.errors import DataFormatError, NotFittedError
from bumphunt.methods.pfn import ParticleFlowNetwork, PFNClassifier
from bumphunt.physics.particle_features import PID_CLASSES, jet_particle_features


def _jets(rng: np.random.Generator, n_jets: int, width: float = 0.2, phi0: float = 3.0) -> ak.Array:
    counts = rng.integers(3, 40, n_jets)
    n = int(counts.sum())
    return ak.unflatten(
        ak.zip(
            {
                "pt": rng.exponential(10.0, n) + 0.5,
                "y": rng.normal(0.3, width, n),
                "phi": np.repeat(rng.uniform(-np.pi, np.pi, n_jets) if phi0 is None else phi0, 1)
                + rng.normal(0.0, width, n),
                "pid": rng.choice([22, 211, -211, 130, 11, -13], n),
            }
        ),
        counts,
    )


def test_network_is_permutation_invariant_and_ignores_padding():
    torch.manual_seed(0)
    net = ParticleFlowNetwork(3, (16, 16), (16,))
    x = torch.randn(5, 12, 3)
    mask = torch.ones(5, 12, dtype=torch.bool)
    mask[:, 9:] = False
    out = net(x, mask)
    perm = torch.randperm(9)
    shuffled = torch.cat([x[:, perm], x[:, 9:]], dim=1)
    torch.testing.assert_close(net(shuffled, mask), out)
    garbage = x.clone()
    garbage[:, 9:] = 1e3 * torch.randn(5, 3, 3)
    torch.testing.assert_close(net(garbage, mask), out)
    longer = torch.cat([x[:, :9], torch.zeros(5, 20, 3)], dim=1)
    torch.testing.assert_close(net(longer, torch.arange(29) < 9 * torch.ones(5, 1)), out)


def test_particle_features_do_not_see_the_jet_scale_or_its_position():
    rng = np.random.default_rng(1)
    jets = _jets(rng, 30, phi0=np.pi - 0.05)  # straddles +-pi
    features, mask = jet_particle_features(jets, 50, pid=True)
    assert features.shape == (30, 50, 3 + len(PID_CLASSES)) and mask.sum() == ak.sum(ak.num(jets))
    np.testing.assert_allclose(features[..., 0].sum(axis=1), 1.0, rtol=1e-5)
    assert np.abs(features[..., 2][mask]).max() < 1.5  # relative azimuths stay small across +-pi
    scaled = ak.with_field(jets, jets["pt"] * 3.7, "pt")
    moved = ak.with_field(ak.with_field(scaled, jets["y"] + 1.1, "y"), jets["phi"] - 2.0, "phi")
    np.testing.assert_allclose(jet_particle_features(moved, 50, pid=True)[0], features, atol=2e-6)
    assert np.all(features[~mask] == 0)
    assert np.all(features[..., 3:][mask].sum(axis=-1) == 1.0)


def test_classifier_learns_a_shape_difference_and_reproduces():
    rng = np.random.default_rng(2)
    narrow, wide = _jets(rng, 400, width=0.05), _jets(rng, 400, width=0.25)
    X, mask = jet_particle_features(ak.concatenate([narrow, wide]), 40)
    y = np.repeat([0, 1], 400)
    test = rng.permutation(800)[:200]
    train = np.setdiff1d(np.arange(800), test)
    model = PFNClassifier(phi_sizes=(32, 32), f_sizes=(32,), max_epochs=20, device="cpu", seed=3)
    p = model.fit(X[train], mask[train], y[train]).predict_proba(X[test], mask[test])[:, 1]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[test], p) > 0.9
    again = PFNClassifier(phi_sizes=(32, 32), f_sizes=(32,), max_epochs=20, device="cpu", seed=3)
    np.testing.assert_array_equal(
        again.fit(X[train], mask[train], y[train]).predict_proba(X[test], mask[test])[:, 1], p
    )


def test_classifier_errors_name_the_problem():
    with pytest.raises(NotFittedError):
        PFNClassifier().decision_function(np.zeros((2, 3, 3)), np.ones((2, 3), bool))
    with pytest.raises(DataFormatError, match="mask must have shape"):
        PFNClassifier().fit(np.zeros((4, 3, 3)), np.ones((4, 2), bool), [0, 1, 0, 1])
    with pytest.raises(DataFormatError, match="particles must have shape"):
        PFNClassifier().fit(np.zeros((4, 3)), np.ones((4, 3), bool), [0, 1, 0, 1])

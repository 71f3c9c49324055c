"""Classifier ensembles: they learn, seeds reproduce, class weighting balances, bad input raises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._torch import train_with_early_stopping
from bumphunt.methods.classifiers import HGBEnsemble, MLPEnsemble, balanced_weights, stratified_split
from bumphunt.stats.metrics import auc

ENSEMBLES = {
    "hgb": lambda seed: HGBEnsemble(2, max_iter=50, seed=seed),
    "mlp": lambda seed: MLPEnsemble(2, hidden_layers=(16, 16), max_epochs=15, patience=3, seed=seed),
}


def gaussians(n: int, shift: float, seed: int, signal_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in 3 features; class 1 is shifted by ``shift`` in the first feature only."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < signal_fraction).astype(int)
    X = rng.normal(size=(n, 3))
    X[:, 0] += shift * y
    return X, y


@pytest.mark.parametrize("make", ENSEMBLES.values(), ids=ENSEMBLES.keys())
def test_ensemble_learns_and_reproduces(make) -> None:
    X, y = gaussians(2000, 2.0, seed=1)
    X_test, y_test = gaussians(2000, 2.0, seed=2)
    first = make(5).fit(X, y).predict_proba(X_test)
    # two unit-variance Gaussians 2 apart: the best possible AUC is Phi(2 / sqrt(2)) = 0.921
    assert auc(first[:, 1], y_test) > 0.90
    np.testing.assert_allclose(first.sum(axis=1), 1.0)
    np.testing.assert_array_equal(make(5).fit(X, y).predict_proba(X_test), first)
    assert not np.array_equal(make(6).fit(X, y).predict_proba(X_test), first)


@pytest.mark.parametrize("make", ENSEMBLES.values(), ids=ENSEMBLES.keys())
def test_balanced_class_weight_centres_uninformative_scores(make) -> None:
    X, y = gaussians(3000, 0.0, seed=3, signal_fraction=0.1)
    balanced = make(0).fit(X, y).predict_proba(X)[:, 1].mean()
    unweighted = make(0).set_params(class_weight=None).fit(X, y).predict_proba(X)[:, 1].mean()
    # without information the scores sit at the classes' weight fractions: 1/2 when balanced, else ~12 %
    assert balanced == pytest.approx(0.5, abs=0.07)
    assert unweighted == pytest.approx(y.mean(), abs=0.03)


def test_balanced_weights_give_equal_class_totals() -> None:
    y = np.array([0, 0, 0, 1])
    w = balanced_weights(y, np.array([1.0, 2.0, 1.0, 0.5]))
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())
    assert w.sum() == pytest.approx(4.5)
    np.testing.assert_allclose(w[:3] / w[0], [1.0, 2.0, 1.0])


def test_stratified_split_holds_out_each_class() -> None:
    y = np.array([0] * 90 + [1] * 10)
    train, validation = stratified_split(y, 0.2, np.random.default_rng(0))
    assert np.bincount(y[validation]).tolist() == [18, 2]
    assert np.intersect1d(train, validation).size == 0
    assert len(train) + len(validation) == 100


def _overfitting_problem() -> tuple[torch.nn.Module, Callable[..., torch.Tensor], list, list]:
    """A wide network on 40 noisy points overfits: the validation loss falls, then rises."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(80, 1, generator=generator)
    y = x[:, 0] + 0.5 * torch.randn(80, generator=generator)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(1, 256), torch.nn.Tanh(), torch.nn.Linear(256, 1))

    def loss(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (module(inputs)[:, 0] - targets) ** 2

    ones = torch.ones(40)
    return module, loss, [x[:40], y[:40], ones], [x[40:], y[40:], ones]


def test_early_stopping_restores_best_epoch() -> None:
    module, loss, train, validation = _overfitting_problem()
    history = train_with_early_stopping(
        module,
        loss,
        train,
        validation,
        max_epochs=300,
        batch_size=8,
        learning_rate=1e-2,
        weight_decay=0.0,
        patience=20,
        seed=1,
    )
    assert history.best_epoch == int(np.argmin(history.validation_loss))
    assert history.best_epoch < len(history.validation_loss) - 1
    assert history.validation_loss[-1] > min(history.validation_loss)
    with torch.no_grad():
        restored = float(loss(*validation[:2]).mean())
    assert restored == pytest.approx(min(history.validation_loss), rel=1e-5)
    assert set(history.learning_rate) == {1e-2}


def test_learning_rate_decays_when_the_validation_loss_stalls() -> None:
    module, loss, train, validation = _overfitting_problem()
    history = train_with_early_stopping(
        module, loss, train, validation, max_epochs=300, batch_size=8, learning_rate=1e-2,
        weight_decay=0.0, patience=20, seed=1, lr_decay=0.5, lr_patience=2,
    )  # fmt: skip
    rates = np.array(history.learning_rate)
    assert rates[0] == 1e-2 and np.all(np.diff(rates) <= 0)
    # each cut halves the rate, after at least lr_patience + 1 epochs without a new best loss
    cuts = np.flatnonzero(np.diff(rates) < 0) + 1
    assert len(cuts) >= 2
    np.testing.assert_allclose(rates[cuts] / rates[cuts - 1], 0.5)
    best = np.minimum.accumulate(history.validation_loss)
    for epoch in cuts:
        assert best[epoch - 1] == best[epoch - 3]


def test_cosine_warmup_rises_linearly_then_anneals() -> None:
    module, loss, train, validation = _overfitting_problem()
    history = train_with_early_stopping(
        module, loss, train, validation, max_epochs=20, batch_size=8, learning_rate=1e-2,
        weight_decay=0.0, patience=100, seed=1, cosine=True, warmup_epochs=2,
    )  # fmt: skip
    rates = np.array(history.learning_rate)  # at the start of each epoch of 5 batches
    cosine = 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * 5 * np.arange(20) / 100))
    ramp = np.minimum(1.0, (5 * np.arange(20) + 1) / 10)
    np.testing.assert_allclose(rates, 1e-2 * ramp * cosine, rtol=1e-9)
    assert rates[0] == pytest.approx(1e-3) and rates.argmax() == 2
    with pytest.raises(ConfigError, match="warmup_epochs needs the cosine"):
        train_with_early_stopping(
            module, loss, train, validation, max_epochs=5, batch_size=8, learning_rate=1e-2,
            weight_decay=0.0, patience=5, seed=1, warmup_epochs=1,
        )  # fmt: skip


@pytest.mark.parametrize("cosine", [False, True])
def test_rollback_undoes_a_diverging_epoch_and_halves_the_rate(cosine) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1, generator=generator)
    y = 3.0 * x[:, 0] + 0.1 * torch.randn(64, generator=generator)
    torch.manual_seed(0)
    module = torch.nn.Linear(1, 1)

    def loss(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (module(inputs)[:, 0] - targets) ** 2

    ones = torch.ones(32)
    # Adam's steps of about the learning rate overshoot a slope of 3 by far at a rate of 20
    history = train_with_early_stopping(
        module, loss, [x[:32], y[:32], ones], [x[32:], y[32:], ones], max_epochs=60, batch_size=8,
        learning_rate=20.0, weight_decay=0.0, patience=60, seed=1, cosine=cosine, rollback=2.0,
    )  # fmt: skip
    losses, rates = np.array(history.validation_loss), np.array(history.learning_rate)
    best_before = np.minimum.accumulate(np.concatenate([[np.inf], losses]))[:-1]
    undone = np.flatnonzero(~(losses <= 2.0 * best_before) & np.isfinite(best_before))
    assert len(undone) >= 1 and undone[-1] < len(losses) - 1
    # the epoch after each undone one starts at half the rate the schedule alone would give
    for epoch in undone:
        assert rates[epoch + 1] < 0.5 * rates[epoch] * 1.001
    with torch.no_grad():
        restored = float(loss(x[32:], y[32:]).mean())
    assert restored == pytest.approx(losses.min(), rel=1e-5) and losses.min() < 0.1
    assert history.best_epoch == int(np.argmin(losses))


def test_bad_inputs() -> None:
    X, y = gaussians(100, 1.0, seed=0)
    with pytest.raises(DataFormatError, match="only the labels 0 and 1"):
        HGBEnsemble(1).fit(X, y + 1)
    with pytest.raises(DataFormatError, match="both classes"):
        HGBEnsemble(1).fit(X, np.zeros(100))
    with pytest.raises(DataFormatError, match=r"y must have shape \(100,\)"):
        HGBEnsemble(1).fit(X, y[:50])
    with pytest.raises(DataFormatError, match="sample_weight must be finite and >= 0"):
        HGBEnsemble(1).fit(X, y, sample_weight=-np.ones(100))
    with pytest.raises(ConfigError, match="n_members must be a positive integer"):
        HGBEnsemble(0).fit(X, y)
    with pytest.raises(ConfigError, match="validation_fraction must lie in"):
        MLPEnsemble(1, validation_fraction=1.0).fit(X, y)
    with pytest.raises(ConfigError, match="MLPEnsemble patience must be a positive integer"):
        MLPEnsemble(1, patience=0).fit(X, y)
    with pytest.raises(ConfigError, match="hidden_layers must be positive widths"):
        MLPEnsemble(1, hidden_layers=(8, 0)).fit(X, y)
    with pytest.raises(ConfigError, match="class_weight must be"):
        HGBEnsemble(1, class_weight="auto").fit(X, y)
    with pytest.raises(ConfigError, match=r"HGBEnsemble: .*learning_rate"):
        HGBEnsemble(1, learning_rate=-1.0).fit(X, y)
    with pytest.raises(NotFittedError, match="call fit"):
        HGBEnsemble(1).predict_proba(X)
    with pytest.raises(DataFormatError, match="X has 2 features but HGBEnsemble was fitted on 3"):
        HGBEnsemble(1, max_iter=5).fit(X, y).predict_proba(X[:, :2])

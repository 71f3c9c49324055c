"""Mimickers of an anomaly score: the high-level (HLN) and the paired (PNN) network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods.mimickers import HighLevelNetwork, PairedNetwork
from bumphunt.stats.ordering import average_decision_ordering

SETTINGS = {"max_epochs": 40, "patience": 5, "device": "cpu", "hidden_layers": (32, 32)}


def _score(X: np.ndarray) -> np.ndarray:
    """A positive anomaly score that depends on the first two of four observables only."""
    return np.exp(X[:, 0] ** 2 + 0.5 * X[:, 1])


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(0)
    return rng.normal(size=(3000, 4)), rng.normal(size=(2000, 4))


@pytest.mark.parametrize("kind", [HighLevelNetwork, PairedNetwork])
def test_mimickers_reproduce_the_ordering_from_the_observables_it_depends_on(kind, events):
    train, test = events
    model = kind(seed=1, **SETTINGS).fit(train, _score(train))
    assert average_decision_ordering(_score(test), model.score(test)) > 0.95
    # without the two observables that matter there is nothing to mimic
    blind = clone(model).fit(train[:, 2:], _score(train))
    assert average_decision_ordering(_score(test), blind.score(test[:, 2:])) == pytest.approx(0.5, abs=0.05)
    # the same seed gives the same network
    again = kind(seed=1, **SETTINGS).fit(train, _score(train))
    np.testing.assert_array_equal(again.score(test), model.score(test))


def test_the_paired_network_is_antisymmetric_under_swapping_the_pair(events):
    train, test = events
    model = PairedNetwork(seed=2, **SETTINGS).fit(train, _score(train))
    first, second = test[:500], test[500:1000]
    np.testing.assert_allclose(model.pair_logit(first, second), -model.pair_logit(second, first))
    np.testing.assert_allclose(
        model.pair_probability(first, second) + model.pair_probability(second, first), 1.0
    )
    # it says which of a pair the score ranks higher
    agree = (model.pair_probability(first, second) > 0.5) == (_score(first) > _score(second))
    assert agree.mean() > 0.9


def _with_zeros(X: np.ndarray) -> np.ndarray:
    """Log-normal observables spanning orders of magnitude; the third is zero on a fifth of the events
    (like the pT share of an outer ring), the fourth takes both signs."""
    out = np.exp(2.0 * X)
    out[:, 2] = np.where(X[:, 2] > 0.84, 0.0, out[:, 2])
    out[:, 3] = X[:, 3]
    return out


@pytest.mark.parametrize("kind", [HighLevelNetwork, PairedNetwork])
def test_non_negative_observables_enter_as_logarithms(kind, events):
    train, test = events
    positive = _with_zeros(train)
    model = kind(seed=3, **SETTINGS).fit(positive, _score(train))
    np.testing.assert_array_equal(model.log_columns_, [True, True, True, False])
    # the column with zeros is shifted by half its smallest positive value, the others not at all
    offset = 0.5 * positive[positive[:, 2] > 0, 2].min()
    np.testing.assert_allclose(model.log_offset_, [0.0, 0.0, offset, 0.0])

    def by_hand_log(X: np.ndarray) -> np.ndarray:
        out = X.copy()
        shifted = X[:, :3] + model.log_offset_[:3]
        # a value below the training range is taken at the training minimum (a log of 0 does not exist)
        out[:, :3] = np.log(np.maximum(shifted, (positive[:, :3] + model.log_offset_[:3]).min(axis=0)))
        return out

    by_hand = kind(seed=3, log_inputs=False, **SETTINGS).fit(by_hand_log(positive), _score(train))
    test_positive = _with_zeros(test)
    np.testing.assert_allclose(
        model.score(test_positive), by_hand.score(by_hand_log(test_positive)), rtol=1e-5, atol=1e-6
    )
    # zeros, and a negative value where training saw none, land at the (shifted) training minimum
    test_positive[:5, 0] = 0.0
    test_positive[:5, 2] = -1.0
    floor = by_hand_log(test_positive[:5])
    np.testing.assert_allclose(floor[:, 0], np.log(positive[:, 0].min()))
    np.testing.assert_allclose(floor[:, 2], np.log(offset))
    np.testing.assert_allclose(model.score(test_positive[:5]), by_hand.score(floor), rtol=1e-5, atol=1e-6)
    # an observable that is negative or zero on every training event stays as it is
    negative = positive.copy()
    negative[:, 0] = -positive[:, 0]
    negative[:, 1] = np.minimum(train[:, 1], 0.0)
    again = clone(model).fit(negative, _score(train))
    np.testing.assert_array_equal(again.log_columns_, [False, False, True, False])
    # and with log_inputs=False nothing is logged
    assert not by_hand.log_columns_.any()


def test_bad_input_is_named(events):
    train, _ = events
    with pytest.raises(DataFormatError, match="positive target"):
        HighLevelNetwork(**SETTINGS).fit(train, -_score(train))
    with pytest.raises(DataFormatError, match=r"target has shape \(5,\)"):
        PairedNetwork(**SETTINGS).fit(train, np.ones(5))
    with pytest.raises(ConfigError, match="pairs_per_event must be a positive integer"):
        PairedNetwork(pairs_per_event=0).fit(train, _score(train))
    with pytest.raises(ConfigError, match="hidden_layers"):
        HighLevelNetwork(hidden_layers=()).fit(train, _score(train))
    with pytest.raises(NotFittedError):
        PairedNetwork().score(train)
    model = HighLevelNetwork(**SETTINGS).fit(train[:200], _score(train[:200]))
    with pytest.raises(DataFormatError, match="fitted on 4 observables, got 3"):
        model.score(train[:, :3])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", [HighLevelNetwork, PairedNetwork])
def test_mimickers_on_cuda_reproduce_the_ordering(kind, events):
    train, test = events
    settings = {**SETTINGS, "device": "auto"}
    model = kind(seed=1, **settings).fit(_with_zeros(train), _score(train))
    assert model.device_.type == "cuda"
    scores = model.score(_with_zeros(test))
    assert scores.dtype == np.float64
    assert average_decision_ordering(_score(test), scores) > 0.93
    if kind is PairedNetwork:
        first, second = _with_zeros(test[:500]), _with_zeros(test[500:1000])
        np.testing.assert_allclose(model.pair_logit(first, second), -model.pair_logit(second, first))

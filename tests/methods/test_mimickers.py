"""Mimickers of an anomaly score: the high-level (HLN) and the paired (PNN) network."""

from __future__ import annotations

import numpy as np
import pytest
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


@pytest.mark.parametrize("kind", [HighLevelNetwork, PairedNetwork])
def test_positive_observables_enter_as_logarithms(kind, events):
    train, test = events
    positive = np.exp(2.0 * train)  # log-normal observables spanning orders of magnitude
    positive[:, 3] = train[:, 3]  # one that takes both signs stays as it is
    model = kind(seed=3, **SETTINGS).fit(positive, _score(train))
    np.testing.assert_array_equal(model.log_columns_, [True, True, True, False])
    logged = positive.copy()
    logged[:, :3] = np.log(positive[:, :3])
    by_hand = kind(seed=3, log_inputs=False, **SETTINGS).fit(logged, _score(train))
    test_positive = np.exp(2.0 * test)
    test_positive[:, 3] = test[:, 3]
    test_logged = test_positive.copy()
    # a value below the training range is taken at the training minimum (a log of 0 does not exist)
    test_logged[:, :3] = np.log(np.maximum(test_positive[:, :3], positive[:, :3].min(axis=0)))
    np.testing.assert_allclose(model.score(test_positive), by_hand.score(test_logged), rtol=1e-5, atol=1e-6)
    test_positive[:5, 0] = 0.0
    floor = test_logged.copy()
    floor[:5, 0] = np.log(positive[:, 0].min())
    np.testing.assert_allclose(model.score(test_positive[:5]), by_hand.score(floor[:5]), rtol=1e-5, atol=1e-6)


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

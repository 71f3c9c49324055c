"""Toys and small settings for the tests of bumphunt.methods (seconds on one CPU core)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from bumphunt.events import EventSet, Window
from bumphunt.methods.classifiers import HGBEnsemble

#: Centre (in feature space) and spread of the signal cluster of the toy.
SIGNAL_CENTRE = (2.0, 2.0, 0.0)
SIGNAL_SPREAD = 0.3


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


def _toy_events(n_background: int, n_signal: int, seed: int) -> EventSet:
    rng = np.random.default_rng(seed)
    mass = np.concatenate([rng.uniform(2900.0, 4100.0, n_background), rng.normal(3500.0, 50.0, n_signal)])
    features = np.concatenate(
        [rng.normal(size=(n_background, 3)), rng.normal(SIGNAL_CENTRE, SIGNAL_SPREAD, size=(n_signal, 3))]
    )
    labels = np.concatenate([np.zeros(n_background, dtype=int), np.ones(n_signal, dtype=int)])
    return EventSet(mass, features, ("a", "b", "c"), label=labels, provenance={"source": f"toy {seed}"})


@pytest.fixture
def toy() -> Callable[[int, int, int], EventSet]:
    """``toy(n_background, n_signal, seed)``: background flat in mass (2900-4100 GeV) with three
    standard-normal features independent of the mass; signal at 3500 +- 50 GeV in a tight cluster
    (spread 0.3) around (2, 2, 0). Labels 0 (background) and 1 (signal)."""
    return _toy_events


@pytest.fixture
def window() -> Window:
    """SR 3300-3700 GeV with 400 GeV sidebands."""
    return Window(sr=(3300.0, 3700.0), sb=((2900.0, 3300.0), (3700.0, 4100.0)))


@pytest.fixture
def classifier() -> HGBEnsemble:
    """A fast boosted-tree ensemble."""
    return HGBEnsemble(2, max_iter=50)


class LookupTable(ClassifierMixin, BaseEstimator):
    """Memorizes its training events: the label of an event it saw, 0.5 for any other event."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> LookupTable:
        self.table_ = {row.tobytes(): float(label) for row, label in zip(np.asarray(X), y, strict=True)}
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.array([self.table_.get(row.tobytes(), 0.5) for row in np.asarray(X, dtype=np.float64)])
        return np.column_stack([1.0 - p, p])


@pytest.fixture
def lookup_table() -> LookupTable:
    """A memorizing classifier (unfitted)."""
    return LookupTable()


class MemorizingFlow(BaseEstimator):
    """A flow that learned its training events by heart: its samples are copies of them.

    The extreme of a flow that overfits; with :class:`LookupTable` it shows whether a sideband event
    is ever scored through a background model built from that same event.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(
        self, X: np.ndarray, m: np.ndarray, sample_weight: np.ndarray | None = None, *, validation=None
    ) -> MemorizingFlow:
        self.events_ = np.array(X, dtype=np.float64)
        return self

    def sample(self, n: int, m: np.ndarray, *, seed: int | None = None) -> np.ndarray:
        rng = np.random.default_rng(self.seed if seed is None else seed)
        return self.events_[rng.integers(len(self.events_), size=n)]


@pytest.fixture
def memorizing_flow() -> MemorizingFlow:
    """A flow whose samples are copies of its training events (unfitted)."""
    return MemorizingFlow()


class MemorizingAutoencoder(BaseEstimator):
    """An autoencoder that rebuilds its training events perfectly (score 0) and says 0.5 for others."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray) -> MemorizingAutoencoder:
        self.seen_ = {row.tobytes() for row in np.asarray(X, dtype=np.float64)}
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        return np.array(
            [0.0 if row.tobytes() in self.seen_ else 0.5 for row in np.asarray(X, dtype=np.float64)]
        )


@pytest.fixture
def memorizing_autoencoder() -> MemorizingAutoencoder:
    """An autoencoder that remembers its training events (unfitted)."""
    return MemorizingAutoencoder()

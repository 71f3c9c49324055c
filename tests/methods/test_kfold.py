"""K-fold training: out-of-fold scores never come from a model that saw the event."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.methods.classifiers import HGBEnsemble
from bumphunt.methods.kfold import KFoldClassifier, assign_folds, with_seed


def random_labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.integers(0, 2, n)


def test_out_of_fold_scores_are_never_memorized(lookup_table) -> None:
    X, y = random_labels(300, 0)
    folds = assign_folds(len(X), 5, seed=1)
    model = KFoldClassifier(lookup_table).fit(X, y, folds=folds)
    # Every model memorizes its training events perfectly ...
    for k, fold_model in enumerate(model.models_):
        np.testing.assert_array_equal(fold_model.predict_proba(X[folds != k])[:, 1], y[folds != k])
    # ... yet no event gets the label its scoring model memorized: that model never saw it.
    np.testing.assert_array_equal(model.oof_scores_, 0.5)
    # New events get the average of the fold models: a training event was seen by 4 of the 5.
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], (4 * y + 0.5) / 5)


def test_out_of_fold_nearest_neighbour_is_chance_on_random_labels() -> None:
    X, y = random_labels(2000, 2)
    model = KFoldClassifier(KNeighborsClassifier(n_neighbors=1)).fit(
        X, y, folds=assign_folds(2000, 4, seed=3)
    )
    in_sample = model.models_[0].predict_proba(X[model.folds_ != 0])[:, 1]
    assert np.mean(in_sample == y[model.folds_ != 0]) == 1.0
    # out of fold, 1-NN on random labels is right half of the time (binomial sd 0.011)
    assert np.mean(model.oof_scores_ == y) == pytest.approx(0.5, abs=0.04)


def test_assign_folds_is_balanced_and_seeded() -> None:
    folds = assign_folds(103, 5, seed=4)
    assert sorted(np.bincount(folds).tolist()) == [20, 20, 21, 21, 21]
    np.testing.assert_array_equal(folds, assign_folds(103, 5, seed=4))
    assert not np.array_equal(folds, assign_folds(103, 5, seed=5))


def test_fold_models_get_distinct_seeds() -> None:
    X, y = random_labels(200, 6)
    model = KFoldClassifier(HGBEnsemble(1, max_iter=5), seed=7).fit(X, y, folds=assign_folds(200, 3, seed=0))
    seeds = [m.seed for m in model.models_]
    assert len(set(seeds)) == 3
    assert with_seed(KNeighborsClassifier(), 3).get_params()["n_neighbors"] == 5


def test_bad_inputs(lookup_table) -> None:
    X, y = random_labels(10, 0)
    with pytest.raises(ConfigError, match="n_folds must be an integer >= 2"):
        assign_folds(10, 1, seed=0)
    with pytest.raises(ConfigError, match="need at least as many events"):
        assign_folds(3, 5, seed=0)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        assign_folds(10, 2, seed=None)
    with pytest.raises(DataFormatError, match="without gaps"):
        KFoldClassifier(lookup_table).fit(X, y, folds=np.array([0, 2] * 5))
    with pytest.raises(DataFormatError, match="folds must be integers"):
        KFoldClassifier(lookup_table).fit(X, y, folds=np.zeros(10) + 0.5)

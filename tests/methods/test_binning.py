"""Quantile binning: scikit-learn's edges from one sort, and boosted trees that do not change with it."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods.binning import QuantileBins, quantile_thresholds
from bumphunt.methods.classifiers import HGBEnsemble, balanced_weights, stratified_split

SKLEARN_WEIGHTED_BINNING = tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 9)


def features(n: int, seed: int) -> np.ndarray:
    """Continuous, skewed, few-valued and many-valued integer columns."""
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.normal(size=n),
            rng.exponential(size=n),
            rng.integers(0, 20, n).astype(float),
            rng.integers(0, 400, n).astype(float),
        ]
    )


def test_unit_weights_give_numpy_averaged_inverted_cdf() -> None:
    x = np.random.default_rng(0).normal(size=5000)
    expected = np.percentile(x, np.linspace(0, 100, 256)[1:-1], method="averaged_inverted_cdf")
    np.testing.assert_array_equal(quantile_thresholds(x), expected)


def test_integer_weights_equal_repeated_events() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=3000)
    w = rng.integers(0, 4, size=x.size)
    np.testing.assert_array_equal(quantile_thresholds(x, w), quantile_thresholds(np.repeat(x, w)))


def test_few_distinct_values_give_midpoints() -> None:
    x = np.array([3.0, 1.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(quantile_thresholds(x), [1.5, 2.5])
    assert quantile_thresholds(np.ones(10)).size == 0
    # zero-weight events do not count
    np.testing.assert_array_equal(quantile_thresholds(x, [1, 1, 1, 0, 1]), [2.0])


@pytest.mark.skipif(not SKLEARN_WEIGHTED_BINNING, reason="scikit-learn < 1.9 bins at unweighted quantiles")
@pytest.mark.parametrize("weighted", [False, True])
def test_edges_equal_scikit_learn(weighted: bool) -> None:
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

    X = features(20_000, seed=2)
    w = np.where(np.random.default_rng(3).random(len(X)) < 0.3, 3.7, 0.41) if weighted else None
    reference = _BinMapper(n_bins=256, subsample=None).fit(X, sample_weight=w)
    ours = QuantileBins().fit(X, w)
    for theirs, mine in zip(reference.bin_thresholds_, ours.thresholds_, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(ours.transform(X), reference.transform(X))


def test_hgb_members_share_the_bins_of_all_events() -> None:
    """The ensemble bins its events once; each member is scikit-learn on those bins, its split, weights."""
    X = features(6000, seed=4)
    y = (X[:, 0] + 0.3 * X[:, 1] + np.random.default_rng(5).normal(size=len(X)) > 1.2).astype(int)
    X_test = features(3000, seed=6)
    ensemble = HGBEnsemble(2, max_iter=40, seed=7).fit(X, y)
    w = balanced_weights(y, np.ones(len(y)))
    shared = QuantileBins().fit(X, w)
    for mine, expected in zip(ensemble.bins_.thresholds_, shared.thresholds_, strict=True):
        np.testing.assert_array_equal(mine, expected)
    binned = shared.transform(X)
    from bumphunt.seeding import child_seeds

    probabilities = []
    for member, child in zip(ensemble.members_, child_seeds(7, 2), strict=True):
        train, val = stratified_split(y, 0.2, np.random.default_rng(child))
        seed = member.random_state
        raw = HistGradientBoostingClassifier(
            max_iter=40, early_stopping=True, scoring="loss", n_iter_no_change=10, random_state=seed
        ).fit(
            binned[train], y[train], sample_weight=w[train], X_val=binned[val], y_val=y[val],
            sample_weight_val=w[val],
        )  # fmt: skip
        assert raw.n_iter_ == member.n_iter_
        probabilities.append(raw.predict_proba(shared.transform(X_test))[:, 1])
    np.testing.assert_allclose(
        ensemble.predict_proba(X_test)[:, 1], np.mean(probabilities, axis=0), rtol=1e-12
    )


def test_bad_input() -> None:
    with pytest.raises(NotFittedError):
        QuantileBins().transform(np.zeros((2, 1)))
    with pytest.raises(ConfigError, match="max_bins"):
        QuantileBins(max_bins=300).fit(np.zeros((2, 1)))
    bins = QuantileBins().fit(np.zeros((3, 2)))
    with pytest.raises(DataFormatError, match="fitted on 2"):
        bins.transform(np.zeros((3, 3)))
    with pytest.raises(DataFormatError, match="NaN"):
        QuantileBins().fit(np.array([[np.nan], [1.0]]))

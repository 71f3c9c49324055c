"""ROC, AUC, SIC and background rejection against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.stats.metrics import (
    DEFAULT_MIN_BACKGROUND,
    auc,
    background_rejection,
    max_sic,
    roc_curve,
    sic_curve,
)

# 4 signal and 6 background events; selecting score >= t for each distinct score t
SCORES = np.array([0.9, 0.8, 0.7, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
LABELS = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])


def test_roc_curve_by_hand() -> None:
    curve = roc_curve(SCORES, LABELS)
    np.testing.assert_array_equal(curve.thresholds, [np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    np.testing.assert_allclose(curve.eps_s, np.array([0, 1, 2, 3, 3, 3, 4, 4, 4, 4]) / 4)
    np.testing.assert_allclose(curve.eps_b, np.array([0, 0, 0, 1, 2, 3, 3, 4, 5, 6]) / 6)
    np.testing.assert_array_equal(curve.n_background, [0, 0, 0, 1, 2, 3, 3, 4, 5, 6])


def test_auc_by_hand_and_against_sklearn() -> None:
    # pairs (signal above background): 6 + 6 + (5 + tie 1/2) + 3 = 20.5 of 24
    assert auc(SCORES, LABELS) == pytest.approx(20.5 / 24)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 3000)
    scores = np.round(rng.normal(labels * 0.7), 1)  # many ties
    weights = rng.uniform(0.1, 3.0, 3000)
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert auc(scores, labels, weights) == pytest.approx(
        roc_auc_score(labels, scores, sample_weight=weights), abs=1e-12
    )
    assert auc(-scores, labels) == pytest.approx(1.0 - auc(scores, labels), abs=1e-12)
    assert auc(labels.astype(float), labels) == 1.0


def test_sic_keeps_only_thresholds_with_enough_background() -> None:
    curve = sic_curve(SCORES, LABELS, min_background=2)
    np.testing.assert_array_equal(curve.n_background, [2, 3, 3, 4, 5, 6])
    assert np.all(curve.n_background >= 2)
    # best allowed point: eps_s = 1 at eps_b = 3/6 -> SIC = sqrt(2); the tighter cut with eps_s 3/4 at
    # eps_b 1/6 (SIC 1.84) keeps only 1 background event and is excluded
    assert max_sic(SCORES, LABELS, min_background=2) == pytest.approx(np.sqrt(2.0))
    assert max_sic(SCORES, LABELS, min_background=1) == pytest.approx(0.75 / np.sqrt(1 / 6))
    assert curve.min_background == 2


def test_max_sic_of_a_known_separation() -> None:
    # the signal scores above every background event: a cut keeping a fraction eps_b of the
    # background keeps all the signal, so SIC = 1 / sqrt(eps_b), largest at the tightest allowed cut
    rng = np.random.default_rng(1)
    background = rng.uniform(0.0, 1.0, 10000)
    signal = rng.uniform(1.0, 2.0, 100)
    scores = np.concatenate([background, signal])
    labels = np.concatenate([np.zeros(10000, dtype=int), np.ones(100, dtype=int)])
    # with >= 50 background events the tightest cut keeps eps_b = 50/10000: SIC = 1/sqrt(0.005) = 14.1
    assert DEFAULT_MIN_BACKGROUND == 50
    assert max_sic(scores, labels) == pytest.approx(1.0 / np.sqrt(0.005), rel=1e-12)
    assert max_sic(scores, labels, min_background=5) == pytest.approx(1.0 / np.sqrt(0.0005), rel=1e-12)


def test_background_rejection_by_hand() -> None:
    assert background_rejection(SCORES, LABELS, 0.5) == np.inf  # two signal events above all background
    assert background_rejection(SCORES, LABELS, 0.75) == pytest.approx(6.0)
    assert background_rejection(SCORES, LABELS, 0.8) == pytest.approx(2.0)  # needs the fourth signal event
    assert background_rejection(SCORES, LABELS, 1.0) == pytest.approx(2.0)


def test_bad_inputs() -> None:
    with pytest.raises(DataFormatError, match="equal length"):
        auc(SCORES, LABELS[:5])
    with pytest.raises(DataFormatError, match="1 NaN/inf values"):
        auc(np.where(SCORES > 0.85, np.nan, SCORES), LABELS)
    with pytest.raises(DataFormatError, match="labels must be 0"):
        auc(SCORES, LABELS + 1)
    with pytest.raises(DataFormatError, match=r"signal events \(label 1\) are missing"):
        auc(SCORES, np.zeros(10, dtype=int))
    with pytest.raises(DataFormatError, match="weights must be finite"):
        auc(SCORES, LABELS, -np.ones(10))
    with pytest.raises(ConfigError, match="min_background=50 but only 6 background events"):
        max_sic(SCORES, LABELS)
    with pytest.raises(ConfigError, match="min_background must be a positive integer"):
        sic_curve(SCORES, LABELS, min_background=0)
    with pytest.raises(ConfigError, match="signal_efficiency must lie in"):
        background_rejection(SCORES, LABELS, 0.0)

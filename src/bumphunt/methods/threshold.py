"""The best single cut on one variable: a baseline classifier with the scikit-learn estimator API."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from bumphunt.errors import ConfigError
from bumphunt.methods._validation import as_matrix, binary_labels

__all__ = ["ThresholdClassifier"]


class ThresholdClassifier(ClassifierMixin, BaseEstimator):
    """Predicts class 1 on one side of a cut on a single feature, the cut and side that classify the
    training events best (largest weighted accuracy).

    The cut lies halfway between the two training values that it separates; ``direction`` +1 means
    "above the cut is class 1". Ties in accuracy go to the lower cut.

    Attributes
    ----------
    threshold_ : float
        The cut.
    direction_ : int
        +1 (class 1 above) or -1 (class 1 below).
    train_accuracy_ : float
        Weighted accuracy on the training events.
    """

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> ThresholdClassifier:
        """Choose the cut on the single column of ``X`` (shape ``(n, 1)``) that maximizes accuracy."""
        x = self._column(X)
        y = binary_labels(y, len(x))
        w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        order = np.argsort(x, kind="stable")
        x, y, w = x[order], y[order], w[order]
        # events at or below cut position k (k = 0: none): weight of class 0 and of class 1
        below0 = np.concatenate([[0.0], np.cumsum(w * (y == 0))])
        below1 = np.concatenate([[0.0], np.cumsum(w * (y == 1))])
        total0, total1 = below0[-1], below1[-1]
        # only cut between distinct values
        valid = np.concatenate([[True], x[1:] != x[:-1], [True]])
        above_is_1 = below0 + (total1 - below1)
        below_is_1 = below1 + (total0 - below0)
        score = np.where(valid, np.maximum(above_is_1, below_is_1), -np.inf)
        k = int(np.argmax(score))
        edges = np.concatenate([[x[0] - 1.0], (x[:-1] + x[1:]) / 2, [x[-1] + 1.0]])
        self.threshold_ = float(edges[k])
        self.direction_ = 1 if above_is_1[k] >= below_is_1[k] else -1
        self.train_accuracy_ = float(score[k] / (total0 + total1))
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 1
        return self

    @staticmethod
    def _column(X: npt.ArrayLike) -> np.ndarray:
        X = as_matrix(X)
        if X.shape[1] != 1:
            raise ConfigError(f"ThresholdClassifier takes one feature (shape (n, 1)), got shape {X.shape}")
        return X[:, 0]

    def decision_function(self, X: npt.ArrayLike) -> np.ndarray:
        """Signed distance from the cut, positive on the class-1 side."""
        check_is_fitted(self, "threshold_")
        return self.direction_ * (self._column(X) - self.threshold_)

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """0 or 1 for each event."""
        return (self.decision_function(X) > 0).astype(np.int64)

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Hard probabilities (0 or 1) of the two classes."""
        p = self.predict(X).astype(np.float64)
        return np.column_stack([1 - p, p])

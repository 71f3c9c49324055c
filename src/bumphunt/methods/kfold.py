"""K-fold training: every training event gets a score from a model that never saw it.

The events are split into ``n_folds`` folds. Model ``k`` is trained on all folds but ``k`` and scores the
events of fold ``k`` (their *out-of-fold* scores). New events get the average of the ``n_folds`` models.
In weak supervision the signal-region events are both the training data and the events to select, so
their scores must be out-of-fold: a model that saw an event would score it as what it was told it is.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, clone

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._progress import ProgressCallback, report
from bumphunt.methods._validation import as_matrix, event_weights
from bumphunt.methods.classifiers import HGBEnsemble
from bumphunt.seeding import SeedLike, child_seeds, seed_sequence

__all__ = ["KFoldClassifier", "assign_folds", "with_seed"]

logger = logging.getLogger(__name__)


def assign_folds(n: int, n_folds: int, seed: SeedLike) -> np.ndarray:
    """A random fold index in ``0 .. n_folds - 1`` for each of ``n`` events; fold sizes differ by <= 1.

    The assignment depends only on ``n``, ``n_folds`` and ``seed``, so two detectors given the same SR
    events and seed use the same folds.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``n_folds`` is not an integer >= 2 or exceeds ``n``.
    """
    if not (isinstance(n_folds, int) and n_folds >= 2):
        raise ConfigError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    if n < n_folds:
        raise ConfigError(f"n_folds={n_folds} folds need at least as many events, got {n}")
    rng = np.random.default_rng(seed_sequence(seed))
    return rng.permutation(np.arange(n) % n_folds)


def with_seed(estimator: Any, seed: int) -> Any:
    """A clone of ``estimator`` with its ``seed`` (or else ``random_state``) parameter set to ``seed``.

    Estimators with neither parameter are cloned unchanged.
    """
    estimator = clone(estimator)
    params = estimator.get_params(deep=False)
    if "seed" in params:
        estimator.set_params(seed=seed)
    elif "random_state" in params:
        estimator.set_params(random_state=seed % 2**32)
    return estimator


class KFoldClassifier(BaseEstimator):
    """Train one clone of ``classifier`` per fold; out-of-fold scores for the training events.

    Parameters
    ----------
    classifier
        Any scikit-learn style binary classifier (``fit(X, y[, sample_weight])``, ``predict_proba``);
        default :class:`~bumphunt.methods.classifiers.HGBEnsemble`. Its ``seed`` / ``random_state``
        is replaced per fold by a seed derived from ``seed``.
    seed
        Seed of the per-fold classifier seeds.
    progress
        ``progress(folds_done, n_folds)`` after each fold.

    Attributes
    ----------
    models_ : list
        The fitted classifier of each fold; ``models_[k]`` never saw fold ``k``.
    oof_scores_ : numpy.ndarray
        Shape ``(n_events,)``: probability of class 1 for each training event from the model of its fold.
    folds_ : numpy.ndarray
        The fold of each training event.
    """

    def __init__(
        self, classifier: Any = None, *, seed: SeedLike = 0, progress: ProgressCallback | None = None
    ) -> None:
        self.classifier = classifier
        self.seed = seed
        self.progress = progress

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        folds: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
    ) -> KFoldClassifier:
        """Train the fold models and compute the out-of-fold scores; returns self.

        Parameters
        ----------
        X, y
            Features ``(n_events, n_features)`` and labels 0/1.
        folds
            Fold index of each event, integers ``0 .. n_folds - 1``, every fold non-empty
            (see :func:`assign_folds`).
        sample_weight
            Event weights, or ``None``; passed to the classifier only when given.
        """
        matrix = as_matrix(X)
        labels = np.asarray(y)
        if labels.shape != (len(matrix),):
            raise DataFormatError(f"y must have shape ({len(matrix)},) to match X, got {labels.shape}")
        fold_index = np.asarray(folds)
        if fold_index.shape != (len(matrix),) or fold_index.dtype.kind not in "iu":
            raise DataFormatError(f"folds must be integers of shape ({len(matrix)},), got {fold_index.shape}")
        n_folds = int(fold_index.max()) + 1 if len(fold_index) else 0
        if n_folds < 2 or fold_index.min() < 0 or np.any(np.bincount(fold_index, minlength=n_folds) == 0):
            raise DataFormatError(
                f"folds must number the folds 0 .. n_folds - 1 (n_folds >= 2) without gaps, "
                f"got counts {np.bincount(np.clip(fold_index, 0, None)).tolist()}"
            )
        weights = None if sample_weight is None else event_weights(sample_weight, len(matrix))
        base = HGBEnsemble() if self.classifier is None else self.classifier
        models = []
        oof = np.empty(len(matrix))
        for k, seed in enumerate(child_seeds(self.seed, n_folds)):
            test = fold_index == k
            train = ~test
            model = with_seed(base, seed)
            if weights is None:
                model.fit(matrix[train], labels[train])
            else:
                model.fit(matrix[train], labels[train], sample_weight=weights[train])
            oof[test] = model.predict_proba(matrix[test])[:, 1]
            models.append(model)
            logger.debug("fold %d of %d: trained on %d events", k + 1, n_folds, int(train.sum()))
            report(self.progress, k + 1, n_folds)
        self.models_ = models
        self.oof_scores_ = oof
        self.folds_ = fold_index
        return self

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Average over the fold models of the class probabilities, shape ``(n_events, 2)``."""
        if not hasattr(self, "models_"):
            raise NotFittedError("KFoldClassifier is not fitted; call fit(X, y, folds=...) first")
        matrix = as_matrix(X)
        return np.mean([model.predict_proba(matrix) for model in self.models_], axis=0)

    def fold_scores(self, X: npt.ArrayLike, folds: npt.ArrayLike) -> np.ndarray:
        """Probability of class 1 of each event from the one model of its fold, shape ``(n_events,)``.

        Events not used in training, scored like the out-of-fold training events: each by a single fold
        model (``models_[folds[i]]``), not by the average of all. An average of ``n_folds`` models varies
        less from event to event than one model, so a cut set on averaged scores keeps a different
        fraction of events than the same cut on out-of-fold scores; scores compared with
        ``oof_scores_`` (e.g. sideband events against signal-region events) must come from here.

        Parameters
        ----------
        X
            Features ``(n_events, n_features)``.
        folds
            Model index of each event, integers ``0 .. n_folds - 1`` (see :func:`assign_folds`).
        """
        if not hasattr(self, "models_"):
            raise NotFittedError("KFoldClassifier is not fitted; call fit(X, y, folds=...) first")
        matrix = as_matrix(X)
        index = np.asarray(folds)
        if index.shape != (len(matrix),) or index.dtype.kind not in "iu":
            raise DataFormatError(f"folds must be integers of shape ({len(matrix)},), got {index.shape}")
        if len(index) and (index.min() < 0 or index.max() >= len(self.models_)):
            raise DataFormatError(f"folds must lie in 0 .. {len(self.models_) - 1}")
        scores = np.empty(len(matrix))
        for k, model in enumerate(self.models_):
            rows = index == k
            if np.any(rows):
                scores[rows] = model.predict_proba(matrix[rows])[:, 1]
        return scores

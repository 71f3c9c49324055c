"""Unsupervised detectors in a mass window: an autoencoder's reconstruction error as the anomaly score.

:class:`AutoencoderAD` implements :class:`~bumphunt.methods.base.Detector` without labels: the events of
the window (signal region and sidebands alike) are split into ``n_folds`` folds, an autoencoder
(:class:`~bumphunt.methods.autoencoder.FeatureAutoencoder` by default) is trained on all folds but one,
and the events of that fold are scored by it. Every event's score comes from a model that never saw it
(an autoencoder rebuilds its own training events better than others), and SR and sideband events are
scored the same way, so that for background their scores are alike and a cut set on the sidebands keeps
the same share of the SR.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from bumphunt.errors import ConfigError, NotFittedError
from bumphunt.events import EventSet, Window
from bumphunt.methods._progress import ProgressCallback
from bumphunt.methods.autoencoder import FeatureAutoencoder
from bumphunt.methods.kfold import assign_folds, with_seed
from bumphunt.seeding import SeedLike, child_seeds

__all__ = ["AutoencoderAD"]

logger = logging.getLogger(__name__)


class AutoencoderAD(BaseEstimator):
    """Autoencoder anomaly detection in a mass window, cross-fitted (see the module documentation).

    Parameters
    ----------
    autoencoder
        Unfitted estimator with ``fit(X)`` and ``score(X)`` (higher = more anomalous); default
        ``FeatureAutoencoder()``. Its ``seed`` is set per fold.
    n_folds
        Folds (>= 2).
    features
        Feature names to use; default all of the events'.
    seed
        Seed of the folds and the autoencoders.
    progress
        ``progress(folds_done, n_folds)`` after each fold.

    Attributes
    ----------
    scores_
        Out-of-fold score of each event of ``events.signal_region(window)``.
    window_scores_
        Out-of-fold score of each event inside the window, in event order.
    models_
        The fold autoencoders.
    """

    requires_background: ClassVar[bool] = False

    def __init__(
        self,
        autoencoder: Any = None,
        *,
        n_folds: int = 5,
        features: Sequence[str] | None = None,
        seed: SeedLike = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.autoencoder = autoencoder
        self.n_folds = n_folds
        self.features = features
        self.seed = seed
        self.progress = progress

    def fit(self, events: EventSet, window: Window, **kwargs: Any) -> AutoencoderAD:
        """Train ``n_folds`` autoencoders on the window's events, each scoring the fold it left out."""
        names = tuple(events.feature_names if self.features is None else self.features)
        if not names:
            raise ConfigError("AutoencoderAD needs at least one feature; 'features' is empty")
        inside = window.in_window(events.mass)
        X = events.take(inside).with_features(names).features
        fold_seed, *model_seeds = child_seeds(self.seed, self.n_folds + 1)
        folds = assign_folds(len(X), self.n_folds, fold_seed)
        base = FeatureAutoencoder() if self.autoencoder is None else self.autoencoder
        scores = np.empty(len(X))
        self.models_ = []
        for k in range(self.n_folds):
            model = with_seed(base, model_seeds[k]).fit(X[folds != k])
            scores[folds == k] = model.score(X[folds == k])
            self.models_.append(model)
            if self.progress is not None:
                self.progress(k + 1, self.n_folds)
        self.feature_names_ = names
        self.folds_ = folds
        self.window_scores_ = scores
        self.scores_ = scores[window.in_sr(events.mass)[inside]]
        logger.info(
            "AutoencoderAD: %d folds on %d window events, features %s", self.n_folds, len(X), list(names)
        )
        return self

    def window_scores(self, events: EventSet, window: Window) -> np.ndarray:
        """Out-of-fold score of every event inside ``window`` (call after :meth:`fit` with the same
        events and window)."""
        if not hasattr(self, "window_scores_"):
            raise NotFittedError("AutoencoderAD is not fitted; call fit(events, window) first")
        n_inside = int(window.in_window(events.mass).sum())
        if n_inside != len(self.window_scores_):
            raise ConfigError(
                f"AutoencoderAD was fitted on {len(self.window_scores_)} window events, these events have "
                f"{n_inside} in {window.label}; pass the events and window given to fit"
            )
        return self.window_scores_.copy()

    def score(self, events: EventSet) -> np.ndarray:
        """Mean score of the fold autoencoders, for events not used in training."""
        if not hasattr(self, "models_"):
            raise NotFittedError("AutoencoderAD is not fitted; call fit(events, window) first")
        X = events.with_features(self.feature_names_).features
        return np.mean([model.score(X) for model in self.models_], axis=0)

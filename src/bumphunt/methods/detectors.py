"""Weakly supervised resonant anomaly detectors and their references, all with one shape.

Each detector trains a classifier to separate the signal-region (SR) events of the data from a model of
the SR background, and scores every SR event with the classifier of the fold that did not see it:

========================  ====================================================================
:class:`CWoLa`            SR data vs sideband (SB) data (CWoLa hunting, arXiv:1902.02634)
:class:`Cathode`          SR data vs samples of a flow ``p(x | m)`` trained on the SB and sampled
                          at SR masses (CATHODE, arXiv:2109.00546)
:class:`IdealizedAD`      SR data vs a separate background-only SR sample (simulation only: the
                          upper bound of weak supervision)
:class:`Supervised`       SR signal vs SR background by truth labels (simulation only: the upper
                          bound of everything)
========================  ====================================================================

All four use the same classifier (default :class:`~bumphunt.methods.classifiers.HGBEnsemble`), the
same features, and with the same ``seed`` the same folds of the SR events and the same classifier
seeds, so their scores compare. After :meth:`fit`:

* ``scores_``: out-of-fold score of each event of ``events.signal_region(window)``, in that order
  (higher = more signal-like);
* ``reference_scores_``: out-of-fold scores of the background-model events (SB data for CWoLa, flow
  samples for Cathode, the background sample for IdealizedAD; empty for Supervised);
* :meth:`score`: the average of the fold classifiers, for events not used in training.

Every random choice derives from ``seed``: it replaces the seeds of the classifier and flow given.
All four implement :class:`~bumphunt.methods.base.Detector`; :data:`DETECTORS` names them as a search
configuration does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.events import EventSet, Window
from bumphunt.methods._progress import ProgressCallback
from bumphunt.methods.flows import ConditionalFlow
from bumphunt.methods.kfold import KFoldClassifier, assign_folds, with_seed
from bumphunt.methods.mass_density import KDEMassDensity
from bumphunt.seeding import SeedLike, child_seeds
from bumphunt.stats.metrics import auc

__all__ = ["DETECTORS", "BackgroundCheck", "CWoLa", "Cathode", "IdealizedAD", "Supervised"]

logger = logging.getLogger(__name__)

# Indices of the seeds spawned from a detector's seed; shared by all detectors so that they agree.
_SR_FOLDS, _REFERENCE_FOLDS, _CLASSIFIER, _FLOW, _MASSES, _SAMPLES, _CHECK, _SIDEBAND_FOLDS = range(8)


@dataclass(frozen=True)
class BackgroundCheck:
    """How well a classifier separates real sideband events from flow samples at the same masses.

    Attributes
    ----------
    auc
        Out-of-fold AUC of data (class 1) against samples (class 0): 0.5 means the classifier cannot
        tell them apart (a faithful background model); above 0.5, the flow mismodels the sidebands.
    null_std
        Standard deviation of the AUC expected from statistics alone for a perfect model,
        ``sqrt((n_data + n_samples + 1) / (12 n_data n_samples))`` (Mann-Whitney).
    n_data, n_samples
        Number of sideband events (those held out from the flow's training) and of samples.
    """

    auc: float
    null_std: float
    n_data: int
    n_samples: int

    @property
    def pull(self) -> float:
        """``(auc - 0.5) / null_std``: the excess over a perfect model in standard deviations."""
        return (self.auc - 0.5) / self.null_std


class _Detector(BaseEstimator):
    """Shared settings, k-fold training and scoring; subclasses choose the two classes in ``fit``.

    Implements :class:`~bumphunt.methods.base.Detector`.
    """

    requires_background: ClassVar[bool] = False

    def __init__(
        self,
        classifier: Any = None,
        *,
        n_folds: int = 5,
        features: Sequence[str] | None = None,
        seed: SeedLike = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.classifier = classifier
        self.n_folds = n_folds
        self.features = features
        self.seed = seed
        self.progress = progress

    def _seeds(self) -> list[int]:
        return child_seeds(self.seed, 8)

    def _feature_names(self, events: EventSet) -> tuple[str, ...]:
        names = tuple(events.feature_names if self.features is None else self.features)
        if not names:
            raise ConfigError(f"{type(self).__name__} needs at least one feature; 'features' is empty")
        return names

    def _cross_fit(
        self,
        sr: EventSet,
        sr_labels: np.ndarray,
        reference: np.ndarray,
        reference_weight: np.ndarray | None,
    ) -> None:
        """Train on the SR events (labels ``sr_labels``) plus ``reference`` events (label 0)."""
        seeds = self._seeds()
        names = self._feature_names(sr)
        folds = [assign_folds(len(sr), self.n_folds, seeds[_SR_FOLDS])]
        if len(reference):
            folds.append(assign_folds(len(reference), self.n_folds, seeds[_REFERENCE_FOLDS]))
        weights = None
        if sr.weight is not None or reference_weight is not None:
            weights = np.concatenate(
                [
                    np.ones(len(sr)) if sr.weight is None else sr.weight,
                    np.ones(len(reference)) if reference_weight is None else reference_weight,
                ]
            )
        model = KFoldClassifier(self.classifier, seed=seeds[_CLASSIFIER], progress=self.progress)
        model.fit(
            np.concatenate([sr.with_features(names).features, reference]),
            np.concatenate([sr_labels, np.zeros(len(reference), dtype=np.int64)]),
            folds=np.concatenate(folds),
            sample_weight=weights,
        )
        self.kfold_ = model
        self.feature_names_ = names
        self.folds_ = folds[0]
        self.scores_ = model.oof_scores_[: len(sr)]
        self.reference_scores_ = model.oof_scores_[len(sr) :]
        logger.info(
            "%s: trained %d folds on %d SR events and %d reference events with features %s",
            type(self).__name__,
            self.n_folds,
            len(sr),
            len(reference),
            list(names),
        )

    def score(self, events: EventSet) -> np.ndarray:
        """Anomaly score of each event (higher = more signal-like): the average of the fold classifiers.

        Use it for events not used in training; the training SR events have out-of-fold ``scores_``.
        """
        if not hasattr(self, "kfold_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(events, window) first")
        return self.kfold_.predict_proba(events.with_features(self.feature_names_).features)[:, 1]

    def _sideband_scores(self, sidebands: EventSet) -> np.ndarray:
        """Scores of the window's sideband events, each from one fold model that never saw it.

        Every sideband event is given a random fold (seeded) and scored by that fold's model alone, the
        way each SR event gets its out-of-fold score: the average of all fold models varies less from
        event to event, so a cut set on averaged sideband scores would keep a larger fraction of the SR
        than of the sidebands even with no signal (issue 11).
        """
        folds = assign_folds(len(sidebands), self.n_folds, self._seeds()[_SIDEBAND_FOLDS])
        return self.kfold_.fold_scores(sidebands.with_features(self.feature_names_).features, folds)

    def window_scores(self, events: EventSet, window: Window) -> np.ndarray:
        """Score of every event of ``events`` inside ``window`` (SR or a sideband), in their order.

        Call after :meth:`fit` on the same ``events`` and ``window``: SR events get their out-of-fold
        ``scores_`` and sideband events scores of one fold classifier that never saw them (see
        :meth:`_sideband_scores`), so that SR and sideband scores are alike for background.
        """
        if not hasattr(self, "scores_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(events, window) first")
        in_sr, in_sb = window.in_sr(events.mass), window.in_sb(events.mass)
        inside = in_sr | in_sb
        if int(in_sr.sum()) != len(self.scores_):
            raise ConfigError(
                f"{type(self).__name__} was fitted on {len(self.scores_)} SR events, these events have "
                f"{int(in_sr.sum())} in {window.label}; pass the events and window given to fit"
            )
        scores = np.empty(int(inside.sum()))
        sr_rows = in_sr[inside]
        scores[sr_rows] = self.scores_
        if np.any(in_sb):
            scores[~sr_rows] = self._sideband_scores(events.take(in_sb))
        return scores


class CWoLa(_Detector):
    """CWoLa hunting: a classifier between signal-region and sideband data.

    Parameters
    ----------
    classifier
        Binary classifier (scikit-learn API); default :class:`~bumphunt.methods.classifiers.HGBEnsemble`.
    n_folds
        Number of folds (>= 2).
    features
        Feature names to use; default all of the events'.
    seed
        Seed of the folds and the classifiers.
    progress
        ``progress(folds_done, n_folds)`` after each fold.

    Notes
    -----
    Features correlated with the mass differ between SR and SB without any signal; CWoLa learns that
    difference too. Use features (nearly) independent of the mass.
    """

    def fit(self, events: EventSet, window: Window) -> CWoLa:
        """Train SR data (class 1) against SB data (class 0); returns self."""
        names = self._feature_names(events)
        sr = events.signal_region(window)
        sb = events.sidebands(window)
        self._cross_fit(sr, np.ones(len(sr), dtype=np.int64), sb.with_features(names).features, sb.weight)
        return self

    def _sideband_scores(self, sidebands: EventSet) -> np.ndarray:
        """The sideband events trained as class 0: their out-of-fold scores."""
        return self.reference_scores_


class IdealizedAD(_Detector):
    """Idealized anomaly detector: SR data against a separate background-only SR sample (simulation).

    Parameters are those of :class:`CWoLa`.
    """

    requires_background: ClassVar[bool] = True

    def fit(self, events: EventSet, window: Window, *, background: EventSet) -> IdealizedAD:
        """Train SR data (class 1) against the SR events of ``background`` (class 0); returns self.

        Raises
        ------
        bumphunt.errors.DataFormatError
            If ``background`` has truth labels and some are signal (label 1).
        bumphunt.errors.EmptySelectionError
            If ``background`` has no event in the SR.
        """
        names = self._feature_names(events)
        reference = background.signal_region(window)
        if reference.label is not None and np.any(reference.label == 1):
            raise DataFormatError(
                f"{background.source}: the background sample for IdealizedAD holds "
                f"{int(np.count_nonzero(reference.label == 1))} signal events (label 1) in the SR; "
                "it must be background only"
            )
        sr = events.signal_region(window)
        self._cross_fit(
            sr, np.ones(len(sr), dtype=np.int64), reference.with_features(names).features, reference.weight
        )
        return self


class Supervised(_Detector):
    """Fully supervised reference: SR signal (label 1) against SR background (label 0) (simulation).

    Parameters are those of :class:`CWoLa`. ``events`` must carry truth labels; pass a sample rich in
    signal (e.g. a signal sample concatenated with background) for a meaningful upper bound.
    """

    def fit(self, events: EventSet, window: Window) -> Supervised:
        """Train on the truth labels of the SR events; returns self.

        Raises
        ------
        bumphunt.errors.DataFormatError
            If ``events`` has no labels, a label is not 0/1, or the SR lacks one of the classes.
        """
        sr = events.signal_region(window)
        if sr.label is None:
            raise DataFormatError(
                f"{events.source}: Supervised needs truth labels; column 'label' is missing"
            )
        counts = [int(np.count_nonzero(sr.label == value)) for value in (0, 1)]
        if np.any((sr.label != 0) & (sr.label != 1)) or min(counts) == 0:
            raise DataFormatError(
                f"{events.source}: Supervised needs labels 0 and 1 in the SR, got {counts[0]} background "
                f"and {counts[1]} signal events of {len(sr)}"
            )
        self._cross_fit(sr, sr.label, np.zeros((0, len(self._feature_names(sr)))), None)
        return self


class Cathode(_Detector):
    """CATHODE: SR data against samples of a conditional flow trained on the sidebands.

    The flow learns ``p(x | m)`` on the SB data, the SR masses are drawn from a density fitted to the
    SR data masses (:class:`~bumphunt.methods.mass_density.KDEMassDensity`), and the flow is sampled
    there, ``oversampling`` samples per SR event. A classifier then separates SR data from the samples.

    Parameters
    ----------
    classifier, n_folds, features, progress
        As in :class:`CWoLa`.
    flow
        Unfitted :class:`~bumphunt.methods.flows.ConditionalFlow`; default ``ConditionalFlow()``.
    oversampling
        Flow samples per SR data event (> 0).
    mass_density
        Density of the SR masses; default ``KDEMassDensity()``.
    check_background
        Train a classifier between flow samples and held-out SB data after the fit
        (``background_check_``, logged).
    seed
        Seed of everything: folds, classifiers, flow, masses and samples.

    Attributes
    ----------
    flow_ : ConditionalFlow
        The fitted flow.
    samples_ : EventSet
        The flow samples in the SR (masses and features), the background model.
    background_check_ : BackgroundCheck or None
        The background-model check (``None`` if ``check_background`` is false).
    """

    def __init__(
        self,
        classifier: Any = None,
        *,
        n_folds: int = 5,
        features: Sequence[str] | None = None,
        flow: ConditionalFlow | None = None,
        oversampling: float = 4.0,
        mass_density: KDEMassDensity | None = None,
        check_background: bool = True,
        seed: SeedLike = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.classifier = classifier
        self.n_folds = n_folds
        self.features = features
        self.flow = flow
        self.oversampling = oversampling
        self.mass_density = mass_density
        self.check_background = check_background
        self.seed = seed
        self.progress = progress

    def fit(self, events: EventSet, window: Window) -> Cathode:
        """Fit the flow on the SB, sample it in the SR, train SR data against the samples; returns self."""
        if not (isinstance(self.oversampling, int | float) and self.oversampling > 0):
            raise ConfigError(f"Cathode oversampling must be a positive number, got {self.oversampling!r}")
        seeds = self._seeds()
        names = self._feature_names(events)
        sr = events.signal_region(window)
        sb = events.sidebands(window)
        sb_features = sb.with_features(names).features
        flow = with_seed(ConditionalFlow() if self.flow is None else self.flow, seeds[_FLOW])
        flow.fit(sb_features, sb.mass, sample_weight=sb.weight)
        density = clone(KDEMassDensity() if self.mass_density is None else self.mass_density)
        n_samples = max(1, round(self.oversampling * len(sr)))
        masses = density.fit(sr.mass, window.sr).sample(n_samples, seed=seeds[_MASSES])
        samples = flow.sample(n_samples, masses, seed=seeds[_SAMPLES])
        self.flow_ = flow
        self.samples_ = EventSet(masses, samples, names, provenance={"source": "Cathode flow samples"})
        self._cross_fit(
            sr,
            np.ones(len(sr), dtype=np.int64),
            samples,
            None if sr.weight is None else np.ones(n_samples),
        )
        self.background_check_ = None
        if self.check_background:
            self.background_check_ = self._background_check(sb_features, sb.mass, seeds[_CHECK])
        return self

    def _background_check(self, features: np.ndarray, mass: np.ndarray, seed: int) -> BackgroundCheck | None:
        """Out-of-fold AUC between the SB events held out from the flow and flow samples at their masses."""
        held_out = self.flow_.validation_index_
        data, data_mass = features[held_out], mass[held_out]
        if len(data) < 2 * self.n_folds:
            logger.warning(
                "Cathode: background check skipped; only %d sideband events were held out from the flow",
                len(data),
            )
            return None
        mass_seed, sample_seed, folds_seed, classifier_seed = child_seeds(seed, 4)
        n_samples = max(self.n_folds, round(self.oversampling * len(data)))
        sample_mass = np.random.default_rng(mass_seed).choice(data_mass, size=n_samples)
        samples = self.flow_.sample(n_samples, sample_mass, seed=sample_seed)
        labels = np.concatenate([np.ones(len(data), dtype=np.int64), np.zeros(n_samples, dtype=np.int64)])
        data_folds, sample_folds = child_seeds(folds_seed, 2)
        folds = np.concatenate(
            [
                assign_folds(len(data), self.n_folds, data_folds),
                assign_folds(n_samples, self.n_folds, sample_folds),
            ]
        )
        model = KFoldClassifier(self.classifier, seed=classifier_seed)
        model.fit(np.concatenate([data, samples]), labels, folds=folds)
        check = BackgroundCheck(
            auc=auc(model.oof_scores_, labels),
            null_std=math.sqrt((len(data) + n_samples + 1) / (12.0 * len(data) * n_samples)),
            n_data=len(data),
            n_samples=n_samples,
        )
        logger.info(
            "Cathode background check: AUC %.4f between %d held-out sideband events and %d flow samples "
            "(0.5 = faithful; statistics alone give +- %.4f, pull %.1f)",
            check.auc,
            check.n_data,
            check.n_samples,
            check.null_std,
            check.pull,
        )
        return check


#: The detectors by the name ``method.name`` of a search configuration gives them.
DETECTORS: dict[str, type[_Detector]] = {
    "cathode": Cathode,
    "cwola": CWoLa,
    "iad": IdealizedAD,
    "supervised": Supervised,
}

"""Weakly supervised resonant anomaly detectors and their references, all with one shape.

Each detector trains a classifier to separate the signal-region (SR) events of the data from a model of
the SR background, and scores every SR event with the classifier of the fold that did not see it:

========================  ====================================================================
:class:`CWoLa`            SR data vs sideband (SB) data (CWoLa hunting, arXiv:1902.02634)
:class:`Cathode`          SR data vs samples of a flow ``p(x | m)`` trained on the SB and sampled
                          at SR masses (CATHODE, arXiv:2109.00546), cross-fitted over SB groups
:class:`IdealizedAD`      SR data vs a separate background-only SR sample (simulation only: the
                          upper bound of weak supervision)
:class:`Supervised`       SR signal vs SR background by truth labels (simulation only: the upper
                          bound of everything)
:class:`ClusterScan`      CWoLa with a k-means histogram as classifier: clusters whose share rises
                          in the SR (cluster scanning, arXiv:2402.17714, in one window)
========================  ====================================================================

:data:`DETECTORS` also names the unsupervised
:class:`~bumphunt.methods.unsupervised.AutoencoderAD` (``"autoencoder"``).

All use the same classifier (default :class:`~bumphunt.methods.classifiers.HGBEnsemble`), the
same features, and with the same ``seed`` the same folds of the SR events and the same classifier
seeds, so their scores compare. After :meth:`fit`:

* ``scores_``: out-of-fold score of each event of ``events.signal_region(window)``, in that order
  (higher = more signal-like);
* ``reference_scores_``: out-of-fold scores of the background-model events (SB data for CWoLa, flow
  samples for Cathode, the background sample for IdealizedAD; empty for Supervised);
* ``classifiers_``: the fitted :class:`~bumphunt.methods.kfold.KFoldClassifier` (one per SB group for
  Cathode, else one);
* :meth:`score`: the average of the fold classifiers, for events not used in training.

Every random choice derives from ``seed``: it replaces the seeds of the classifier and flow given.
All implement :class:`~bumphunt.methods.base.Detector`; :data:`DETECTORS` names them as a search
configuration does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import torch
from joblib import Parallel, delayed, parallel_config
from sklearn.base import BaseEstimator, clone

from bumphunt.errors import ConfigError, DataFormatError, EmptySelectionError, NotFittedError
from bumphunt.events import EventSet, Window
from bumphunt.methods._progress import ProgressCallback
from bumphunt.methods._torch import resolve_device
from bumphunt.methods._validation import as_matrix
from bumphunt.methods.cluster_scanning import ClusterHistogramClassifier
from bumphunt.methods.flows import ConditionalFlow, FlowMixture
from bumphunt.methods.kfold import KFoldClassifier, assign_folds, with_seed
from bumphunt.methods.mass_density import KDEMassDensity
from bumphunt.methods.unsupervised import AutoencoderAD
from bumphunt.seeding import SeedLike, child_seeds
from bumphunt.stats.metrics import auc

__all__ = [
    "DETECTORS",
    "MASS_SCALED_FEATURES",
    "BackgroundCheck",
    "CWoLa",
    "Cathode",
    "ClusterScan",
    "IdealizedAD",
    "Supervised",
    "flow_check",
]

logger = logging.getLogger(__name__)

#: Features that grow with the resonant mass, which :class:`Cathode`'s flows model divided by it with
#: ``mass_scaled="auto"``: the dijet jet masses (GeV; :mod:`bumphunt.physics.dijet`, LHCO ``mj1``/``mj2``).
MASS_SCALED_FEATURES: tuple[str, ...] = ("mj_min", "delta_mj", "mj1", "mj2")

# Indices of the seeds spawned from a detector's seed; shared by all detectors so that they agree.
(
    _SR_FOLDS,
    _REFERENCE_FOLDS,
    _CLASSIFIER,
    _FLOW,
    _MASSES,
    _SAMPLES,
    _CHECK,
    _SIDEBAND_FOLDS,
    _GROUPS,
) = range(9)


@dataclass(frozen=True)
class BackgroundCheck:
    """How well a classifier separates real sideband events from flow samples at the same masses.

    Attributes
    ----------
    auc
        Out-of-fold AUC of data (class 1) against samples (class 0): 0.5 means the classifier cannot
        tell them apart (a faithful background model); above 0.5, the flow mismodels the sidebands.
        With several flows (CATHODE's SB groups), the mean of the groups' AUCs.
    null_std
        Standard deviation of the AUC expected from statistics alone for a perfect model: per group
        ``sqrt((n_data + n_samples + 1) / (12 n_data n_samples))`` (Mann-Whitney), combined as for
        the mean.
    n_data, n_samples
        Number of sideband events, each compared with a flow that never saw it, and of samples.
    group_aucs
        The AUC of each SB group against its flow's samples.
    """

    auc: float
    null_std: float
    n_data: int
    n_samples: int
    group_aucs: tuple[float, ...] = ()

    @property
    def pull(self) -> float:
        """``(auc - 0.5) / null_std``: the excess over a perfect model in standard deviations."""
        return (self.auc - 0.5) / self.null_std

    @classmethod
    def combine(cls, checks: Sequence[BackgroundCheck]) -> BackgroundCheck:
        """Several flows' checks (CATHODE's SB groups, each on its own events) as one: the mean AUC,
        its standard deviation, the summed numbers of events and samples and each check's AUC."""
        aucs = tuple(a for check in checks for a in (check.group_aucs or (check.auc,)))
        return cls(
            auc=float(np.mean([check.auc for check in checks])),
            null_std=math.sqrt(sum(check.null_std**2 for check in checks)) / len(checks),
            n_data=sum(check.n_data for check in checks),
            n_samples=sum(check.n_samples for check in checks),
            group_aucs=aucs,
        )


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
        return child_seeds(self.seed, 9)

    def _classifier(self) -> Any:
        """The classifier each fold clones (None: the default of :class:`KFoldClassifier`)."""
        return self.classifier

    def _feature_names(self, events: EventSet) -> tuple[str, ...]:
        names = tuple(events.feature_names if self.features is None else self.features)
        if not names:
            raise ConfigError(f"{type(self).__name__} needs at least one feature; 'features' is empty")
        return names

    def _train(
        self,
        sr: EventSet,
        sr_labels: np.ndarray,
        reference: np.ndarray,
        reference_weight: np.ndarray | None,
        *,
        reference_seed: int,
        classifier_seed: int,
        progress: ProgressCallback | None = None,
    ) -> KFoldClassifier:
        """K-fold classifier of the SR events (labels ``sr_labels``) against ``reference`` (label 0).

        The SR folds derive from the detector's seed alone, so every detector (and every classifier of
        one detector) splits the SR events the same way.
        """
        names = self._feature_names(sr)
        folds = [assign_folds(len(sr), self.n_folds, self._seeds()[_SR_FOLDS])]
        if len(reference):
            folds.append(assign_folds(len(reference), self.n_folds, reference_seed))
        weights = None
        if sr.weight is not None or reference_weight is not None:
            weights = np.concatenate(
                [
                    np.ones(len(sr)) if sr.weight is None else sr.weight,
                    np.ones(len(reference)) if reference_weight is None else reference_weight,
                ]
            )
        model = KFoldClassifier(
            self._classifier(), seed=classifier_seed, progress=self.progress if progress is None else progress
        )
        model.fit(
            np.concatenate([sr.with_features(names).features, reference]),
            np.concatenate([sr_labels, np.zeros(len(reference), dtype=np.int64)]),
            folds=np.concatenate(folds),
            sample_weight=weights,
        )
        logger.info(
            "%s: trained %d folds on %d SR events and %d reference events with features %s",
            type(self).__name__,
            self.n_folds,
            len(sr),
            len(reference),
            list(names),
        )
        return model

    def _cross_fit(
        self,
        sr: EventSet,
        sr_labels: np.ndarray,
        reference: np.ndarray,
        reference_weight: np.ndarray | None,
    ) -> None:
        """Train on the SR events (labels ``sr_labels``) plus ``reference`` events (label 0)."""
        seeds = self._seeds()
        model = self._train(
            sr,
            sr_labels,
            reference,
            reference_weight,
            reference_seed=seeds[_REFERENCE_FOLDS],
            classifier_seed=seeds[_CLASSIFIER],
        )
        self.classifiers_ = [model]
        self.feature_names_ = self._feature_names(sr)
        self.folds_ = model.folds_[: len(sr)]
        self.scores_ = model.oof_scores_[: len(sr)]
        self.reference_scores_ = model.oof_scores_[len(sr) :]

    def score(self, events: EventSet) -> np.ndarray:
        """Anomaly score of each event (higher = more signal-like): the average of the fold classifiers.

        Use it for events not used in training; the training SR events have out-of-fold ``scores_``.
        """
        if not hasattr(self, "classifiers_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(events, window) first")
        features = events.with_features(self.feature_names_).features
        return np.mean([model.predict_proba(features)[:, 1] for model in self.classifiers_], axis=0)

    def _sideband_scores(self, sidebands: EventSet) -> np.ndarray:
        """Scores of the window's sideband events, each from one fold model that never saw it.

        Every sideband event is given a random fold (seeded) and scored by that fold's model alone, the
        way each SR event gets its out-of-fold score: the average of all fold models varies less from
        event to event, so a cut set on averaged sideband scores would keep a larger fraction of the SR
        than of the sidebands even with no signal (issue 11).
        """
        features = sidebands.with_features(self.feature_names_).features
        folds = assign_folds(len(sidebands), self.n_folds, self._seeds()[_SIDEBAND_FOLDS])
        groups = self._sideband_groups(len(sidebands))
        scores = np.empty(len(sidebands))
        for j, model in enumerate(self.classifiers_):
            rows = groups == j
            scores[rows] = model.fold_scores(features[rows], folds[rows])
        return scores

    def _sideband_groups(self, n_sideband: int) -> np.ndarray:
        """Which of ``classifiers_`` scores each sideband event: the one classifier."""
        return np.zeros(n_sideband, dtype=np.int64)

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


class ClusterScan(CWoLa):
    """Cluster scanning in a mass window: clusters whose population rises in the signal region.

    The events of the window (SR and sidebands) are clustered with k-means on their features, and each
    event scores the share of SR events among the training events of its cluster
    (:class:`~bumphunt.methods.cluster_scanning.ClusterHistogramClassifier`), with k-fold cross-fitting
    as in :class:`CWoLa`: both the clusters and their shares come from folds that did not see the event.
    A cut on the score keeps the clusters that a resonance fills in the SR, the window-by-window form
    of cluster scanning (arXiv:2402.17714), whose whole-spectrum form with bootstraps of jet images is
    :mod:`bumphunt.cluster_scan`.

    Parameters
    ----------
    classifier
        The cluster model; default ``ClusterHistogramClassifier(n_clusters)``. Any binary classifier
        works (then this is CWoLa).
    n_clusters
        Clusters of the default cluster model.
    n_folds, features, seed, progress
        As for :class:`CWoLa`.
    """

    def __init__(
        self,
        classifier: Any = None,
        *,
        n_clusters: int = 50,
        n_folds: int = 5,
        features: Sequence[str] | None = None,
        seed: SeedLike = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(classifier, n_folds=n_folds, features=features, seed=seed, progress=progress)
        self.n_clusters = n_clusters

    def _classifier(self) -> Any:
        if self.classifier is None:
            return ClusterHistogramClassifier(self.n_clusters)
        return self.classifier


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
    """CATHODE: SR data against samples of a conditional flow trained on the sidebands, cross-fitted.

    A flow learns ``p(x | m)`` on sideband (SB) data, the SR masses are drawn from a density fitted to
    the SR data masses (:class:`~bumphunt.methods.mass_density.KDEMassDensity`), and the flow is sampled
    there, ``oversampling`` samples per SR event. A classifier then separates SR data from the samples.

    The SB events are split at random into ``flow_folds`` groups, and each group ``j`` has its own flow,
    trained on the SB events outside the group, and its own classifier against that flow's samples.
    SB events of group ``j`` are scored by classifier ``j``, whose background model never saw them,
    and so is a random ``1 / flow_folds`` of the SR events. A flow learns its training events: its
    samples crowd near them and a classifier against those samples scores them as sample-like, so SB
    events scored through a flow that trained on them pass a cut less often than SR background. The
    search sets its cuts and measures the selection efficiency on the SB scores; with one flow for all,
    the SR then shows an excess on pure background (issue 11: 1.13-1.29 times the SB pass fraction at
    25-5 % in 3.9k-event QCD samples, local Z biased by +0.4 to +0.6). Cross-fitted, every window
    score is, for background, distributed alike in the SR and the SBs. The events of group ``j`` stop
    flow ``j``'s training (its early stopping reads their loss), so each flow trains on all other SB
    events. Against flows that held out a fifth of their events for that, the flow check's AUC excess
    over 0.5 fell from 0.013 to 0.007 on average over the six fits of the peer benchmark (issue 13).

    Parameters
    ----------
    classifier, n_folds, features, progress
        As in :class:`CWoLa`.
    flow
        Unfitted :class:`~bumphunt.methods.flows.ConditionalFlow`, one clone per group; default
        ``ConditionalFlow()``.
    oversampling
        Flow samples per SR data event, for each group's classifier (> 0).
    flow_folds
        Number of SB groups, flows and classifiers (integer >= 2). Each flow trains on
        ``(flow_folds - 1) / flow_folds`` of the SB; the flows cost about ``flow_folds - 1`` times one
        flow on all of the SB, the classifiers ``flow_folds`` times one classifier.
    mass_density
        Density of the SR masses; default ``KDEMassDensity()``.
    mass_scaled
        Features that scale with the resonant mass, which the flows model divided by it
        (:attr:`ConditionalFlow.mass_scaled <bumphunt.methods.flows.ConditionalFlow>`). ``"auto"``:
        those of :data:`MASS_SCALED_FEATURES` among the features (the dijet jet masses); ``None``
        (default): as the ``flow`` sets it (by default, none). Measured with ``"auto"`` (issue 13,
        2026-12-03): the flow check on the peer benchmark's sidebands fell from AUC 0.5161 to 0.5117
        (3 splits x 2 flows); in the weak-supervision benchmark (3 seeds) the classifier at S/B 0
        separated the truth test set with AUC 0.517 against 0.565 (less signal-like mismodelling to
        learn), but at 1 % S/B the median max SIC was 4.91 [4.27, 5.34] against 5.23 [4.75, 5.40], so
        it is not the default.
    check_background
        After the fit, train a classifier per SB group between its events and samples, at their
        masses, of the group's flow, which did not train on them (``background_check_``, logged).
    n_jobs
        Processes that fit the groups (flow, samples, classifier, check) side by side, each with an
        equal share of torch's threads. ``"auto"``: one per group up to torch's thread count, on a CPU
        device (so one where torch has one thread, as in the workers of an ensemble, or on CUDA). The
        results do not depend on it beyond float rounding of multi-threaded sums. With more than one,
        ``progress`` hears of each finished group (in group order) rather than of each fold. On 2
        CPU cores two processes of one thread each fit the two groups of the peer benchmark (issue
        13; 1 % S/B, seed 1) in 47.4 s against 57.9 s for one process of two threads: torch and the
        boosted trees use a second thread on these small batches far less well than a second
        process.
    seed
        Seed of everything: groups, folds, classifiers, flows, masses and samples.

    Attributes
    ----------
    flows_ : list of ConditionalFlow
        The fitted flow of each group.
    samples_ : EventSet
        The flow samples in the SR (masses and features), the background model; those of group 0
        first.
    sample_groups_ : numpy.ndarray
        The group of each sample.
    sideband_groups_, sr_groups_ : numpy.ndarray
        The group of each event of ``events.sidebands(window)`` and ``events.signal_region(window)``.
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
        flow_folds: int = 2,
        mass_density: KDEMassDensity | None = None,
        mass_scaled: Sequence[str] | Literal["auto"] | None = None,
        check_background: bool = True,
        n_jobs: int | Literal["auto"] = "auto",
        seed: SeedLike = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.classifier = classifier
        self.n_folds = n_folds
        self.features = features
        self.flow = flow
        self.oversampling = oversampling
        self.flow_folds = flow_folds
        self.mass_density = mass_density
        self.mass_scaled = mass_scaled
        self.check_background = check_background
        self.n_jobs = n_jobs
        self.seed = seed
        self.progress = progress

    def _base_flow(self, names: Sequence[str]) -> Any:
        """The unfitted flow every group clones: ``flow`` (or the default) with ``mass_scaled`` applied."""
        flow = clone(ConditionalFlow() if self.flow is None else self.flow)
        scaled = self._mass_scaled_columns(names)
        if scaled is not None:
            # a ConditionalFlow takes it itself, a FlowMixture passes it on to its members' flow
            if isinstance(flow, FlowMixture):
                flow.set_params(flow=clone(ConditionalFlow() if flow.flow is None else flow.flow))
                key = "flow__mass_scaled"
            else:
                key = "mass_scaled"
            if scaled or key in flow.get_params(deep=True):
                flow.set_params(**{key: scaled})
        return flow

    def _mass_scaled_columns(self, names: Sequence[str]) -> list[int] | None:
        """Columns of the features the flows divide by the mass, or ``None`` to leave the flow's own."""
        if self.mass_scaled is None:
            return None
        if isinstance(self.mass_scaled, str):
            if self.mass_scaled != "auto":
                raise ConfigError(
                    f"Cathode mass_scaled must be 'auto', None or feature names, got {self.mass_scaled!r}"
                )
            return [i for i, name in enumerate(names) if name in MASS_SCALED_FEATURES]
        unknown = [name for name in self.mass_scaled if name not in names]
        if unknown:
            raise ConfigError(f"Cathode mass_scaled names {unknown} that are not features {list(names)}")
        return [names.index(name) for name in self.mass_scaled]

    def _check_settings(self, n_sideband: int) -> None:
        if not (isinstance(self.oversampling, int | float) and self.oversampling > 0):
            raise ConfigError(f"Cathode oversampling must be a positive number, got {self.oversampling!r}")
        if not (
            isinstance(self.flow_folds, int)
            and not isinstance(self.flow_folds, bool)
            and self.flow_folds >= 2
        ):
            raise ConfigError(f"Cathode flow_folds must be an integer >= 2, got {self.flow_folds!r}")
        if self.n_jobs != "auto" and not (
            isinstance(self.n_jobs, int) and not isinstance(self.n_jobs, bool) and self.n_jobs >= 1
        ):
            raise ConfigError(f"Cathode n_jobs must be 'auto' or a positive integer, got {self.n_jobs!r}")
        if n_sideband < 2 * self.flow_folds:
            raise EmptySelectionError(
                f"Cathode needs at least {2 * self.flow_folds} sideband events for flow_folds="
                f"{self.flow_folds}, got {n_sideband}"
            )

    def fit(self, events: EventSet, window: Window) -> Cathode:
        """Fit one flow per SB group, sample them in the SR, train SR data against each; returns self."""
        seeds = self._seeds()
        names = self._feature_names(events)
        sr = events.signal_region(window)
        sb = events.sidebands(window)
        self._check_settings(len(sb))
        base_flow = self._base_flow(names)
        n_groups = self.flow_folds
        group_seeds = child_seeds(seeds[_GROUPS], 2)
        sb_groups = assign_folds(len(sb), n_groups, group_seeds[0])
        sr_groups = assign_folds(len(sr), n_groups, group_seeds[1])
        density = clone(KDEMassDensity() if self.mass_density is None else self.mass_density)
        density.fit(sr.mass, window.sr)
        check = self.check_background
        if check and np.bincount(sb_groups, minlength=n_groups).min() < 2 * self.n_folds:
            logger.warning(
                "Cathode: background check skipped; a sideband group has fewer than %d events",
                2 * self.n_folds,
            )
            check = False
        per_group = zip(
            *(
                child_seeds(seeds[k], n_groups)
                for k in (_FLOW, _MASSES, _SAMPLES, _REFERENCE_FOLDS, _CLASSIFIER, _CHECK)
            ),
            strict=True,
        )
        jobs = [
            _GroupJob(j, sb_groups == j, max(1, round(self.oversampling * len(sr))), check, *job_seeds)
            for j, job_seeds in enumerate(per_group)
        ]
        n_processes, threads = self._processes()
        if n_processes > 1:
            quiet = clone(self).set_params(progress=None)
            groups = []
            with parallel_config(backend="loky", inner_max_num_threads=threads):
                results = Parallel(n_jobs=n_processes, return_as="generator")(
                    delayed(_fit_group)(quiet, job, sr, sb, names, density, base_flow) for job in jobs
                )
                for j, group in enumerate(results):  # in group order, each as soon as it is done
                    groups.append(group)
                    self._group_progress(j, done=True)
        else:
            groups = [_fit_group(self, job, sr, sb, names, density, base_flow) for job in jobs]
        self._store(groups, sr, sb, names, sr_groups, sb_groups)
        return self

    def _processes(self) -> tuple[int, int]:
        """Number of processes for the groups, and torch threads in each (1 process: in this one)."""
        threads = torch.get_num_threads()
        if self.n_jobs == "auto":
            device = "auto" if self.flow is None else getattr(self.flow, "device", "cpu")
            on_cpu = resolve_device(device).type == "cpu"
            n_processes = min(self.flow_folds, threads) if on_cpu else 1
        else:
            n_processes = min(self.flow_folds, int(self.n_jobs))
        return n_processes, max(1, threads // n_processes)

    def _store(
        self,
        groups: Sequence[_GroupFit],
        sr: EventSet,
        sb: EventSet,
        names: tuple[str, ...],
        sr_groups: np.ndarray,
        sb_groups: np.ndarray,
    ) -> None:
        """Set the fitted attributes from the groups' results."""
        classifiers = [g.classifier for g in groups]
        self.flows_ = [g.flow for g in groups]
        self.classifiers_ = classifiers
        self.feature_names_ = names
        self.folds_ = classifiers[0].folds_[: len(sr)]
        self.sr_groups_, self.sideband_groups_ = sr_groups, sb_groups
        self.scores_ = np.empty(len(sr))
        for j, model in enumerate(classifiers):
            self.scores_[sr_groups == j] = model.oof_scores_[: len(sr)][sr_groups == j]
        self.reference_scores_ = np.concatenate([model.oof_scores_[len(sr) :] for model in classifiers])
        self.sample_groups_ = np.concatenate([np.full(len(g.samples), j) for j, g in enumerate(groups)])
        self.samples_ = EventSet(
            np.concatenate([g.samples.mass for g in groups]),
            np.concatenate([g.samples.features for g in groups]),
            names,
            provenance={"source": "Cathode flow samples"},
        )
        self.background_check_ = None
        if groups[0].check is not None:
            self.background_check_ = _combine_checks([g.check for g in groups])  # type: ignore[misc]

    def _group_progress(self, group: int, *, done: bool = False) -> ProgressCallback | None:
        """``progress`` over all classifiers: folds done of ``flow_folds * n_folds``.

        With ``done``, report group ``group`` finished (its folds all done) and return ``None``.
        """
        if self.progress is None:
            return None
        progress, offset, total = self.progress, group * self.n_folds, self.flow_folds * self.n_folds
        if done:
            progress(offset + self.n_folds, total)
            return None
        return lambda folds_done, _: progress(offset + folds_done, total)

    def _sideband_groups(self, n_sideband: int) -> np.ndarray:
        """Each SB event goes to its group's classifier, whose flow never saw it."""
        if n_sideband != len(self.sideband_groups_):
            raise ConfigError(
                f"Cathode was fitted on {len(self.sideband_groups_)} sideband events, got {n_sideband}; "
                "pass the events and window given to fit"
            )
        return self.sideband_groups_


@dataclass(frozen=True)
class _GroupJob:
    """What one CATHODE sideband group needs besides the data: its events and its seeds."""

    group: int
    rows: np.ndarray  # which SB events are this group's (the flow's held-out set)
    n_samples: int
    check: bool
    flow_seed: int
    mass_seed: int
    sample_seed: int
    reference_seed: int
    classifier_seed: int
    check_seed: int


@dataclass(frozen=True)
class _GroupFit:
    """One group's flow, its SR samples, the classifier against them and its flow check."""

    flow: ConditionalFlow
    samples: EventSet
    classifier: KFoldClassifier
    check: BackgroundCheck | None


def _fit_group(
    detector: Cathode,
    job: _GroupJob,
    sr: EventSet,
    sb: EventSet,
    names: tuple[str, ...],
    density: KDEMassDensity,
    base_flow: Any,
) -> _GroupFit:
    """Flow on the SB events outside the group, its samples in the SR, SR data against them, the check.

    The group's events are never trained on, so they are the flow's held-out set: all other SB events
    train (a flow on more events models the SBs measurably better, issue 13), and the early-stopping
    loss is measured on as many events as the flow's classifier will score. A top-level function so
    that worker processes can run it (:attr:`Cathode.n_jobs`).
    """
    features = sb.with_features(names).features
    rows, weight = job.rows, sb.weight
    flow = with_seed(base_flow, job.flow_seed).fit(
        features[~rows],
        sb.mass[~rows],
        sample_weight=None if weight is None else weight[~rows],
        validation=(features[rows], sb.mass[rows], None if weight is None else weight[rows]),
    )
    masses = density.sample(job.n_samples, seed=job.mass_seed)
    samples = EventSet(masses, flow.sample(job.n_samples, masses, seed=job.sample_seed), names)
    classifier = detector._train(
        sr,
        np.ones(len(sr), dtype=np.int64),
        samples.features,
        None if sr.weight is None else np.ones(job.n_samples),
        reference_seed=job.reference_seed,
        classifier_seed=job.classifier_seed,
        progress=detector._group_progress(job.group),
    )
    check = None
    if job.check:
        check = _check_group(detector, flow, features[rows], sb.mass[rows], job.check_seed)
    return _GroupFit(flow, samples, classifier, check)


def _check_group(
    detector: Cathode, flow: ConditionalFlow, features: np.ndarray, mass: np.ndarray, seed: int
) -> BackgroundCheck:
    """A group's flow check: :func:`flow_check` with the detector's classifier and folds.

    The flow never saw these events. A classifier on all groups at once would also see the samples of
    the other flows, which trained on this group's events and crowd near them: that memorization
    would pull the AUC below 0.5 and hide mismodelling, though no score of the search passes through it.
    """
    return flow_check(
        flow, features, mass, classifier=detector.classifier, n_folds=detector.n_folds, seed=seed
    )


def flow_check(
    flow: Any,
    features: npt.ArrayLike,
    mass: npt.ArrayLike,
    *,
    classifier: Any = None,
    n_folds: int = 5,
    seed: SeedLike = 0,
) -> BackgroundCheck:
    """How well a classifier tells events from samples of a fitted conditional flow at their masses.

    Each event is matched by one sample of ``flow`` at its mass, so the samples follow the events'
    mass distribution exactly, and a k-fold classifier separates the two (out of fold, each event in
    the fold of its sample). This is CATHODE's background check (:attr:`Cathode.background_check_`);
    the events must be ones the flow did not train on, or its memorization pulls the AUC below 0.5.

    Parameters
    ----------
    flow
        Fitted flow with ``sample(n, m, seed=...)`` (:class:`~bumphunt.methods.flows.ConditionalFlow`,
        :class:`~bumphunt.methods.flows.FlowMixture`).
    features
        Shape ``(n_events, n_features)``: the held-out events, in the features the flow models.
    mass
        Shape ``(n_events,)``: their resonant masses (the flow's units, GeV for the library's events).
    classifier
        Classifier of each fold (see :class:`~bumphunt.methods.kfold.KFoldClassifier`); default
        :class:`~bumphunt.methods.classifiers.HGBEnsemble`.
    n_folds
        Number of folds (integer >= 2).
    seed
        Seed of the folds, the classifiers and the samples.

    Returns
    -------
    BackgroundCheck
        Out-of-fold AUC of events (class 1) against samples (class 0), its standard deviation for a
        perfect flow (Mann-Whitney) and the numbers of events and samples.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If ``features`` is not a matrix of finite values or ``mass`` does not match it.
    bumphunt.errors.ConfigError
        If ``n_folds`` is not an integer >= 2, or there are fewer than ``2 * n_folds`` events.
    """
    matrix = as_matrix(features, "flow_check features")
    masses = np.asarray(mass, dtype=np.float64)
    if masses.shape != (len(matrix),) or not np.isfinite(masses).all():
        raise DataFormatError(
            f"flow_check mass must be {len(matrix)} finite values (one per event), got shape {masses.shape}"
        )
    if not (isinstance(n_folds, int) and not isinstance(n_folds, bool) and n_folds >= 2):
        raise ConfigError(f"flow_check n_folds must be an integer >= 2, got {n_folds!r}")
    n = len(matrix)
    if n < 2 * n_folds:
        raise ConfigError(f"flow_check needs at least {2 * n_folds} events for n_folds={n_folds}, got {n}")
    folds_seed, classifier_seed, sample_seed = child_seeds(seed, 3)
    samples = flow.sample(n, masses, seed=sample_seed)
    labels = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
    # Each event and the sample drawn at its mass share a fold: the pair is correlated through the
    # mass, and split across folds it would tie a training event to a held-out sample.
    folds = np.tile(assign_folds(n, n_folds, folds_seed), 2)
    model = KFoldClassifier(classifier, seed=classifier_seed)
    model.fit(np.concatenate([matrix, samples]), labels, folds=folds)
    value = auc(model.oof_scores_, labels)
    null_std = math.sqrt((2 * n + 1) / (12.0 * n * n))
    return BackgroundCheck(auc=value, null_std=null_std, n_data=n, n_samples=n, group_aucs=(value,))


def _combine_checks(checks: Sequence[BackgroundCheck]) -> BackgroundCheck:
    """The groups' flow checks as one :class:`BackgroundCheck` (:meth:`BackgroundCheck.combine`), logged."""
    check = BackgroundCheck.combine(checks)
    logger.info(
        "Cathode background check: AUC %.4f (groups %s) between %d sideband events and as many "
        "samples of the flows that did not train on them (0.5 = faithful; statistics alone give "
        "+- %.4f, pull %.1f)",
        check.auc,
        ", ".join(f"{a:.4f}" for a in check.group_aucs),
        check.n_data,
        check.null_std,
        check.pull,
    )
    return check


#: The detectors by the name ``method.name`` of a search configuration gives them.
DETECTORS: dict[str, type[Any]] = {
    "autoencoder": AutoencoderAD,
    "cathode": Cathode,
    "cluster_scan": ClusterScan,
    "cwola": CWoLa,
    "iad": IdealizedAD,
    "supervised": Supervised,
}

"""Binary classifiers for weak supervision: ensembles of boosted trees (default) or of small MLPs.

Both follow scikit-learn: hyperparameters in ``__init__``, ``fit(X, y, sample_weight=None)`` returns
self, ``predict_proba(X)`` returns ``(n_events, 2)`` with the probability of class 1 in the last column.
Labels are 0 and 1.

Each ensemble trains ``n_members`` models that differ in their seed and in their validation split (a
stratified ``validation_fraction`` of the training events, held out for early stopping), and averages
their probabilities. With ``class_weight="balanced"`` the event weights of each class are scaled so that
both classes carry the same total weight: weak supervision often compares samples of very different
sizes (CATHODE oversamples its background model), and an unweighted loss would favour the larger one.

Boosted trees are the default because in weak supervision they are more robust than networks against
uninformative features (Finke et al., arXiv:2309.13111).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._torch import (
    as_tensor,
    batched,
    resolve_device,
    seeded,
    train_with_early_stopping,
)
from bumphunt.methods._validation import as_matrix, binary_labels, event_weights
from bumphunt.methods.binning import QuantileBins
from bumphunt.methods.preprocessing import Standardize
from bumphunt.seeding import SeedLike, child_seeds

__all__ = [
    "ClassWeight",
    "HGBEnsemble",
    "MLPEnsemble",
    "balanced_weights",
    "build_mlp",
    "dense_layers",
    "stratified_split",
]

logger = logging.getLogger(__name__)

#: ``"balanced"``: both classes get the same total weight; ``None``: the event weights as given.
ClassWeight = Literal["balanced"] | None


def balanced_weights(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scale the weights of each class so that both classes sum to half of the total weight."""
    totals = np.array([weights[y == 0].sum(), weights[y == 1].sum()])
    if np.any(totals <= 0):
        raise DataFormatError(f"each class needs a positive total weight, got {totals.tolist()}")
    return weights * (totals.sum() / (2.0 * totals))[y]


def stratified_split(
    y: np.ndarray, validation_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: ``round(validation_fraction * n_c)`` events of each class ``c``
    (at least 1) go to validation, the others to training.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If a class has fewer than 2 events, so that it cannot be in both parts.
    """
    train, validation = [], []
    for label in (0, 1):
        index = np.flatnonzero(y == label)
        if len(index) < 2:
            raise DataFormatError(
                f"class {label} has {len(index)} events; a training/validation split needs at least 2"
            )
        index = rng.permutation(index)
        n_validation = min(max(1, round(validation_fraction * len(index))), len(index) - 1)
        validation.append(index[:n_validation])
        train.append(index[n_validation:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))


class _AveragedEnsemble(ClassifierMixin, BaseEstimator, ABC):
    """Shared ``fit``/``predict_proba`` of the ensembles; subclasses train and evaluate one member.

    Subclasses define ``n_members``, ``validation_fraction``, ``class_weight`` and ``seed`` in their
    ``__init__``.
    """

    n_members: int
    validation_fraction: float
    class_weight: ClassWeight
    seed: SeedLike

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> _AveragedEnsemble:
        """Train the members on ``X`` (``(n_events, n_features)``) and labels ``y`` (0/1); returns self.

        Raises
        ------
        bumphunt.errors.ConfigError
            If a hyperparameter is out of range.
        bumphunt.errors.DataFormatError
            If ``X``, ``y`` or ``sample_weight`` are malformed, or a class has fewer than 2 events.
        """
        self._check_settings()
        matrix = as_matrix(X)
        labels = binary_labels(y, len(matrix))
        weights = event_weights(sample_weight, len(matrix))
        if self.class_weight == "balanced":
            weights = balanced_weights(labels, weights)
        inputs = self._fit_inputs(matrix, weights)
        members = []
        for i, seed in enumerate(child_seeds(self.seed, self.n_members)):
            train, validation = stratified_split(
                labels, self.validation_fraction, np.random.default_rng(seed)
            )
            members.append(
                self._fit_member(
                    (inputs[train], labels[train], weights[train]),
                    (inputs[validation], labels[validation], weights[validation]),
                    seed=seed,
                )
            )
            logger.debug("%s: trained member %d of %d", type(self).__name__, i + 1, self.n_members)
        self.members_ = members
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = matrix.shape[1]
        return self

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Average over members of the class probabilities, shape ``(n_events, 2)``."""
        if not hasattr(self, "members_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(X, y) first")
        matrix = as_matrix(X)
        if matrix.shape[1] != self.n_features_in_:
            raise DataFormatError(
                f"X has {matrix.shape[1]} features but {type(self).__name__} was fitted on "
                f"{self.n_features_in_}"
            )
        inputs = self._inputs(matrix)
        p = np.mean([self._member_probability(member, inputs) for member in self.members_], axis=0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Label 1 where the averaged probability of class 1 is at least 0.5, else 0."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def _check_settings(self) -> None:
        name = type(self).__name__
        if not (isinstance(self.n_members, int) and self.n_members >= 1):
            raise ConfigError(f"{name} n_members must be a positive integer, got {self.n_members!r}")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(
                f"{name} validation_fraction must lie in (0, 1), got {self.validation_fraction!r}"
            )
        if self.class_weight not in ("balanced", None):
            raise ConfigError(f"{name} class_weight must be 'balanced' or None, got {self.class_weight!r}")

    def _fit_inputs(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """What the members train on, made from all of the ensemble's events (default: ``X`` itself)."""
        return X

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        """What the fitted members score, made from events ``X`` (default: ``X`` itself)."""
        return X

    @abstractmethod
    def _fit_member(
        self,
        train: tuple[np.ndarray, np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray, np.ndarray],
        seed: int,
    ) -> Any:
        """Train one member on ``(X, y, weight)`` with early stopping on ``validation``."""

    @abstractmethod
    def _member_probability(self, member: Any, X: np.ndarray) -> np.ndarray:
        """Probability of class 1 under one member, shape ``(n_events,)``."""


class HGBEnsemble(_AveragedEnsemble):
    """Average of ``n_members`` scikit-learn ``HistGradientBoostingClassifier`` s with early stopping.

    Each member stops adding trees when the log-loss on its validation split has not improved for
    ``n_iter_no_change`` iterations (scikit-learn keeps the trees up to the stop, not only up to the
    best iteration).

    The features are binned once per fit, at the weighted quantiles of all the events given to
    :meth:`fit` (:mod:`bumphunt.methods.binning`: the edges scikit-learn >= 1.9 would choose, from one
    sort instead of one per quantile), and every member trains on and scores those bins. A member's
    trees are then those scikit-learn grows on these binned features; binning each member's training
    split on its own (before 2026-12-04) cost ten sorts and ten bin look-ups per event for ten members
    and moved no benchmark figure beyond its seed-to-seed spread. The fit is up to 15 times faster
    than scikit-learn 1.9's own weighted binning, and does not depend on the scikit-learn version's
    binning rule.

    Parameters
    ----------
    n_members
        Number of boosted-tree models averaged.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, n_iter_no_change
        Passed to each ``HistGradientBoostingClassifier``.
    validation_fraction
        Fraction of each class held out per member for early stopping.
    class_weight
        ``"balanced"`` (default) or ``None`` (module docstring).
    seed
        Seed of the members' validation splits and tree randomness.

    Attributes
    ----------
    members_ : list of HistGradientBoostingClassifier
        The fitted members (on binned features).
    bins_ : QuantileBins
        The bins of the features, shared by the members.
    """

    def __init__(
        self,
        n_members: int = 10,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        n_iter_no_change: int = 10,
        validation_fraction: float = 0.2,
        class_weight: ClassWeight = "balanced",
        seed: SeedLike = 0,
    ) -> None:
        self.n_members = n_members
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.seed = seed

    def _fit_member(
        self,
        train: tuple[np.ndarray, np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray, np.ndarray],
        seed: int,
    ) -> HistGradientBoostingClassifier:
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=True,
            scoring="loss",
            n_iter_no_change=self.n_iter_no_change,
            random_state=seed % 2**32,
        )
        X, y, w = train
        X_val, y_val, w_val = validation
        try:
            model.fit(X, y, sample_weight=w, X_val=X_val, y_val=y_val, sample_weight_val=w_val)
        except ValueError as err:  # scikit-learn's parameter validation
            raise ConfigError(f"HGBEnsemble: {err}") from None
        return model

    def _fit_inputs(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        self.bins_ = QuantileBins().fit(X, weights)
        return self.bins_.transform(X)

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        return self.bins_.transform(X)

    def _member_probability(self, member: HistGradientBoostingClassifier, X: np.ndarray) -> np.ndarray:
        return member.predict_proba(X)[:, 1]


def dense_layers(n_inputs: int, widths: Sequence[int], n_outputs: int | None = 1) -> torch.nn.Sequential:
    """Linear layers of the given widths, each followed by a ReLU, then (unless ``n_outputs`` is None) a
    linear output layer."""
    layers: list[torch.nn.Module] = []
    n_in = n_inputs
    for width in widths:
        layers += [torch.nn.Linear(n_in, width), torch.nn.ReLU()]
        n_in = width
    if n_outputs is not None:
        layers.append(torch.nn.Linear(n_in, n_outputs))
    return torch.nn.Sequential(*layers)


def build_mlp(
    n_inputs: int, hidden_layers: Sequence[int], *, seed: int, device: torch.device
) -> torch.nn.Module:
    """A fully connected network with ReLU hidden layers of the given widths and one output (a logit),
    initialized from ``seed``."""
    with seeded(seed, device):
        return dense_layers(n_inputs, hidden_layers).to(device)


@dataclass(frozen=True)
class _Network:
    """One trained MLP with the standardization of its inputs."""

    standardize: Standardize
    module: torch.nn.Module


class MLPEnsemble(_AveragedEnsemble):
    """Average of ``n_members`` small fully connected networks (torch) with early stopping.

    Each member standardizes its inputs (fitted on its training part), has ReLU hidden layers and one
    logit output, is trained with a weighted binary cross-entropy and Adam, and keeps the parameters of
    the epoch with the lowest validation loss.

    Parameters
    ----------
    n_members
        Number of networks averaged.
    hidden_layers
        Width of each hidden layer.
    max_epochs, batch_size, learning_rate, weight_decay, patience
        Training settings; a member stops after ``patience`` epochs without a lower validation loss.
    validation_fraction
        Fraction of each class held out per member for early stopping.
    class_weight
        ``"balanced"`` (default) or ``None``.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        Seed of the members' validation splits, initializations and batch order.

    Attributes
    ----------
    histories_ : list of TrainingHistory
        Per-member losses after each epoch and the epoch kept.
    """

    def __init__(
        self,
        n_members: int = 5,
        *,
        hidden_layers: Sequence[int] = (64, 64, 64),
        max_epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        validation_fraction: float = 0.2,
        class_weight: ClassWeight = "balanced",
        device: str = "auto",
        seed: SeedLike = 0,
    ) -> None:
        self.n_members = n_members
        self.hidden_layers = hidden_layers
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.device = device
        self.seed = seed

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> MLPEnsemble:
        """Train the networks; see :meth:`HGBEnsemble.fit`."""
        for name in ("max_epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"MLPEnsemble {name} must be a positive integer, got {value!r}")
        widths = list(self.hidden_layers)
        if not widths or any(not (isinstance(w, int) and w >= 1) for w in widths):
            raise ConfigError(
                f"MLPEnsemble hidden_layers must be positive widths, got {self.hidden_layers!r}"
            )
        self.device_ = resolve_device(self.device)
        self.histories_ = []
        super().fit(X, y, sample_weight)
        return self

    def _fit_member(
        self,
        train: tuple[np.ndarray, np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray, np.ndarray],
        seed: int,
    ) -> _Network:
        widths = list(self.hidden_layers)
        standardize = Standardize().fit(train[0])
        init_seed, batch_seed = child_seeds(seed, 2)
        module = build_mlp(train[0].shape[1], widths, seed=init_seed, device=self.device_)

        def per_event_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            logits = module(x).squeeze(-1)
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")

        def tensors(part: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[torch.Tensor]:
            X, y, w = part
            return [as_tensor(values, self.device_) for values in (standardize.transform(X), y, w)]

        history = train_with_early_stopping(
            module,
            per_event_loss,
            tensors(train),
            tensors(validation),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            patience=self.patience,
            seed=batch_seed,
            name="MLPEnsemble member",
        )
        self.histories_.append(history)
        return _Network(standardize, module)

    def _member_probability(self, member: _Network, X: np.ndarray) -> np.ndarray:
        x = as_tensor(member.standardize.transform(X), self.device_)
        probability = batched(lambda batch: torch.sigmoid(member.module(batch).squeeze(-1)), [x])
        return probability.double().cpu().numpy()

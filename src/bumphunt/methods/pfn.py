"""Particle Flow Networks (Komiske, Metodiev, Thaler, arXiv:1810.05165) in torch.

A PFN maps a set of particles to one number: a per-particle network Phi, a sum over the particles, and an
event network F on the sum. Phi sees only the real particles (padding is skipped, not multiplied by zero),
so the output is invariant under permutations of the particles and ignores padding by construction, and
the cost grows with the number of real particles, not with the padded length.

:class:`PFNClassifier` trains a PFN as a binary classifier with the scikit-learn API on padded particle
arrays ``(n_jets, n_particles, n_features)`` with a boolean mask ``(n_jets, n_particles)`` of the real
particles (:func:`bumphunt.physics.particle_features.jet_particle_features` builds both).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._torch import as_tensor, batched, resolve_device, seeded, train_with_early_stopping
from bumphunt.methods._validation import binary_labels, event_weights
from bumphunt.methods.classifiers import balanced_weights, dense_layers, stratified_split
from bumphunt.seeding import SeedLike, child_seeds

__all__ = ["PFNClassifier", "ParticleFlowNetwork"]


class ParticleFlowNetwork(torch.nn.Module):
    """``F(sum_i mask_i Phi(p_i))``: one logit per set of particles.

    Parameters
    ----------
    n_features
        Features per particle.
    phi_sizes
        Widths of Phi's layers (ReLU after each); the last is the latent dimension.
    f_sizes
        Widths of F's hidden layers; F ends in one linear output.
    """

    def __init__(
        self,
        n_features: int,
        phi_sizes: Sequence[int] = (100, 100, 128),
        f_sizes: Sequence[int] = (100, 100, 100),
    ) -> None:
        super().__init__()
        if not phi_sizes:
            raise ConfigError("phi_sizes needs at least one layer")
        self.phi = dense_layers(n_features, phi_sizes, None)
        self.f = dense_layers(phi_sizes[-1], f_sizes, 1)

    def forward(self, particles: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch,)`` of ``particles`` ``(batch, n, features)`` with ``mask`` ``(batch, n)``.

        Phi runs on the real particles only (padding costs nothing), and their latent vectors are summed
        per set with ``index_add``.
        """
        jet, slot = mask.nonzero(as_tuple=True)
        per_particle = self.phi(particles[jet, slot])
        latent = per_particle.new_zeros(particles.shape[0], per_particle.shape[1])
        return self.f(latent.index_add(0, jet, per_particle)).squeeze(-1)


class PFNClassifier(ClassifierMixin, BaseEstimator):
    """A Particle Flow Network trained as a binary classifier with early stopping.

    Parameters
    ----------
    phi_sizes, f_sizes
        The network (:class:`ParticleFlowNetwork`); defaults 100, 100, 128 and 100, 100, 100.
    max_epochs, batch_size, learning_rate, weight_decay, patience
        Adam training; stops after ``patience`` epochs without a lower validation loss and keeps the
        best epoch.
    validation_fraction
        Fraction of each class held out for early stopping.
    class_weight
        ``"balanced"`` (default: both classes weigh the same in the loss) or ``None``.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        Seed of the validation split, the initialization and the batch order.

    Attributes
    ----------
    history_ : TrainingHistory
        Losses per epoch and the epoch kept.
    """

    def __init__(
        self,
        *,
        phi_sizes: Sequence[int] = (100, 100, 128),
        f_sizes: Sequence[int] = (100, 100, 100),
        max_epochs: int = 50,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 5,
        validation_fraction: float = 0.2,
        class_weight: str | None = "balanced",
        device: str = "auto",
        seed: SeedLike = 0,
    ) -> None:
        self.phi_sizes = phi_sizes
        self.f_sizes = f_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.device = device
        self.seed = seed

    @staticmethod
    def _inputs(particles: npt.ArrayLike, mask: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(particles, dtype=np.float32)
        m = np.asarray(mask, dtype=bool)
        if X.ndim != 3:
            raise DataFormatError(
                f"particles must have shape (n_jets, n_particles, n_features), got {X.shape}"
            )
        if m.shape != X.shape[:2]:
            raise DataFormatError(f"mask must have shape {X.shape[:2]} to match the particles, got {m.shape}")
        if not np.isfinite(X[m]).all():
            raise DataFormatError("particles hold NaN or infinite features")
        return X, m

    def fit(
        self,
        particles: npt.ArrayLike,
        mask: npt.ArrayLike,
        y: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
    ) -> PFNClassifier:
        """Train on padded ``particles`` with their ``mask`` and 0/1 labels ``y``; returns self."""
        for name in ("max_epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"PFNClassifier {name} must be a positive integer, got {value!r}")
        if self.class_weight not in ("balanced", None):
            raise ConfigError(
                f"PFNClassifier class_weight must be 'balanced' or None, got {self.class_weight!r}"
            )
        X, m = self._inputs(particles, mask)
        labels = binary_labels(y, len(X))
        weights = event_weights(sample_weight, len(X))
        if self.class_weight == "balanced":
            weights = balanced_weights(labels, weights)
        split_seed, init_seed, batch_seed = child_seeds(self.seed, 3)
        train, validation = stratified_split(
            labels, self.validation_fraction, np.random.default_rng(split_seed)
        )
        self.device_ = resolve_device(self.device)
        with seeded(init_seed, self.device_):
            module = ParticleFlowNetwork(X.shape[2], self.phi_sizes, self.f_sizes).to(self.device_)

        def tensors(index: np.ndarray) -> list[torch.Tensor]:
            return [
                as_tensor(X[index], self.device_),
                torch.as_tensor(m[index], device=self.device_),
                as_tensor(labels[index].astype(np.float32), self.device_),
                as_tensor(weights[index], self.device_),
            ]

        def per_event_loss(x: torch.Tensor, mask_: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.binary_cross_entropy_with_logits(
                module(x, mask_), target, reduction="none"
            )

        self.history_ = train_with_early_stopping(
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
            name="PFN",
        )
        self.module_ = module
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[2]
        return self

    def decision_function(self, particles: npt.ArrayLike, mask: npt.ArrayLike) -> np.ndarray:
        """The logit of class 1 for each jet."""
        if not hasattr(self, "module_"):
            raise NotFittedError("PFNClassifier is not fitted; call fit(particles, mask, y) first")
        X, m = self._inputs(particles, mask)
        if X.shape[2] != self.n_features_in_:
            raise DataFormatError(
                f"particles have {X.shape[2]} features, the PFN was fitted on {self.n_features_in_}"
            )
        x, mt = as_tensor(X, self.device_), torch.as_tensor(m, device=self.device_)
        return batched(self.module_, [x, mt], batch_size=4096).double().cpu().numpy()

    def predict_proba(self, particles: npt.ArrayLike, mask: npt.ArrayLike) -> np.ndarray:
        """Class probabilities, shape ``(n_jets, 2)``."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(particles, mask)))
        return np.column_stack([1.0 - p, p])

"""Train and test metrics along the training of a classifier: the raw material of overtraining studies.

:func:`mlp_training_curves` trains the network of :class:`~bumphunt.methods.classifiers.MLPEnsemble`
(one member, no early stopping, unweighted binary cross-entropy) for a fixed number of epochs and records,
every few epochs, the accuracy and the mean loss on the whole training set and on a test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from bumphunt.errors import ConfigError
from bumphunt.methods._torch import as_tensor, batched, resolve_device, train_with_early_stopping
from bumphunt.methods._validation import as_matrix, binary_labels
from bumphunt.methods.classifiers import build_mlp
from bumphunt.methods.preprocessing import Standardize
from bumphunt.seeding import SeedLike, child_seeds

__all__ = ["TrainingCurves", "mlp_training_curves"]


@dataclass(frozen=True)
class TrainingCurves:
    """Metrics recorded along one training.

    Attributes
    ----------
    epochs
        Epochs after which the metrics were recorded (counting from 1).
    train_accuracy, test_accuracy
        Fraction of events classified correctly (probability above 0.5 for class 1).
    train_loss, test_loss
        Mean binary cross-entropy (nats per event).
    """

    epochs: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray

    @property
    def final_gap(self) -> float:
        """Train minus test accuracy at the last recorded epoch."""
        return float(self.train_accuracy[-1] - self.test_accuracy[-1])


def _metrics(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    logits = batched(lambda batch: module(batch).squeeze(-1), [x], batch_size=65_536)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
    accuracy = ((logits > 0).to(y.dtype) == y).double().mean()
    return float(accuracy), float(loss)


def mlp_training_curves(
    X_train: npt.ArrayLike,
    y_train: npt.ArrayLike,
    X_test: npt.ArrayLike,
    y_test: npt.ArrayLike,
    *,
    hidden_layers: Sequence[int] = (64, 64, 64),
    epochs: int = 100,
    record_every: int = 5,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    weight_decay: float = 0.0,
    device: str = "auto",
    seed: SeedLike = 0,
) -> TrainingCurves:
    """Train an MLP for ``epochs`` epochs; record train and test accuracy and loss along the way.

    Parameters
    ----------
    X_train, y_train, X_test, y_test
        Features and 0/1 labels. Inputs are standardized with the training set's mean and spread.
    hidden_layers, batch_size, learning_rate, weight_decay
        The network and its Adam optimizer.
    epochs
        Epochs trained; there is no early stopping.
    record_every
        Record after the first epoch and every ``record_every`` epochs (and after the last).
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        Seed of the initialization and of the batch order.

    Returns
    -------
    TrainingCurves
    """
    for name, value in (("epochs", epochs), ("record_every", record_every), ("batch_size", batch_size)):
        if not (isinstance(value, int) and value >= 1):
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    X_train, X_test = as_matrix(X_train, "X_train"), as_matrix(X_test, "X_test")
    y_train, y_test = binary_labels(y_train, len(X_train)), binary_labels(y_test, len(X_test))
    torch_device = resolve_device(device)
    standardize = Standardize().fit(X_train)
    init_seed, batch_seed = child_seeds(seed, 2)
    module = build_mlp(X_train.shape[1], list(hidden_layers), seed=init_seed, device=torch_device)

    def tensors(X: np.ndarray, y: np.ndarray) -> list[torch.Tensor]:
        return [as_tensor(v, torch_device) for v in (standardize.transform(X), y.astype(np.float64))] + [
            torch.ones(len(y), device=torch_device)
        ]

    train, test = tensors(X_train, y_train), tensors(X_test, y_test)
    recorded: list[tuple[int, float, float, float, float]] = []

    def record(epoch: int, validation_loss: float) -> None:
        if epoch == 0 or (epoch + 1) % record_every == 0 or epoch + 1 == epochs:
            train_accuracy, train_loss = _metrics(module, train[0], train[1])
            test_accuracy, test_loss = _metrics(module, test[0], test[1])
            recorded.append((epoch + 1, train_accuracy, test_accuracy, train_loss, test_loss))

    def per_event_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = module(x).squeeze(-1)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")

    train_with_early_stopping(
        module,
        per_event_loss,
        train,
        test,
        max_epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        patience=epochs,
        seed=batch_seed,
        epoch_end=record,
        name="training-curve MLP",
    )
    columns = np.array(recorded, dtype=np.float64)
    return TrainingCurves(
        epochs=columns[:, 0].astype(np.int64),
        train_accuracy=columns[:, 1],
        test_accuracy=columns[:, 2],
        train_loss=columns[:, 3],
        test_loss=columns[:, 4],
    )

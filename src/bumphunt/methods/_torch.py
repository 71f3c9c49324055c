"""Torch plumbing shared by the MLP classifier and the flow: device choice, seeded scopes, training loop.

The training loop minimizes a weighted mean per-event loss with Adam on mini-batches, evaluates the
loss on a validation set after each epoch, stops when it has not improved for ``patience`` epochs and
restores the parameters of the best epoch.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bumphunt.errors import ConfigError, TrainingError
from bumphunt.methods._progress import ProgressCallback, report

__all__ = [
    "EVAL_BATCH_SIZE",
    "TrainingHistory",
    "as_tensor",
    "batched",
    "resolve_device",
    "seeded",
    "train_with_early_stopping",
]

logger = logging.getLogger(__name__)

#: Events per batch when a trained network is evaluated (no gradients, so larger than in training).
EVAL_BATCH_SIZE = 65536


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the named device, which must be available.

    Raises
    ------
    bumphunt.errors.ConfigError
        If the name is not a torch device or names CUDA on a machine without it.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} was requested but torch finds no CUDA device; use 'auto'")
    return resolved


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch's global generators seeded by ``seed``, restoring their state after.

    Random draws inside (parameter initialization, sampling) depend only on ``seed``, and code outside
    the block is not affected.
    """
    if device.type == "cuda":
        devices = [torch.cuda.current_device() if device.index is None else device.index]
    else:
        devices = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def as_tensor(values: np.ndarray, device: torch.device) -> torch.Tensor:
    """A float32 tensor on ``device``."""
    return torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32, device=device)


def batched(
    function: Callable[..., torch.Tensor], tensors: Sequence[torch.Tensor], batch_size: int = EVAL_BATCH_SIZE
) -> torch.Tensor:
    """``function(*batch)`` over consecutive batches of ``tensors``, concatenated, without gradients."""
    n = len(tensors[0])
    with torch.no_grad():
        parts = [function(*(t[i : i + batch_size] for t in tensors)) for i in range(0, n, batch_size)]
    return torch.cat(parts) if parts else torch.empty(0, device=tensors[0].device)


@dataclass(frozen=True)
class TrainingHistory:
    """Mean training and validation loss after each epoch, and the epoch whose parameters were kept.

    ``best_epoch`` counts from 0; ``learning_rate`` is the rate each epoch trained with; ``abandoned``
    says that ``abandon`` stopped the training (see :func:`train_with_early_stopping`).
    """

    train_loss: tuple[float, ...]
    validation_loss: tuple[float, ...]
    best_epoch: int
    learning_rate: tuple[float, ...] = ()
    abandoned: bool = False


def _weighted_mean(losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (losses * weights).sum() / weights.sum()


def _halve_learning_rate(
    optimizer: torch.optim.Optimizer, annealing: torch.optim.lr_scheduler.LRScheduler | None
) -> None:
    """Halve the rate now and for the rest of the schedule (closed-form or recursive cosine alike)."""
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    if annealing is not None:
        annealing.base_lrs = [rate * 0.5 for rate in annealing.base_lrs]
        if isinstance(annealing, torch.optim.lr_scheduler.CosineAnnealingLR):
            annealing.eta_min *= 0.5


def train_with_early_stopping(
    module: torch.nn.Module,
    per_event_loss: Callable[..., torch.Tensor],
    train: Sequence[torch.Tensor],
    validation: Sequence[torch.Tensor],
    *,
    max_epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    patience: int,
    seed: int,
    lr_decay: float | None = None,
    lr_patience: int = 3,
    cosine: bool = False,
    warmup_epochs: int = 0,
    rollback: float | None = None,
    abandon: Callable[[Sequence[float]], bool] | None = None,
    progress: ProgressCallback | None = None,
    epoch_end: Callable[[int, float], None] | None = None,
    name: str = "model",
) -> TrainingHistory:
    """Train ``module`` with Adam and early stopping; restore the best epoch's parameters.

    Parameters
    ----------
    module
        The network; its parameters are optimized in place.
    per_event_loss
        ``per_event_loss(*inputs)`` returns one loss per event (shape ``(batch,)``).
    train, validation
        Tensors with one row per event; the last one holds the event weights, the others are passed
        to ``per_event_loss``.
    max_epochs, batch_size, learning_rate, weight_decay, patience
        Training settings; training stops after ``patience`` epochs without a lower validation loss.
    seed
        Seed of the generator that shuffles the batches.
    lr_decay, lr_patience
        If ``lr_decay`` is set, the learning rate is multiplied by it whenever the validation loss has
        not improved for ``lr_patience`` epochs (``torch.optim.lr_scheduler.ReduceLROnPlateau``).
    cosine
        Anneal the learning rate after every batch along a half cosine from ``learning_rate`` to 1 %
        of it at the end of ``max_epochs`` epochs (``lr_decay`` must then be ``None``).
    warmup_epochs
        With ``cosine``: the learning rate rises linearly from ``learning_rate / n`` (``n`` the batches of
        ``warmup_epochs`` epochs) to ``learning_rate`` over those batches before the cosine takes over.
    rollback
        Divergence guard: an epoch whose validation loss is not finite or exceeds ``rollback`` times the
        best so far is undone (the best epoch's parameters come back, Adam's moments are cleared) and
        the learning rate is halved for the rest of training. ``None`` (default): no guard.
    abandon
        ``abandon(validation_losses)`` after each epoch; when it returns True training stops there and
        the history says ``abandoned`` (a caller may then start again from another initialisation).
    progress
        ``progress(epoch, max_epochs)`` after each epoch.
    epoch_end
        ``epoch_end(epoch, validation_loss)`` after each epoch (from 0), with the module in evaluation
        mode and the epoch's parameters (to follow metrics along training, or keep snapshots).
    name
        Name of the model in log messages.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=learning_rate, weight_decay=weight_decay)
    scheduler = None
    if lr_decay is not None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=lr_decay, patience=lr_patience, threshold=0.0
        )
    generator = torch.Generator().manual_seed(seed)
    device = train[0].device
    *train_inputs, train_weights = train
    *validation_inputs, validation_weights = validation
    n_train = len(train_weights)
    annealing: torch.optim.lr_scheduler.LRScheduler | None = None
    if warmup_epochs and not cosine:
        raise ConfigError(f"{name}: warmup_epochs needs the cosine learning-rate schedule")
    if cosine:
        if scheduler is not None:
            raise ConfigError(f"{name}: a cosine learning-rate schedule takes no lr_decay")
        n_steps = max_epochs * math.ceil(n_train / batch_size)
        if warmup_epochs:
            n_warmup = warmup_epochs * math.ceil(n_train / batch_size)

            def factor(step: int) -> float:
                cosine_factor = 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(step, n_steps) / n_steps))
                return min(1.0, (step + 1) / n_warmup) * cosine_factor

            annealing = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        else:
            annealing = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=n_steps, eta_min=0.01 * learning_rate
            )
    train_history: list[float] = []
    validation_history: list[float] = []
    rates: list[float] = []
    best_loss, best_epoch = math.inf, -1
    abandoned = False
    best_state = {key: value.detach().clone() for key, value in module.state_dict().items()}
    for epoch in range(max_epochs):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        module.train()
        order = torch.randperm(n_train, generator=generator).to(device)
        total, total_weight = 0.0, 0.0
        for start in range(0, n_train, batch_size):
            index = order[start : start + batch_size]
            weights = train_weights[index]
            loss = _weighted_mean(per_event_loss(*(t[index] for t in train_inputs)), weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if annealing is not None:
                annealing.step()
            batch_weight = float(weights.sum())
            total += float(loss.detach()) * batch_weight
            total_weight += batch_weight
        module.eval()
        losses = batched(per_event_loss, validation_inputs)
        validation_loss = float(_weighted_mean(losses, validation_weights))
        train_history.append(total / total_weight)
        validation_history.append(validation_loss)
        logger.debug(
            "%s epoch %d: train loss %.5f, validation loss %.5f",
            name,
            epoch,
            train_history[-1],
            validation_loss,
        )
        if epoch_end is not None:
            epoch_end(epoch, validation_loss)
        if scheduler is not None:
            scheduler.step(validation_loss)
        if rollback is not None and best_epoch >= 0 and not validation_loss <= rollback * best_loss:
            logger.info(
                "%s epoch %d: validation loss %.5g against %.5g at best; back to epoch %d, learning rate "
                "halved",
                name,
                epoch,
                validation_loss,
                best_loss,
                best_epoch,
            )
            module.load_state_dict(best_state)
            optimizer.state.clear()
            _halve_learning_rate(optimizer, annealing)
        elif validation_loss < best_loss:
            best_loss, best_epoch = validation_loss, epoch
            best_state = {key: value.detach().clone() for key, value in module.state_dict().items()}
        report(progress, epoch + 1, max_epochs)
        if abandon is not None and abandon(validation_history):
            logger.info("%s: training abandoned after epoch %d", name, epoch)
            abandoned = True
            break
        if epoch - best_epoch >= patience:
            break
    if best_epoch < 0:
        raise TrainingError(
            f"{name}: the validation loss was never finite (training diverged); "
            f"lower learning_rate (now {learning_rate:g}) or check the inputs"
        )
    module.load_state_dict(best_state)
    module.eval()
    logger.info(
        "%s: trained %d epochs, kept epoch %d (validation loss %.5f)",
        name,
        len(train_history),
        best_epoch,
        best_loss,
    )
    return TrainingHistory(
        tuple(train_history), tuple(validation_history), best_epoch, tuple(rates), abandoned
    )

"""A convolutional autoencoder on jet images: its reconstruction error is an anomaly score.

Trained on background jets only, the autoencoder learns to compress and rebuild what background looks
like; jets of another kind (tops, W bosons, new particles) are rebuilt worse, so the mean squared error
between an image and its reconstruction ranks jets by how anomalous they are (Heimel et al.,
arXiv:1808.08979; Farina, Nakai, Shih, arXiv:1808.08992; Bradshaw, Chang, Ostdiek, arXiv:2203.01343).

:class:`JetImageAutoencoder` is scikit-learn style: ``fit(images)`` on background images
``(n, pixels, pixels)`` and ``score(images)`` for the reconstruction error of each image. Images are
scaled by one factor (the mean pixel sum of the training images times ``1 / pixels**2``) so that the
network sees values of order one; the error is reported in the units of the images given.

:class:`FeatureAutoencoder` does the same with a dense network on a feature table (the unsupervised
detector of a windowed search, :class:`~bumphunt.methods.unsupervised.AutoencoderAD`).

:class:`AutoencoderEnsemble` trains several autoencoders of different seeds and scores with the
geometric mean of their errors; a member that converged far worse than the others is trained again.

The image network is that of arXiv:2203.01343 (:class:`ConvAutoencoder`); Adam with the learning rate cut
tenfold after 5 epochs without improvement (``schedule="plateau"``) or annealed along a half cosine over
``max_epochs`` (``schedule="cosine"``: a fixed cost, about 50 epochs of 12k 40 x 40 images in 4 minutes on 2
CPU cores), early stopping on a validation split, CUDA when present (``device="auto"``).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator, clone

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._torch import (
    TrainingHistory,
    as_tensor,
    batched,
    resolve_device,
    seeded,
    train_with_early_stopping,
)
from bumphunt.methods._validation import as_matrix
from bumphunt.methods.preprocessing import Standardize
from bumphunt.seeding import SeedLike, child_seeds

__all__ = ["AutoencoderEnsemble", "ConvAutoencoder", "FeatureAutoencoder", "JetImageAutoencoder"]

logger = logging.getLogger(__name__)

#: Divergence guard of the training: an epoch whose validation loss exceeds this many times the best so
#: far is undone and the learning rate halved (at high rates a few trainings of the image autoencoder
#: otherwise end with every output pixel equal, the softmax's inputs stuck at the ELU's floor).
ROLLBACK = 4.0

#: Restart of a training that learned nothing: if after ``warmup_epochs + STALL_EPOCHS`` epochs the
#: validation loss has not fallen below ``STALL_SHARE`` of the loss of the mean training image given as
#: the reconstruction of every image (the best reconstruction that ignores its input), training starts
#: again from another initialisation, at most ``MAX_RESTARTS`` times (the last one runs to the end
#: whatever it does). About one in five trainings of the image autoencoder on generated QCD jets at a
#: learning rate of 1e-2 dies in its first epoch: its output no longer depends on its input, and its
#: loss stays at 302 in network units for all 60 epochs, against 285 for the mean image; healthy ones
#: were below 190 after three epochs at learning rates from 1e-3 to 1e-2.
STALL_EPOCHS = 3
STALL_SHARE = 0.9
MAX_RESTARTS = 3


class ConvAutoencoder(torch.nn.Module):
    """The autoencoder of arXiv:2203.01343 (their Keras layout, in torch).

    Encoder: two 3x3 convolutions of ``filters`` channels, a 2x2 max-pool, three more and one of a single
    channel, then dense layers of ``dense`` and ``latent`` units. Decoder: dense ``dense`` and
    ``(pixels / 2)^2`` units, two 3x3 convolutions, a 2x2 transposed convolution of stride 2 back to full
    size, two 3x3 convolutions down to one channel, and a softmax over all pixels times the input's pixel
    sum, so the reconstruction keeps each image's total. ELU activations, "same" padding.

    Parameters
    ----------
    pixels
        Side of the square input images; even.
    filters, dense, latent
        Convolution channels, width of the dense layers, size of the bottleneck.
    """

    def __init__(self, pixels: int, filters: int = 5, dense: int = 100, latent: int = 32) -> None:
        super().__init__()
        side = pixels // 2

        def conv(n_in: int, n_out: int) -> list[torch.nn.Module]:
            return [torch.nn.Conv2d(n_in, n_out, 3, padding=1), torch.nn.ELU()]

        self.encoder = torch.nn.Sequential(
            *conv(1, filters),
            *conv(filters, filters),
            torch.nn.MaxPool2d(2),
            *conv(filters, filters),
            *conv(filters, filters),
            *conv(filters, filters),
            *conv(filters, 1),
            torch.nn.Flatten(),
            torch.nn.Linear(side * side, dense),
            torch.nn.ELU(),
            torch.nn.Linear(dense, latent),
        )
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(latent, dense),
            torch.nn.ELU(),
            torch.nn.Linear(dense, side * side),
            torch.nn.ELU(),
            torch.nn.Unflatten(1, (1, side, side)),
            *conv(1, filters),
            *conv(filters, filters),
            torch.nn.ConvTranspose2d(filters, filters, 2, stride=2),
            *conv(filters, filters),
            torch.nn.Conv2d(filters, 1, 3, padding=1),
            torch.nn.ELU(),
            torch.nn.Flatten(),
        )
        # With a handful of channels, oneDNN's convolutions (above all their backward pass) are about
        # three times faster on CPU in the channels-last layout, which forward() gives its input too.
        self.to(memory_format=torch.channels_last)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``(batch, 1, pixels, pixels)`` images, with the pixel sum of each."""
        images = images.contiguous(memory_format=torch.channels_last)
        total = images.sum(dim=(1, 2, 3))
        shares = torch.softmax(self.decoder(self.encoder(images)), dim=1)
        return (shares * total[:, None]).reshape(images.shape)


class _Autoencoder(BaseEstimator):
    """Training and scoring shared by the autoencoders: settings checks, the validation split, Adam with
    early stopping (learning rate cut tenfold after 5 epochs without improvement), scores without
    gradients. Subclasses turn user arrays into network inputs (:meth:`_inputs`) and build the module
    (:meth:`_module`)."""

    max_epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    validation_fraction: float
    schedule: str
    warmup_epochs: int
    device: str
    seed: SeedLike
    _integer_settings: tuple[str, ...] = ("max_epochs", "batch_size", "patience")

    #: Restart trainings that learned nothing (see :data:`STALL_EPOCHS`).
    _restart_stalled: bool = False

    def _inputs(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _module(self, values: np.ndarray) -> torch.nn.Module:
        raise NotImplementedError

    def _fit_inputs(self, values: np.ndarray) -> None:
        """Learn what :meth:`_inputs` needs from the training values (scales); nothing by default."""

    def _fit(self, values: np.ndarray) -> None:
        name = type(self).__name__
        for setting in self._integer_settings:
            value = getattr(self, setting)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"{name} {setting} must be a positive integer, got {value!r}")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(
                f"{name} validation_fraction must lie in (0, 1), got {self.validation_fraction!r}"
            )
        if self.schedule not in ("plateau", "cosine"):
            raise ConfigError(f"{name} schedule must be 'plateau' or 'cosine', got {self.schedule!r}")
        if not (isinstance(self.warmup_epochs, int) and 0 <= self.warmup_epochs < self.max_epochs):
            raise ConfigError(
                f"{name} warmup_epochs must be an integer from 0 to max_epochs - 1, "
                f"got {self.warmup_epochs!r}"
            )
        if self.warmup_epochs and self.schedule != "cosine":
            raise ConfigError(f"{name} warmup_epochs needs schedule='cosine', got {self.schedule!r}")
        if len(values) < 10:
            raise DataFormatError(f"{name} needs at least 10 training events, got {len(values)}")
        split_seed, init_seed, batch_seed = child_seeds(self.seed, 3)
        order = np.random.default_rng(split_seed).permutation(len(values))
        n_validation = max(1, round(self.validation_fraction * len(values)))
        train, validation = np.sort(order[n_validation:]), np.sort(order[:n_validation])
        self.device_ = resolve_device(self.device)
        self._fit_inputs(values[train])

        def loss(x: torch.Tensor) -> torch.Tensor:
            return ((self.module_(x) - x) ** 2).flatten(1).mean(dim=1)

        def tensors(index: np.ndarray) -> list[torch.Tensor]:
            return [
                as_tensor(self._inputs(values[index]), self.device_),
                torch.ones(len(index), device=self.device_),
            ]

        train_tensors, validation_tensors = tensors(train), tensors(validation)
        abandon = None
        check = self.warmup_epochs + STALL_EPOCHS
        stalled = math.nan
        if self._restart_stalled:
            with torch.no_grad():  # the mean training input as every event's reconstruction
                mean = train_tensors[0].mean(dim=0, keepdim=True)
                stalled = float(((validation_tensors[0] - mean) ** 2).flatten(1).mean(dim=1).mean())

            def abandon(losses: Sequence[float]) -> bool:
                return len(losses) == check and min(losses) >= STALL_SHARE * stalled

        self.restarts_ = 0
        while True:
            with seeded(init_seed, self.device_):
                self.module_ = self._module(values).to(self.device_)
            self.history_: TrainingHistory = train_with_early_stopping(
                self.module_,
                loss,
                train_tensors,
                validation_tensors,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                weight_decay=0.0,
                patience=self.patience,
                seed=batch_seed,
                lr_decay=0.1 if self.schedule == "plateau" else None,
                lr_patience=5,
                cosine=self.schedule == "cosine",
                warmup_epochs=self.warmup_epochs,
                rollback=ROLLBACK,
                abandon=abandon if self.restarts_ < MAX_RESTARTS else None,
                name=name,
            )
            if not self.history_.abandoned:
                break
            self.restarts_ += 1
            logger.warning(
                "%s: the validation loss stayed near that of the mean image (%.4g) for %d epochs; "
                "training again from another initialisation (restart %d of at most %d)",
                name,
                stalled,
                check,
                self.restarts_,
                MAX_RESTARTS,
            )
            init_seed, batch_seed = child_seeds(init_seed, 2)

    def _evaluate(self, values: np.ndarray, function) -> np.ndarray:
        if not hasattr(self, "module_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")
        self.module_.eval()
        x = as_tensor(self._inputs(values), self.device_)
        return batched(lambda batch: function(batch, self.module_(batch)), [x], batch_size=4096).cpu().numpy()


class JetImageAutoencoder(_Autoencoder):
    """Convolutional autoencoder on jet images; :meth:`score` is the reconstruction error.

    Parameters
    ----------
    filters, dense, latent
        Convolution channels, width of the dense layers and size of the bottleneck
        (:class:`ConvAutoencoder`).
    max_epochs, batch_size, learning_rate, patience
        Training (Adam; stops after ``patience`` epochs without a lower validation loss and keeps the
        best epoch).
    validation_fraction
        Share of the images held out for early stopping.
    schedule
        Learning rate: ``"plateau"`` (cut tenfold after 5 epochs without a lower validation loss) or
        ``"cosine"`` (annealed to 1 % of ``learning_rate`` over ``max_epochs`` epochs).
    warmup_epochs
        With ``schedule="cosine"``: epochs over which the learning rate first rises linearly to
        ``learning_rate``.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        Seed of the split, the initialisation and the batch order.

    Attributes
    ----------
    history_ : TrainingHistory
        Losses per epoch and the epoch kept (of the last training).
    restarts_ : int
        Trainings abandoned because they learned nothing (see
        :data:`STALL_EPOCHS`); each restart draws a new initialisation and batch order.
    """

    _integer_settings = ("filters", "dense", "latent", "max_epochs", "batch_size", "patience")

    _restart_stalled = True

    def __init__(
        self,
        *,
        filters: int = 5,
        dense: int = 100,
        latent: int = 32,
        max_epochs: int = 200,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 10,
        validation_fraction: float = 0.2,
        schedule: str = "plateau",
        warmup_epochs: int = 0,
        device: str = "auto",
        seed: SeedLike = 0,
    ) -> None:
        self.filters = filters
        self.dense = dense
        self.latent = latent
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.schedule = schedule
        self.warmup_epochs = warmup_epochs
        self.device = device
        self.seed = seed

    def _images(self, images: npt.ArrayLike) -> np.ndarray:
        values = np.asarray(images, dtype=np.float32)
        if values.ndim != 3 or values.shape[1] != values.shape[2]:
            raise DataFormatError(f"jet images must have shape (n, pixels, pixels), got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise DataFormatError("jet images hold NaN/inf values")
        if hasattr(self, "pixels_") and values.shape[1] != self.pixels_:
            raise DataFormatError(
                f"JetImageAutoencoder was trained on {self.pixels_} x {self.pixels_} images, "
                f"got {values.shape[1]} x {values.shape[2]}"
            )
        return values

    def _fit_inputs(self, values: np.ndarray) -> None:
        # one factor for all images: pixel values of order one for the network
        mean_sum = max(float(values.sum(axis=(1, 2)).mean()), float(np.finfo(np.float32).tiny))
        self.scale_ = float(values.shape[1] ** 2 / mean_sum)

    def _inputs(self, values: np.ndarray) -> np.ndarray:
        return values[:, None] * self.scale_

    def _module(self, values: np.ndarray) -> torch.nn.Module:
        return ConvAutoencoder(values.shape[1], self.filters, self.dense, self.latent)

    def fit(self, images: npt.ArrayLike) -> JetImageAutoencoder:
        """Train on background images ``(n, pixels, pixels)``; returns self.

        Raises
        ------
        bumphunt.errors.ConfigError
            If the image side is odd or a setting is out of range.
        bumphunt.errors.DataFormatError
            If the images have the wrong shape, hold NaN/inf or are fewer than 10.
        """
        for name in ("pixels_", "module_"):
            self.__dict__.pop(name, None)
        values = self._images(images)
        if values.shape[1] % 2:
            raise ConfigError(f"JetImageAutoencoder needs an even image side, got {values.shape[1]} pixels")
        self.pixels_ = values.shape[1]
        self._fit(values)
        return self

    def reconstruct(self, images: npt.ArrayLike) -> np.ndarray:
        """The reconstruction of each image, in the units of the images given."""
        rebuilt = self._evaluate(self._images(images), lambda x, out: out[:, 0])
        return rebuilt.astype(np.float64) / self.scale_

    def score(self, images: npt.ArrayLike) -> np.ndarray:
        """Mean squared reconstruction error of each image (image units squared): higher = more anomalous."""
        error = self._evaluate(self._images(images), lambda x, out: ((out - x) ** 2).mean(dim=(1, 2, 3)))
        return error.astype(np.float64) / self.scale_**2


class FeatureAutoencoder(_Autoencoder):
    """Dense autoencoder on a feature table; :meth:`score` is the mean squared reconstruction error of
    the standardised features.

    Parameters
    ----------
    hidden_layers
        Widths of the encoder's hidden layers (the decoder mirrors them).
    latent
        Size of the bottleneck (smaller than the number of features).
    max_epochs, batch_size, learning_rate, patience, validation_fraction, schedule, warmup_epochs
        As for :class:`JetImageAutoencoder`.
    device, seed
        As for :class:`JetImageAutoencoder`.
    """

    _integer_settings = ("latent", "max_epochs", "batch_size", "patience")

    def __init__(
        self,
        *,
        hidden_layers: Sequence[int] = (32, 16),
        latent: int = 2,
        max_epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 8,
        validation_fraction: float = 0.2,
        schedule: str = "plateau",
        warmup_epochs: int = 0,
        device: str = "auto",
        seed: SeedLike = 0,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.latent = latent
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.schedule = schedule
        self.warmup_epochs = warmup_epochs
        self.device = device
        self.seed = seed

    def _fit_inputs(self, values: np.ndarray) -> None:
        self.standardize_ = Standardize().fit(values)

    def _inputs(self, values: np.ndarray) -> np.ndarray:
        return self.standardize_.transform(values)

    def _module(self, values: np.ndarray) -> torch.nn.Module:
        widths = [values.shape[1], *self.hidden_layers, self.latent]
        layers: list[torch.nn.Module] = []
        for n_in, n_out in itertools.pairwise(widths):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.ELU()]
        for n_in, n_out in itertools.pairwise(widths[::-1]):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.ELU()]
        return torch.nn.Sequential(*layers[:-1])  # linear output

    def fit(self, X: npt.ArrayLike) -> FeatureAutoencoder:
        """Train on the events ``X`` ``(n, k)``; returns self."""
        widths = list(self.hidden_layers)
        if any(not (isinstance(w, int) and w >= 1) for w in widths):
            raise ConfigError(
                f"FeatureAutoencoder hidden_layers must be positive widths, got {self.hidden_layers!r}"
            )
        values = as_matrix(X)
        if not (isinstance(self.latent, int) and 1 <= self.latent < values.shape[1]):
            raise ConfigError(
                f"FeatureAutoencoder latent must be an integer from 1 to the features less one "
                f"({values.shape[1] - 1}), got {self.latent!r}"
            )
        self.n_features_in_ = values.shape[1]
        self._fit(values)
        return self

    def score(self, X: npt.ArrayLike) -> np.ndarray:
        """Mean squared reconstruction error of each event's standardised features."""
        values = as_matrix(X)
        if hasattr(self, "n_features_in_") and values.shape[1] != self.n_features_in_:
            raise DataFormatError(
                f"FeatureAutoencoder was fitted on {self.n_features_in_} features, got {values.shape[1]}"
            )
        error = self._evaluate(values, lambda x, out: ((out - x) ** 2).mean(dim=1))
        return error.astype(np.float64)


#: Outlier rule of :class:`AutoencoderEnsemble`: a member whose best validation loss exceeds this many
#: times the lowest of the ensemble is trained again. On generated QCD jets (12k 40 x 40 images, 60
#: cosine epochs at 1e-2) most members end at 16-24 in network units, but some settle on a poor
#: minimum that still learned something (75 and 116 in two of six 3-member ensembles), which the stall
#: check of a single training does not catch, and an ensemble holding one is mimicked worse (ADO 0.87
#: against 0.89). At 1.5 the rule also retrains members ending at 24-28, which came back at 18-24.
OUTLIER_RATIO = 1.5


class AutoencoderEnsemble(BaseEstimator):
    """Autoencoders of different seeds; the score is the geometric mean of their reconstruction errors.

    Two trainings of the same autoencoder on the same images order background events alike only 80-90 %
    of the time; the mean of several is a more reproducible score. Members whose best validation loss
    exceeds ``outlier_ratio`` times the lowest of the ensemble converged to a poor minimum: each is
    trained again from another seed (worst first, at most ``max_retrains`` trainings in all), and the
    better of the two trainings is kept.

    Parameters
    ----------
    autoencoder
        The member: a :class:`JetImageAutoencoder` or :class:`FeatureAutoencoder` whose settings every
        member shares (its ``seed`` is replaced); a default :class:`JetImageAutoencoder` when ``None``.
    n_members
        Autoencoders in the ensemble; 1 is a single autoencoder of seed ``seed``.
    outlier_ratio
        A member is an outlier when its best validation loss exceeds this factor (> 1) times the
        ensemble's lowest.
    max_retrains
        Most trainings spent on replacing outliers, in all.
    seed
        Seed of the members' seeds (those of the members and of the retrainings are spawned from it).

    Attributes
    ----------
    members_ : list
        The fitted members.
    validation_loss_ : list of float
        Best validation loss of each member kept (network units: the members' inputs, scaled by each
        member from its own training split).
    retrains_ : list of int
        Trainings spent on each member's place beyond the first.
    discarded_loss_ : list of float
        Best validation losses of the trainings not kept.
    """

    def __init__(
        self,
        autoencoder: JetImageAutoencoder | FeatureAutoencoder | None = None,
        *,
        n_members: int = 3,
        outlier_ratio: float = OUTLIER_RATIO,
        max_retrains: int = 3,
        seed: SeedLike = 0,
    ) -> None:
        self.autoencoder = autoencoder
        self.n_members = n_members
        self.outlier_ratio = outlier_ratio
        self.max_retrains = max_retrains
        self.seed = seed

    def fit(
        self, values: npt.ArrayLike, *, progress: Callable[[str], None] | None = None
    ) -> AutoencoderEnsemble:
        """Train the members on background ``values`` (what the member's ``fit`` takes); returns self.

        ``progress`` is called with a line before each training.
        """
        if not (isinstance(self.n_members, int) and self.n_members >= 1):
            raise ConfigError(
                f"AutoencoderEnsemble n_members must be a positive integer, got {self.n_members!r}"
            )
        ratio = self.outlier_ratio
        if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 1):
            raise ConfigError(f"AutoencoderEnsemble outlier_ratio must be a number > 1, got {ratio!r}")
        if not (isinstance(self.max_retrains, int) and self.max_retrains >= 0):
            raise ConfigError(
                f"AutoencoderEnsemble max_retrains must be a non-negative integer, got {self.max_retrains!r}"
            )
        template = JetImageAutoencoder() if self.autoencoder is None else self.autoencoder
        n = self.n_members
        spawned = child_seeds(self.seed, n + self.max_retrains)
        seeds = [self.seed] if n == 1 else spawned[:n]
        spare = iter(spawned[n:])

        def train(seed: int, text: str) -> JetImageAutoencoder | FeatureAutoencoder:
            if progress is not None:
                progress(text)
            member = clone(template).set_params(seed=seed)
            member.fit(values)
            return member

        def loss(member: JetImageAutoencoder | FeatureAutoencoder) -> float:
            return float(member.history_.validation_loss[member.history_.best_epoch])

        self.members_ = [
            train(seed, "training the autoencoder" + (f" ({i + 1} of {n})" if n > 1 else ""))
            for i, seed in enumerate(seeds)
        ]
        self.retrains_ = [0] * n
        self.discarded_loss_: list[float] = []
        for _ in range(self.max_retrains):
            losses = [loss(m) for m in self.members_]
            worst = int(np.argmax(losses))
            if losses[worst] <= ratio * min(losses):
                break
            logger.warning(
                "AutoencoderEnsemble: member %d's best validation loss %.4g is %.2f times the lowest "
                "(%.4g); training it again from another seed",
                worst + 1,
                losses[worst],
                losses[worst] / min(losses),
                min(losses),
            )
            candidate = train(next(spare), f"training the autoencoder {worst + 1} again (poor minimum)")
            self.retrains_[worst] += 1
            if loss(candidate) < losses[worst]:
                self.discarded_loss_.append(losses[worst])
                self.members_[worst] = candidate
            else:
                self.discarded_loss_.append(loss(candidate))
        self.validation_loss_ = [loss(m) for m in self.members_]
        return self

    def score(self, values: npt.ArrayLike) -> np.ndarray:
        """Geometric mean of the members' reconstruction errors (the members' score units)."""
        if not hasattr(self, "members_"):
            raise NotFittedError("AutoencoderEnsemble is not fitted; call fit() first")
        tiny = np.finfo(np.float64).tiny
        logs = [np.log(np.maximum(member.score(values), tiny)) for member in self.members_]
        return np.exp(np.mean(logs, axis=0))

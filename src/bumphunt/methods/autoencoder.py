"""A convolutional autoencoder on jet images: its reconstruction error is an anomaly score.

Trained on background jets only, the autoencoder learns to compress and rebuild what background looks
like; jets of another kind (tops, W bosons, new particles) are rebuilt worse, so the mean squared error
between an image and its reconstruction ranks jets by how anomalous they are (Heimel et al.,
arXiv:1808.08979; Farina, Nakai, Shih, arXiv:1808.08992; Bradshaw, Chang, Ostdiek, arXiv:2203.01343).

:class:`JetImageAutoencoder` is scikit-learn style: ``fit(images)`` on background images
``(n, pixels, pixels)`` and ``score(images)`` for the reconstruction error of each image. Images are
scaled by one factor (the mean pixel sum of the training images times ``1 / pixels**2``) so that the
network sees values of order one; the error is reported in the units of the images given.

The network is that of arXiv:2203.01343 (:class:`ConvAutoencoder`); Adam with the learning rate cut
tenfold after 5 epochs without improvement, early stopping on a validation split, CUDA when present
(``device="auto"``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._torch import (
    TrainingHistory,
    as_tensor,
    batched,
    resolve_device,
    seeded,
    train_with_early_stopping,
)
from bumphunt.seeding import SeedLike, child_seeds

__all__ = ["ConvAutoencoder", "JetImageAutoencoder"]


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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``(batch, 1, pixels, pixels)`` images, with the pixel sum of each."""
        total = images.sum(dim=(1, 2, 3))
        shares = torch.softmax(self.decoder(self.encoder(images)), dim=1)
        return (shares * total[:, None]).reshape(images.shape)


class JetImageAutoencoder(BaseEstimator):
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
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        Seed of the split, the initialisation and the batch order.

    Attributes
    ----------
    history_ : TrainingHistory
        Losses per epoch and the epoch kept.
    """

    def __init__(
        self,
        *,
        filters: int = 5,
        dense: int = 100,
        latent: int = 32,
        max_epochs: int = 50,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 10,
        validation_fraction: float = 0.2,
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
        self.device = device
        self.seed = seed

    def _images(self, images: npt.ArrayLike) -> np.ndarray:
        values = np.asarray(images, dtype=np.float32)
        if values.ndim != 3 or values.shape[1] != values.shape[2]:
            raise DataFormatError(f"jet images must have shape (n, pixels, pixels), got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise DataFormatError("jet images hold NaN/inf values")
        return values

    def fit(self, images: npt.ArrayLike) -> JetImageAutoencoder:
        """Train on background images ``(n, pixels, pixels)``; returns self.

        Raises
        ------
        bumphunt.errors.ConfigError
            If the image side is odd or a setting is out of range.
        bumphunt.errors.DataFormatError
            If the images have the wrong shape, hold NaN/inf or are fewer than 10.
        """
        for name in ("filters", "dense", "latent", "max_epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"JetImageAutoencoder {name} must be a positive integer, got {value!r}")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(
                "JetImageAutoencoder validation_fraction must lie in (0, 1), "
                f"got {self.validation_fraction!r}"
            )
        values = self._images(images)
        pixels = values.shape[1]
        if pixels % 2:
            raise ConfigError(f"JetImageAutoencoder needs an even image side, got {pixels} pixels")
        if len(values) < 10:
            raise DataFormatError(f"JetImageAutoencoder needs at least 10 training images, got {len(values)}")
        split_seed, init_seed, batch_seed = child_seeds(self.seed, 3)
        order = np.random.default_rng(split_seed).permutation(len(values))
        n_validation = max(1, round(self.validation_fraction * len(values)))
        train, validation = np.sort(order[n_validation:]), np.sort(order[:n_validation])
        self.device_ = resolve_device(self.device)
        self.scale_ = float(pixels**2 / max(values[train].sum(axis=(1, 2)).mean(), np.finfo(np.float32).tiny))
        self.pixels_ = pixels
        with seeded(init_seed, self.device_):
            self.module_ = ConvAutoencoder(pixels, self.filters, self.dense, self.latent).to(self.device_)

        def loss(x: torch.Tensor) -> torch.Tensor:
            return ((self.module_(x) - x) ** 2).mean(dim=(1, 2, 3))

        def tensors(index: np.ndarray) -> list[torch.Tensor]:
            x = as_tensor(values[index][:, None] * self.scale_, self.device_)
            return [x, torch.ones(len(index), device=self.device_)]

        self.history_: TrainingHistory = train_with_early_stopping(
            self.module_,
            loss,
            tensors(train),
            tensors(validation),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=0.0,
            patience=self.patience,
            seed=batch_seed,
            lr_decay=0.1,
            lr_patience=5,
            name="JetImageAutoencoder",
        )
        return self

    def reconstruct(self, images: npt.ArrayLike) -> np.ndarray:
        """The reconstruction of each image, in the units of the images given."""
        x = self._input(images)
        out = batched(lambda batch: self.module_(batch), [x], batch_size=4096)
        return out[:, 0].cpu().numpy().astype(np.float64) / self.scale_

    def _input(self, images: npt.ArrayLike) -> torch.Tensor:
        if not hasattr(self, "module_"):
            raise NotFittedError("JetImageAutoencoder is not fitted; call fit(images) first")
        values = self._images(images)
        if values.shape[1] != self.pixels_:
            raise DataFormatError(
                f"JetImageAutoencoder was trained on {self.pixels_} x {self.pixels_} images, "
                f"got {values.shape[1]} x {values.shape[2]}"
            )
        self.module_.eval()
        return as_tensor(values[:, None] * self.scale_, self.device_)

    def score(self, images: npt.ArrayLike) -> np.ndarray:
        """Mean squared reconstruction error of each image (image units squared): higher = more anomalous."""
        x = self._input(images)
        error = batched(
            lambda batch: ((self.module_(batch) - batch) ** 2).mean(dim=(1, 2, 3)), [x], batch_size=4096
        )
        return error.cpu().numpy().astype(np.float64) / self.scale_**2

"""The jet-image autoencoder: trained on one kind of image, it rebuilds another kind worse."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods.autoencoder import JetImageAutoencoder
from bumphunt.stats.metrics import auc


def _images(rng: np.random.Generator, n: int, two_prong: bool) -> np.ndarray:
    """12 x 12 images normalised to 1: a core at the centre, plus a second hard prong for ``two_prong``."""
    images = rng.uniform(0, 0.01, (n, 12, 12))
    images[:, 6, 6] += 1.0
    if two_prong:
        images[np.arange(n), 6, rng.integers(8, 11, n)] += rng.uniform(0.3, 0.8, n)
    else:
        images[:, 5:8, 5:8] += rng.uniform(0, 0.1, (n, 3, 3))
    return images / images.sum(axis=(1, 2), keepdims=True)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    model = JetImageAutoencoder(max_epochs=15, patience=3, device="cpu", seed=1)
    return model.fit(_images(rng, 1500, False)), rng


def test_images_unlike_the_training_ones_are_rebuilt_worse(trained):
    model, rng = trained
    background, anomalous = _images(rng, 300, False), _images(rng, 300, True)
    scores = np.concatenate([model.score(background), model.score(anomalous)])
    assert auc(scores, np.repeat([0, 1], 300)) > 0.95
    # the score is the mean squared error of the reconstruction, in image units
    rebuilt = model.reconstruct(background[:5])
    np.testing.assert_allclose(
        model.score(background[:5]), ((rebuilt - background[:5]) ** 2).mean(axis=(1, 2)), rtol=1e-4
    )


def test_the_same_seed_gives_the_same_autoencoder(trained):
    model, rng = trained
    images = _images(np.random.default_rng(0), 1500, False)
    again = JetImageAutoencoder(max_epochs=15, patience=3, device="cpu", seed=1).fit(images)
    probe = _images(rng, 20, True)
    np.testing.assert_array_equal(again.score(probe), model.score(probe))


def test_bad_input_is_named(trained):
    model, rng = trained
    with pytest.raises(ConfigError, match="even image side, got 11 pixels"):
        JetImageAutoencoder(device="cpu").fit(np.ones((20, 11, 11)))
    with pytest.raises(DataFormatError, match=r"shape \(n, pixels, pixels\)"):
        JetImageAutoencoder(device="cpu").fit(np.ones((20, 12)))
    with pytest.raises(DataFormatError, match="trained on 12 x 12 images, got 16 x 16"):
        model.score(np.ones((3, 16, 16)))
    with pytest.raises(ConfigError, match="latent must be a positive integer"):
        JetImageAutoencoder(latent=0).fit(_images(rng, 20, False))
    with pytest.raises(ConfigError, match="schedule must be 'plateau' or 'cosine', got 'step'"):
        JetImageAutoencoder(schedule="step").fit(_images(rng, 20, False))
    with pytest.raises(ConfigError, match="warmup_epochs needs schedule='cosine', got 'plateau'"):
        JetImageAutoencoder(warmup_epochs=2).fit(_images(rng, 20, False))
    with pytest.raises(ConfigError, match="warmup_epochs must be an integer from 0 to max_epochs - 1, got 5"):
        JetImageAutoencoder(max_epochs=5, schedule="cosine", warmup_epochs=5).fit(_images(rng, 20, False))
    with pytest.raises(NotFittedError):
        JetImageAutoencoder().score(np.ones((2, 12, 12)))


def test_the_cosine_schedule_anneals_the_learning_rate_over_the_epochs(trained):
    _, rng = trained
    model = JetImageAutoencoder(max_epochs=6, schedule="cosine", learning_rate=2e-3, device="cpu", seed=1)
    rates = model.fit(_images(rng, 300, False)).history_.learning_rate
    assert rates[0] == pytest.approx(2e-3) and np.all(np.diff(rates) < 0) and rates[-1] > 2e-5


def test_warmup_raises_the_rate_before_the_cosine_anneals_it(trained):
    _, rng = trained
    model = JetImageAutoencoder(
        max_epochs=6,
        schedule="cosine",
        warmup_epochs=2,
        learning_rate=2e-3,
        batch_size=32,
        device="cpu",
        seed=1,
    )
    rates = np.array(model.fit(_images(rng, 300, False)).history_.learning_rate)
    # 240 training images in batches of 32: 8 batches per epoch, the rate ramps over 16 of them
    assert rates[0] == pytest.approx(2e-3 / 16) and rates[1] < rates[2] and np.all(np.diff(rates[2:]) < 0)

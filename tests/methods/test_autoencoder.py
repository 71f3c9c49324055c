"""The jet-image autoencoder: trained on one kind of image, it rebuilds another kind worse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods.autoencoder import (
    OUTLIER_RATIO,
    AutoencoderEnsemble,
    FeatureAutoencoder,
    JetImageAutoencoder,
)
from bumphunt.seeding import child_seeds
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


class _DeadFirst(JetImageAutoencoder):
    """The first network built starts dead: its last convolution's bias puts every output pixel at the
    ELU's floor, where no gradient flows, so the softmax gives the flat image whatever the input."""

    def _module(self, values):
        module = super()._module(values)
        if not getattr(self, "_built", False):
            self._built = True
            last = [m for m in module.decoder if isinstance(m, torch.nn.Conv2d)][-1]
            torch.nn.init.constant_(last.bias, -60.0)
        return module


def test_a_training_that_learned_nothing_starts_again(trained, monkeypatch):
    _, rng = trained
    images = _images(rng, 600, True)
    settings = {"max_epochs": 8, "patience": 8, "learning_rate": 1e-2, "device": "cpu", "seed": 2}
    # On these toy images the mean image is already a fine reconstruction (loss about 6 in network
    # units, a flat image 36, a healthy network 10 after three epochs): the bar is set between, at three
    # times the mean image's loss (on jets: 0.9 times it, see STALL_SHARE).
    monkeypatch.setattr("bumphunt.methods.autoencoder.STALL_SHARE", 3.0)
    model = _DeadFirst(**settings).fit(images)
    assert 1 <= model.restarts_ <= 3  # the dead start, and maybe a slow one after it
    healthy = JetImageAutoencoder(**settings).fit(images)
    assert healthy.restarts_ == 0
    assert model.history_.validation_loss[-1] < 0.5 * model.history_.validation_loss[0]
    # without restarts the dead network stays where it started
    monkeypatch.setattr("bumphunt.methods.autoencoder.MAX_RESTARTS", 0)
    stuck = _DeadFirst(**settings).fit(images)
    assert stuck.restarts_ == 0 and len(stuck.history_.validation_loss) == 8
    assert min(stuck.history_.validation_loss) > 0.99 * stuck.history_.validation_loss[0]
    assert model.score(images[:100]).mean() < 0.5 * stuck.score(images[:100]).mean()


class _Stuck(FeatureAutoencoder):
    """A feature autoencoder that, for the seeds in ``stuck``, trains only its output bias: it ends
    rebuilding every event as the mean, far above a healthy training, as a poor minimum does on jets."""

    stuck: frozenset[int] = frozenset()

    def _module(self, values):
        module = super()._module(values)
        if self.seed in self.stuck:
            for parameter in list(module.parameters())[:-1]:
                parameter.requires_grad_(False)
        return module


def test_an_ensemble_member_far_worse_than_the_others_is_trained_again(monkeypatch):
    # six features driven by two Gaussian latents: healthy members with a 2-unit bottleneck all end
    # within a factor 1.3 of each other (validation loss near 0.014 in standardised units)
    rng = np.random.default_rng(3)
    events = rng.normal(size=(2000, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(2000, 6))
    probe = events[:50] + rng.normal(0, 0.5, (50, 6))
    member = _Stuck(latent=2, max_epochs=30, learning_rate=3e-3, device="cpu")
    first, second, third, spare = child_seeds(7, 4)
    monkeypatch.setattr(_Stuck, "stuck", frozenset({first}))
    ensemble = AutoencoderEnsemble(member, n_members=3, max_retrains=1, seed=7).fit(events)
    assert [m.seed for m in ensemble.members_] == [spare, second, third]
    assert ensemble.retrains_ == [1, 0, 0]
    losses = ensemble.validation_loss_
    assert max(losses) <= OUTLIER_RATIO * min(losses)
    assert ensemble.discarded_loss_[0] > 10 * max(losses)
    # the score is the geometric mean of the members' reconstruction errors
    errors = np.array([m.score(probe) for m in ensemble.members_])
    np.testing.assert_allclose(ensemble.score(probe), np.exp(np.log(errors).mean(axis=0)), rtol=1e-12)

    # with the retraining stuck too, the better of the two trainings keeps the place
    monkeypatch.setattr(_Stuck, "stuck", frozenset({first, spare}))
    both = AutoencoderEnsemble(member, n_members=3, max_retrains=1, seed=7).fit(events)
    assert both.members_[0].seed in (first, spare) and both.retrains_ == [1, 0, 0]
    assert both.validation_loss_[0] < both.discarded_loss_[0]
    assert both.validation_loss_[0] > 10 * max(both.validation_loss_[1:])

    # healthy members are all kept; a single autoencoder has the ensemble's seed
    monkeypatch.setattr(_Stuck, "stuck", frozenset())
    healthy = AutoencoderEnsemble(member, n_members=3, seed=7).fit(events)
    assert healthy.retrains_ == [0, 0, 0] and healthy.discarded_loss_ == []
    single = AutoencoderEnsemble(member, n_members=1, seed=7).fit(events)
    alone = _Stuck(**{**member.get_params(), "seed": 7}).fit(events)
    np.testing.assert_allclose(single.score(probe), alone.score(probe), rtol=1e-12)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"n_members": 0}, "n_members must be a positive integer, got 0"),
        ({"outlier_ratio": 1.0}, "outlier_ratio must be a number > 1, got 1.0"),
        ({"max_retrains": -1}, "max_retrains must be a non-negative integer, got -1"),
    ],
)
def test_bad_ensemble_settings_are_named(setting, message):
    with pytest.raises(ConfigError, match=message):
        AutoencoderEnsemble(**setting).fit(np.ones((20, 12, 12)))
    with pytest.raises(NotFittedError, match="AutoencoderEnsemble is not fitted"):
        AutoencoderEnsemble().score(np.ones((2, 12, 12)))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_autoencoder_on_cuda_learns_like_the_one_on_cpu(trained):
    cpu_model, _ = trained
    images = _images(np.random.default_rng(0), 1500, False)
    model = JetImageAutoencoder(max_epochs=15, patience=3, device="auto", seed=1).fit(images)
    assert model.device_.type == "cuda"
    probe = np.random.default_rng(5)
    background, anomalous = _images(probe, 300, False), _images(probe, 300, True)
    scores = np.concatenate([model.score(background), model.score(anomalous)])
    assert auc(scores, np.repeat([0, 1], 300)) > 0.95
    assert scores.dtype == np.float64 and np.all(np.isfinite(scores))
    # a network trained on the GPU rebuilds the background about as well as the one trained on the CPU
    cpu_loss = cpu_model.score(background).mean()
    assert model.score(background).mean() == pytest.approx(cpu_loss, rel=0.5)

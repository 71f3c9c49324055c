"""Conditional flow: learns a known p(x | m), reports densities in the original space, is seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods.flows import ConditionalFlow, FlowMixture, default_preprocessing
from bumphunt.methods.preprocessing import Standardize

SLOPE = 2.0 / 1000.0  # mean of x0 rises by 2 per TeV
WIDTH = 0.5


def linear_gaussian(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x0 ~ N(1 + SLOPE (m - 3500 GeV), WIDTH), x1 ~ N(0, 1) independent of m; m uniform 2500-4500 GeV."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(2500.0, 4500.0, n)
    x = np.column_stack([rng.normal(1.0 + SLOPE * (m - 3500.0), WIDTH), rng.normal(0.0, 1.0, n)])
    return x, m


def true_log_prob(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    return norm.logpdf(x[:, 0], 1.0 + SLOPE * (m - 3500.0), WIDTH) + norm.logpdf(x[:, 1])


def small_flow(kind: str, seed: int = 0, **settings) -> ConditionalFlow:
    settings = {"transforms": 2, "hidden_features": (32, 32), "max_epochs": 100, "patience": 8, **settings}
    return ConditionalFlow(kind, seed=seed, device="cpu", **settings)


@pytest.fixture(scope="module")
def training() -> tuple[np.ndarray, np.ndarray]:
    return linear_gaussian(6000, seed=1)


@pytest.mark.parametrize("kind", ["maf", "nsf"])
def test_flow_learns_mean_shifting_with_mass(kind: str, training) -> None:
    # Tolerances: about twice the spread over flow seeds 0-2 seen with these settings (slope within
    # 3 %, intercept 0.04, width 15 %, other feature's mean 0.08, mean log-likelihood 0.05). An affine
    # flow cannot undo the curvature a nonlinear preprocessing puts near the ends of the range (after
    # min-max + logit x0's width at 2800 GeV read 0.57-0.59 for 0.5), so the MAF sees the Gaussian
    # features only standardized.
    settings = {"preprocessing": Standardize()} if kind == "maf" else {}
    flow = small_flow(kind, **settings).fit(*training)
    grid = np.array([2800.0, 3500.0, 4200.0])
    samples = [flow.sample(20000, m) for m in grid]
    means = np.array([s[:, 0].mean() for s in samples])
    slope, intercept = np.polyfit(grid - 3500.0, means, 1)
    assert slope == pytest.approx(SLOPE, rel=0.05)
    assert intercept == pytest.approx(1.0, abs=0.05)
    for s in samples:
        assert s[:, 0].std() == pytest.approx(WIDTH, rel=0.15)
        assert s[:, 1].mean() == pytest.approx(0.0, abs=0.1)
        assert s[:, 1].std() == pytest.approx(1.0, rel=0.1)
    # held-out likelihood close to the true one (the exact density gives a mean log p of -2.14)
    x, m = linear_gaussian(2000, seed=2)
    first = getattr(flow.preprocessing_, "steps_", [flow.preprocessing_])[0]
    inside = first.in_range(x) if hasattr(first, "in_range") else np.ones(len(x), dtype=bool)
    assert flow.log_prob(x[inside], m[inside]).mean() == pytest.approx(
        true_log_prob(x[inside], m[inside]).mean(), abs=0.06
    )


def test_log_prob_is_normalized_in_original_space() -> None:
    # a one-feature flow: p(x | m) must integrate to 1 over x (in the units of x, here GeV)
    rng = np.random.default_rng(3)
    m = rng.uniform(2500.0, 4500.0, 3000)
    x = rng.gamma(3.0, 40.0 + 0.02 * (m - 2500.0))[:, None]
    flow = small_flow("nsf", max_epochs=15).fit(x, m)
    low, high = flow.preprocessing_.steps_[0].min_[0], flow.preprocessing_.steps_[0].max_[0]
    grid = np.linspace(low, high, 20001)
    for mass in (2600.0, 4400.0):
        density = np.exp(flow.log_prob(grid[:, None], mass))
        integral = np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid))
        # the flow puts a little probability in the margin beyond the training range
        assert integral == pytest.approx(1.0, abs=0.02)


def test_seeds_reproduce_exactly(training) -> None:
    x, m = training[0][:1000], training[1][:1000]
    # a few epochs suffice: the test is about reproducibility, not accuracy
    first, second = (
        small_flow("maf", seed=4, max_epochs=3).fit(x, m),
        small_flow("maf", seed=4, max_epochs=3).fit(x, m),
    )
    np.testing.assert_array_equal(first.log_prob(x[:50], m[:50]), second.log_prob(x[:50], m[:50]))
    # the default sampling seeds form a stream: successive draws differ, refits repeat the stream
    draws = [first.sample(100, 3000.0), first.sample(100, 3000.0)]
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(second.sample(100, 3000.0), draws[0])
    np.testing.assert_array_equal(second.sample(100, 3000.0), draws[1])
    np.testing.assert_array_equal(first.sample(100, 3000.0, seed=9), second.sample(100, 3000.0, seed=9))
    other = small_flow("maf", seed=5, max_epochs=3).fit(x, m)
    assert not np.array_equal(other.log_prob(x[:50], m[:50]), first.log_prob(x[:50], m[:50]))


def test_given_validation_events_stop_the_training_and_all_others_train(training) -> None:
    x, m = training
    train, held = slice(0, 4000), slice(4000, 6000)
    # one snapshot: the density is then the kept epoch's, whose loss the history reports
    flow = small_flow("maf", max_epochs=4, snapshots=1).fit(x[train], m[train], validation=(x[held], m[held]))
    np.testing.assert_array_equal(flow.train_index_, np.arange(4000))
    np.testing.assert_array_equal(flow.validation_index_, np.arange(4000, 6000))
    # the preprocessing learned from the training events alone (fitted on the validation events too,
    # it would pass their fluctuations on to the samples)
    alone = default_preprocessing().fit(x[train])
    np.testing.assert_allclose(flow.preprocessing_.transform(x[train]), alone.transform(x[train]))
    # the kept epoch's validation loss is the mean negative log-likelihood of the given events, clipped
    # to the training range, in the flow's (preprocessed) space
    clipped = np.clip(x[held], x[train].min(axis=0), x[train].max(axis=0))
    assert np.any(clipped != x[held])
    _, log_det = flow.preprocessing_.transform_with_log_det(clipped)
    loss = -np.mean(flow.log_prob(clipped, m[held]) - log_det)
    assert min(flow.history_.validation_loss) == pytest.approx(loss, rel=1e-5)
    # a validation event far outside the training range is clipped, not refused
    wide = x.copy()
    wide[5000, 0] = x[train, 0].max() + 3.0
    small_flow("maf", max_epochs=1).fit(wide[train], m[train], validation=(wide[held], m[held]))
    with pytest.raises(ConfigError, match=r"validation must be \(X_val, m_val\)"):
        small_flow("maf").fit(x[train], m[train], validation=(x[held],))
    with pytest.raises(DataFormatError, match="validation X_val has shape"):
        small_flow("maf").fit(x[train], m[train], validation=(x[held, :1], m[held]))
    with pytest.raises(DataFormatError, match=r"m must be one mass \(GeV\) or have shape \(2000,\)"):
        small_flow("maf").fit(x[train], m[train], validation=(x[held], m[:5]))


def test_spline_flow_is_zukos_nsf_with_the_same_parameters(training) -> None:
    """Our faster spline computes zuko's NSF: same parameters, same densities, same samples."""
    import zuko

    flow = small_flow("nsf", max_epochs=2).fit(*training)
    reference = zuko.flows.NSF(2, 1, transforms=2, bins=flow.bins, hidden_features=(32, 32))
    reference.load_state_dict(flow.flow_.state_dict())
    y = torch.as_tensor(flow.preprocessing_.transform(training[0][:500]), dtype=torch.float32)
    context = flow._context(training[1][:500])
    with torch.no_grad():
        ours, theirs = flow.flow_(context).log_prob(y), reference(context).log_prob(y)
        torch.manual_seed(3)
        ours_sample = flow.flow_(context).sample()
        torch.manual_seed(3)
        their_sample = reference(context).sample()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours_sample.numpy(), their_sample.numpy(), rtol=0, atol=1e-4)
    assert float(ours.std()) > 0.1  # a trained, non-trivial density


def test_cosine_schedule_length_and_rates(training) -> None:
    """The rate falls along a cosine over cosine_epochs, or over enough epochs for min_steps batches."""
    x, m = training  # 4800 training events: 3 batches of 2048 per epoch
    flow = small_flow("maf", cosine_epochs=5, min_steps=0, patience=100).fit(x, m)
    rates = np.array(flow.history_.learning_rate)
    assert len(rates) == 5 and rates[0] == pytest.approx(3e-3)
    assert np.all(np.diff(rates) < 0) and rates[-1] > 0.01 * 3e-3
    small = small_flow("maf", cosine_epochs=5, min_steps=30, patience=100, max_epochs=8).fit(x, m)
    assert len(small.history_.train_loss) == 8  # 10 epochs make 30 batches; max_epochs caps them
    plateau = small_flow("maf", lr_schedule="plateau", max_epochs=4, patience=100).fit(x, m)
    assert len(plateau.history_.learning_rate) == 4 and plateau.history_.learning_rate[0] == 3e-3
    with pytest.raises(ConfigError, match="lr_schedule must be 'cosine' or 'plateau'"):
        small_flow("maf", lr_schedule="step").fit(x, m)


def test_sampling_does_not_touch_global_torch_state(training) -> None:
    flow = small_flow("maf", max_epochs=1).fit(*training)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    flow.sample(10, 3000.0)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_mass_scaled_features_are_modelled_divided_by_the_mass(training) -> None:
    """A flow with ``mass_scaled`` is the flow of ``x / m``: same fit, samples times m, density / m."""
    x, m = training
    x = np.column_stack([np.exp(x[:, 0]) * m / 1000.0, x[:, 1]])  # a jet-mass-like feature in GeV
    scaled = small_flow("nsf", max_epochs=3, mass_scaled=[0]).fit(x, m)
    divided = x.copy()
    divided[:, 0] /= m
    reference = small_flow("nsf", max_epochs=3).fit(divided, m)
    np.testing.assert_allclose(scaled.history_.validation_loss, reference.history_.validation_loss, rtol=1e-6)
    np.testing.assert_allclose(
        scaled.log_prob(x[:50], m[:50]), reference.log_prob(divided[:50], m[:50]) - np.log(m[:50]), rtol=1e-6
    )
    masses = np.linspace(2600.0, 4400.0, 40)
    expected = reference.sample(40, masses, seed=5)
    expected[:, 0] *= masses
    np.testing.assert_allclose(scaled.sample(40, masses, seed=5), expected, rtol=1e-6)
    with pytest.raises(
        ConfigError, match=r"mass_scaled must be distinct feature indices in \[0, 2\), got \[2\]"
    ):
        ConditionalFlow(mass_scaled=[2]).fit(x, m)
    with pytest.raises(ConfigError, match="mass_scaled must be distinct"):
        ConditionalFlow(mass_scaled=[0, 0]).fit(x, m)
    with pytest.raises(DataFormatError, match="needs positive masses, got a minimum of -1 GeV"):
        ConditionalFlow(mass_scaled=[0]).fit(x, np.r_[-1.0, m[1:]])
    with pytest.raises(DataFormatError, match="fitted on 2 features, got 3"):
        scaled.log_prob(np.c_[x, x[:, :1]], m)


def test_bad_inputs(training) -> None:
    x, m = training
    with pytest.raises(ConfigError, match="kind must be 'maf' or 'nsf'"):
        ConditionalFlow("realnvp").fit(x, m)
    with pytest.raises(ConfigError, match="max_epochs must be a positive integer"):
        ConditionalFlow(max_epochs=0).fit(x, m)
    with pytest.raises(ConfigError, match=r"lr_decay must lie in \(0, 1\) or be None, got 1.5"):
        ConditionalFlow(lr_decay=1.5).fit(x, m)
    with pytest.raises(DataFormatError, match=r"m must be one mass \(GeV\) or have shape \(6000,\)"):
        ConditionalFlow().fit(x, m[:10])
    with pytest.raises(DataFormatError, match="leaves no events"):
        ConditionalFlow().fit(x[:2], m[:2])
    with pytest.raises(NotFittedError, match="call fit"):
        ConditionalFlow().sample(3, 3000.0)
    flow = small_flow("maf", max_epochs=1).fit(x, m)
    with pytest.raises(DataFormatError, match=r"shape \(3,\)"):
        flow.sample(3, [3000.0, 3100.0])
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            ConditionalFlow(device="cuda").fit(x, m)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_flow_on_cuda_learns_and_reproduces(training) -> None:
    flow = small_flow("nsf", seed=6).set_params(device="auto").fit(*training)
    assert flow.device_.type == "cuda"
    samples = flow.sample(20000, 4200.0, seed=1)
    assert samples[:, 0].mean() == pytest.approx(1.0 + SLOPE * 700.0, abs=0.06)
    np.testing.assert_array_equal(flow.sample(20000, 4200.0, seed=1), samples)


def test_flow_mixture_is_the_mean_density_of_members_of_different_seeds(training) -> None:
    x, m = training[0][:3000], training[1][:3000]
    mixture = FlowMixture(small_flow("nsf", max_epochs=40), members=2, seed=3).fit(x, m)
    first, second = mixture.flows_
    assert first.seed != second.seed
    members = np.stack([f.log_prob(x[:200], m[:200]) for f in mixture.flows_])
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(
        mixture.log_prob(x[:200], m[:200]), np.log(np.exp(members).mean(axis=0)), rtol=1e-12
    )
    # each sample comes from one member picked at random, so the mixture learns what its members do:
    # the mean of x0 rises with the mass by SLOPE
    low, high = mixture.sample(4000, 2600.0, seed=1), mixture.sample(4000, 4400.0, seed=1)
    rise = high[:, 0].mean() - low[:, 0].mean()
    assert rise == pytest.approx(SLOPE * 1800.0, abs=0.15)
    assert low[:, 0].std() == pytest.approx(WIDTH, rel=0.1)
    # seeded: the same draw with the same seed, a stream of draws without one
    again = FlowMixture(small_flow("nsf", max_epochs=40), members=2, seed=3).fit(x, m)
    np.testing.assert_array_equal(again.sample(50, m[:50], seed=7), mixture.sample(50, m[:50], seed=7))
    assert not np.array_equal(mixture.sample(50, 3000.0), mixture.sample(50, 3000.0))
    assert mixture.sample(0, 3000.0).shape == (0, 2)


def test_flow_mixture_bad_settings(training) -> None:
    x, m = training[0][:500], training[1][:500]
    with pytest.raises(NotFittedError, match="FlowMixture is not fitted"):
        FlowMixture().sample(3, 3000.0)
    for members in (0, 1.5, True):
        with pytest.raises(ConfigError, match="FlowMixture members must be a positive integer"):
            FlowMixture(small_flow("maf", max_epochs=1), members=members).fit(x, m)
    fitted = FlowMixture(small_flow("maf", max_epochs=1), members=1).fit(x, m)
    with pytest.raises(ConfigError, match="n must be a non-negative integer"):
        fitted.sample(-1, 3000.0)
    assert FlowMixture().device == "auto"
    assert FlowMixture(small_flow("maf")).device == "cpu"

"""Invertible transforms: exact inverses, log-Jacobians, out-of-range policy, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.stats import kstest

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError, OutOfRangeError
from bumphunt.methods.preprocessing import Chain, Log, MinMaxLogit, QuantileNormal, Standardize


@pytest.fixture
def train() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.column_stack(
        [rng.exponential(300.0, 500) + 20.0, rng.normal(0.0, 1.0, 500), rng.uniform(0, 1, 500)]
    )


TRANSFORMS = {
    "minmax-logit": lambda: MinMaxLogit(alpha=1e-3),
    "minmax-logit-tiny-margin": lambda: MinMaxLogit(alpha=1e-6),
    "standardize": Standardize,
    "chain": lambda: Chain([MinMaxLogit(alpha=1e-3), Standardize()]),
    "quantile-normal": lambda: QuantileNormal(knots=50),
    "quantile-normal-chain": lambda: Chain([QuantileNormal(knots=100), Standardize()]),
}


@pytest.mark.parametrize("make", TRANSFORMS.values(), ids=TRANSFORMS.keys())
def test_inverse_is_exact(make, train: np.ndarray) -> None:
    transform = make().fit(train)
    y = transform.transform(train)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(transform.inverse_transform(y), train, rtol=1e-6, atol=1e-6)
    # and the other way round, on arbitrary points of the image of the fitted range
    z = np.random.default_rng(1).uniform(y.min(axis=0), y.max(axis=0), size=(200, 3))
    np.testing.assert_allclose(transform.transform(transform.inverse_transform(z)), z, rtol=1e-6, atol=1e-6)


def test_log_inverse_is_exact(train: np.ndarray) -> None:
    transform = Chain([Log(), Standardize()]).fit(train[:, :1])
    np.testing.assert_allclose(
        transform.inverse_transform(transform.transform(train[:, :1])), train[:, :1], rtol=1e-6
    )


@pytest.mark.parametrize("make", TRANSFORMS.values(), ids=TRANSFORMS.keys())
def test_log_jacobian_matches_finite_differences(make, train: np.ndarray) -> None:
    transform = make().fit(train)
    low, high = train.min(axis=0), train.max(axis=0)
    step = 1e-6 * (high - low)
    x = train[np.all((train > low + step) & (train < high - step), axis=1)][:50]
    derivatives = np.empty_like(x)
    for j in range(x.shape[1]):
        shift = np.zeros(x.shape[1])
        shift[j] = step[j] / 2
        derivatives[:, j] = (
            transform.transform(x + shift)[:, j] - transform.transform(x - shift)[:, j]
        ) / step[j]
    expected = np.log(np.abs(derivatives)).sum(axis=1)
    np.testing.assert_allclose(transform.log_abs_det_jacobian(x), expected, atol=1e-5)


def test_chain_jacobian_is_sum_of_steps(train: np.ndarray) -> None:
    chain = Chain([MinMaxLogit(alpha=0.01), Standardize()]).fit(train)
    first, second = chain.steps_
    expected = first.log_abs_det_jacobian(train) + second.log_abs_det_jacobian(first.transform(train))
    np.testing.assert_allclose(chain.log_abs_det_jacobian(train), expected, rtol=1e-12)


def test_minmax_logit_maps_range_onto_margin(train: np.ndarray) -> None:
    transform = MinMaxLogit(alpha=0.01).fit(train)
    y = transform.transform(train)
    logit = np.log(0.01 / 0.99)
    np.testing.assert_allclose(y.min(axis=0), logit, rtol=1e-12)
    np.testing.assert_allclose(y.max(axis=0), -logit, rtol=1e-12)
    # the inverse of any real number lies within the margin beyond the fitted range
    far = transform.inverse_transform(np.array([[-1e3, -1e3, -1e3], [1e3, 1e3, 1e3]]))
    span = train.max(axis=0) - train.min(axis=0)
    np.testing.assert_allclose(far[0], train.min(axis=0) - 0.01 / 0.98 * span, rtol=1e-9)
    np.testing.assert_allclose(far[1], train.max(axis=0) + 0.01 / 0.98 * span, rtol=1e-9)


@pytest.mark.parametrize("make", [MinMaxLogit, QuantileNormal], ids=["minmax-logit", "quantile-normal"])
def test_out_of_range_raises_by_default(make, train: np.ndarray) -> None:
    transform = make().fit(train, column_names=["mj1", "x", "tau21"])
    outside = train[:3].copy()
    outside[0, 2] = 1.5
    outside[1, 2] = -0.5
    with pytest.raises(OutOfRangeError, match=r"tau21: 1 below and 1 above the fitted range"):
        transform.transform(outside)
    with pytest.raises(OutOfRangeError, match="tau21"):
        transform.log_abs_det_jacobian(outside)
    np.testing.assert_array_equal(transform.in_range(outside), [False, False, True])


@pytest.mark.parametrize("make", [MinMaxLogit, QuantileNormal], ids=["minmax-logit", "quantile-normal"])
def test_out_of_range_clip_is_explicit(make, train: np.ndarray, caplog: pytest.LogCaptureFixture) -> None:
    transform = make(out_of_range="clip").fit(train)
    outside = np.array([[train[:, 0].max() + 100.0, 0.0, 0.5]])
    with caplog.at_level(logging.WARNING, logger="bumphunt.methods.preprocessing"):
        y = transform.transform(outside)
    assert "column 0: 0 below and 1 above" in caplog.text
    assert np.all(np.isfinite(y))
    # (to 1e-7: near the range's end the distribution function is flat to float64 resolution)
    assert transform.inverse_transform(y)[0, 0] == pytest.approx(train[:, 0].max(), rel=1e-6)


def test_quantile_normal_makes_each_feature_normal() -> None:
    rng = np.random.default_rng(3)
    # a hard edge with the density at its maximum there, and a long tail
    x = np.column_stack([np.abs(rng.normal(0.0, 50.0, 20000)), rng.pareto(3.0, 20000)])
    transform = QuantileNormal(knots=200).fit(x)
    fresh = np.column_stack([np.abs(rng.normal(0.0, 50.0, 5000)), rng.pareto(3.0, 5000)])
    y = transform.transform(fresh[transform.in_range(fresh)])
    for j in range(2):
        assert kstest(y[:, j], "norm").pvalue > 1e-3
    # normal values beyond the extreme levels land on the ends of the range
    np.testing.assert_allclose(
        transform.inverse_transform([[-9.0, 9.0]]), [[x[:, 0].min(), x[:, 1].max()]], rtol=1e-6
    )


def test_quantile_normal_refuses_atoms_and_bad_knots(train: np.ndarray) -> None:
    atom = train.copy()
    atom[:100, 1] = 0.0
    with pytest.raises(DataFormatError, match=r"columns \['x'\] repeat a value across knots"):
        QuantileNormal(knots=200).fit(atom, column_names=["mj1", "x", "tau21"])
    for knots in (1, 500, 2.5):
        with pytest.raises(ConfigError, match="knots must be an integer >= 2 and below the number"):
            QuantileNormal(knots=knots).fit(train)
    with pytest.raises(ConfigError, match="out_of_range must be 'raise' or 'clip'"):
        QuantileNormal(out_of_range="drop").fit(train)


def test_log_rejects_non_positive() -> None:
    transform = Log().fit(np.array([[1.0], [2.0]]), column_names=["mass"])
    with pytest.raises(OutOfRangeError, match=r"mass: 1 values are <= 0"):
        transform.transform(np.array([[0.0], [3.0]]))


@pytest.mark.parametrize("make", [MinMaxLogit, Standardize], ids=["minmax-logit", "standardize"])
def test_constant_column_is_an_error(make) -> None:
    x = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    with pytest.raises(DataFormatError, match=r"constant columns \['flat'\]"):
        make().fit(x, column_names=["slope", "flat"])


def test_bad_inputs(train: np.ndarray) -> None:
    with pytest.raises(NotFittedError, match="MinMaxLogit is not fitted"):
        MinMaxLogit().transform(train)
    with pytest.raises(ConfigError, match="alpha must lie in"):
        MinMaxLogit(alpha=0.5).fit(train)
    with pytest.raises(ConfigError, match="out_of_range must be"):
        MinMaxLogit(out_of_range="ignore").fit(train)
    fitted = Standardize().fit(train)
    with pytest.raises(DataFormatError, match="X has 2 columns but Standardize was fitted on 3"):
        fitted.transform(train[:, :2])
    bad = train.copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataFormatError, match="column 1 has 1"):
        fitted.transform(bad)
    with pytest.raises(ConfigError, match="at least one step"):
        Chain([]).fit(train)


def test_spread_atoms_makes_point_masses_continuous_and_keeps_the_order():
    from bumphunt.methods.preprocessing import spread_atoms

    rng = np.random.default_rng(0)
    iso = np.where(rng.random(4000) < 0.3, 0.0, rng.exponential(1.0, 4000))
    pt = rng.exponential(5.0, 4000) + 3.0
    x = np.column_stack([iso, pt])
    spread, atoms = spread_atoms(x, ["iso", "pt"], np.random.default_rng(1))
    assert [a.feature for a in atoms] == ["iso"]
    assert atoms[0].value == 0.0 and atoms[0].fraction == pytest.approx(0.3, abs=0.02)
    at = iso == 0
    assert atoms[0].width == pytest.approx(iso[~at].min())
    assert np.all(spread[at, 0] >= 0) and np.all(spread[at, 0] < iso[~at].min())  # in the gap: order kept
    assert len(np.unique(spread[at, 0])) == at.sum()  # no point mass left
    assert np.array_equal(spread[~at], x[~at]) and np.array_equal(spread[:, 1], pt)
    assert np.all(x == np.column_stack([iso, pt]))  # the input is not changed
    # a second sample gets the same atoms over the same widths
    other, same = spread_atoms(x[:100], ["iso", "pt"], np.random.default_rng(2), atoms=atoms)
    assert same == atoms and np.all(other[at[:100], 0] < atoms[0].width)
    with pytest.raises(ConfigError):
        spread_atoms(x, ["iso", "pt"], rng, min_fraction=0.0)


def test_asinh_compresses_chosen_columns_and_inverts():
    from bumphunt.methods.preprocessing import Asinh

    rng = np.random.default_rng(3)
    x = np.column_stack([rng.lognormal(-4.0, 1.5, 2000), rng.normal(0.0, 1.0, 2000)])
    transform = Asinh(columns=[0]).fit(x)
    y, log_det = transform.transform_with_log_det(x)
    assert np.array_equal(y[:, 1], x[:, 1])
    assert transform.scale_[0] == pytest.approx(np.quantile(x[:, 0], 0.25))
    # logarithmic far above the scale: three decades become about 7 units
    assert np.ptp(y[:, 0]) < np.log(x[:, 0].max() / x[:, 0].min()) + 1
    assert np.allclose(transform.inverse_transform(y), x)
    step = 1e-7
    numeric = np.log((transform.transform(x + np.array([step, 0.0])) - y)[:, 0] / step)
    assert np.allclose(log_det, numeric, atol=1e-4)
    with pytest.raises(ConfigError, match="columns"):
        Asinh(columns=[5]).fit(x)

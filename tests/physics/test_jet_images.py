"""Jet images: preprocessing invariances, normalisation, and images of clustered events."""

from __future__ import annotations

import itertools

import awkward as ak
import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.physics.jet_images import (
    ImageSpec,
    dijet_images,
    image_observable_names,
    image_observables,
    is_image_observable,
    iter_dijet_images,
    jet_images,
    ring_name,
)


def _jet(rng: np.random.Generator, n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An asymmetric two-prong jet around (eta, phi) = (0.3, 2.0): a hard core, a softer prong, a halo."""
    core = rng.normal([0.3, 2.0], 0.03, size=(n // 2, 2))
    prong = rng.normal([0.5, 2.15], 0.04, size=(n // 4, 2))
    halo = rng.normal([0.3, 2.0], 0.25, size=(n - n // 2 - n // 4, 2))
    points = np.concatenate([core, prong, halo])
    pt = np.concatenate(
        [rng.exponential(50, n // 2) + 20, rng.exponential(20, n // 4), rng.exponential(2, len(halo))]
    )
    return pt, points[:, 0], points[:, 1]


def _rotated(eta, phi, angle, centre=(0.3, 2.0)):
    d_eta, d_phi = eta - centre[0], phi - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    return centre[0] + cos * d_eta - sin * d_phi, centre[1] + sin * d_eta + cos * d_phi


@pytest.mark.parametrize("angle", [0.4, 1.7, np.pi, -2.5])
def test_a_rotated_jet_gives_the_same_image(angle):
    pt, eta, phi = _jet(np.random.default_rng(1))
    spec = ImageSpec(power=1.0, smear=0.0)
    original = jet_images(pt, eta, phi, [len(pt)], spec)[0]
    eta_r, phi_r = _rotated(eta, phi, angle)
    rotated = jet_images(pt, eta_r, phi_r, [len(pt)], spec)[0]
    # the same constituents in the same pixels (up to ties on pixel edges)
    assert np.abs(original - rotated).sum() < 1e-6
    # and a mirrored jet too (the flip step)
    mirrored = jet_images(pt, 0.6 - eta, phi, [len(pt)], spec)[0]
    assert np.abs(original - mirrored).sum() < 1e-6


def test_without_rotation_a_rotated_jet_differs():
    pt, eta, phi = _jet(np.random.default_rng(1))
    spec = ImageSpec(rotate=False, flip=False, power=1.0, smear=0.0)
    eta_r, phi_r = _rotated(eta, phi, 1.0)
    a, b = (jet_images(pt, e, p, [len(pt)], spec)[0] for e, p in ((eta, phi), (eta_r, phi_r)))
    assert np.abs(a - b).sum() > 0.5


def test_images_sum_to_one_and_are_centred():
    rng = np.random.default_rng(2)
    jets = [_jet(rng, n) for n in (8, 40, 120)]
    pt, eta, phi = (np.concatenate([j[k] for j in jets]) for k in range(3))
    images = jet_images(pt, eta, phi, [8, 40, 120])
    assert images.shape == (3, 40, 40) and images.dtype == np.float32
    assert images.sum(axis=(1, 2)) == pytest.approx(np.ones(3), abs=1e-5)
    assert np.all(images >= 0)
    # the major axis lies along phi (axis 1): the image is wider in phi than in eta
    plain = jet_images(pt, eta, phi, [8, 40, 120], ImageSpec(power=1.0, smear=0.0))
    grid = (np.arange(40) + 0.5) * 0.04 - 0.8
    for image in plain:
        var_phi = np.sum(image.sum(axis=1) * grid**2)
        var_eta = np.sum(image.sum(axis=0) * grid**2)
        assert var_phi >= var_eta
        # the hardest quadrant is (phi > 0, eta > 0)
        quadrants = [
            image[20:, 20:].sum(),
            image[20:, :20].sum(),
            image[:20, 20:].sum(),
            image[:20, :20].sum(),
        ]
        assert np.argmax(quadrants) == 0


def test_phi_wraps_around():
    # a jet across phi = pi gives the image of the same jet around phi = 0
    pt, eta, phi = _jet(np.random.default_rng(3))
    spec = ImageSpec(power=1.0, smear=0.0)
    at_zero = jet_images(pt, eta, phi - 2.0, [len(pt)], spec)[0]
    across = jet_images(pt, eta, np.angle(np.exp(1j * (phi - 2.0 + np.pi))), [len(pt)], spec)[0]
    assert np.abs(at_zero - across).sum() < 1e-6


def test_smearing_and_power_change_intensities_not_sums():
    pt, eta, phi = _jet(np.random.default_rng(4))
    plain = jet_images(pt, eta, phi, [len(pt)], ImageSpec(power=1.0, smear=0.0))[0]
    smeared = jet_images(pt, eta, phi, [len(pt)], ImageSpec(power=1.0, smear=1.0))[0]
    rooted = jet_images(pt, eta, phi, [len(pt)], ImageSpec(power=0.5, smear=0.0))[0]
    assert np.count_nonzero(smeared > 1e-6) > 2 * np.count_nonzero(plain)
    assert rooted.max() < plain.max()
    assert smeared.sum() == pytest.approx(1.0, abs=1e-5) and rooted.sum() == pytest.approx(1.0, abs=1e-5)
    raw = jet_images(pt, eta, phi, [len(pt)], ImageSpec(power=1.0, smear=0.0, normalise=False))[0]
    inside = raw.sum()
    assert 0.5 * pt.sum() < inside <= pt.sum() + 1e-3


def test_empty_jets_give_empty_images():
    images = jet_images([10.0], [0.1], [0.2], [0, 1, 0])
    assert images[0].sum() == 0 and images[2].sum() == 0 and images[1].sum() == pytest.approx(1.0)


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="pixels"):
        ImageSpec(pixels=1)
    with pytest.raises(ConfigError, match="smear"):
        ImageSpec(smear=-1.0)
    with pytest.raises(ValueError, match="one entry per constituent"):
        jet_images([1.0, 2.0], [0.0], [0.0], [2])


def test_dijet_images_of_clustered_events():
    rng = np.random.default_rng(5)
    events = []
    for _ in range(6):
        a_pt, a_eta, a_phi = _jet(rng)
        b_pt, b_eta, _ = _jet(rng)
        events.append({"pt": np.concatenate([a_pt * 10, b_pt * 8]),
                       "eta": np.concatenate([a_eta, -b_eta]),
                       "phi": np.concatenate([a_phi, a_phi - np.pi])})  # fmt: skip
    events.append({"pt": np.array([50.0]), "eta": np.array([0.0]), "phi": np.array([0.0])})  # one jet
    particles = ak.Array(events)
    result = dijet_images(particles)
    assert result.keep.tolist() == [True] * 6 + [False]
    assert result.images.shape == (6, 2, 40, 40)
    assert result.images.sum(axis=(2, 3)) == pytest.approx(np.ones((6, 2)), abs=1e-5)
    assert np.all(result.mjj > 500)
    blocks = list(iter_dijet_images([particles[:3], particles[3:]]))
    assert np.concatenate([b.mjj for b in blocks]) == pytest.approx(result.mjj)


def test_image_observables_describe_how_the_intensity_spreads_over_pixels():
    images = np.zeros((3, 4, 4))
    images[0, 1, 2] = 5.0  # one lit pixel
    images[1, :2, :2] = 0.25  # four equal ones
    values = image_observables(images)  # the third is empty
    np.testing.assert_allclose(values["image_ptd"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(values["image_max"], [1.0, 0.25, 0.0])
    np.testing.assert_allclose(values["image_pixels"], [1, 4, 0])
    # of a jet's image: between the single-pixel and the uniform extremes, and rotation-invariant
    pt, eta, phi = _jet(np.random.default_rng(2))
    spec = ImageSpec(pixels=40, half_width=1.0, power=1.0, smear=0.0)
    image = jet_images(pt, eta, phi, [len(pt)], spec)
    eta_r, phi_r = _rotated(eta, phi, 1.1)
    names = image_observable_names()
    rotated = image_observables(jet_images(pt, eta_r, phi_r, [len(pt)], spec), names)
    for name, value in image_observables(image, names).items():
        np.testing.assert_allclose(rotated[name], value, rtol=1e-6, atol=1e-12, err_msg=name)
    assert 1 / 40 < image_observables(image, ["image_ptd"])["image_ptd"][0] < 1


def test_pixel_shares_rank_the_brightest_cells():
    images = np.zeros((2, 4, 4))
    images[0, 0, 0], images[0, 1, 2], images[0, 3, 3] = 6.0, 3.0, 1.0
    values = image_observables(images, ["image_share1", "image_share2", "image_share3", "image_share4"])
    np.testing.assert_allclose(values["image_share1"], [0.6, 0.0])
    np.testing.assert_allclose(values["image_share2"], [0.3, 0.0])
    np.testing.assert_allclose(values["image_share3"], [0.1, 0.0])
    np.testing.assert_allclose(values["image_share4"], [0.0, 0.0])  # fewer pixels lit
    assert image_observables(images, ["image_share17"])["image_share17"].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(image_observables(images, ["image_max"])["image_max"], values["image_share1"])


def test_rings_split_the_jet_by_distance_from_the_image_centre():
    # 4 x 4 pixels over +-2: centres at +-0.5 and +-1.5, so the inner four pixels lie at r = 0.71,
    # the eight edge pixels at 1.58 and the corners at 2.12
    rng = np.random.default_rng(3)
    images = rng.uniform(0.0, 1.0, size=(5, 4, 4))
    shares = images / images.sum(axis=(1, 2), keepdims=True)
    edges = (0.0, 1.0, 2.0, np.inf)
    names = [ring_name(lo, hi, kappa) for kappa in (1.0, 2.0) for lo, hi in itertools.pairwise(edges)]
    assert names[:3] == ["image_ring_0_1", "image_ring_1_2", "image_ring_2_inf"]
    assert names[3] == "image_ring_0_1_k2"
    values = image_observables(images, names, half_width=2.0)
    np.testing.assert_allclose(values["image_ring_0_1"], shares[:, 1:3, 1:3].sum(axis=(1, 2)))
    corners = shares[:, [0, 0, 3, 3], [0, 3, 0, 3]]
    np.testing.assert_allclose(values["image_ring_2_inf"], corners.sum(axis=1))
    np.testing.assert_allclose(values["image_ring_2_inf_k2"], (corners**2).sum(axis=1))
    # rings that tile the plane: the shares sum to 1, the squared shares to image_ptd^2
    np.testing.assert_allclose(sum(values[n] for n in names[:3]), 1.0)
    ptd = image_observables(images, ["image_ptd"])["image_ptd"]
    np.testing.assert_allclose(sum(values[n] for n in names[3:]), ptd**2)
    # the radii scale with the grid: over +-1 the inner pixels lie at r = 0.35
    half = image_observables(images, ["image_ring_0_0.5", "image_ring_0_1"], half_width=1.0)
    np.testing.assert_allclose(half["image_ring_0_0.5"], values["image_ring_0_1"])


@pytest.mark.parametrize(
    "name", ["image_girth", "image_share0", "image_ring_0.3_0.1", "image_ring_0_0.1_k0", "image_ring_a_b"]
)
def test_unknown_image_observables_are_named(name):
    assert not is_image_observable(name)
    with pytest.raises(ConfigError, match=rf"unknown image observable\(s\) \['{name}'\]"):
        image_observables(np.ones((1, 4, 4)), [name])

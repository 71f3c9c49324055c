"""Observables of single jets by name: values, invariance under rotations of the jet, bad names."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.physics.efp import efps
from bumphunt.physics.jet_images import ImageSpec, lit_pixels
from bumphunt.physics.jet_observables import jet_observables, observable_names


def _jets(angle: float = 0.0) -> ak.Array:
    """Three-prong toy jets around (eta, phi) = (0.5, 1.0), their constituents rotated by ``angle``."""
    rng = np.random.default_rng(0)
    jets = []
    for _ in range(20):
        prongs = rng.normal(0, 0.1, (3, 2))
        offsets = np.concatenate([p + rng.normal(0, 0.02, (15, 2)) for p in prongs])
        c, s = np.cos(angle), np.sin(angle)
        rotated = offsets @ np.array([[c, s], [-s, c]])
        pt = rng.exponential(20.0, len(offsets))
        jets.append({"pt": pt, "eta": 0.5 + rotated[:, 0], "phi": 1.0 + rotated[:, 1]})
    return ak.zip({k: ak.Array([jet[k] for jet in jets]) for k in ("pt", "eta", "phi")})


def test_observables_of_a_jet_do_not_change_when_it_is_rotated_about_its_axis():
    names = observable_names(n_max=3, betas=(1.0,), efp_degree=3)
    assert {"image_ptd", "image_max", "image_pixels"} <= set(names)
    before, after = jet_observables(_jets(), names), jet_observables(_jets(0.9), names)
    for name in names:
        if name.startswith(("efp", "image_")) or name == "multiplicity":
            # functions of angular distances and momentum fractions, or of the jet's image (which its
            # preprocessing makes independent of the rotation): the same
            np.testing.assert_allclose(after[name], before[name], rtol=1e-9, err_msg=name)
        else:
            # pT, mass and N-subjettiness see the jet through rapidity and azimuth, which a rotation in the
            # (eta, phi) plane keeps only to second order in the jet's size
            np.testing.assert_allclose(after[name], before[name], rtol=0.03, err_msg=name)


def test_kinematics_ratios_and_multiplicity():
    jets = _jets()
    values = jet_observables(jets, ["pt", "mass", "multiplicity", "tau2_b1", "tau1_b1", "tau21_b1"])
    assert np.all(values["multiplicity"] == 45)
    np.testing.assert_allclose(values["tau21_b1"], values["tau2_b1"] / values["tau1_b1"])
    assert np.all(values["mass"] > 0) and np.all(values["pt"] > 0)
    assert list(values) == ["pt", "mass", "multiplicity", "tau2_b1", "tau1_b1", "tau21_b1"]


def test_generalized_efps_by_name_carry_their_energy_and_angular_exponents():
    jets = _jets()
    names = ["efp_d2_1", "efp_d2_1_k1_b1", "efp_d2_1_b2", "efp_d2_1_k2_b0.5", "efp_d1_0_k-1", "efp_d1_0_k0"]
    values = jet_observables(jets, names)
    assert list(values) == names
    np.testing.assert_array_equal(values["efp_d2_1_k1_b1"], values["efp_d2_1"])
    arrays = [ak.to_numpy(jets[k]) for k in ("pt", "eta", "phi")]  # 45 particles in every toy jet
    np.testing.assert_allclose(values["efp_d2_1_b2"], efps(*arrays, ["efp_d2_1"], beta=2.0)["efp_d2_1"])
    np.testing.assert_allclose(
        values["efp_d2_1_k2_b0.5"], efps(*arrays, ["efp_d2_1"], kappa=2.0, beta=0.5)["efp_d2_1"]
    )
    # kappa = 0 weighs every particle by one: sum over ordered pairs of their angular distance
    eta, phi = arrays[1][0], arrays[2][0]
    pairs = np.hypot(eta[:, None] - eta[None, :], phi[:, None] - phi[None, :]).sum()
    np.testing.assert_allclose(values["efp_d1_0_k0"][0], pairs)
    assert np.all(values["efp_d1_0_k-1"] > values["efp_d1_0_k0"])  # fractions < 1, inverted


def test_unknown_observables_are_named():
    with pytest.raises(ConfigError, match=r"unknown observable\(s\) \['girth', 'efp_d9_0'\]"):
        jet_observables(_jets(), ["mass", "girth", "efp_d9_0"])
    with pytest.raises(ConfigError, match=r"\['efp_d1_0_b0', 'efp_d1_0_kx'\]"):
        jet_observables(_jets(), ["efp_d1_0_b0", "efp_d1_0_kx"])


def test_lit_pixels_are_pseudo_particles_at_the_pixel_centres():
    images = np.zeros((2, 3, 3))
    images[0, 0, 2], images[0, 1, 1] = 0.5, 0.3  # axis 1 phi, axis 2 eta
    images[1, 2, 0] = 1.0
    intensity, eta, phi = lit_pixels(images, half_width=1.5)  # pixel centres at -1, 0, 1
    np.testing.assert_array_equal(intensity, [[0.5, 0.3], [1.0, 0.0]])
    np.testing.assert_array_equal(eta[0], [1.0, 0.0])
    np.testing.assert_array_equal(phi[0], [-1.0, 0.0])
    assert (eta[1, 0], phi[1, 0]) == (-1.0, 1.0)


def test_image_efps_are_the_efps_of_the_jet_at_the_image_resolution():
    jets = _jets()
    names = ["efp_d1_0", "efp_d3_2_b0.5"]
    particles = jet_observables(jets, [*names, "efp_d2_1_k2_b0.5"])
    # a fine grid separates the particles: the image EFPs are theirs, up to the pixel size (0.005); the
    # image's intensity power and smearing play no part
    fine = ImageSpec(pixels=400, half_width=1.0, power=0.5, smear=1.0)
    on_fine = jet_observables(jets, [f"image_{n}" for n in names], image_spec=fine)
    for name in names:
        np.testing.assert_allclose(on_fine[f"image_{name}"], particles[name], rtol=0.01, err_msg=name)
    # a coarse grid merges nearby particles into one pixel, as a calorimeter cell does: with kappa = 2
    # the merged pixels weigh more than their particles did
    coarse = jet_observables(
        jets, ["image_efp_d2_1_k2_b0.5"], image_spec=ImageSpec(pixels=10, half_width=1.0)
    )
    assert np.all(coarse["image_efp_d2_1_k2_b0.5"] > 1.5 * particles["efp_d2_1_k2_b0.5"])

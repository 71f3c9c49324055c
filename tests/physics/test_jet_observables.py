"""Observables of single jets by name: values, invariance under rotations of the jet, bad names."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from bumphunt.errors import ConfigError
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


def test_unknown_observables_are_named():
    with pytest.raises(ConfigError, match=r"unknown observable\(s\) \['girth', 'efp_d9_0'\]"):
        jet_observables(_jets(), ["mass", "girth", "efp_d9_0"])

"""MOD HDF5 reader on a small file written here in the layout of energyflow's ``MODDataset.save``."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from bumphunt.errors import DataFormatError
from bumphunt.io import read_mod_dijets, read_mod_jets

JETS_I_COLS = ["fn", "rn", "lbn", "evn", "npv", "quality"]
JETS_F_COLS = ["jet_pt", "jet_y", "jet_phi", "jet_m", "jet_eta", "jec", "jet_area", "jet_max_nef", "weight"]
PFCS_COLS = ["pt", "y", "phi", "m", "pid", "vertex"]

# (fn, rn, lbn, evn) of each jet: event A has 2 jets (listed sub-leading first), B has 1, C has 3
EVENTS = [(0, 160431, 10, 101), (0, 160431, 10, 101), (0, 160431, 11, 7), (1, 163000, 2, 5)]
EVENTS += [(1, 163000, 2, 5), (1, 163000, 2, 5)]
PT = [420.0, 610.0, 500.0, 380.0, 900.0, 700.0]
Y = [-0.4, 1.1, 0.3, 2.0, -1.5, 0.2]
PHI = [2.9, -0.2, 1.0, 0.5, 3.0, -0.1]
M = [40.0, 75.0, 60.0, 20.0, 110.0, 90.0]
JEC = [1.02, 0.98, 1.0, 1.1, 1.05, 0.97]
N_PARTICLES = [3, 2, 4, 1, 5, 2]


def write_mod(path, *, with_index: bool = True) -> np.ndarray:
    rng = np.random.default_rng(3)
    jets_i = np.array([[*e, 12, 3] for e in EVENTS], dtype=np.int64)
    jets_f = np.column_stack(
        [PT, Y, PHI, M, Y, JEC, np.full(6, 0.8), np.full(6, 0.5), np.arange(1.0, 7.0)]
    ).astype(np.float64)
    pfcs = np.column_stack(
        [
            rng.uniform(1, 50, sum(N_PARTICLES)),
            rng.normal(size=(sum(N_PARTICLES), 2)),
            np.zeros((sum(N_PARTICLES), 3)),
        ]
    )
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets_i", data=jets_i).attrs.create("cols", np.asarray(JETS_I_COLS, dtype="S"))
        handle.create_dataset("jets_f", data=jets_f).attrs.create("cols", np.asarray(JETS_F_COLS, dtype="S"))
        handle.create_dataset("pfcs", data=pfcs).attrs.create("cols", np.asarray(PFCS_COLS, dtype="S"))
        if with_index:
            handle.create_dataset(
                "pfcs_index", data=np.concatenate([[0], np.cumsum(N_PARTICLES)]).astype(np.uint32)
            )
        handle.create_dataset("filenames", data=np.asarray(["a.root", "b.root"], dtype="S"))
    return pfcs


def jet_four_vector(i: int, scale: float) -> np.ndarray:
    pt, m = PT[i] * scale, M[i] * scale
    mt = np.sqrt(pt**2 + m**2)
    return np.array([mt * np.cosh(Y[i]), pt * np.cos(PHI[i]), pt * np.sin(PHI[i]), mt * np.sinh(Y[i])])


def test_jets_are_grouped_by_event_with_their_particles(tmp_path):
    pfcs = write_mod(tmp_path / "CMS_test.h5")
    mod = read_mod_jets(tmp_path / "CMS_test.h5")
    assert mod.n_events == 3
    assert mod.jets["event"].tolist() == [0, 0, 1, 2, 2, 2]
    assert mod.jets["jet_pt"].tolist() == PT
    assert [len(p) for p in mod.particles] == N_PARTICLES
    np.testing.assert_array_equal(np.asarray(mod.particles[2]["pt"]), pfcs[5:9, 0])


@pytest.mark.parametrize("corrected", [True, False])
def test_dijet_mass_per_event_from_the_two_leading_jets(tmp_path, corrected):
    write_mod(tmp_path / "CMS_test.h5")
    events = read_mod_dijets(tmp_path / "CMS_test.h5", corrected=corrected)
    scale = np.asarray(JEC) if corrected else np.ones(6)
    expected = []
    for lead, sub in ((1, 0), (4, 5)):  # event B has one jet and is skipped
        p = jet_four_vector(lead, scale[lead]) + jet_four_vector(sub, scale[sub])
        expected.append(np.sqrt(p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2))
    np.testing.assert_allclose(events.mass, expected, rtol=1e-12)
    np.testing.assert_allclose(events.column("j1_pt"), [PT[1] * scale[1], PT[4] * scale[4]], rtol=1e-12)
    np.testing.assert_allclose(events.column("j2_y"), [Y[0], Y[5]], rtol=1e-12)
    assert events.weight.tolist() == [2.0, 5.0]
    assert events.provenance["n_events_one_jet"] == 1


def test_missing_index_dataset(tmp_path):
    write_mod(tmp_path / "CMS_test.h5", with_index=False)
    with pytest.raises(DataFormatError, match="dataset 'pfcs_index' not found"):
        read_mod_jets(tmp_path / "CMS_test.h5")
    assert read_mod_jets(tmp_path / "CMS_test.h5", particles=None).particles is None


def test_not_a_mod_file(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle.create_dataset("data", data=np.zeros(3))
    with pytest.raises(DataFormatError, match="dataset 'jets_i', 'jets_f' not found"):
        read_mod_jets(tmp_path / "other.h5")

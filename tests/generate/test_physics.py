"""Physics of the generated samples: numbers that would be wrong if the generator were wrong.

Tolerances come from a reference run of 2000 selected events per process (seed 1,
``benchmarks/reference_physics.py``): signal mjj median 3496 GeV (16-84 %: 3323-3573), heavier-jet
mass median 499 GeV, lighter-jet mass median 120 GeV (the Y at 100 GeV plus underlying event and
radiation caught by R = 1.0 jets), median tau21 of the heavier jet 0.21 for signal and 0.47 for QCD;
the QCD mjj spectrum (pTHat > 600 GeV) falls by a factor 3.5 per TeV between 2.5 and 4.5 TeV.
"""

from __future__ import annotations

import numpy as np

from bumphunt.physics.kinematics import dijet_mass


def _jet_pt(features: np.ndarray, jet: int) -> np.ndarray:
    offset = 7 * jet
    return np.hypot(features[:, offset], features[:, offset + 1])


def _tau21_heavier(features: np.ndarray) -> np.ndarray:
    j1_heavier = features[:, 3] >= features[:, 10]
    tau21_j1 = features[:, 5] / features[:, 4]
    tau21_j2 = features[:, 12] / features[:, 11]
    return np.where(j1_heavier, tau21_j1, tau21_j2)


def test_signal_dijet_mass_peaks_at_wprime_mass(signal_chunk):
    median = np.median(dijet_mass(signal_chunk.features))
    assert abs(median / 3500.0 - 1) < 0.05


def test_signal_jet_masses_near_x_and_y(signal_chunk):
    f = signal_chunk.features
    heavier = np.maximum(f[:, 3], f[:, 10])
    lighter = np.minimum(f[:, 3], f[:, 10])
    assert abs(np.median(heavier) / 500.0 - 1) < 0.05
    # The Y jet gains mass from radiation and the underlying event inside R = 1.0: 100 -> ~120 GeV.
    assert 95.0 < np.median(lighter) < 140.0


def test_trigger_and_jet_order(signal_chunk, qcd_chunk):
    for chunk in (signal_chunk, qcd_chunk):
        pt1, pt2 = _jet_pt(chunk.features, 0), _jet_pt(chunk.features, 1)
        assert np.all(pt1 > 1200.0)
        assert np.all(pt1 >= pt2)
        assert np.all(pt2 > 20.0)


def test_qcd_mass_spectrum_falls_steeply_above_2500_gev(qcd_chunk):
    mjj = dijet_mass(qcd_chunk.features)
    edges = np.arange(2750.0, 4501.0, 250.0)
    counts, _ = np.histogram(mjj, edges)
    assert np.all(counts > 0)
    slope = np.polyfit(edges[:-1] + 125.0, np.log(counts), 1, w=np.sqrt(counts))[0]
    # reference: a factor 3.5 per TeV; 300 events measure it to about +- 25 %
    assert np.exp(-slope * 1000.0) > 2.0
    # the bulk sits at the trigger turn-on
    assert np.median(mjj) < 3200.0


def test_signal_jets_are_two_pronged(signal_chunk, qcd_chunk):
    signal = np.median(_tau21_heavier(signal_chunk.features))
    qcd = np.median(_tau21_heavier(qcd_chunk.features))
    assert signal < 0.3
    assert qcd - signal > 0.15


def test_constituents_are_massless_visible_particles_within_acceptance(signal_chunk):
    c = signal_chunk.constituents
    assert c.shape == (300, 700, 3)
    pt, eta = c[..., 0], c[..., 1]
    real = pt > 0
    assert np.all(np.abs(eta[real]) < 2.5)
    # zero padding only at the end, particles ordered by decreasing pT
    assert np.all(np.diff(pt, axis=1) <= 0)
    # the leading jet's pT is carried by its constituents: their scalar sum exceeds it
    assert np.all(pt.sum(axis=1) > np.hypot(signal_chunk.features[:, 0], signal_chunk.features[:, 1]))

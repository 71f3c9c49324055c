"""Per-particle inputs of set-based jet networks (Particle Flow Networks), free of the jet's pT scale.

Each particle of a jet becomes ``(z, dy, dphi)``: its share of the jet's scalar pT sum, and its rapidity
and azimuth relative to the jet axis (the pT-weighted centroid, azimuths taken relative to the hardest
particle first so that the centroid does not straddle +-pi). All three are unchanged when every particle's
pT is scaled by one factor, so a network on them cannot read the jet's pT (and with it a dijet-mass bin)
off the scale; what it sees is the jet's shape. With ``pid=True`` a one-hot code of the particle's
species follows (:data:`PID_CLASSES`).

Particles are ordered by decreasing pT, the first ``max_particles`` kept, and the rest padded with zeros;
the boolean mask marks the real ones.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = ["PID_CLASSES", "jet_particle_features"]

#: Species of the one-hot particle code: (name, PDG ids with sign).
PID_CLASSES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("photon", (22,)),
    ("neutral hadron", (130, 2112, -2112, 310, 3122, -3122)),
    ("positive hadron", (211, 321, 2212)),
    ("negative hadron", (-211, -321, -2212)),
    ("electron", (11,)),
    ("positron", (-11,)),
    ("muon", (13,)),
    ("antimuon", (-13,)),
)


def _wrap(dphi: ak.Array) -> ak.Array:
    return (dphi + np.pi) % (2 * np.pi) - np.pi


def jet_particle_features(
    particles: ak.Array, max_particles: int = 100, *, pid: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Padded per-particle features of jets.

    Parameters
    ----------
    particles
        ``jets * var * {pt, y, phi[, pid]}`` (GeV, -, rad): the MOD HDF5 particle layout; a field ``eta``
        is used where ``y`` is missing.
    max_particles
        Particles kept per jet (the hardest).
    pid
        Append the one-hot species code (needs a ``pid`` field).

    Returns
    -------
    features, mask
        ``(n_jets, max_particles, 3 [+ 8])`` float32 and ``(n_jets, max_particles)`` bool.
    """
    if max_particles < 1:
        raise ValueError(f"max_particles must be positive, got {max_particles!r}")
    rapidity = "y" if "y" in particles.fields else "eta"
    order = ak.argsort(particles["pt"], axis=1, ascending=False, stable=True)
    jets = particles[order][:, :max_particles]
    pt = jets["pt"]
    total = ak.sum(pt, axis=1)
    z = pt / ak.where(total > 0, total, 1.0)
    lead_phi = ak.firsts(jets["phi"])
    phi = lead_phi + _wrap(jets["phi"] - lead_phi)
    axis_y = ak.sum(z * jets[rapidity], axis=1)
    axis_phi = ak.sum(z * phi, axis=1)
    columns = [z, jets[rapidity] - axis_y, _wrap(phi - axis_phi)]
    if pid:
        if "pid" not in particles.fields:
            raise ValueError("pid=True needs a 'pid' field in the particles")
        code = ak.values_astype(jets["pid"], np.int64)
        columns += [ak.values_astype(_isin(code, ids), np.float64) for _, ids in PID_CLASSES]
    counts = ak.to_numpy(ak.num(pt, axis=1))
    n = len(counts)
    features = np.zeros((n, max_particles, len(columns)), dtype=np.float32)
    mask = np.arange(max_particles)[None, :] < counts[:, None]
    for k, column in enumerate(columns):
        features[..., k][mask] = ak.to_numpy(ak.flatten(column))
    return features, mask


def _isin(code: ak.Array, ids: tuple[int, ...]) -> ak.Array:
    flat = ak.to_numpy(ak.flatten(code))
    return ak.unflatten(np.isin(flat, ids), ak.num(code, axis=1))

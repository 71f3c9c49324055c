"""Generator truth of Pythia batches: flat particle arrays and where a lepton comes from.

:func:`gen_flavour` follows NanoAOD's ``genPartFlav``: 1 prompt (from a W, Z or other heavy boson),
15 from a prompt tau, 5 from a b hadron (bottomonium included), 4 from a c hadron, 3 from a light hadron.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = ["BOTTOM", "CHARM", "LIGHT", "PROMPT", "TAU", "FlatParticles", "gen_flavour"]

_MAX_ANCESTRY = 60
#: NanoAOD genPartFlav codes.
PROMPT, TAU, BOTTOM, CHARM, LIGHT = 1, 15, 5, 4, 3


class FlatParticles:
    """The particles of a batch as flat numpy arrays (global indices) with per-event offsets."""

    def __init__(self, prt: ak.Array) -> None:
        counts = ak.to_numpy(ak.num(prt, axis=1)).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.event = np.repeat(np.arange(len(counts)), counts)
        flat = ak.flatten(prt)
        self.id = ak.to_numpy(flat["id"]).astype(np.int64)
        self.status = ak.to_numpy(flat["status"])
        self.mother = ak.to_numpy(flat["mother1"]).astype(np.int64)
        self.p = np.column_stack([ak.to_numpy(flat["p"][k]) for k in ("px", "py", "pz", "e")])
        vertex = ak.fill_none(flat["vProd"], {"px": 0.0, "py": 0.0, "pz": 0.0, "e": 0.0})
        self.vertex = np.column_stack([ak.to_numpy(vertex[k]) for k in ("px", "py", "pz")])
        self.pt = np.hypot(self.p[:, 0], self.p[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.eta = np.arcsinh(self.p[:, 2] / self.pt)
        self.phi = np.arctan2(self.p[:, 1], self.p[:, 0])


def _heaviest_quark(pid: np.ndarray) -> np.ndarray:
    """Heaviest quark flavour in hadron codes (0 for anything else)."""
    pid = np.abs(pid)
    digits = np.stack([(pid // 10) % 10, (pid // 100) % 10, (pid // 1000) % 10])
    hadron = (pid >= 100) & ((pid // 10) % 10 > 0) & ~((pid >= 1_000_000) & ((pid // 100_000) % 10 == 9))
    return np.where(hadron, np.where(digits <= 6, digits, 0).max(axis=0), 0)


def gen_flavour(flat: FlatParticles, muons: np.ndarray) -> np.ndarray:
    """NanoAOD ``genPartFlav`` of the leptons at global indices ``muons``, from their mother chains."""
    flavour = np.zeros(len(muons), dtype=np.int64)  # heaviest hadron flavour met; -1 light hadron
    tau = np.zeros(len(muons), dtype=bool)
    current = muons.copy()
    alive = np.ones(len(muons), dtype=bool)
    for _ in range(_MAX_ANCESTRY):
        if not alive.any():
            break
        mother = flat.mother[current]
        alive &= mother > 0
        current = np.where(alive, flat.offsets[flat.event[current]] + mother, current)
        pid = np.abs(flat.id[current])
        parton = (pid <= 8) | (pid == 21) | ((pid >= 81) & (pid <= 99)) | (pid == 2212)
        alive &= ~parton
        heavy = np.where(alive, _heaviest_quark(pid), 0)
        flavour = np.maximum(flavour, heavy)
        hadron = alive & (pid >= 100) & (heavy > 0)
        flavour = np.where(hadron & (heavy < 4) & (flavour == 0), -1, flavour)
        tau |= alive & (pid == 15)
    out = np.full(len(muons), PROMPT)
    out[tau] = TAU
    out[flavour == -1] = LIGHT
    out[(flavour > 0) & (flavour < 4)] = LIGHT
    out[flavour == 4] = CHARM
    out[flavour >= 5] = BOTTOM
    return out

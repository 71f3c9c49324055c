"""Enhanced muon decays with event weights that undo the enhancement.

Dimuons from heavy-flavour and onium decays are rare: a B meson gives a muon in about 11 % of its
decays, a D meson in 7-18 %, an Upsilon in 2-4 %. Generating them at the natural rate wastes almost
every event, so the decay tables of chosen hadrons are biased: for each species, the decay channels
with a muon among the direct products are scaled together to a total table fraction ``F'`` (default
0.5) and the other channels to ``1 - F'``, keeping the relative rates inside each group. No channel is
closed, so every decay history stays possible (cascades such as b -> c -> mu included).

The table fraction is not the rate at which channels are taken: Pythia picks a channel by its
branching ratio and, when the channel fails (a partonic b -> c q qbar' channel that cannot form
hadrons, too little phase space), picks again. With ``s_mu`` and ``s_o`` the mean success
probabilities of the two groups, which the rescaling leaves unchanged, a table fraction ``F`` is taken
at the rate ``p(F) = F / (F + (1 - F) rho)`` with ``rho = s_o / s_mu``. For the B0 the natural table
fraction 0.080 is taken at a rate of about 0.12. So the weights are calibrated on the run itself: the
rate ``p_b`` at which the biased muon channels were taken, counted over every decay of every generated
event, gives ``rho = F' (1 - p_b) / ((1 - F') p_b)``, hence the natural rate ``p_n = p(F)``, and each
decay weighs

    w = p_n / p_b                 (muon channel taken)
        (1 - p_n) / (1 - p_b)     (other channel taken).

An event's weight is the product over its biased decays, so any weighted distribution estimates the
natural one (up to the calibration's statistical error, of order ``1 / sqrt(decays counted)``; the
provenance records the counts). Species whose natural table fraction is already at least ``F'`` or
that have no muon channel are left alone. B0 and Bs mixing happens inside the decay (the products are
those of the antiparticle) and the tables of particle and antiparticle are the same. Copies of a
particle in the event record (an entry whose only daughter is the same species, such as an Upsilon
recoiling in the parton shower) are not decays; only the last copy counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError

if TYPE_CHECKING:
    import pythia8mc

__all__ = ["DEFAULT_MUON_FRACTION", "DecayCalibration", "MuonDecayBias", "bias_muon_decays"]

#: Default table fraction given to the muon channels of an enhanced species.
DEFAULT_MUON_FRACTION = 0.5
_MUON = 13


@dataclass(frozen=True)
class MuonDecayBias:
    """An applied muon-channel enhancement.

    Attributes
    ----------
    species
        PDG ids (positive) whose decay tables were changed.
    table_fraction
        Natural muon-channel table fraction of each species.
    fraction
        The biased table fraction ``F'``.
    """

    species: tuple[int, ...]
    table_fraction: tuple[float, ...]
    fraction: float

    def decay_counts(self, particles: ak.Array) -> np.ndarray:
        """Biased decays in each event of a ``pythia.nextBatch`` particle record.

        Parameters
        ----------
        particles
            ``events * var * {id, status, daughter1, daughter2, ...}``.

        Returns
        -------
        numpy.ndarray
            ``(n_events, n_species, 2)`` int32: decays of each species through a muon channel
            (``[..., 0]``) and through any other channel (``[..., 1]``).
        """
        n_events = len(particles)
        counts_out = np.zeros((n_events, len(self.species), 2), dtype=np.int32)
        if not self.species or n_events == 0:
            return counts_out
        counts = ak.to_numpy(ak.num(particles, axis=1))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        ids = np.abs(ak.to_numpy(ak.flatten(particles["id"])))
        status = ak.to_numpy(ak.flatten(particles["status"]))
        event = np.repeat(np.arange(n_events), counts)
        first = ak.to_numpy(ak.flatten(particles["daughter1"])).astype(np.int64)
        last = np.maximum(ak.to_numpy(ak.flatten(particles["daughter2"])).astype(np.int64), first)
        lookup = {pid: k for k, pid in enumerate(self.species)}
        unique, inverse = np.unique(ids, return_inverse=True)
        species_index = np.array([lookup.get(int(i), -1) for i in unique], dtype=np.int64)[inverse]
        decayed = np.flatnonzero((species_index >= 0) & (status < 0) & (first > 0))
        first_global = offsets[event[decayed]] + first[decayed]
        last_global = offsets[event[decayed]] + last[decayed]
        # a particle whose only daughter is of its own species is a copy (e.g. an onium recoiling in the
        # shower), not a decay: only its last copy decays
        copy = (first_global == last_global) & (ids[first_global] == ids[decayed])
        decayed, first_global, last_global = decayed[~copy], first_global[~copy], last_global[~copy]
        has_muon = np.zeros(len(decayed), dtype=bool)
        for step in range(int(np.max(last_global - first_global, initial=-1)) + 1):
            daughter = first_global + step
            inside = daughter <= last_global
            has_muon[inside] |= ids[daughter[inside]] == _MUON
        np.add.at(counts_out, (event[decayed], species_index[decayed], (~has_muon).astype(np.int64)), 1)
        return counts_out

    def calibrate(self, totals: np.ndarray) -> DecayCalibration:
        """The decay weights from ``totals``, the ``(n_species, 2)`` muon/other decay counts of every
        generated event of a run (:meth:`decay_counts` summed)."""
        totals = np.asarray(totals, dtype=np.float64).reshape(len(self.species), 2)
        n = totals.sum(axis=1)
        fraction = self.fraction
        taken = np.divide(totals[:, 0], n, out=np.full(len(n), fraction), where=n > 0)
        usable = (taken > 0) & (taken < 1)
        rho = np.where(usable, fraction * (1 - taken) / ((1 - fraction) * np.where(usable, taken, 1)), 1.0)
        f = np.asarray(self.table_fraction)
        natural = f / (f + (1 - f) * rho)
        taken = np.where(usable, taken, fraction)
        return DecayCalibration(
            species=self.species,
            decays=tuple(int(x) for x in n),
            biased_rate=tuple(float(x) for x in taken),
            natural_rate=tuple(float(x) for x in natural),
            muon_weight=tuple(float(x) for x in natural / taken),
            other_weight=tuple(float(x) for x in (1 - natural) / (1 - taken)),
        )


@dataclass(frozen=True)
class DecayCalibration:
    """Per-species decay weights calibrated on a run (see the module documentation).

    Attributes
    ----------
    species
        PDG ids.
    decays
        Decays counted for each species.
    biased_rate, natural_rate
        Rate of muon channels in the biased run, and the natural rate inferred from it.
    muon_weight, other_weight
        Weight of one decay through a muon channel and through any other channel.
    """

    species: tuple[int, ...]
    decays: tuple[int, ...]
    biased_rate: tuple[float, ...]
    natural_rate: tuple[float, ...]
    muon_weight: tuple[float, ...]
    other_weight: tuple[float, ...]

    def event_weights(self, counts: np.ndarray) -> np.ndarray:
        """Event weights from :meth:`MuonDecayBias.decay_counts` (1 for events with no biased decay)."""
        counts = np.asarray(counts, dtype=np.float64).reshape(len(counts), len(self.species), 2)
        log_weight = np.log(np.stack([self.muon_weight, self.other_weight], axis=-1))
        return np.exp(np.einsum("esk,sk->e", counts, log_weight)) if self.species else np.ones(len(counts))

    def as_dict(self) -> dict[str, Any]:
        """Plain-data view for the provenance, keyed by PDG id."""
        return {
            str(pid): {
                "decays": self.decays[k],
                "biased_muon_rate": self.biased_rate[k],
                "natural_muon_rate": self.natural_rate[k],
                "muon_weight": self.muon_weight[k],
                "other_weight": self.other_weight[k],
            }
            for k, pid in enumerate(self.species)
        }


def _has_muon(channel: Any) -> bool:
    return any(abs(channel.product(j)) == _MUON for j in range(channel.multiplicity()))


def bias_muon_decays(
    pythia: pythia8mc.Pythia, species: Sequence[int], fraction: float = DEFAULT_MUON_FRACTION
) -> MuonDecayBias:
    """Rescale the decay tables of ``species`` in ``pythia`` (before ``init``) so that muon channels
    hold the table fraction ``fraction``.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``fraction`` is not in (0, 1) or a species is unknown to Pythia.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"the muon-channel fraction must lie strictly between 0 and 1, got {fraction!r}")
    kept: list[int] = []
    natural: list[float] = []
    for pid in species:
        if not pythia.particleData.isParticle(pid):
            raise ConfigError(f"PDG id {pid} is not a particle Pythia knows")
        entry = pythia.particleData.particleDataEntryPtr(pid)
        channels = [entry.channel(i) for i in range(entry.sizeChannels())]
        muon = np.array([_has_muon(c) for c in channels], dtype=bool)
        ratios = np.array([c.bRatio() for c in channels])
        total = ratios.sum()
        f = float(ratios[muon].sum() / total) if total > 0 else 0.0
        if f == 0.0 or f >= fraction:
            continue
        for channel, is_muon, ratio in zip(channels, muon, ratios, strict=True):
            scale = fraction / f if is_muon else (1.0 - fraction) / (1.0 - f)
            channel.bRatio(ratio / total * scale)
        kept.append(abs(pid))
        natural.append(f)
    return MuonDecayBias(tuple(kept), tuple(natural), float(fraction))

"""Jet clustering with FastJet and N-subjettiness, vectorized over many events.

Particles are massless and given as awkward arrays of records ``{pt, eta, phi}`` (GeV, -, rad), one list
per event. Clustering runs in FastJet's C++ through its awkward-array interface, one call per batch of
events, so no Python loop runs over events or particles.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np

from bumphunt._native import quiet_stdout
from bumphunt.errors import DependencyError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["cluster_jets", "nsubjettiness", "to_cartesian"]

#: FastJet's ``JetDefinition::max_allowable_R``; N-subjettiness "KT_Axes" cluster with this radius.
_MAX_ALLOWABLE_R = 1000.0


def _fastjet() -> ModuleType:
    try:
        import fastjet
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise DependencyError(
            "jet clustering needs the 'fastjet' package: pip install 'bumphunt[generate]'"
        ) from err
    return fastjet


def to_cartesian(particles: ak.Array) -> ak.Array:
    """Massless ``{pt, eta, phi}`` records to ``{px, py, pz, E}`` records (GeV)."""
    pt, eta, phi = particles["pt"], particles["eta"], particles["phi"]
    return ak.zip(
        {
            "px": pt * np.cos(phi),
            "py": pt * np.sin(phi),
            "pz": pt * np.sinh(eta),
            "E": pt * np.cosh(eta),
        }
    )


def _algorithm(name: str) -> Any:
    fastjet = _fastjet()
    algorithms = {
        "antikt": fastjet.antikt_algorithm,
        "kt": fastjet.kt_algorithm,
        "cambridge": fastjet.cambridge_algorithm,
    }
    try:
        return algorithms[name]
    except KeyError:
        raise ValueError(f"jet algorithm {name!r} is not one of {sorted(algorithms)}") from None


def cluster_jets(
    particles: ak.Array,
    *,
    radius: float = 1.0,
    algorithm: str = "antikt",
    min_pt: float = 20.0,
) -> tuple[ak.Array, ak.Array]:
    """Cluster each event's particles into jets, ordered by decreasing pT.

    Parameters
    ----------
    particles
        ``events * var * {pt, eta, phi}``; every event must hold at least one particle.
    radius
        Jet radius parameter R.
    algorithm
        ``"antikt"``, ``"kt"`` or ``"cambridge"``.
    min_pt
        Keep jets with pT above this value (GeV).

    Returns
    -------
    jets, constituents
        ``events * var * {px, py, pz, E}`` (E-scheme jets) and, aligned with them,
        ``events * var(jets) * var(particles) * {px, py, pz, E}``.
    """
    fastjet = _fastjet()
    jet_def = fastjet.JetDefinition(_algorithm(algorithm), radius)
    with quiet_stdout():  # FastJet prints its banner at the first clustering of a process
        sequence = fastjet.ClusterSequence(to_cartesian(particles), jet_def)
        jets = sequence.inclusive_jets(min_pt=min_pt)
        constituents = sequence.constituents(min_pt=min_pt)
    order = ak.argsort(jets["px"] ** 2 + jets["py"] ** 2, axis=1, ascending=False, stable=True)
    return jets[order], constituents[order]


def _rapidity_phi(vectors: ak.Array | dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    px, py, pz, e = (np.asarray(vectors[k], dtype=np.float64) for k in ("px", "py", "pz", "E"))
    return 0.5 * np.log((e + pz) / (e - pz)), np.arctan2(py, px)


def nsubjettiness(
    constituents: ak.Array,
    *,
    n_max: int = 3,
    beta: float = 1.0,
) -> npt.NDArray[np.float64]:
    """Unnormalized N-subjettiness tau_1 .. tau_n_max of each jet, with exclusive-kT axes.

    tau_N = sum_i pT_i * min_k dR(i, a_k)**beta, where the axes a_k are the N exclusive jets of the kT
    algorithm (E-scheme, R = 1000) run on the jet's own constituents and dR is measured in rapidity and
    azimuth. This is fastjet-contrib's ``Nsubjettiness(N, KT_Axes(), UnnormalizedMeasure(beta))``; the
    values carry units of GeV (ratios such as tau_21 do not).

    Parameters
    ----------
    constituents
        ``jets * var * {px, py, pz, E}``, one list of massless constituents per jet.
    n_max
        Largest N.
    beta
        Angular exponent of the measure.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_jets, n_max)``. A jet with fewer than N constituents has tau_N = 0.
    """
    fastjet = _fastjet()
    n_jets = len(constituents)
    tau = np.zeros((n_jets, n_max))
    if n_jets == 0:
        return tau
    counts = ak.to_numpy(ak.num(constituents, axis=1))
    kt_def = fastjet.JetDefinition(fastjet.kt_algorithm, _MAX_ALLOWABLE_R)
    for n in range(1, n_max + 1):
        use = counts >= n
        if not np.any(use):
            continue
        jets = constituents[use]
        with warnings.catch_warnings(), quiet_stdout():
            sequence = fastjet.ClusterSequence(jets, kt_def)
            # fastjet's Python layer warns about exclusive jets for any algorithm; this one is kT.
            warnings.filterwarnings("ignore", message="dcut and exclusive jets")
            axes = sequence.exclusive_jets(n_jets=n)
        axis_rap, axis_phi = (
            np.asarray(a).reshape(-1, n) for a in _rapidity_phi(ak.to_numpy(ak.flatten(axes)))
        )
        flat = ak.flatten(jets)
        rap, phi = _rapidity_phi(ak.to_numpy(flat))
        pt = np.hypot(ak.to_numpy(flat["px"]), ak.to_numpy(flat["py"]))
        jet_of_particle = np.repeat(np.arange(len(jets)), counts[use])
        drap = rap[:, None] - axis_rap[jet_of_particle]
        dphi = np.abs(phi[:, None] - axis_phi[jet_of_particle])
        dphi = np.where(dphi > np.pi, 2.0 * np.pi - dphi, dphi)
        distance = np.sqrt(drap**2 + dphi**2).min(axis=1) ** beta
        tau[use, n - 1] = np.bincount(jet_of_particle, weights=pt * distance, minlength=len(jets))
    return tau

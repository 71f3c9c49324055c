"""Readers of CMS NanoAOD files (ROOT TTree or RNTuple ``Events``), read in blocks with uproot.

Layout expected: one entry per collision event; per-object branches ``<Collection>_<quantity>`` holding
one variable-length list per event, with momenta as ``pt`` (GeV), ``eta``, ``phi`` (rad) and ``mass``
(GeV) and an integer ``charge``. Used here:

- muons: ``Muon_pt, Muon_eta, Muon_phi, Muon_mass, Muon_charge`` and, when present, the quantities in
  :data:`MUON_QUANTITIES` (``Muon_pfRelIso03_all``, ``Muon_ip3d``, ``Muon_tightId``, ...);
- electrons: ``Electron_pt, Electron_eta, Electron_phi, Electron_mass, Electron_charge``;
- jets: ``Jet_pt, Jet_eta, Jet_phi, Jet_mass``.

Four-momenta are built with :mod:`vector`; everything is computed in float64.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd
import vector

from bumphunt.events import EventSet, NonFinitePolicy
from bumphunt.io._source import branch_names, iterate_root, open_root_tree
from bumphunt.io.leptons import lepton_frame, lepton_table

__all__ = [
    "MUON_QUANTITIES",
    "Dimuons",
    "read_dimuons",
    "read_jets",
    "read_leptons",
]

logger = logging.getLogger(__name__)

_MOMENTUM = ("pt", "eta", "phi", "mass")
#: Per-muon quantities copied into the dimuon features when the file has them (``Muon_<name>``):
#: isolation (relative, cone 0.3 / 0.4 / mini), impact parameters (cm; ip3d, its significance sip3d,
#: dxy, dz) and identification flags (0/1).
MUON_QUANTITIES = (
    "pfRelIso03_all",
    "pfRelIso04_all",
    "miniPFRelIso_all",
    "ip3d",
    "sip3d",
    "dxy",
    "dz",
    "looseId",
    "mediumId",
    "tightId",
)
_WHAT = "CMS NanoAOD: a TTree or RNTuple with Muon_*, Electron_*, Jet_* branches"

Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class Dimuons:
    """Dimuon candidates from the two leading muons of each event, split by the product of charges.

    Attributes
    ----------
    opposite_sign, same_sign
        EventSets with mass = dimuon invariant mass (GeV) and features ``pt``, ``eta`` of the pair,
        ``mu1_pt``, ``mu1_eta``, ``mu2_pt``, ``mu2_eta`` (mu1 has the higher pT) and ``mu1_<q>``,
        ``mu2_<q>`` for each quantity ``q`` of :data:`MUON_QUANTITIES` present in the file.
    """

    opposite_sign: EventSet
    same_sign: EventSet


def _present_quantities(path: str | os.PathLike[str], tree: str | None, collection: str) -> list[str]:
    _, handle = open_root_tree(path, tree, _WHAT)
    keys = set(branch_names(handle))
    return [q for q in MUON_QUANTITIES if f"{collection}_{q}" in keys]


def _momenta(arrays: Any, collection: str) -> Any:
    return vector.zip({q: ak.values_astype(arrays[f"{collection}_{q}"], np.float64) for q in _MOMENTUM})


def read_dimuons(
    path: str | os.PathLike[str],
    *,
    tree: str | None = "Events",
    step_size: int | str = 100_000,
    entry_stop: int | None = None,
    progress: Progress = None,
    nonfinite: NonFinitePolicy = "raise",
) -> Dimuons:
    """Dimuon candidates of a NanoAOD file: the two highest-pT muons of each event with two or more.

    Parameters
    ----------
    path
        The ROOT file.
    tree
        Name of the TTree or RNTuple (``None``: the only one in the file).
    step_size
        Entries per block read (or a size such as ``"100 MB"``).
    entry_stop
        Read only the entries before this one.
    progress
        Called with the number of entries after each block.
    nonfinite
        ``"raise"`` or ``"drop"`` candidates with NaN/inf values.

    Raises
    ------
    bumphunt.errors.MissingFileError, bumphunt.errors.DataFormatError
        For a missing, non-ROOT or truncated file, a missing tree or a missing ``Muon_*`` branch.
    """
    quantities = _present_quantities(path, tree, "Muon")
    branches = [f"Muon_{q}" for q in (*_MOMENTUM, "charge", *quantities)]
    blocks: list[dict[str, np.ndarray]] = []
    n_entries = 0
    for _, arrays in iterate_root(
        path, tree, branches, _WHAT, step_size=step_size, entry_stop=entry_stop, progress=progress
    ):
        n_entries += len(arrays)
        blocks.append(_leading_pairs(arrays, quantities))
    columns = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]} if blocks else {}
    names = ["pt", "eta", "mu1_pt", "mu1_eta", "mu2_pt", "mu2_eta"]
    names += [f"mu{i}_{q}" for q in quantities for i in (1, 2)]
    base = {"source": os.fspath(path), "format": "nanoaod", "tree": tree, "n_entries": n_entries}
    opposite = columns["charge_product"] < 0 if columns else np.zeros(0, dtype=bool)

    def build(mask: np.ndarray, sign: str) -> EventSet:
        matrix = np.column_stack([columns[n][mask] for n in names]) if columns else np.zeros((0, len(names)))
        mass = columns["mass"][mask] if columns else np.zeros(0)
        return EventSet.from_arrays(
            mass, matrix, names, provenance={**base, "dimuon_sign": sign}, nonfinite=nonfinite
        )

    result = Dimuons(build(opposite, "opposite"), build(~opposite, "same"))
    logger.info(
        "%s: %d entries, %d opposite-sign and %d same-sign dimuon candidates",
        os.fspath(path),
        n_entries,
        len(result.opposite_sign),
        len(result.same_sign),
    )
    return result


def _leading_pairs(arrays: Any, quantities: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns of the two leading muons of each event of a block that has two or more."""
    muons = arrays[ak.num(arrays["Muon_pt"], axis=1) >= 2]
    order = ak.argsort(muons["Muon_pt"], axis=1, ascending=False, stable=True)[:, :2]

    def leading(name: str) -> np.ndarray:
        return ak.to_numpy(muons[name][order]).astype(np.float64)  # shape (n, 2)

    momenta = [vector.array({q: leading(f"Muon_{q}")[:, i] for q in _MOMENTUM}) for i in (0, 1)]
    pair = momenta[0] + momenta[1]
    charge = leading("Muon_charge")
    columns = {
        "mass": np.asarray(pair.mass),
        "pt": np.asarray(pair.pt),
        "eta": np.asarray(pair.eta),
        "charge_product": charge[:, 0] * charge[:, 1],
    }
    for i in (0, 1):
        columns[f"mu{i + 1}_pt"] = np.asarray(momenta[i].pt)
        columns[f"mu{i + 1}_eta"] = np.asarray(momenta[i].eta)
        for q in quantities:
            columns[f"mu{i + 1}_{q}"] = leading(f"Muon_{q}")[:, i]
    return columns


def read_leptons(
    path: str | os.PathLike[str],
    *,
    tree: str | None = "Events",
    step_size: int | str = 100_000,
    entry_stop: int | None = None,
    progress: Progress = None,
) -> pd.DataFrame:
    """The electrons and muons of a NanoAOD file as a lepton table (:mod:`bumphunt.io.leptons`).

    Parameters are those of :func:`read_dimuons`.
    """
    collections = {"e": "Electron", "mu": "Muon"}
    branches = [f"{c}_{q}" for c in collections.values() for q in (*_MOMENTUM, "charge")]
    frames = []
    for start, arrays in iterate_root(
        path, tree, branches, _WHAT, step_size=step_size, entry_stop=entry_stop, progress=progress
    ):
        for flavour, collection in collections.items():
            frames.append(
                lepton_frame(flavour, start, arrays[f"{collection}_charge"], _momenta(arrays, collection))
            )
    return lepton_table(frames)


def read_jets(
    path: str | os.PathLike[str],
    *,
    tree: str | None = "Events",
    extra: Sequence[str] = (),
    step_size: int | str = 100_000,
    entry_stop: int | None = None,
    progress: Progress = None,
) -> pd.DataFrame:
    """The jets of a NanoAOD file, one row per jet, ordered by entry and decreasing pT.

    Parameters
    ----------
    extra
        Further ``Jet_<name>`` quantities to add as columns ``<name>`` (e.g. ``"btagDeepFlavB"``).

    Other parameters are those of :func:`read_dimuons`.

    Returns
    -------
    pandas.DataFrame
        Columns ``entry``, ``pt``, ``eta``, ``phi``, ``mass``, ``E`` (GeV, rad), then ``extra``.
    """
    branches = [f"Jet_{q}" for q in (*_MOMENTUM, *extra)]
    frames = []
    for start, arrays in iterate_root(
        path, tree, branches, _WHAT, step_size=step_size, entry_stop=entry_stop, progress=progress
    ):
        counts = ak.to_numpy(ak.num(arrays["Jet_pt"], axis=1))
        flat = ak.flatten(_momenta(arrays, "Jet"))
        frame = {"entry": np.repeat(np.arange(start, start + len(counts), dtype=np.int64), counts)}
        for quantity in (*_MOMENTUM, "E"):
            frame[quantity] = ak.to_numpy(getattr(flat, quantity)).astype(np.float64)
        for name in extra:
            frame[name] = ak.to_numpy(ak.flatten(arrays[f"Jet_{name}"]))
        frames.append(pd.DataFrame(frame))
    columns = ["entry", *_MOMENTUM, "E", *extra]
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True)
    order = np.lexsort((-table["pt"].to_numpy(), table["entry"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)[columns]

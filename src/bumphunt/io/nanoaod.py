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

import glob
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
import pandas as pd
import vector

from bumphunt.errors import DataFormatError, MissingFileError
from bumphunt.events import EventSet, NonFinitePolicy, concatenate
from bumphunt.io._source import branch_names, iterate_root, open_root_tree
from bumphunt.io.leptons import lepton_frame, lepton_table
from bumphunt.io.nanoaod_writer import read_root_provenance

__all__ = [
    "MUON_QUANTITIES",
    "DimuonSelection",
    "Dimuons",
    "IsolationCut",
    "read_dimuon_candidates",
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


def _leading_pairs(arrays: Any, quantities: Sequence[str], keep: Any = None) -> dict[str, np.ndarray]:
    """Columns of the two leading muons of each event of a block that has two or more (of the muons
    ``keep`` selects, an ``events * var * bool`` mask, when given)."""
    if keep is not None:
        arrays = ak.zip({name: arrays[name][keep] for name in arrays.fields}, depth_limit=1)
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


@dataclass(frozen=True)
class IsolationCut:
    """A cut on a relative isolation of the pair's muons.

    Attributes
    ----------
    quantity
        Per-muon quantity, e.g. ``"pfRelIso04_all"``.
    minimum, maximum
        Keep pairs whose muons' values are >= ``minimum`` and < ``maximum`` (either may be None).
    muons
        ``"either"``: at least one of the two muons passes; ``"both"``: both do.
    """

    quantity: str = "pfRelIso04_all"
    minimum: float | None = None
    maximum: float | None = None
    muons: Literal["either", "both"] = "either"

    def passes(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Pairs that pass, from the two muons' values."""

        def one(values: np.ndarray) -> np.ndarray:
            ok = np.ones(len(values), dtype=bool)
            if self.minimum is not None:
                ok &= values >= self.minimum
            if self.maximum is not None:
                ok &= values < self.maximum
            return ok

        a, b = one(first), one(second)
        return (a | b) if self.muons == "either" else (a & b)


@dataclass(frozen=True)
class DimuonSelection:
    """Which dimuon candidates a search reads from NanoAOD.

    Muons are selected first (pT, |eta|, tight identification); the candidate is the pair of the two
    highest-pT selected muons of each event with two or more; then the charge requirement, the isolation
    cuts and the feature bounds apply to the pair.

    Attributes
    ----------
    sign
        ``"opposite"`` or ``"same"``-sign pairs.
    muon_pt_min, muon_eta_max
        Muon selection (GeV, |eta|).
    tight_id
        Require ``Muon_tightId``.
    isolation
        Cuts on the pair's isolation (e.g. anti-isolation: ``IsolationCut(minimum=0.55)``).
    bounds
        ``{feature: (low, high)}``: keep candidates with low <= feature < high, for any feature of the
        candidate (``pt``, ``eta``, ``mu1_ip3d``, ...).
    """

    sign: Literal["opposite", "same"] = "opposite"
    muon_pt_min: float = 3.0
    muon_eta_max: float = 2.4
    tight_id: bool = False
    isolation: tuple[IsolationCut, ...] = ()
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def branches_needed(self) -> list[str]:
        """The per-muon quantities the selection reads besides the momenta and charge."""
        needed = {cut.quantity for cut in self.isolation}
        if self.tight_id:
            needed.add("tightId")
        return sorted(needed)


def expand_paths(pattern: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """File names of a path, a glob pattern (``data/*.root``) or a list of them, sorted per pattern.

    Raises
    ------
    bumphunt.errors.MissingFileError
        If a pattern matches no file.
    """
    patterns = [pattern] if isinstance(pattern, str | os.PathLike) else list(pattern)
    files: list[str] = []
    for item in patterns:
        text = os.fspath(item)
        # glob.glob, unlike Path.glob, takes patterns in directory names too (runs/*/nano.root)
        matched = sorted(glob.glob(text)) if glob.has_magic(text) else [text]  # noqa: PTH207
        if not matched or not all(Path(m).is_file() for m in matched):
            raise MissingFileError(f"no file matches {text!r}")
        files.extend(matched)
    return files


def read_dimuon_candidates(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    selection: DimuonSelection | None = None,
    *,
    features: Sequence[str] | None = None,
    tree: str | None = "Events",
    step_size: int | str = 100_000,
    progress: Progress = None,
    nonfinite: NonFinitePolicy = "raise",
) -> EventSet:
    """Selected dimuon candidates of one or many NanoAOD files (TTree or RNTuple), read in blocks.

    Parameters
    ----------
    paths
        A file, a glob pattern or a list of them.
    selection
        The candidate selection (:class:`DimuonSelection`; opposite-sign pairs of muons above 3 GeV
        within |eta| < 2.4 by default).
    features
        Candidate features to keep (default: all; see :class:`Dimuons`); the per-muon quantities they
        name (``mu1_ip3d`` needs ``Muon_ip3d``) must be in every file.
    tree, step_size, progress, nonfinite
        As in :func:`read_dimuons`.

    Returns
    -------
    EventSet
        Mass = dimuon mass (GeV); its provenance lists the files, entries read and the selection.

    Raises
    ------
    bumphunt.errors.MissingFileError
        If a file or pattern is missing.
    bumphunt.errors.DataFormatError
        If a file lacks a needed branch (named with the file), or no candidate passes the selection.
    """
    selection = selection or DimuonSelection()
    files = expand_paths(paths)
    wanted_quantities = set(selection.branches_needed())
    for name in (*(features or ()), *selection.bounds):
        for prefix in ("mu1_", "mu2_"):
            if name.startswith(prefix) and name[len(prefix) :] not in ("pt", "eta"):
                wanted_quantities.add(name[len(prefix) :])
    sets = []
    n_entries = 0
    for path in files:
        quantities = sorted(set(_present_quantities(path, tree, "Muon")) | wanted_quantities)
        branches = [f"Muon_{q}" for q in (*_MOMENTUM, "charge", *quantities)]
        blocks = []
        for _, arrays in iterate_root(path, tree, branches, _WHAT, step_size=step_size, progress=progress):
            n_entries += len(arrays)
            keep = (arrays["Muon_pt"] > selection.muon_pt_min) & (
                abs(arrays["Muon_eta"]) < selection.muon_eta_max
            )
            if selection.tight_id:
                keep = keep & (arrays["Muon_tightId"] != 0)
            blocks.append(_leading_pairs(arrays, quantities, keep))
        columns = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]} if blocks else {}
        names = ["pt", "eta", "mu1_pt", "mu1_eta", "mu2_pt", "mu2_eta"]
        names += [f"mu{i}_{q}" for q in quantities for i in (1, 2)]
        if not columns:
            continue
        passed = (
            columns["charge_product"] < 0 if selection.sign == "opposite" else columns["charge_product"] > 0
        )
        for cut in selection.isolation:
            passed &= cut.passes(columns[f"mu1_{cut.quantity}"], columns[f"mu2_{cut.quantity}"])
        for name, (low, high) in selection.bounds.items():
            source = columns["mass"] if name == "mass" else columns.get(name)
            if source is None:
                raise DataFormatError(
                    f"file {path!r}: data.dimuon.bounds names {name!r}, not a dimuon feature; "
                    f"features are {['mass', *names]}"
                )
            passed &= (source >= low) & (source < high)
        sets.append(
            EventSet.from_arrays(
                columns["mass"][passed],
                np.column_stack([columns[n][passed] for n in names]),
                names,
                provenance={"source": path},
                nonfinite=nonfinite,
            )
        )
    if not sets or sum(len(s) for s in sets) == 0:
        raise DataFormatError(
            f"file(s) {', '.join(repr(f) for f in files)}: no {selection.sign}-sign dimuon candidate passes "
            f"the selection in data.dimuon ({n_entries} entries read)"
        )
    common = [n for n in sets[0].feature_names if all(n in s.feature_names for s in sets)]
    if features is not None:
        common = list(features)
    events = concatenate([s.with_features(common) for s in sets])
    provenance = {
        "source": files[0] if len(files) == 1 else f"{files[0]} and {len(files) - 1} more",
        "files": files,
        "format": "nanoaod",
        "tree": tree,
        "n_entries": n_entries,
        "generated": all("generated" in str(read_root_provenance(f).get("format", "")) for f in files),
        "dimuon_sign": selection.sign,
        "dimuon_selection": {
            "sign": selection.sign,
            "muon_pt_min": selection.muon_pt_min,
            "muon_eta_max": selection.muon_eta_max,
            "tight_id": selection.tight_id,
            "isolation": [vars(cut) for cut in selection.isolation],
            "bounds": {k: list(v) for k, v in selection.bounds.items()},
        },
    }
    return EventSet(events.mass, events.features, events.feature_names, None, None, provenance)

"""Reader of flat ntuples with Cartesian lepton momenta (like the CMS Open Data HZZ tutorial tree).

Layout expected: a ROOT TTree (or RNTuple) with one entry per event and, for each lepton collection,
variable-length branches ``<Collection>_<component>`` for the components ``Px``, ``Py``, ``Pz``, ``E``
(GeV) and ``Charge``; by default the collections are ``Electron`` and ``Muon`` (the layout of
``uproot-HZZ.root``, tree ``events``). Other spellings are set with ``collections`` and ``components``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import awkward as ak
import numpy as np
import pandas as pd
import vector

from bumphunt.errors import ConfigError
from bumphunt.io._source import iterate_root
from bumphunt.io.leptons import FLAVOURS, lepton_frame, lepton_table

__all__ = ["DEFAULT_COMPONENTS", "read_flat_leptons"]

#: Branch suffix of each four-momentum component and of the charge.
DEFAULT_COMPONENTS: Mapping[str, str] = {"px": "Px", "py": "Py", "pz": "Pz", "E": "E", "charge": "Charge"}
_WHAT = "a flat ntuple with <Collection>_Px/Py/Pz/E/Charge branches"


def read_flat_leptons(
    path: str | os.PathLike[str],
    *,
    tree: str | None = None,
    collections: Mapping[str, str] | None = None,
    components: Mapping[str, str] | None = None,
    step_size: int | str = 100_000,
    entry_stop: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The leptons of a flat ntuple as a lepton table (:mod:`bumphunt.io.leptons`).

    Parameters
    ----------
    path
        The ROOT file.
    tree
        TTree or RNTuple name (``None``: the only one in the file).
    collections
        Flavour (``"e"``, ``"mu"``) to branch prefix; default ``{"e": "Electron", "mu": "Muon"}``.
    components
        Keys ``px``, ``py``, ``pz``, ``E``, ``charge`` to branch suffix; default
        :data:`DEFAULT_COMPONENTS`.
    step_size, entry_stop, progress
        As in :func:`bumphunt.io.read_dimuons`.

    Returns
    -------
    pandas.DataFrame
        The lepton table; pT, eta, phi and mass are computed from (px, py, pz, E).
    """
    collections = dict(collections or {"e": "Electron", "mu": "Muon"})
    components = {**DEFAULT_COMPONENTS, **(components or {})}
    unknown = sorted(set(collections) - set(FLAVOURS))
    if unknown:
        raise ConfigError(f"collections: flavours {unknown} are not among {list(FLAVOURS)}")
    unknown = sorted(set(components) - set(DEFAULT_COMPONENTS))
    if unknown:
        raise ConfigError(f"components: keys {unknown} are not among {list(DEFAULT_COMPONENTS)}")
    branches = [f"{prefix}_{suffix}" for prefix in collections.values() for suffix in components.values()]
    frames = []
    for start, arrays in iterate_root(
        path, tree, branches, _WHAT, step_size=step_size, entry_stop=entry_stop, progress=progress
    ):
        for flavour, prefix in collections.items():
            momenta = vector.zip(
                {
                    key: ak.values_astype(arrays[f"{prefix}_{components[key]}"], np.float64)
                    for key in ("px", "py", "pz", "E")
                }
            )
            frames.append(lepton_frame(flavour, start, arrays[f"{prefix}_{components['charge']}"], momenta))
    return lepton_table(frames)

"""The lepton table: one row per electron or muon, the common output of the ROOT readers.

Columns (:data:`LEPTON_COLUMNS`):

- ``entry`` (int64): the event's entry number in the file (0-based);
- ``flavour`` (categorical ``"e"`` / ``"mu"``);
- ``charge`` (int8, units of e);
- ``pt``, ``eta``, ``phi``, ``mass``, ``E``: float64, GeV and rad. ``mass`` follows the ROOT
  ``TLorentzVector::M`` convention: -sqrt(p**2 - E**2) when rounding makes E < |p|.

Rows are ordered by entry, then flavour, then decreasing pT.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd

__all__ = ["FLAVOURS", "LEPTON_COLUMNS", "lepton_frame", "lepton_table"]

FLAVOURS = ("e", "mu")
LEPTON_COLUMNS = ("entry", "flavour", "charge", "pt", "eta", "phi", "mass", "E")


def lepton_frame(flavour: str, entry_start: int, charge: ak.Array, momenta: ak.Array) -> pd.DataFrame:
    """The lepton rows of one flavour in a block of events.

    Parameters
    ----------
    flavour
        ``"e"`` or ``"mu"``.
    entry_start
        Entry number of the first event of the block.
    charge
        ``events * var * int``.
    momenta
        ``events * var`` awkward array of :mod:`vector` four-momenta (any coordinates), aligned with
        ``charge``.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
    counts = ak.to_numpy(ak.num(charge, axis=1))
    flat = ak.flatten(momenta)

    def values(quantity: str) -> np.ndarray:
        return ak.to_numpy(getattr(flat, quantity)).astype(np.float64)

    return pd.DataFrame(
        {
            "entry": np.repeat(np.arange(entry_start, entry_start + len(counts), dtype=np.int64), counts),
            "flavour": flavour,
            "charge": ak.to_numpy(ak.flatten(charge)).astype(np.int8),
            "pt": values("pt"),
            "eta": values("eta"),
            "phi": values("phi"),
            "mass": values("mass"),
            "E": values("E"),
        }
    )


def lepton_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate :func:`lepton_frame` blocks into the ordered lepton table."""
    if frames:
        table = pd.concat(frames, ignore_index=True)
    else:
        table = pd.DataFrame({c: pd.Series(dtype=np.float64) for c in LEPTON_COLUMNS})
        table = table.astype({"entry": np.int64, "charge": np.int8})
    table["flavour"] = pd.Categorical(table["flavour"], categories=FLAVOURS)
    order = np.lexsort(
        (-table["pt"].to_numpy(), table["flavour"].cat.codes.to_numpy(), table["entry"].to_numpy())
    )
    return table.iloc[order].reset_index(drop=True)[list(LEPTON_COLUMNS)]

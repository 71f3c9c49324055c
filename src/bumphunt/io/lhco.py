"""The LHC Olympics 2020 R&D file layouts.

High-level features (Zenodo record 4536377, ``events_anomalydetection_v2.features.h5``): one pandas
DataFrame, float64 columns :data:`FEATURE_COLUMNS` then ``label`` (1 for signal). ``j1`` is the jet of
higher pT; momenta and masses in GeV, N-subjettiness tau_N (beta = 1, unnormalized) in GeV.

Constituents (``events_anomalydetection.h5``): one pandas DataFrame of float64 with integer column names
0 .. 3 * 700; columns 3k, 3k+1, 3k+2 are pT (GeV), eta and phi of particle k (zero padded) and the last
column is the label. The black-box files have the same layout without the label column (3 * 700 columns).

Readers: :func:`bumphunt.io.read_lhco_features` and :func:`bumphunt.io.read_lhco_constituents` /
:func:`bumphunt.io.iter_lhco_constituents`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "FEATURE_COLUMNS",
    "LABEL_COLUMN",
    "MAX_CONSTITUENTS",
    "constituents_frame",
    "features_frame",
    "split_constituent_rows",
]

#: Per-jet columns of the features file, in order.
FEATURE_COLUMNS: tuple[str, ...] = (
    "pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "tau2j1", "tau3j1",
    "pxj2", "pyj2", "pzj2", "mj2", "tau1j2", "tau2j2", "tau3j2",
)  # fmt: skip
LABEL_COLUMN = "label"
#: Particles per event in the constituents file.
MAX_CONSTITUENTS = 700


def features_frame(features: np.ndarray, label: float | np.ndarray) -> pd.DataFrame:
    """A features-file DataFrame from ``(n, 14)`` rows and a label (scalar or per row)."""
    features = np.asarray(features, dtype=np.float64)
    frame = pd.DataFrame(features, columns=list(FEATURE_COLUMNS))
    frame[LABEL_COLUMN] = np.broadcast_to(np.asarray(label, dtype=np.float64), len(frame))
    return frame


def constituents_frame(constituents: np.ndarray, label: float | np.ndarray) -> pd.DataFrame:
    """A constituents-file DataFrame from ``(n, k, 3)`` (pT, eta, phi) arrays and a label."""
    constituents = np.asarray(constituents, dtype=np.float64)
    n = len(constituents)
    flat = constituents.reshape(n, -1)
    labels = np.broadcast_to(np.asarray(label, dtype=np.float64), n)
    return pd.DataFrame(np.column_stack([flat, labels]))


def split_constituent_rows(values: np.ndarray, has_label: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Split constituents-file rows into ``(n, k, 3)`` particles (pT, eta, phi) and the label column.

    Parameters
    ----------
    values
        Shape ``(n, 3k + 1)`` with a label, or ``(n, 3k)`` without.
    has_label
        Whether the last column is the label.
    """
    n_particle_columns = values.shape[1] - 1 if has_label else values.shape[1]
    particles = values[:, :n_particle_columns].reshape(len(values), n_particle_columns // 3, 3)
    return particles, (values[:, -1] if has_label else None)

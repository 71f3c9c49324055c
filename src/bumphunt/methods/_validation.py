"""Checks of user arrays shared by the transforms, classifiers and flows of :mod:`bumphunt.methods`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bumphunt.errors import DataFormatError

__all__ = ["as_matrix", "binary_labels", "event_weights"]


def as_matrix(X: npt.ArrayLike, what: str = "X") -> np.ndarray:
    """``X`` as a finite float64 matrix of shape ``(n_events, n_columns)``.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If ``X`` is not two-dimensional or holds NaN/inf.
    """
    matrix = np.asarray(X, dtype=np.float64)
    if matrix.ndim != 2:
        raise DataFormatError(f"{what} must have shape (n_events, n_columns), got shape {matrix.shape}")
    bad = np.count_nonzero(~np.isfinite(matrix), axis=0)
    if np.any(bad):
        columns = ", ".join(f"column {j} has {int(c)}" for j, c in enumerate(bad) if c)
        raise DataFormatError(f"{what} holds NaN/inf values: {columns}")
    return matrix


def binary_labels(y: npt.ArrayLike, n: int) -> np.ndarray:
    """``y`` as an int64 array of 0s and 1s of length ``n``, with both classes present.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the shape is wrong, a label is not 0 or 1, or one class is missing.
    """
    labels = np.asarray(y)
    if labels.shape != (n,):
        raise DataFormatError(f"y must have shape ({n},) to match X, got {labels.shape}")
    if labels.dtype.kind not in "biuf" or not np.all((labels == 0) | (labels == 1)):
        raise DataFormatError(f"y must hold only the labels 0 and 1, got values {np.unique(labels)[:5]}")
    labels = labels.astype(np.int64)
    counts = np.bincount(labels, minlength=2)
    if np.any(counts == 0):
        raise DataFormatError(f"y must hold both classes 0 and 1, got counts {counts.tolist()}")
    return labels


def event_weights(sample_weight: npt.ArrayLike | None, n: int) -> np.ndarray:
    """``sample_weight`` as a float64 array of length ``n`` (ones when ``None``).

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the shape is wrong or a weight is negative or not finite.
    """
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,):
        raise DataFormatError(f"sample_weight must have shape ({n},) to match X, got {weights.shape}")
    if not np.all(np.isfinite(weights) & (weights >= 0)):
        raise DataFormatError("sample_weight must be finite and >= 0")
    return weights

"""Plain records (results, shapes, windows) that turn into JSON-ready dictionaries."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["Record", "jsonable"]


def jsonable(value: Any) -> Any:
    """Convert ``value`` into builtin types that :mod:`json` writes (arrays become lists).

    Objects with a ``to_dict`` method (records) become dictionaries.

    Raises
    ------
    ValueError
        If a float is NaN: results never carry a silent NaN, so finding one is a bug.
    """
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and math.isnan(value):
        raise ValueError("a result field is NaN; results must flag missing numbers with None")
    return value


@dataclasses.dataclass(frozen=True)
class Record:
    """Base of the records: frozen dataclasses with :meth:`to_dict`."""

    def to_dict(self) -> dict[str, Any]:
        """All fields as builtin types, ready for :func:`json.dumps`."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

"""The one in-memory event table of bumphunt: :class:`EventSet`, and mass windows (:class:`Window`).

An :class:`EventSet` holds, for ``n`` events, the resonant mass (GeV) that a bump hunt scans, a matrix of
``k`` further features with their names, optionally a truth label (simulation) and per-event weights, and
a provenance dictionary that says where the events came from. It is immutable: selections, splits and
concatenations return new sets, and the arrays it holds are read-only.

Example
-------
>>> import numpy as np
>>> from bumphunt.events import EventSet, Window
>>> events = EventSet(
...     mass=np.array([3100.0, 3500.0, 3600.0, 3900.0]),
...     features=np.zeros((4, 1)),
...     feature_names=("mj_min",),
... )
>>> window = Window(sr=(3300.0, 3700.0), sb=((3000.0, 3300.0), (3700.0, 4000.0)))
>>> len(events.signal_region(window)), len(events.sidebands(window))
(2, 2)
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from bumphunt.errors import ConfigError, DataFormatError, EmptySelectionError

__all__ = [
    "EVENTSET_PARQUET_KEY",
    "PROVENANCE_KEY",
    "RESERVED_COLUMNS",
    "EventSet",
    "Interval",
    "NonFinitePolicy",
    "Window",
    "concatenate",
]

logger = logging.getLogger(__name__)

#: A half-open mass interval ``[low, high)`` in GeV.
Interval = tuple[float, float]
#: Column names that an EventSet table uses for its own arrays; features may not use them.
RESERVED_COLUMNS = ("mass", "label", "weight")
#: Parquet schema metadata key that marks a file written by :meth:`EventSet.to_parquet`.
EVENTSET_PARQUET_KEY = "bumphunt_eventset"
#: Name of the HDF5 node attribute and Parquet schema metadata key that hold the provenance (JSON).
PROVENANCE_KEY = "bumphunt_provenance"
_FORMAT_VERSION = 1

#: What a reader does with events that hold NaN/inf values: raise (default) or drop them.
NonFinitePolicy = Literal["raise", "drop"]


def _interval(value: Sequence[float], what: str) -> Interval:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: expected a pair (low, high) in GeV, got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"{what}: expected finite low < high in GeV, got ({low:g}, {high:g})")
    return low, high


def _overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass(frozen=True)
class Window:
    """A signal region and its sidebands in the resonant mass, each a half-open interval ``[low, high)``.

    Parameters
    ----------
    sr
        The signal region ``(low, high)`` in GeV.
    sb
        The sideband intervals in GeV; they may not overlap the signal region or each other.

    Examples
    --------
    >>> Window(sr=(3300.0, 3700.0), sb=((3000.0, 3300.0), (3700.0, 4000.0)))
    Window(sr=(3300.0, 3700.0), sb=((3000.0, 3300.0), (3700.0, 4000.0)))
    >>> Window.around((3300.0, 3700.0), sideband_width=200.0).sb
    ((3100.0, 3300.0), (3700.0, 3900.0))
    """

    sr: Interval
    sb: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        sr = _interval(self.sr, "signal region 'sr'")
        sb = tuple(_interval(interval, f"sideband 'sb[{i}]'") for i, interval in enumerate(self.sb))
        for i, interval in enumerate(sb):
            if _overlaps(interval, sr):
                raise ConfigError(f"sideband 'sb[{i}]' = {interval} GeV overlaps the signal region {sr} GeV")
            for j in range(i):
                if _overlaps(interval, sb[j]):
                    raise ConfigError(f"sidebands 'sb[{j}]' = {sb[j]} and 'sb[{i}]' = {interval} GeV overlap")
        object.__setattr__(self, "sr", sr)
        object.__setattr__(self, "sb", sb)

    @classmethod
    def around(cls, sr: Sequence[float], sideband_width: float) -> Window:
        """A window with one sideband of ``sideband_width`` GeV on each side of the signal region."""
        low, high = _interval(sr, "signal region 'sr'")
        if not (math.isfinite(sideband_width) and sideband_width > 0):
            raise ConfigError(f"sideband_width must be a positive number of GeV, got {sideband_width!r}")
        return cls(sr=(low, high), sb=((low - sideband_width, low), (high, high + sideband_width)))

    @classmethod
    def from_edges(cls, sb_low: float, sr_low: float, sr_high: float, sb_high: float) -> Window:
        """The contiguous window ``[sb_low, sr_low) [sr_low, sr_high) [sr_high, sb_high)`` (GeV)."""
        values = (sb_low, sr_low, sr_high, sb_high)
        if not all(math.isfinite(float(v)) for v in values) or not (sb_low < sr_low < sr_high < sb_high):
            raise ConfigError(
                f"window edges must satisfy sb_low < sr_low < sr_high < sb_high (GeV), got {values}"
            )
        return cls(sr=(sr_low, sr_high), sb=((sb_low, sr_low), (sr_high, sb_high)))

    @property
    def sr_low(self) -> float:
        """Lower edge of the signal region (GeV)."""
        return self.sr[0]

    @property
    def sr_high(self) -> float:
        """Upper edge of the signal region (GeV)."""
        return self.sr[1]

    @property
    def sb_low(self) -> float:
        """Lowest edge of the window, sidebands included (GeV)."""
        return min(low for low, _ in (self.sr, *self.sb))

    @property
    def sb_high(self) -> float:
        """Highest edge of the window, sidebands included (GeV)."""
        return max(high for _, high in (self.sr, *self.sb))

    @property
    def center(self) -> float:
        """Centre of the signal region (GeV)."""
        return 0.5 * (self.sr[0] + self.sr[1])

    @property
    def contiguous(self) -> bool:
        """Whether the sidebands and the signal region cover ``[sb_low, sb_high)`` without gaps."""
        covered = sorted((self.sr, *self.sb))
        return all(a[1] == b[0] for a, b in itertools.pairwise(covered))

    @property
    def label(self) -> str:
        """Short description, e.g. ``'SR [3300, 3700) SB [3000, 3300) [3700, 4000) GeV'``."""
        sidebands = " ".join(f"[{low:g}, {high:g})" for low, high in self.sb)
        return f"SR [{self.sr[0]:g}, {self.sr[1]:g}) SB {sidebands or '-'} GeV"

    def in_sr(self, mass: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of masses (GeV) inside the signal region."""
        m = np.asarray(mass, dtype=np.float64)
        return (m >= self.sr[0]) & (m < self.sr[1])

    def in_sb(self, mass: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of masses (GeV) inside any sideband."""
        m = np.asarray(mass, dtype=np.float64)
        mask = np.zeros(m.shape, dtype=bool)
        for low, high in self.sb:
            mask |= (m >= low) & (m < high)
        return mask

    def in_window(self, mass: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of masses (GeV) inside the signal region or a sideband."""
        return self.in_sr(mass) | self.in_sb(mass)

    def to_dict(self) -> dict[str, Any]:
        """The window as builtin types for JSON: ``{"sr": [low, high], "sb": [[low, high], ...]}``."""
        return {"sr": list(self.sr), "sb": [list(interval) for interval in self.sb]}


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False, repr=False)
class EventSet:
    """Events as a resonant mass, a feature matrix with names, and optional truth labels and weights.

    The constructor copies its inputs into read-only float64 arrays (integer labels) and validates them;
    use :meth:`from_arrays` to drop events with NaN/inf values instead of raising.

    Parameters
    ----------
    mass
        Shape ``(n,)``: the resonant mass of each event (GeV); finite and > 0.
    features
        Shape ``(n, k)``: the other features; finite.
    feature_names
        ``k`` distinct names; ``"mass"``, ``"label"`` and ``"weight"`` are reserved.
    label
        Shape ``(n,)``: integer truth label (1 = signal, 0 = background in the LHCO files), or ``None``.
    weight
        Shape ``(n,)``: finite event weights, or ``None`` (all events weigh 1).
    provenance
        JSON-serializable description of the origin; ``provenance["source"]`` names the file (or other
        origin) in error messages.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the shapes disagree, a value is NaN/inf (the message gives the column and count), a mass is
        not positive, a label is not an integer or a name is repeated or reserved.
    """

    mass: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    label: np.ndarray | None = None
    weight: np.ndarray | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        provenance = MappingProxyType(dict(self.provenance))
        object.__setattr__(self, "provenance", provenance)
        source = self.source
        mass = np.array(self.mass, dtype=np.float64)
        if mass.ndim != 1:
            raise DataFormatError(f"{source}: mass must be one-dimensional, got shape {mass.shape}")
        n = len(mass)
        names = tuple(self.feature_names)
        features = np.array(self.features, dtype=np.float64)
        if features.size == 0 and features.ndim < 2:
            features = features.reshape(n, 0)
        if features.ndim != 2 or features.shape != (n, len(names)):
            raise DataFormatError(
                f"{source}: features must have shape ({n} events, {len(names)} names), got {features.shape}"
            )
        _check_names(names, source)
        label = None if self.label is None else _label_array(self.label, n, source)
        weight = None if self.weight is None else np.array(self.weight, dtype=np.float64)
        if weight is not None and weight.shape != (n,):
            raise DataFormatError(f"{source}: weight must have shape ({n},), got {weight.shape}")
        bad = _nonfinite_counts(mass, features, names, weight)
        if bad:
            details = ", ".join(f"column {name!r} has {count}" for name, count in bad.items())
            raise DataFormatError(
                f"{source}: NaN/inf values in {n} events: {details}; "
                "fix the input or read it with nonfinite='drop' to drop those events"
            )
        non_positive = int(np.count_nonzero(mass <= 0))
        if non_positive:
            raise DataFormatError(
                f"{source}: column 'mass' has {non_positive} values <= 0 GeV "
                f"(minimum {mass.min():g}); a resonant mass must be positive"
            )
        object.__setattr__(self, "mass", _readonly(mass))
        object.__setattr__(self, "features", _readonly(features))
        object.__setattr__(self, "feature_names", names)
        object.__setattr__(self, "label", None if label is None else _readonly(label))
        object.__setattr__(self, "weight", None if weight is None else _readonly(weight))

    # ----------------------------------------------------------------------------------------- build
    @classmethod
    def from_arrays(
        cls,
        mass: npt.ArrayLike,
        features: npt.ArrayLike,
        feature_names: Sequence[str],
        *,
        label: npt.ArrayLike | None = None,
        weight: npt.ArrayLike | None = None,
        provenance: Mapping[str, Any] | None = None,
        nonfinite: NonFinitePolicy = "raise",
    ) -> EventSet:
        """Build an EventSet, optionally dropping the events with NaN/inf values.

        Parameters
        ----------
        nonfinite
            ``"raise"`` (default): NaN/inf values raise :class:`~bumphunt.errors.DataFormatError` naming
            the columns and counts. ``"drop"``: drop those events, log how many, and record the number
            in ``provenance["n_dropped_nonfinite"]``.

        Other parameters are those of :class:`EventSet`.
        """
        provenance = dict(provenance or {})
        if nonfinite not in ("raise", "drop"):
            raise ConfigError(f"nonfinite must be 'raise' or 'drop', got {nonfinite!r}")
        mass = np.asarray(mass, dtype=np.float64)
        features = np.asarray(features, dtype=np.float64)
        weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        if nonfinite == "drop" and mass.ndim == 1 and features.ndim == 2 and len(features) == len(mass):
            keep = np.isfinite(mass) & np.all(np.isfinite(features), axis=1)
            if weight is not None and weight.shape == mass.shape:
                keep &= np.isfinite(weight)
            n_dropped = int(len(mass) - np.count_nonzero(keep))
            if n_dropped:
                logger.warning(
                    "%s: dropped %d of %d events with NaN/inf values",
                    provenance.get("source", "<in memory>"),
                    n_dropped,
                    len(mass),
                )
                mass, features = mass[keep], features[keep]
                label = None if label is None else np.asarray(label)[keep]
                weight = None if weight is None else weight[keep]
            provenance["n_dropped_nonfinite"] = n_dropped
        return cls(mass, features, tuple(feature_names), label, weight, provenance)

    # ---------------------------------------------------------------------------------------- access
    @property
    def source(self) -> str:
        """Where the events came from, for messages: ``provenance["source"]`` or ``"<in memory>"``."""
        return str(self.provenance.get("source", "<in memory>"))

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return len(self.feature_names)

    def __len__(self) -> int:
        return len(self.mass)

    def __repr__(self) -> str:
        parts = [f"{len(self)} events", f"features={list(self.feature_names)}"]
        if len(self):
            parts.append(f"mass=[{self.mass.min():.6g}, {self.mass.max():.6g}] GeV")
        if self.label is not None:
            parts.append("labelled")
        if self.weight is not None:
            parts.append("weighted")
        parts.append(f"source={self.source!r}")
        return f"EventSet({', '.join(parts)})"

    def column(self, name: str) -> np.ndarray:
        """The values of one feature (read-only view); ``"mass"`` gives the mass."""
        if name == "mass":
            return self.mass
        try:
            return self.features[:, self.feature_names.index(name)]
        except ValueError:
            raise ConfigError(
                f"{self.source}: no feature named {name!r}; the features are {list(self.feature_names)}"
            ) from None

    def with_features(self, names: Sequence[str]) -> EventSet:
        """A set with only the features ``names``, in that order."""
        columns = [self.column(name) for name in names]
        matrix = np.column_stack(columns) if columns else np.zeros((len(self), 0))
        return EventSet(self.mass, matrix, tuple(names), self.label, self.weight, self.provenance)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns ``mass``, the features, and ``label``/``weight`` when present."""
        frame = pd.DataFrame({"mass": self.mass})
        frame[list(self.feature_names)] = self.features
        if self.label is not None:
            frame["label"] = self.label
        if self.weight is not None:
            frame["weight"] = self.weight
        return frame

    # ------------------------------------------------------------------------------------- selection
    def take(self, index: npt.ArrayLike) -> EventSet:
        """The events picked by a boolean mask or an integer index array, in that order."""
        index = np.asarray(index)
        if index.dtype == bool and index.shape != self.mass.shape:
            raise ConfigError(f"boolean mask has shape {index.shape}, expected ({len(self)},)")
        return EventSet(
            self.mass[index],
            self.features[index],
            self.feature_names,
            None if self.label is None else self.label[index],
            None if self.weight is None else self.weight[index],
            self.provenance,
        )

    def mass_mask(self, intervals: Interval | Sequence[Interval]) -> np.ndarray:
        """Boolean mask of the events whose mass lies in any of the half-open ``intervals`` (GeV)."""
        checked = _intervals(intervals)
        mask = np.zeros(len(self), dtype=bool)
        for low, high in checked:
            mask |= (self.mass >= low) & (self.mass < high)
        return mask

    def in_mass(self, intervals: Interval | Sequence[Interval], *, allow_empty: bool = False) -> EventSet:
        """The events with mass in any of the half-open ``intervals`` ``[low, high)`` (GeV).

        Raises
        ------
        bumphunt.errors.EmptySelectionError
            If no event is selected and ``allow_empty`` is false; the message gives the intervals and
            the mass range of the data.
        """
        mask = self.mass_mask(intervals)
        if not allow_empty and not np.any(mask):
            span = f"[{self.mass.min():.6g}, {self.mass.max():.6g}] GeV" if len(self) else "empty"
            shown = ", ".join(f"[{low:g}, {high:g})" for low, high in _intervals(intervals))
            raise EmptySelectionError(
                f"{self.source}: no event has a mass in {shown} GeV; the data's mass range is {span}"
            )
        return self.take(mask)

    def signal_region(self, window: Window, *, allow_empty: bool = False) -> EventSet:
        """The events in ``window.sr``."""
        return self.in_mass(window.sr, allow_empty=allow_empty)

    def sidebands(self, window: Window, *, allow_empty: bool = False) -> EventSet:
        """The events in any of ``window.sb``."""
        if not window.sb:
            raise ConfigError(f"window {window} has no sidebands")
        return self.in_mass(window.sb, allow_empty=allow_empty)

    def split(
        self, fractions: Sequence[float], *, seed: int | np.random.SeedSequence
    ) -> tuple[EventSet, ...]:
        """Shuffle the events with ``seed`` and cut them into parts of the given fractions.

        Parameters
        ----------
        fractions
            Positive numbers that sum to 1; part ``i`` gets ``round(cumsum[i] * n) - round(cumsum[i-1] * n)``
            events, so the parts are disjoint and together hold every event.
        seed
            Seed of the :class:`numpy.random.Generator` that draws the permutation.

        Examples
        --------
        >>> import numpy as np
        >>> events = EventSet(np.arange(1.0, 11.0), np.zeros((10, 0)), ())
        >>> train, test = events.split((0.7, 0.3), seed=1)
        >>> len(train), len(test)
        (7, 3)
        """
        fractions = np.asarray(fractions, dtype=np.float64)
        if (
            fractions.ndim != 1
            or len(fractions) == 0
            or np.any(~np.isfinite(fractions))
            or np.any(fractions <= 0)
        ):
            raise ConfigError(f"split fractions must be positive numbers, got {fractions.tolist()}")
        if not math.isclose(float(fractions.sum()), 1.0, rel_tol=0, abs_tol=1e-9):
            raise ConfigError(
                f"split fractions must sum to 1, got {fractions.tolist()} (sum {fractions.sum():g})"
            )
        order = np.random.default_rng(seed).permutation(len(self))
        edges = np.rint(np.concatenate([[0.0], np.cumsum(fractions)]) * len(self)).astype(np.int64)
        edges[-1] = len(self)
        return tuple(self.take(order[a:b]) for a, b in itertools.pairwise(edges))

    # -------------------------------------------------------------------------------------------- io
    def to_parquet(self, path: str | os.PathLike[str], *, float_dtype: str = "float64") -> Path:
        """Write the set to a Parquet file, atomically, keeping feature names and provenance.

        Layout: one column ``mass``, one column per feature (``float_dtype``, in order), then ``label``
        (int64) and ``weight`` (``float_dtype``) when present; the provenance is JSON in the schema
        metadata key ``bumphunt_provenance``, and ``bumphunt_eventset`` marks the file and lists the
        feature names. ``float_dtype="float32"`` halves the size (7 significant digits); reading
        always gives float64.
        """
        if float_dtype not in ("float64", "float32"):
            raise ConfigError(f"float_dtype must be 'float64' or 'float32', got {float_dtype!r}")
        import pyarrow as pa
        import pyarrow.parquet as pq

        from bumphunt._files import atomic_path

        path = Path(path)
        try:
            provenance_text = json.dumps(dict(self.provenance), sort_keys=True)
        except TypeError as err:
            raise ConfigError(f"provenance of {self.source} is not JSON-serializable: {err}") from None
        marker = json.dumps({"version": _FORMAT_VERSION, "feature_names": list(self.feature_names)})
        frame = self.to_frame()
        floats = [c for c in frame.columns if c != "label"]
        frame[floats] = frame[floats].astype(float_dtype)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        metadata = {
            **(table.schema.metadata or {}),
            PROVENANCE_KEY.encode(): provenance_text.encode(),
            EVENTSET_PARQUET_KEY.encode(): marker.encode(),
        }
        with atomic_path(path) as tmp:
            pq.write_table(table.replace_schema_metadata(metadata), tmp)
        return path

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> EventSet:
        """Read a file written by :meth:`to_parquet`.

        Raises
        ------
        bumphunt.errors.DataFormatError
            If the file is not Parquet or was not written by :meth:`to_parquet`.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from bumphunt._files import existing_file, one_line

        path = existing_file(path)
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise DataFormatError(
                f"file {str(path)!r} is not a readable Parquet file: {one_line(err)}"
            ) from None
        metadata = table.schema.metadata or {}
        marker = metadata.get(EVENTSET_PARQUET_KEY.encode())
        if marker is None:
            raise DataFormatError(
                f"file {str(path)!r} was not written by EventSet.to_parquet "
                f"(no {EVENTSET_PARQUET_KEY!r} metadata); read general tables with bumphunt.io.read_table"
            )
        names = tuple(json.loads(marker)["feature_names"])
        provenance = json.loads(metadata.get(PROVENANCE_KEY.encode(), b"{}"))
        columns = set(table.column_names)
        missing = [c for c in ("mass", *names) if c not in columns]
        if missing:
            raise DataFormatError(f"file {str(path)!r}: columns {missing} are missing")

        def col(name: str) -> np.ndarray:
            return table.column(name).to_numpy()

        features = np.column_stack([col(n) for n in names]) if names else np.zeros((table.num_rows, 0))
        return cls(
            col("mass"),
            features,
            names,
            col("label") if "label" in columns else None,
            col("weight") if "weight" in columns else None,
            provenance,
        )


def concatenate(event_sets: Iterable[EventSet]) -> EventSet:
    """Join event sets with the same feature names; labels and weights must be present in all or none.

    The provenance of the result is ``{"source": "concatenation", "parts": [provenance, ...]}``.
    """
    sets = list(event_sets)
    if not sets:
        raise ConfigError("concatenate needs at least one EventSet")
    first = sets[0]
    for other in sets[1:]:
        if other.feature_names != first.feature_names:
            raise DataFormatError(
                f"cannot concatenate {other.source} (features {list(other.feature_names)}) with "
                f"{first.source} (features {list(first.feature_names)})"
            )
        for attribute in ("label", "weight"):
            if (getattr(other, attribute) is None) != (getattr(first, attribute) is None):
                raise DataFormatError(
                    f"cannot concatenate {other.source} and {first.source}: "
                    f"only one of them has a {attribute}"
                )
    return EventSet(
        np.concatenate([s.mass for s in sets]),
        np.concatenate([s.features for s in sets]),
        first.feature_names,
        None if first.label is None else np.concatenate([s.label for s in sets]),
        None if first.weight is None else np.concatenate([s.weight for s in sets]),
        {"source": "concatenation", "parts": [dict(s.provenance) for s in sets]},
    )


def _intervals(intervals: Interval | Sequence[Interval]) -> list[Interval]:
    items = list(intervals)
    if len(items) == 2 and all(isinstance(v, int | float | np.number) for v in items):
        return [_interval(items, "mass interval")]
    return [_interval(item, f"mass interval {i}") for i, item in enumerate(items)]


def _check_names(names: tuple[str, ...], source: str) -> None:
    for name in names:
        if not isinstance(name, str) or not name:
            raise DataFormatError(f"{source}: feature names must be non-empty strings, got {name!r}")
        if name in RESERVED_COLUMNS:
            raise DataFormatError(f"{source}: {name!r} is reserved and cannot be a feature name")
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise DataFormatError(f"{source}: feature names {repeated} are repeated")


def _label_array(label: npt.ArrayLike, n: int, source: str) -> np.ndarray:
    values = np.asarray(label)
    if values.shape != (n,):
        raise DataFormatError(f"{source}: label must have shape ({n},), got {values.shape}")
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values) | (values != np.round(values))
        if np.any(bad):
            raise DataFormatError(
                f"{source}: column 'label' has {int(np.count_nonzero(bad))} values that are not integers"
            )
    elif values.dtype.kind not in "iub":
        raise DataFormatError(f"{source}: column 'label' must be numeric, got dtype {values.dtype}")
    return values.astype(np.int64)


def _nonfinite_counts(
    mass: np.ndarray, features: np.ndarray, names: tuple[str, ...], weight: np.ndarray | None
) -> dict[str, int]:
    counts = {"mass": int(np.count_nonzero(~np.isfinite(mass)))}
    per_column = np.count_nonzero(~np.isfinite(features), axis=0)
    counts.update({name: int(c) for name, c in zip(names, per_column, strict=True)})
    if weight is not None:
        counts["weight"] = int(np.count_nonzero(~np.isfinite(weight)))
    return {name: count for name, count in counts.items() if count}

"""Signal-region and sideband windows in the mass, their binning, and sliding sets of them (GeV)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError
from bumphunt.stats._records import Record

__all__ = ["Window", "sliding_windows", "window_edges"]


@dataclasses.dataclass(frozen=True)
class Window(Record):
    """A signal region (SR) with a sideband (SB) on each side, in GeV.

    The SR is ``[sr_low, sr_high)``; the sidebands are ``[sb_low, sr_low)`` and ``[sr_high, sb_high)``.

    Raises
    ------
    ConfigError
        Unless ``sb_low < sr_low < sr_high < sb_high`` with all four finite.
    """

    sb_low: float
    sr_low: float
    sr_high: float
    sb_high: float

    def __post_init__(self) -> None:
        values = (self.sb_low, self.sr_low, self.sr_high, self.sb_high)
        if not all(math.isfinite(v) for v in values) or not (
            self.sb_low < self.sr_low < self.sr_high < self.sb_high
        ):
            raise ConfigError(
                f"window edges must satisfy sb_low < sr_low < sr_high < sb_high (GeV), got {self.label}"
            )

    @classmethod
    def around(cls, center: float, sr_width: float, sb_width: float) -> Window:
        """Window of SR width ``sr_width`` centred on ``center`` with sidebands ``sb_width`` wide (GeV)."""
        half = 0.5 * sr_width
        return cls(center - half - sb_width, center - half, center + half, center + half + sb_width)

    @property
    def center(self) -> float:
        """Centre of the signal region (GeV)."""
        return 0.5 * (self.sr_low + self.sr_high)

    @property
    def label(self) -> str:
        """Short human-readable description, e.g. ``'[3000, 3300 | 3300-3700 | 3700, 4000] GeV'``."""
        return (
            f"[{self.sb_low:g}, {self.sr_low:g} | {self.sr_low:g}-{self.sr_high:g} | "
            f"{self.sr_high:g}, {self.sb_high:g}] GeV"
        )

    def in_sr(self, mass: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of masses (GeV) inside the signal region."""
        m = np.asarray(mass, dtype=np.float64)
        return (m >= self.sr_low) & (m < self.sr_high)

    def in_sb(self, mass: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of masses (GeV) inside either sideband."""
        m = np.asarray(mass, dtype=np.float64)
        return ((m >= self.sb_low) & (m < self.sr_low)) | ((m >= self.sr_high) & (m < self.sb_high))

    def in_window(self, mass: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of masses (GeV) inside ``[sb_low, sb_high)``."""
        m = np.asarray(mass, dtype=np.float64)
        return (m >= self.sb_low) & (m < self.sb_high)


def window_edges(window: Window, bin_width: float) -> np.ndarray:
    """Bin edges over the whole window with the SR boundaries on bin edges (GeV).

    Each of the three regions is split into ``ceil(width / bin_width)`` equal bins, so bins are at most
    ``bin_width`` wide and the SR is a whole number of bins.

    Raises
    ------
    ConfigError
        If ``bin_width`` is not positive and finite.
    """
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise ConfigError(f"bin_width must be a positive number of GeV, got {bin_width!r}")
    parts = []
    for low, high in (
        (window.sb_low, window.sr_low),
        (window.sr_low, window.sr_high),
        (window.sr_high, window.sb_high),
    ):
        n = max(1, math.ceil((high - low) / bin_width - 1e-9))
        parts.append(np.linspace(low, high, n + 1)[:-1])
    return np.concatenate([*parts, [window.sb_high]])


def sliding_windows(
    mass_min: float, mass_max: float, *, sr_width: float, sb_width: float, step: float
) -> list[Window]:
    """Windows whose SR slides in steps of ``step`` and whose sidebands stay inside the range (GeV).

    The first window starts with its low sideband at ``mass_min``; windows are added while the high
    sideband ends at or below ``mass_max``.

    Raises
    ------
    ConfigError
        If a width or the step is not positive, or no window fits in ``[mass_min, mass_max]``.
    """
    for name, value in (("sr_width", sr_width), ("sb_width", sb_width), ("step", step)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be a positive number of GeV, got {value!r}")
    total = sr_width + 2 * sb_width
    if mass_min + total > mass_max:
        raise ConfigError(
            f"no window of total width {total:g} GeV (sr_width + 2 sb_width) fits in the mass range "
            f"[{mass_min:g}, {mass_max:g}] GeV"
        )
    n = math.floor((mass_max - mass_min - total) / step + 1e-9) + 1
    first = mass_min + sb_width + 0.5 * sr_width
    return [Window.around(first + i * step, sr_width, sb_width) for i in range(n)]

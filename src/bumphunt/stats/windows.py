"""Binning of mass windows and sliding sets of them (GeV).

The window itself is :class:`bumphunt.events.Window` (re-exported here); the statistics of this package
use contiguous windows, a signal region with a sideband on each side and no gaps.
"""

from __future__ import annotations

import math

import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.events import Window

__all__ = ["SIDEBAND_MODES", "Window", "sliding_windows", "window_edges"]


def window_edges(window: Window, bin_width: float) -> np.ndarray:
    """Bin edges over the whole window with the SR boundaries on bin edges (GeV).

    Each of the three regions is split into ``ceil(width / bin_width)`` equal bins, so bins are at most
    ``bin_width`` wide and the SR is a whole number of bins.

    Raises
    ------
    ConfigError
        If ``bin_width`` is not positive and finite, or the window is not a signal region with one
        adjacent sideband on each side.
    """
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise ConfigError(f"bin_width must be a positive number of GeV, got {bin_width!r}")
    if not (window.contiguous and window.sb_low < window.sr_low and window.sr_high < window.sb_high):
        raise ConfigError(
            f"window {window.label}: the statistics need a sideband next to each side of the signal region"
        )
    parts = []
    for low, high in (
        (window.sb_low, window.sr_low),
        (window.sr_low, window.sr_high),
        (window.sr_high, window.sb_high),
    ):
        n = max(1, math.ceil((high - low) / bin_width - 1e-9))
        parts.append(np.linspace(low, high, n + 1)[:-1])
    return np.concatenate([*parts, [window.sb_high]])


#: How far the sidebands of a window reach: ``"adjacent"`` (``sb_width`` next to each side of the SR) or
#: ``"range"`` (every mass of the scanned range outside the SR).
SIDEBAND_MODES = ("adjacent", "range")


def sliding_windows(
    mass_min: float,
    mass_max: float,
    *,
    sr_width: float,
    sb_width: float,
    step: float,
    sidebands: str = "adjacent",
) -> list[Window]:
    """Windows whose SR slides in steps of ``step`` and whose sidebands stay inside the range (GeV).

    The first SR starts ``sb_width`` above ``mass_min``; SRs are added while ``sb_width`` still fits above
    them below ``mass_max``.

    Parameters
    ----------
    mass_min, mass_max
        The scanned range (GeV).
    sr_width, step
        Width of each SR and the step between SRs (GeV).
    sb_width
        Width of each sideband with ``sidebands="adjacent"``; the narrowest sideband with ``"range"``.
    sidebands
        ``"adjacent"``: one sideband of ``sb_width`` next to each side of the SR. ``"range"``: every mass
        of ``[mass_min, mass_max)`` outside the SR is sideband, so that the background fits and the
        detectors see all the data that is not under test.

    Raises
    ------
    ConfigError
        If a width or the step is not positive, ``sidebands`` is unknown, or no window fits in
        ``[mass_min, mass_max]``.
    """
    for name, value in (("sr_width", sr_width), ("sb_width", sb_width), ("step", step)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be a positive number of GeV, got {value!r}")
    if sidebands not in SIDEBAND_MODES:
        raise ConfigError(f"sidebands must be one of {SIDEBAND_MODES}, got {sidebands!r}")
    total = sr_width + 2 * sb_width
    if mass_min + total > mass_max:
        raise ConfigError(
            f"no window of total width {total:g} GeV (sr_width + 2 sb_width) fits in the mass range "
            f"[{mass_min:g}, {mass_max:g}] GeV"
        )
    n = math.floor((mass_max - mass_min - total) / step + 1e-9) + 1
    lows = [mass_min + sb_width + i * step for i in range(n)]
    if sidebands == "range":
        return [Window.from_edges(mass_min, low, low + sr_width, mass_max) for low in lows]
    return [Window.around((low, low + sr_width), sb_width) for low in lows]

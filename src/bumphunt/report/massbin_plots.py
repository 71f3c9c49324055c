"""Figure of a mass-bin scan (:mod:`bumphunt.massbin_scan`): the AUC of each adjacent pair of bins along
the dijet mass, with its error, the null band and each pair's local significance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bumphunt.report.style import COLORS, add_experiment_label, new_figure, style_context

__all__ = ["auc_scan_figure"]


def auc_scan_figure(
    pairs: Sequence[Mapping[str, Any]],
    null: Sequence[Mapping[str, Any]] | None,
    z: Sequence[float] | None,
    *,
    text: str = "Simulation",
    com: float | None = 7.0,
) -> Figure:
    """AUC of each pair against the shared edge of its two bins (GeV), the null's AUC +- 1 and 2 sigma,
    and the local significance in a lower panel."""
    edge = np.array([p["low_bin"][1] for p in pairs], dtype=np.float64)
    auc = np.array([p["auc"] for p in pairs])
    error = np.array([p["error"] for p in pairs])
    with style_context():
        fig = new_figure((12.0, 10.0))
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
        if null is not None:
            centre = np.array([n["auc"] for n in null])
            width = np.array([n["error"] for n in null])
            for k, alpha in ((2, 0.15), (1, 0.3)):
                band = (centre - k * width, centre + k * width)
                top.fill_between(
                    edge, *band, color=COLORS[1], alpha=alpha, lw=0, label=f"null $\\pm {k}\\sigma$"
                )
            top.plot(edge, centre, color=COLORS[1], lw=1.5)
        top.errorbar(edge, auc, yerr=error, fmt="o", color="black", capsize=4, label="adjacent bins")
        top.axhline(0.5, color="grey", ls=":", lw=1)
        top.set_ylabel("AUC (upper vs lower bin)")
        top.legend(fontsize="x-small")
        add_experiment_label(top, text=text, com=com)
        if z is not None:
            bottom.bar(edge, z, width=0.6 * np.min(np.diff(edge)) if len(edge) > 1 else 50.0, color=COLORS[0])
            for level in (-3, 3):
                bottom.axhline(level, color="red", ls="--", lw=1)
        bottom.axhline(0.0, color="grey", lw=1)
        bottom.set_ylabel("Local Z")
        bottom.set_xlabel("Dijet mass at the bin boundary [GeV]")
        fig.subplots_adjust(left=0.13, right=0.97, top=0.93, bottom=0.1)
    return fig

"""Figures of a cluster scan (:mod:`bumphunt.cluster_scan`), from plain arrays (masses in GeV).

* :func:`cluster_shares_figure`: each cluster's share of the jets in each mass bin, the signal-rich
  clusters drawn in colour;
* :func:`null_distribution_figure`: the statistic over background-only bootstraps, the observed value;
* :func:`significance_figure`: median significance against injected signal with 68 % bands, for cluster
  scanning and the dijet-fit baseline, and where each reaches 3 sigma.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from bumphunt.report.style import COLORS, add_experiment_label, new_figure, style_context

__all__ = ["cluster_shares_figure", "null_distribution_figure", "significance_figure"]


def cluster_shares_figure(
    counts: npt.ArrayLike, edges: npt.ArrayLike, rich: npt.ArrayLike, *, text: str = "Simulation"
) -> Figure:
    """Share of each cluster in each mass bin: grey for signal-poor clusters, colours for rich ones.

    Parameters
    ----------
    counts
        ``(k, B)`` jets of each cluster in each bin.
    edges
        ``B + 1`` bin edges (GeV).
    rich
        ``(k,)`` boolean, the signal-rich clusters.
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    rich = np.asarray(rich, dtype=bool)
    totals = counts.sum(axis=0)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    with style_context():
        fig = new_figure((12.0, 8.0))
        ax = fig.subplots()
        for share in shares[~rich]:
            ax.step(centres, share, where="mid", color="0.6", lw=1.0, alpha=0.7)
        for n, i in enumerate(np.flatnonzero(rich)):
            ax.step(
                centres, shares[i], where="mid", color=COLORS[n % len(COLORS)], lw=2.5, label=f"cluster {i}"
            )
        ax.set_xlabel(r"$m_{jj}$ [GeV]")
        ax.set_ylabel("Share of the jets in the bin")
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(0, None)
        title = f"{len(counts)} clusters, {int(rich.sum())} signal-rich"
        if rich.any():
            ax.legend(title=title, loc="upper right", fontsize="small")
        else:
            ax.set_title(title)
        add_experiment_label(ax, text=text)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.11)
    return fig


def null_distribution_figure(
    null: npt.ArrayLike, observed: float | None = None, *, label: str = "cluster-scan statistic"
) -> Figure:
    """Histogram of the statistic over background-only bootstraps, with the observed value."""
    null = np.asarray(null, dtype=np.float64)
    with style_context():
        fig = new_figure((10.0, 8.0))
        ax = fig.subplots()
        ax.hist(
            null,
            bins=max(10, min(50, len(null) // 5)),
            histtype="stepfilled",
            color=COLORS[0],
            alpha=0.5,
            label=f"background-only bootstraps ({len(null)})",
        )
        if observed is not None:
            ax.axvline(observed, color=COLORS[1], lw=2.5, label=f"observed: {observed:.3g}")
        ax.set_xlabel(label)
        ax.set_ylabel("Bootstraps")
        ax.legend(loc="upper right")
        add_experiment_label(ax)
        fig.subplots_adjust(left=0.13, right=0.97, top=0.92, bottom=0.11)
    return fig


def significance_figure(
    points: Sequence[Mapping[str, Any]],
    *,
    z_reach: float | None = None,
    needed: Mapping[str, Any] | None = None,
) -> Figure:
    """Median significance (68 % band) against the number of injected signal events, for cluster
    scanning and the fit baseline; lines at 3 sigma and at the reach of the bootstraps (above it, the
    p-values of cluster scanning come from the tail fit of :func:`bumphunt.stats.null_tail.null_p_value`)."""
    n = np.array([p["n_signal"] for p in points], dtype=np.float64)
    series = (("z_cluster_scan", "cluster scanning"), ("z_fit", "dijet-function fit"))
    with style_context():
        fig = new_figure((10.0, 8.0))
        ax = fig.subplots()
        for colour, (key, label) in zip(COLORS, series, strict=False):
            bands = [p[key] for p in points]
            use = np.array([b is not None for b in bands])
            if not use.any():
                continue
            rows = [b for b in bands if b is not None]
            median = np.array([b["median"] for b in rows])
            ax.fill_between(
                n[use], [b["low"] for b in rows], [b["high"] for b in rows], color=colour, alpha=0.25
            )
            text = label
            if needed is not None and needed.get(key.removeprefix("z_")) is not None:
                text += f" (3$\\sigma$ at {needed[key.removeprefix('z_')]:.0f})"
            ax.plot(n[use], median, "o-", color=colour, lw=2, label=text)
        ax.axhline(3.0, color="0.3", ls="--", lw=1)
        if z_reach is not None:
            ax.axhline(z_reach, color="0.5", ls=":", lw=1, label="bootstraps' reach (tail fit above)")
        ax.set_xlabel("Injected signal events")
        ax.set_ylabel(r"Median significance [$\sigma$]")
        ax.set_ylim(0, None)
        ax.legend(loc="upper left")
        add_experiment_label(ax)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.11)
    return fig

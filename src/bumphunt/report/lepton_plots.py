"""Figures of a lepton-flavour study (:mod:`bumphunt.lepton_id`): overtraining curves, final train-test gaps,
the mass-cut baseline's variable and its accuracy along the energy. ``text`` and ``com`` (TeV, or None)
label each figure (:func:`~bumphunt.report.style.add_experiment_label`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from bumphunt.report.style import COLORS, add_experiment_label, new_figure, style_context

__all__ = [
    "baseline_by_energy_figure",
    "baseline_variable_figure",
    "final_gap_figure",
    "training_curves_figure",
]


def training_curves_figure(
    curves: Mapping[str, Mapping[str, Any]], metric: str, *, text: str = "", com: float | None = None
) -> Figure:
    """Train (solid) and test (dashed) ``metric`` (``"accuracy"`` or ``"loss"``) along the epochs, one colour
    per training-set size, with 16-84 % bands.

    Parameters
    ----------
    curves
        Size -> ``{"epochs": [...], "train_<metric>": {"median", "low", "high"}, "test_<metric>": ...}``
        (the ``aggregate["curves"]`` of a study summary).
    """
    if metric not in ("accuracy", "loss"):
        raise ValueError(f"metric must be 'accuracy' or 'loss', got {metric!r}")
    with style_context():
        fig = new_figure((12.0, 8.5))
        ax = fig.subplots()
        palette = colormaps["viridis"](np.linspace(0.0, 0.9, max(len(curves), 1)))
        for colour, (size, entry) in zip(palette, curves.items(), strict=True):
            epochs = np.asarray(entry["epochs"])
            for part, style in (("train", "-"), ("test", "--")):
                band = entry[f"{part}_{metric}"]
                ax.plot(epochs, band["median"], style, color=colour, lw=2, label=f"{int(size):,} {part}")
                ax.fill_between(epochs, band["low"], band["high"], color=colour, alpha=0.15, lw=0)
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Accuracy" if metric == "accuracy" else "Binary cross-entropy")
        ax.legend(title="training leptons", ncol=2, fontsize="x-small", title_fontsize="x-small")
        add_experiment_label(ax, text=text, com=com)
        fig.subplots_adjust(left=0.13, right=0.97, top=0.92, bottom=0.11)
    return fig


def final_gap_figure(
    curves: Mapping[str, Mapping[str, Any]], *, text: str = "", com: float | None = None
) -> Figure:
    """Train minus test accuracy after the last epoch against the training-set size (median, 16-84 %)."""
    sizes = np.array([int(s) for s in curves], dtype=np.float64)
    gaps = [curves[s]["final_gap"] for s in curves]
    median = np.array([g["median"] for g in gaps])
    low, high = np.array([g["low"] for g in gaps]), np.array([g["high"] for g in gaps])
    with style_context():
        fig = new_figure((11.0, 8.0))
        ax = fig.subplots()
        ax.errorbar(
            sizes, median, yerr=[median - low, high - median], fmt="o-", color=COLORS[0], lw=2, capsize=4
        )
        ax.axhline(0.0, color="grey", lw=1, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("Training leptons")
        ax.set_ylabel("Train - test accuracy (last epoch)")
        add_experiment_label(ax, text=text, com=com)
        fig.subplots_adjust(left=0.15, right=0.97, top=0.92, bottom=0.12)
    return fig


def baseline_variable_figure(
    p2_minus_e2: np.ndarray,
    flavour: np.ndarray,
    cuts: Sequence[float],
    *,
    text: str = "",
    com: float | None = None,
) -> Figure:
    """Distribution of ``p**2 - E**2`` (GeV**2) of electrons and muons, with the baseline's cut(s)."""
    values = np.asarray(p2_minus_e2, dtype=np.float64)
    low, high = np.percentile(values, [0.5, 99.5])
    span = high - low if high > low else 1.0
    edges = np.linspace(low - 0.05 * span, high + 0.05 * span, 81)
    with style_context():
        fig = new_figure((11.0, 8.0))
        ax = fig.subplots()
        for colour, (name, label) in zip(COLORS, (("e", "electrons"), ("mu", "muons")), strict=False):
            ax.hist(np.clip(values[flavour == name], edges[0], edges[-1]), bins=edges, histtype="step", lw=2,
                    color=colour, label=f"{label} ({np.sum(flavour == name):,})")  # fmt: skip
        for i, cut in enumerate(cuts):
            ax.axvline(cut, color="black", ls="--", lw=1, label="mass cut" if i == 0 else None)
        ax.set_yscale("log")
        ax.set_xlabel(r"$|p|^2 - E^2$ [GeV$^2$]")
        ax.set_ylabel("Leptons")
        ax.legend(fontsize="x-small")
        add_experiment_label(ax, text=text, com=com)
        fig.subplots_adjust(left=0.13, right=0.97, top=0.92, bottom=0.12)
    return fig


def baseline_by_energy_figure(
    per_seed: Sequence[Mapping[str, Any]], *, text: str = "", com: float | None = None
) -> Figure:
    """Test accuracy of the mass cut in bins of lepton energy, one line per seed."""
    with style_context():
        fig = new_figure((11.0, 8.0))
        ax = fig.subplots()
        for colour, record in zip(COLORS * 3, per_seed, strict=False):
            binned = record["baseline"]["by_energy"]
            edges = np.asarray(binned["edges"], dtype=np.float64)
            accuracy = np.array([np.nan if a is None else a for a in binned["accuracy"]], dtype=np.float64)
            ax.stairs(accuracy, np.clip(edges, 1.0, None), color=colour, lw=2, label=f"seed {record['seed']}")
        ax.set_xscale("log")
        ax.set_ylim(0.0, 1.05)
        ax.set_xlabel("Lepton energy [GeV]")
        ax.set_ylabel("Mass-cut accuracy")
        ax.legend(fontsize="x-small")
        add_experiment_label(ax, text=text, com=com)
        fig.subplots_adjust(left=0.13, right=0.97, top=0.92, bottom=0.12)
    return fig

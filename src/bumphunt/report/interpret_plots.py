"""Figures of an interpretation (:mod:`bumphunt.interpretable`): the greedy selection path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bumphunt.report.style import COLORS, add_experiment_label, new_figure, style_context

__all__ = ["selection_path_figure"]


def selection_path_figure(
    paths: Mapping[str, Sequence[Mapping[str, Any]]], *, text: str = "Simulation"
) -> Figure:
    """ADO with the autoencoder after each step of the greedy selection, for each mimicker.

    Parameters
    ----------
    paths
        Mimicker name -> its steps (``SelectionStep.to_dict()``: ``added``, ``train_ado``,
        ``validation_ado``). The observable added at each step labels its point.
    """
    with style_context():
        fig = new_figure((12.0, 8.0))
        ax = fig.subplots()
        for colour, (name, steps) in zip(COLORS, paths.items(), strict=False):
            x = np.arange(len(steps))
            validation = [np.nan if s["validation_ado"] is None else s["validation_ado"] for s in steps]
            ax.plot(x, validation, "o-", color=colour, lw=2, label=f"{name.upper()} (validation)")
            ax.plot(
                x,
                [s["train_ado"] for s in steps],
                "s--",
                color=colour,
                lw=1,
                alpha=0.6,
                label=f"{name.upper()} (training pairs)",
            )
            for i, step in enumerate(steps):
                ax.annotate(
                    step["added"] or "+".join(step["observables"]),
                    (i, validation[i]),
                    textcoords="offset points",
                    xytext=(4, -14),
                    fontsize="xx-small",
                    rotation=-30,
                    color=colour,
                )
        n_steps = max(len(steps) for steps in paths.values())
        ax.set_xticks(range(n_steps))
        ax.set_xlim(-0.4, n_steps - 0.2)
        ax.set_xlabel("Observables added")
        ax.set_ylabel("ADO with the autoencoder")
        ax.legend(loc="lower right", fontsize="x-small")
        add_experiment_label(ax, text=text)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.11)
    return fig

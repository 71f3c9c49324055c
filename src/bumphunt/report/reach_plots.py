"""The discovery reach of a search: global significance against the injected signal, per method.

A reach summary (``reach.json``, written by ``benchmarks/discovery_reach.py``) holds, per method, the
median and the 16-84 % band of the global significance over pseudo-experiments at each injected signal
strength. :func:`read_reach` reads and checks it (:func:`reach_curves` takes its table);
:func:`reach_figure` draws it, one line per method, with the run's own injected signal marked when it
is known. ``bumphunt run`` adds the figure to the report when ``output.reach`` names such a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bumphunt.errors import DataFormatError, MissingFileError
from bumphunt.report.plots import _sigma_lines
from bumphunt.report.style import COLORS, DEFAULT_COM_TEV, add_experiment_label, new_figure, style_context

__all__ = ["METHOD_LABELS", "ReachCurve", "reach_curves", "reach_figure", "read_reach"]

#: Legend entries of the methods the reach benchmark runs (other names are shown as given).
METHOD_LABELS = {
    "mass_only": "mass-only fit",
    "cathode": "CATHODE",
    "cwola": "CWoLa",
    "iad": "IAD (reference)",
    "supervised": "supervised (ceiling)",
}


@dataclass(frozen=True)
class ReachCurve:
    """The global significance of one method against the injected signal.

    Attributes
    ----------
    method
        Method name (``mass_only``, ``cathode``, ...).
    n_signal
        Injected signal events of each strength (median over the pseudo-experiments), ascending.
    median, low, high
        Median and 16 % and 84 % quantiles of the global significance (sigma) at each strength.
    """

    method: str
    n_signal: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def label(self) -> str:
        """The legend entry."""
        return METHOD_LABELS.get(self.method, self.method)


def reach_curves(table: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[ReachCurve]:
    """The curves of a reach table (the ``table`` of ``reach.json``: method -> rows with ``n_signal``
    and ``global`` ``[median, low, high]``); methods without rows are left out.

    Raises
    ------
    ValueError, KeyError, TypeError
        If a row lacks an entry or ``global`` is not three numbers.
    """
    curves = []
    for method, rows in table.items():
        if not rows:
            continue
        ordered = sorted(rows, key=lambda r: float(r["n_signal"]))
        values = np.array([[float(r["n_signal"]), *map(float, r["global"])] for r in ordered])
        if values.shape[1] != 4:
            raise ValueError(f"{method}: 'global' must be [median, low, high]")
        curves.append(ReachCurve(method, *values.T))
    return curves


def read_reach(path: str | os.PathLike[str]) -> list[ReachCurve]:
    """The curves of a reach summary file (``reach.json`` of ``benchmarks/discovery_reach.py``).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    DataFormatError
        If it is not JSON with a ``table`` of method -> rows of ``n_signal`` and ``global``
        ``[median, low, high]``, naming the file and the entry.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"reach summary {str(path)!r} not found (output.reach)")
    try:
        curves = reach_curves(json.loads(path.read_text())["table"])
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise DataFormatError(
            f"reach summary {str(path)!r}: not a reach.json of benchmarks/discovery_reach.py ({err!r})"
        ) from None
    if not curves:
        raise DataFormatError(f"reach summary {str(path)!r} holds no method")
    return curves


def reach_figure(
    curves: Sequence[ReachCurve],
    *,
    injected: float | None = None,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """Global significance against the injected signal events: median and 68 % band per method.

    Parameters
    ----------
    curves
        One curve per method (:func:`read_reach`).
    injected
        Signal events injected into the data of this run, marked by a vertical line (None: no line).
    text, com
        Label after "bumphunt" and centre-of-mass energy (TeV).
    """
    with style_context():
        fig = new_figure((10.0, 8.0))
        ax = fig.subplots()
        top = max(6.0, 1.1 * max(float(np.max(c.high)) for c in curves))
        _sigma_lines(ax, top, levels=(3.0, 5.0))
        for i, curve in enumerate(curves):
            color = COLORS[i % len(COLORS)]
            ax.fill_between(curve.n_signal, curve.low, curve.high, color=color, alpha=0.15, lw=0)
            ax.plot(
                curve.n_signal,
                curve.median,
                "o-",
                color=color,
                lw=2,
                ms=6,
                label=curve.label,
                gid=curve.method,
            )
        if injected is not None:
            ax.axvline(injected, color="black", ls=":", lw=2, label="this run's injection", gid="injected")
        ax.set_xlim(left=0)
        ax.set_ylim(0, top)
        ax.set_xlabel("Injected signal events")
        ax.set_ylabel(r"Global significance $Z$ [$\sigma$] (median, 68 %)")
        ax.legend(loc="upper left", fontsize="x-small")
        fig.subplots_adjust(left=0.14, right=0.96, top=0.91, bottom=0.13)
        add_experiment_label(ax, text=text, com=com)
    return fig

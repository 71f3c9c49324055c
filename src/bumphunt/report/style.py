"""Plot style of bumphunt figures: mplhep's CMS style, the "bumphunt" label, Agg figures without pyplot.

Every figure is a :class:`matplotlib.figure.Figure` with an Agg canvas attached, created inside
:func:`style_context`; nothing here touches pyplot's global state (no ``plt.figure``, no
``matplotlib.use``), so building figures in a library call neither opens windows nor leaks memory in
pyplot's figure manager, and the caller's backend choice stays as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import mplhep
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "DEFAULT_COM_TEV",
    "EXPERIMENT",
    "STYLE",
    "StyledFigure",
    "add_experiment_label",
    "new_figure",
    "style_context",
]

#: Name written in bold where an experiment would write its own.
EXPERIMENT = "bumphunt"

#: Centre-of-mass energy of the label (TeV).
DEFAULT_COM_TEV = 13.0

#: rcParams of every bumphunt figure: mplhep's CMS style, without its fixed 10 x 10 inch size.
STYLE: Mapping[str, Any] = {
    **{k: v for k, v in mplhep.style.CMS.items() if k != "figure.figsize"},
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}

#: Colour cycle of the style (the CMS accessible palette), for explicit use.
COLORS: tuple[str, ...] = tuple(STYLE["axes.prop_cycle"].by_key()["color"])


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Apply :data:`STYLE` to the figures and artists created inside the ``with`` block."""
    with rc_context(dict(STYLE)):
        yield


class StyledFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that draws itself inside :func:`style_context`.

    Fonts and math text are resolved when a figure is drawn, so a figure built in the style but saved
    outside it (``fig.savefig`` by the caller, a notebook's display) would fall back to matplotlib's
    default fonts and its labels, placed for the style's font metrics, could overlap.
    """

    def draw(self, renderer: Any) -> None:
        """Draw the figure with :data:`STYLE` in effect."""
        with style_context():
            super().draw(renderer)


def new_figure(figsize: tuple[float, float]) -> Figure:
    """An empty :class:`StyledFigure` (size in inches) with an Agg canvas, not registered with pyplot.

    Call inside :func:`style_context` so that the style applies to the axes added to it.
    """
    fig = StyledFigure(figsize=figsize, layout=None)
    FigureCanvasAgg(fig)
    return fig


def add_experiment_label(
    ax: Axes, *, text: str = "Simulation", com: float | str | None = DEFAULT_COM_TEV, loc: int = 0
) -> None:
    """Write "**bumphunt** *text*" above ``ax`` and the centre-of-mass energy on the right.

    Parameters
    ----------
    ax
        The axes to label (the top panel of a figure).
    text
        Italic text after the name: ``"Simulation"`` for generated events, ``"Open Data"`` for
        recorded collisions, or ``""``.
    com
        Centre-of-mass energy: a number in TeV (written as ``"(13 TeV)"``), a string with its unit
        (``"900 GeV"``), or None to leave it out.
    loc
        mplhep label layout (0: above the axes, left aligned).
    """
    if com is None:
        energy = ""
    elif isinstance(com, int | float):
        energy = f"({com:g} TeV)"
    else:
        energy = f"({com})"
    # llabel and rlabel written out: older mplhep versions format ``com`` differently
    mplhep.label.exp_label(exp=EXPERIMENT, llabel=text, rlabel=energy, loc=loc, ax=ax)

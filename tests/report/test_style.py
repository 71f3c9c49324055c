"""The bumphunt figure style: label texts, fonts at draw time, no pyplot."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg

from bumphunt.report.style import STYLE, StyledFigure, add_experiment_label, new_figure, style_context


def label_figure(text: str = "Simulation") -> StyledFigure:
    with style_context():
        fig = new_figure((8.0, 6.0))
        ax = fig.subplots()
        add_experiment_label(ax, text=text, com=13.6)
    return fig  # type: ignore[return-value]


def test_label_texts_and_energy() -> None:
    fig = label_figure("Open Data")
    assert [t.get_text() for t in fig.axes[0].texts if t.get_text() in ("bumphunt", "Open Data")] == [
        "bumphunt",
        "Open Data",
    ]
    assert any("(13.6 TeV)" in t.get_text() for t in fig.axes[0].texts)


def test_figure_draws_in_the_style_even_outside_the_context() -> None:
    # Fonts are resolved at draw time: saved outside style_context (a caller's fig.savefig, a notebook),
    # a plain Figure would fall back to matplotlib's default font, and the label, placed for the style's
    # font metrics, would overlap. A StyledFigure renders the same pixels inside and outside the context.
    fig = label_figure()
    assert matplotlib.rcParams["font.size"] != STYLE["font.size"]  # the context is gone
    outside = io.BytesIO()
    fig.savefig(outside, format="png", dpi=50)
    inside = io.BytesIO()
    with style_context():
        fig.savefig(inside, format="png", dpi=50)
    assert outside.getvalue() == inside.getvalue()


def test_new_figure_has_an_agg_canvas_and_stays_out_of_pyplot() -> None:
    before = plt.get_fignums()
    fig = new_figure((4.0, 3.0))
    assert isinstance(fig, StyledFigure)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert plt.get_fignums() == before

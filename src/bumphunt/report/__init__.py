"""Figures (matplotlib + mplhep) and a self-contained HTML report of a search.

* :mod:`~bumphunt.report.style` -- mplhep CMS style, the "bumphunt" label, pyplot-free Agg figures
* :mod:`~bumphunt.report.plots` -- spectrum with pulls, spectra per selection, ROC/SIC, significance
  against efficiency, window scan, ensemble of pseudo-experiments (masses in GeV)
* :mod:`~bumphunt.report.html` -- ``report.html`` with embedded PNG images, PNG files, both atomic

Example
-------
>>> import numpy as np
>>> from bumphunt.report import scan_figure
>>> fig = scan_figure(np.array([3300.0, 3500.0, 3700.0]), np.array([0.4, 3.2, 1.1]), sr_widths=400.0)
>>> len(fig.axes)
1
"""

from bumphunt.report.html import (
    DEFAULT_CAPTIONS,
    DEFAULT_DPI,
    FIGURE_TITLES,
    figure_png,
    render_report,
    save_figure,
    write_report,
)
from bumphunt.report.plots import (
    SIGMA_LEVELS,
    Spectrum,
    ensemble_figure,
    poisson_interval,
    pulls,
    roc_sic_figure,
    scan_figure,
    selection_spectra_figure,
    significance_vs_efficiency_figure,
    spectrum_figure,
    spectrum_from_fit,
    summary_figures,
)
from bumphunt.report.style import STYLE, StyledFigure, add_experiment_label, new_figure, style_context

__all__ = [
    "DEFAULT_CAPTIONS",
    "DEFAULT_DPI",
    "FIGURE_TITLES",
    "SIGMA_LEVELS",
    "STYLE",
    "Spectrum",
    "StyledFigure",
    "add_experiment_label",
    "ensemble_figure",
    "figure_png",
    "new_figure",
    "poisson_interval",
    "pulls",
    "render_report",
    "roc_sic_figure",
    "save_figure",
    "scan_figure",
    "selection_spectra_figure",
    "significance_vs_efficiency_figure",
    "spectrum_figure",
    "spectrum_from_fit",
    "style_context",
    "summary_figures",
    "write_report",
]

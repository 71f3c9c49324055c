"""Statistics of a bump hunt: background fits, significances, window scans and their calibration.

Masses and widths are in GeV throughout.

* :mod:`~bumphunt.stats.windows` -- signal region and sidebands, binning, sliding sets of windows
* :mod:`~bumphunt.stats.shapes` -- dijet functions (3, 4, 5 parameters) and polynomials
* :mod:`~bumphunt.stats.fit` -- binned likelihood fits to the sidebands, SR prediction with its error
* :mod:`~bumphunt.stats.shape_choice` -- F-test / likelihood-ratio choice of the number of parameters
* :mod:`~bumphunt.stats.significance` -- cut-and-count profile likelihood, Asimov significance
* :mod:`~bumphunt.stats.signal_fit` -- signal-plus-background profile-likelihood fit
* :mod:`~bumphunt.stats.selection` -- cuts on an anomaly score at fixed sideband efficiency
* :mod:`~bumphunt.stats.efficiency` -- selection efficiency against the mass, fitted across the sidebands
* :mod:`~bumphunt.stats.reweighting` -- likelihood reweighting by the classifier's likelihood ratio
* :mod:`~bumphunt.stats.scan` -- BumpHunter scan with a global p-value (pyBumpHunter conventions)
* :mod:`~bumphunt.stats.look_elsewhere` -- global significance of a scan from background-only toys
* :mod:`~bumphunt.stats.excursion_tail` -- the global p-value beyond the toys (Gross-Vitells)
* :mod:`~bumphunt.stats.calibration` -- uniformity of local p-values on background-only toys
* :mod:`~bumphunt.stats.metrics` -- ROC, AUC, significance improvement (SIC), background rejection
* :mod:`~bumphunt.stats.ordering` -- average decision ordering (ADO) of two scores
* :mod:`~bumphunt.stats.null_tail` -- p-values against a sampled null, with a tail fit beyond its reach
"""

from typing import TYPE_CHECKING

from bumphunt._lazy import lazy_exports

if TYPE_CHECKING:
    from bumphunt.stats.calibration import PValueCalibration, null_p_values, summarize_p_values
    from bumphunt.stats.efficiency import EfficiencyFit, choose_efficiency_fit, fit_efficiency
    from bumphunt.stats.excursion_tail import ExcursionTail, fit_excursion_tail, tail_p_value
    from bumphunt.stats.fit import BackgroundFit, fit_background, fit_sidebands, window_histogram
    from bumphunt.stats.look_elsewhere import (
        GlobalSignificance,
        UniformScoreToys,
        background_fit_sampler,
        counted_significance,
        global_significance,
        uniform_score_statistic,
        with_excursion_tail,
    )
    from bumphunt.stats.reweighting import (
        ReweightedResult,
        likelihood_ratio_from_probability,
        reweighted_significance,
        signal_weights,
    )
    from bumphunt.stats.scan import BumpHunterResult, bumphunter
    from bumphunt.stats.selection import (
        BACKGROUNDS,
        DIMUONAD_EFFICIENCIES,
        SelectionPoint,
        SelectionScan,
        efficiency_grid,
        selected_spectrum,
        selection_scan,
        sideband_thresholds,
    )
    from bumphunt.stats.shape_choice import ShapeChoice, choose_shape
    from bumphunt.stats.shapes import Shape, dijet, get_shape, polynomial, sample_masses
    from bumphunt.stats.signal_fit import SignalFit, fit_signal
    from bumphunt.stats.significance import (
        CountResult,
        asimov_significance,
        cut_and_count,
        p_from_z,
        z_from_p,
    )
    from bumphunt.stats.windows import Window, sliding_windows, window_edges

# each public name is imported from its submodule on first use (bumphunt._lazy)
_SUBMODULES = {
    "BACKGROUNDS": "selection",
    "BackgroundFit": "fit",
    "BumpHunterResult": "scan",
    "CountResult": "significance",
    "DIMUONAD_EFFICIENCIES": "selection",
    "EfficiencyFit": "efficiency",
    "ExcursionTail": "excursion_tail",
    "GlobalSignificance": "look_elsewhere",
    "PValueCalibration": "calibration",
    "ReweightedResult": "reweighting",
    "SelectionPoint": "selection",
    "SelectionScan": "selection",
    "Shape": "shapes",
    "ShapeChoice": "shape_choice",
    "SignalFit": "signal_fit",
    "UniformScoreToys": "look_elsewhere",
    "Window": "windows",
    "asimov_significance": "significance",
    "background_fit_sampler": "look_elsewhere",
    "bumphunter": "scan",
    "choose_efficiency_fit": "efficiency",
    "choose_shape": "shape_choice",
    "counted_significance": "look_elsewhere",
    "cut_and_count": "significance",
    "dijet": "shapes",
    "efficiency_grid": "selection",
    "fit_background": "fit",
    "fit_efficiency": "efficiency",
    "fit_excursion_tail": "excursion_tail",
    "fit_sidebands": "fit",
    "fit_signal": "signal_fit",
    "get_shape": "shapes",
    "global_significance": "look_elsewhere",
    "likelihood_ratio_from_probability": "reweighting",
    "null_p_values": "calibration",
    "p_from_z": "significance",
    "polynomial": "shapes",
    "reweighted_significance": "reweighting",
    "sample_masses": "shapes",
    "selected_spectrum": "selection",
    "selection_scan": "selection",
    "sideband_thresholds": "selection",
    "signal_weights": "reweighting",
    "sliding_windows": "windows",
    "summarize_p_values": "calibration",
    "tail_p_value": "excursion_tail",
    "uniform_score_statistic": "look_elsewhere",
    "window_edges": "windows",
    "window_histogram": "fit",
    "with_excursion_tail": "look_elsewhere",
    "z_from_p": "significance",
}

__all__ = [
    "BACKGROUNDS",
    "DIMUONAD_EFFICIENCIES",
    "BackgroundFit",
    "BumpHunterResult",
    "CountResult",
    "EfficiencyFit",
    "ExcursionTail",
    "GlobalSignificance",
    "PValueCalibration",
    "ReweightedResult",
    "SelectionPoint",
    "SelectionScan",
    "Shape",
    "ShapeChoice",
    "SignalFit",
    "UniformScoreToys",
    "Window",
    "asimov_significance",
    "background_fit_sampler",
    "bumphunter",
    "choose_efficiency_fit",
    "choose_shape",
    "counted_significance",
    "cut_and_count",
    "dijet",
    "efficiency_grid",
    "fit_background",
    "fit_efficiency",
    "fit_excursion_tail",
    "fit_sidebands",
    "fit_signal",
    "get_shape",
    "global_significance",
    "likelihood_ratio_from_probability",
    "null_p_values",
    "p_from_z",
    "polynomial",
    "reweighted_significance",
    "sample_masses",
    "selected_spectrum",
    "selection_scan",
    "sideband_thresholds",
    "signal_weights",
    "sliding_windows",
    "summarize_p_values",
    "tail_p_value",
    "uniform_score_statistic",
    "window_edges",
    "window_histogram",
    "with_excursion_tail",
    "z_from_p",
]

__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, globals())

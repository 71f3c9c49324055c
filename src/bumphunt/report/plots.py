"""Field-style figures of a bump hunt, built from plain arrays (masses in GeV).

Every function returns a new :class:`matplotlib.figure.Figure` (Agg canvas, mplhep CMS style, labelled
"bumphunt Simulation" or "bumphunt Open Data" with the centre-of-mass energy); none touches pyplot, so
figures are freed when the caller drops them. Save one with :func:`bumphunt.report.save_figure` or embed
it in :func:`bumphunt.report.write_report`.

* :func:`spectrum_figure` -- data and the sideband fit in one window, SR shaded, pulls underneath
* :func:`selection_spectra_figure` -- the same, one column per selection (e.g. all events, best cut)
* :func:`roc_sic_figure` -- background rejection and SIC against signal efficiency, several methods
* :func:`significance_vs_efficiency_figure` -- local significance against the sideband efficiency of
  the cut
* :func:`scan_figure` -- local significance against the window mass of a sliding-window search
* :func:`ensemble_figure` -- median significance and 68 % band against the injected S/B
* :func:`summary_figures` -- the scan and significance-vs-efficiency figures of a summary mapping
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from bumphunt.errors import DataFormatError
from bumphunt.events import Window
from bumphunt.report.style import COLORS, DEFAULT_COM_TEV, add_experiment_label, new_figure, style_context
from bumphunt.stats.fit import BackgroundFit
from bumphunt.stats.metrics import DEFAULT_MIN_BACKGROUND, RocCurve, SicCurve, roc_curve
from bumphunt.summary import Summary, WindowSummary, parse_summary

__all__ = [
    "SIGMA_LEVELS",
    "EfficiencyCurve",
    "Spectrum",
    "efficiency_vs_mass_figure",
    "ensemble_figure",
    "mass_scan_figure",
    "poisson_interval",
    "pulls",
    "roc_sic_figure",
    "scan_figure",
    "selection_spectra_figure",
    "significance_vs_efficiency_figure",
    "spectrum_figure",
    "spectrum_from_fit",
    "summary_figures",
]

#: Significances (sigma) drawn as reference lines.
SIGMA_LEVELS = (2.0, 3.0, 5.0)

MJJ_LABEL = r"$m_{jj}$ [GeV]"
Z_LABEL = r"Local significance $Z$ [$\sigma$]"
_SR_COLOR = "#f89c20"
_FIT_COLOR = COLORS[0]
_GREY = "#7f7f7f"
_ONE_SIGMA = stats.norm.cdf(1.0) - stats.norm.cdf(-1.0)


# --------------------------------------------------------------------------------------------- inputs
def _array(values: npt.ArrayLike, what: str, ndim: int = 1) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != ndim:
        raise DataFormatError(f"{what} must be a {ndim}-d array, got shape {a.shape}")
    return a


def _same_length(reference: np.ndarray, values: npt.ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.shape != reference.shape:
        raise DataFormatError(f"{what} must have shape {reference.shape}, got {a.shape}")
    return a


@dataclass(frozen=True)
class Spectrum:
    """A binned mass spectrum and the background expected in each bin.

    Attributes
    ----------
    counts
        Events per bin ``(n,)``, or ``(n, 2)`` with the sum of weights and of squared weights per bin.
    edges
        ``n + 1`` increasing bin edges (GeV).
    expected
        Expected background events per bin ``(n,)`` (the sideband fit, interpolated into the SR).
    expected_error
        Uncertainty of ``expected`` per bin ``(n,)``, or None.
    """

    counts: np.ndarray
    edges: np.ndarray
    expected: np.ndarray
    expected_error: np.ndarray | None = None

    def __post_init__(self) -> None:
        edges = _array(self.edges, "bin edges")
        if edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise DataFormatError("bin edges must be finite and strictly increasing (GeV)")
        n = edges.size - 1
        counts = np.asarray(self.counts, dtype=np.float64)
        if counts.shape not in ((n,), (n, 2)):
            raise DataFormatError(
                f"counts must have shape ({n},) or ({n}, 2) for {n + 1} edges, got {counts.shape}"
            )
        expected = np.asarray(self.expected, dtype=np.float64)
        if expected.shape != (n,):
            raise DataFormatError(f"expected must have shape ({n},) for {n + 1} edges, got {expected.shape}")
        error = None if self.expected_error is None else np.asarray(self.expected_error, dtype=np.float64)
        if error is not None and error.shape != (n,):
            raise DataFormatError(f"expected_error must have shape ({n},), got {error.shape}")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "expected", expected)
        object.__setattr__(self, "expected_error", error)

    @property
    def sumw(self) -> np.ndarray:
        """Events (sum of weights) per bin."""
        return self.counts[:, 0] if self.counts.ndim == 2 else self.counts

    @property
    def pulls(self) -> np.ndarray:
        """``(data - expected) / sqrt(expected)`` per bin (NaN where nothing is expected)."""
        return pulls(self.sumw, self.expected)


def spectrum_from_fit(fit: BackgroundFit) -> Spectrum:
    """The data, expectation and per-bin fit uncertainty of a sideband fit, as a :class:`Spectrum`.

    The uncertainty of each bin is that of :meth:`BackgroundFit.integral` over the bin (error
    propagation of the fit covariance).
    """
    edges = np.asarray(fit.edges, dtype=np.float64)
    error = np.array([fit.integral(lo, hi)[1] for lo, hi in itertools.pairwise(edges)])
    return Spectrum(counts=fit.counts, edges=edges, expected=fit.expected(), expected_error=error)


def poisson_interval(counts: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Central 68.27 % (Garwood) confidence interval of a Poisson mean for each observed count.

    Returns
    -------
    low, high
        ``low = chi2.ppf(0.1587, 2n) / 2`` (0 for ``n = 0``) and ``high = chi2.ppf(0.8413, 2n + 2) / 2``.
    """
    n = np.asarray(counts, dtype=np.float64)
    alpha = 1.0 - _ONE_SIGMA
    low = np.where(n > 0, stats.chi2.ppf(alpha / 2, 2 * np.maximum(n, 1e-300)) / 2, 0.0)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * (n + 1)) / 2
    return low, high


def pulls(counts: npt.ArrayLike, expected: npt.ArrayLike) -> np.ndarray:
    """``(counts - expected) / sqrt(expected)`` per bin; NaN where ``expected <= 0``."""
    n = np.asarray(counts, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mu > 0, (n - mu) / np.sqrt(np.where(mu > 0, mu, 1.0)), np.nan)


# -------------------------------------------------------------------------------------------- helpers
def _sr_edges(window: Window | Sequence[float]) -> tuple[float, float]:
    if isinstance(window, Window):
        return window.sr_low, window.sr_high
    low, high = (float(v) for v in window)
    return low, high


def _sigma_lines(ax: Axes, top: float, levels: Sequence[float] = SIGMA_LEVELS) -> None:
    """Dashed horizontal lines at the significance ``levels`` below ``top``, labelled at the right."""
    transform = blended_transform_factory(ax.transAxes, ax.transData)
    for level in levels:
        if level < top:
            ax.axhline(level, color=_GREY, ls="--", lw=1.2, zorder=0, gid=f"sigma-{level:g}")
            ax.text(
                0.99,
                level,
                f"{level:g}$\\sigma$",
                transform=transform,
                ha="right",
                va="bottom",
                color=_GREY,
                fontsize="x-small",
            )


def _z_top(*arrays: np.ndarray, minimum: float = 3.5) -> float:
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    return max(minimum, 1.3 * float(finite.max())) if finite.size else minimum


def _draw_spectrum(
    ax: Axes,
    ax_pull: Axes,
    spectrum: Spectrum,
    sr: tuple[float, float] | None,
    *,
    log_y: bool,
    legend_title: str | None,
    xlabel: str,
    expected_label: str = "Background fit (SB)",
    regions: Sequence[tuple[float, float]] = (),
    log_x: bool = False,
) -> None:
    """Draw a spectrum with its expectation and pulls; shade the SR (``sr``) or numbered ``regions``."""
    edges = spectrum.edges
    widths = np.diff(edges)
    centers = 0.5 * (edges[1:] + edges[:-1])
    uniform = bool(np.allclose(widths, widths[0], rtol=1e-6))
    scale = np.ones_like(widths) if uniform else 1.0 / widths
    sumw = spectrum.sumw
    if spectrum.counts.ndim == 2:  # weighted: symmetric errors from the sum of squared weights
        err = np.sqrt(spectrum.counts[:, 1])
        low, high = sumw - err, sumw + err
    else:
        low, high = poisson_interval(sumw)
    y = sumw * scale
    expected = spectrum.expected * scale

    for a in (ax, ax_pull):
        if sr is not None:
            a.axvspan(
                *sr,
                color=_SR_COLOR,
                alpha=0.18,
                lw=0,
                zorder=0,
                gid="signal-region",
                label="Signal region" if a is ax else None,
            )
        for number, (low_edge, high_edge) in enumerate(regions, start=1):
            a.axvspan(
                low_edge,
                high_edge,
                color=_SR_COLOR,
                alpha=0.25,
                lw=0,
                zorder=0,
                gid=f"excess-{number}",
                label="Excesses (ranked)" if a is ax and number == 1 else None,
            )
            if a is ax:
                a.text(
                    np.sqrt(low_edge * high_edge) if log_x else 0.5 * (low_edge + high_edge),
                    0.02,
                    str(number),
                    transform=blended_transform_factory(a.transData, a.transAxes),
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                )
    if spectrum.expected_error is not None and np.any(np.isfinite(spectrum.expected_error)):
        # bins whose error is not finite (a fit with a singular covariance) get no band
        err = np.where(np.isfinite(spectrum.expected_error), spectrum.expected_error, np.nan) * scale
        ax.stairs(
            expected + err,
            edges,
            baseline=expected - err,
            fill=True,
            color=_FIT_COLOR,
            alpha=0.3,
            lw=0,
            label="Fit uncertainty",
            gid="fit-band",
        )
    ax.stairs(
        expected,
        edges,
        baseline=None,
        color=_FIT_COLOR,
        lw=2.5,
        label=expected_label,
        gid="background-fit",
    )
    data = ax.errorbar(
        centers,
        y,
        yerr=[y - low * scale, high * scale - y],
        xerr=widths / 2,
        fmt="o",
        color="black",
        ms=5,
        lw=1.5,
        label="Data",
    )
    data.lines[0].set_gid("data")

    if log_x:
        ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylabel(f"Events / {widths[0]:g} GeV" if uniform else "Events / GeV")
    positive = np.concatenate([y[y > 0], expected[expected > 0]])
    if log_y and positive.size:
        ax.set_yscale("log")
        bottom = 0.5 * float(positive.min())
        top = float(max(positive.max(), (high * scale).max()))
        ax.set_ylim(bottom, top * (top / bottom) ** 0.45)
    else:
        ax.set_ylim(0, 1.45 * float(max((high * scale).max(), expected.max(), 1.0)))
    ax.legend(loc="upper right", title=legend_title, fontsize="x-small", title_fontsize="x-small")
    ax.tick_params(labelbottom=False)

    p = spectrum.pulls
    ax_pull.stairs(np.nan_to_num(p), edges, baseline=0, fill=True, color=_GREY, alpha=0.8, gid="pulls")
    ax_pull.axhline(0, color="black", lw=1)
    limit = max(3.5, 1.15 * float(np.nanmax(np.abs(p)))) if np.any(np.isfinite(p)) else 3.5
    ax_pull.set_ylim(-limit, limit)
    ax_pull.set_ylabel(r"$\frac{\mathrm{Data} - \mathrm{Fit}}{√\mathrm{Fit}}$", fontsize="small")
    ax_pull.set_xlabel(xlabel)


def _legend_title(*lines: str | None) -> str | None:
    kept = [line for line in lines if line]
    return "\n".join(kept) if kept else None


# -------------------------------------------------------------------------------------------- figures
def spectrum_figure(
    counts: npt.ArrayLike,
    edges: npt.ArrayLike,
    expected: npt.ArrayLike,
    window: Window | Sequence[float],
    *,
    expected_error: npt.ArrayLike | None = None,
    title: str | None = None,
    selection_label: str | None = None,
    xlabel: str = MJJ_LABEL,
    log_y: bool = True,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """The mass spectrum in one window with its sideband background fit, and the pulls underneath.

    Data are points with central 68 % Poisson (Garwood) intervals, or ``sqrt(sum of squared weights)``
    for weighted counts; the background fit is a line over the whole window, its values in the SR
    interpolated from the sidebands; the SR is shaded in both panels. With unequal bin widths the counts
    are divided by the width ("Events / GeV").

    Parameters
    ----------
    counts
        Events per bin ``(n,)``, or ``(n, 2)`` (sum of weights, sum of squared weights).
    edges
        ``n + 1`` bin edges (GeV).
    expected
        Expected background events per bin ``(n,)``.
    window
        The window (its SR is shaded), or the SR edges ``(low, high)`` in GeV.
    expected_error
        Uncertainty of ``expected`` per bin, drawn as a band; None for no band. Bins with a NaN or
        infinite error get no band.
    title, selection_label
        Lines of the legend title, e.g. the window and ``"eps_SB = 5 %"``.
    xlabel
        Mass axis label, e.g. ``r"$m_{\\mu\\mu}$ [GeV]"``.
    log_y
        Logarithmic event axis (default; falling spectra).
    text, com
        Label after "bumphunt" (``"Simulation"`` or ``"Open Data"``) and centre-of-mass energy (TeV).

    Returns
    -------
    Figure
        Two axes sharing x: the spectrum (top, 3/4 of the height) and the pulls
        ``(data - fit) / sqrt(fit)`` (bottom).

    Raises
    ------
    DataFormatError
        If the shapes of the arrays do not match the bin edges.
    """
    spectrum = Spectrum(counts, edges, expected, expected_error)
    sr = _sr_edges(window)
    with style_context():
        fig = new_figure((10.0, 10.0))
        ax, ax_pull = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.06})
        _draw_spectrum(
            ax,
            ax_pull,
            spectrum,
            sr,
            log_y=log_y,
            legend_title=_legend_title(title, selection_label),
            xlabel=xlabel,
        )
        fig.subplots_adjust(left=0.17, right=0.96, top=0.93, bottom=0.1)
        add_experiment_label(ax, text=text, com=com)
        fig.align_ylabels([ax, ax_pull])
    return fig


def mass_scan_figure(
    scan: Any,
    *,
    title: str | None = None,
    xlabel: str = r"$m_{\mu\mu}$ [GeV]",
    text: str = "Open Data",
    com: float | str | None = None,
) -> Figure:
    """A whole mass spectrum on logarithmic axes with its smooth reference and the ranked excesses of a
    :class:`~bumphunt.stats.spectrum_scan.SpectrumScan` (shaded and numbered), pulls underneath."""
    spectrum = Spectrum(scan.counts, scan.edges, scan.reference)
    regions = [(e.low, e.high) for e in scan.excesses]
    with style_context():
        fig = new_figure((12.0, 10.0))
        ax, ax_pull = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.06})
        _draw_spectrum(
            ax,
            ax_pull,
            spectrum,
            None,
            log_y=True,
            legend_title=title,
            xlabel=xlabel,
            expected_label=f"Smooth reference (log-polynomial {scan.degree})",
            regions=regions,
            log_x=True,
        )
        fig.subplots_adjust(left=0.14, right=0.97, top=0.93, bottom=0.1)
        add_experiment_label(ax, text=text, com=com)
        fig.align_ylabels([ax, ax_pull])
    return fig


def selection_spectra_figure(
    spectra: Mapping[str, Spectrum],
    window: Window | Sequence[float],
    *,
    title: str | None = None,
    xlabel: str = MJJ_LABEL,
    log_y: bool = True,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """Spectra before and after cuts on the anomaly score, one column (spectrum over pulls) each.

    Typically two or three columns: all events, the selection at the best sideband efficiency and one
    tighter or looser; each column has its own event axis (the selections keep very different numbers of
    events) and its background fit.

    Parameters
    ----------
    spectra
        Column title (e.g. ``"All events"``, ``"eps_SB = 5 %"``) -> :class:`Spectrum`, in display order.
    window
        The window, or the SR edges ``(low, high)`` in GeV.
    title
        First line of every legend title (e.g. the window).
    xlabel, log_y, text, com
        As in :func:`spectrum_figure`.

    Raises
    ------
    DataFormatError
        If ``spectra`` is empty or holds something other than :class:`Spectrum`.
    """
    if not spectra:
        raise DataFormatError("selection_spectra_figure needs at least one spectrum")
    for name, spectrum in spectra.items():
        if not isinstance(spectrum, Spectrum):
            raise DataFormatError(
                f"spectrum {name!r} must be a bumphunt.report.Spectrum, got {type(spectrum)}"
            )
    sr = _sr_edges(window)
    n = len(spectra)
    with style_context():
        fig = new_figure((8.5 * n + 1.0, 10.0))
        axes = fig.subplots(
            2,
            n,
            sharex="col",
            squeeze=False,
            gridspec_kw={"height_ratios": (3, 1), "hspace": 0.06, "wspace": 0.28},
        )
        for i, (name, spectrum) in enumerate(spectra.items()):
            _draw_spectrum(
                axes[0, i],
                axes[1, i],
                spectrum,
                sr,
                log_y=log_y,
                legend_title=_legend_title(title, name),
                xlabel=xlabel,
            )
        fig.subplots_adjust(left=0.17 / n, right=1 - 0.04 / n, top=0.93, bottom=0.1)
        add_experiment_label(axes[0, 0], text=text, com=com)
        fig.align_ylabels(list(axes[:, 0]))
    return fig


CurveInput = RocCurve | SicCurve | tuple[Any, ...]


def _roc_points(name: str, curve: CurveInput) -> tuple[RocCurve | SicCurve, float | None]:
    """The curve and its AUC (None for a SIC curve, which lacks the loosest thresholds)."""
    if isinstance(curve, SicCurve):
        return curve, None
    if not isinstance(curve, RocCurve):
        if not isinstance(curve, tuple | list) or len(curve) not in (2, 3):
            raise DataFormatError(
                f"curve {name!r} must be a RocCurve, a SicCurve or (scores, labels[, weights]), "
                f"got {type(curve)}"
            )
        curve = roc_curve(*curve)
    area = float(np.sum(np.diff(curve.eps_b) * (curve.eps_s[1:] + curve.eps_s[:-1])) / 2.0)
    return curve, area


def roc_sic_figure(
    curves: Mapping[str, CurveInput],
    *,
    min_background: int = DEFAULT_MIN_BACKGROUND,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """ROC (background rejection ``1/eps_B`` against ``eps_S``, log scale) and SIC side by side.

    Parameters
    ----------
    curves
        Method name -> ``(scores, labels)``, ``(scores, labels, weights)``, a
        :class:`~bumphunt.stats.metrics.RocCurve` or a :class:`~bumphunt.stats.metrics.SicCurve`;
        overlaid in order. The AUC joins the name in the legend (not for a SicCurve).
    min_background
        SIC points need at least this many background events (raw count) passing, as in
        :func:`~bumphunt.stats.metrics.sic_curve`; the ROC uses every threshold with ``eps_B > 0``.
    text, com
        Label after "bumphunt" and centre-of-mass energy (TeV).

    Returns
    -------
    Figure
        Two axes: ROC (left) and ``SIC = eps_S / sqrt(eps_B)`` (right), each with the random
        classifier (``eps_B = eps_S``) as a dashed grey line.
    """
    if not curves:
        raise DataFormatError("roc_sic_figure needs at least one curve")
    with style_context():
        fig = new_figure((19.0, 9.0))
        ax_roc, ax_sic = fig.subplots(1, 2, gridspec_kw={"wspace": 0.25})
        x = np.linspace(1e-3, 1.0, 400)
        ax_roc.plot(x, 1.0 / x, color=_GREY, ls="--", lw=1.5, label="Random", gid="random")
        ax_sic.plot(x, np.sqrt(x), color=_GREY, ls="--", lw=1.5, label="Random", gid="random")
        rejection_max = 10.0
        for i, (name, given) in enumerate(curves.items()):
            curve, area = _roc_points(name, given)
            color = COLORS[i % len(COLORS)]
            label = name if area is None else f"{name} (AUC {area:.3f})"
            ok = (curve.eps_b > 0) & (curve.eps_s > 0)
            ax_roc.plot(
                curve.eps_s[ok], 1.0 / curve.eps_b[ok], color=color, lw=2.2, label=label, gid=f"roc:{name}"
            )
            if np.any(ok):
                rejection_max = max(rejection_max, float(np.max(1.0 / curve.eps_b[ok])))
            keep = (curve.n_background >= min_background) & (curve.eps_b > 0)
            sic = curve.eps_s[keep] / np.sqrt(curve.eps_b[keep])
            ax_sic.plot(curve.eps_s[keep], sic, color=color, lw=2.2, label=name, gid=f"sic:{name}")
        ax_roc.set_yscale("log")
        ax_roc.set_xlim(0, 1)
        ax_roc.set_ylim(1, rejection_max * 3)
        ax_roc.set_xlabel(r"Signal efficiency $\epsilon_S$")
        ax_roc.set_ylabel(r"Background rejection $1/\epsilon_B$")
        ax_roc.legend(loc="upper right", fontsize="x-small")
        ax_sic.set_xlim(0, 1)
        ax_sic.set_ylim(bottom=0)
        ax_sic.set_xlabel(r"Signal efficiency $\epsilon_S$")
        ax_sic.set_ylabel(r"SIC = $\epsilon_S/√\epsilon_B$")
        ax_sic.legend(
            loc="best",
            fontsize="x-small",
            title=f"$\\geq${min_background} bkg. events",
            title_fontsize="x-small",
        )
        fig.subplots_adjust(left=0.08, right=0.98, top=0.91, bottom=0.12)
        add_experiment_label(ax_roc, text=text, com=com)
        add_experiment_label(ax_sic, text=text, com=com)
    return fig


def _mark_best_and_failed(
    ax: Axes,
    x: np.ndarray,
    z: np.ndarray,
    ok: np.ndarray,
    bad: np.ndarray,
    best_label: Callable[[int], str],
) -> None:
    """A star on the largest significance among ``ok`` points, crosses at Z = 0 for ``bad`` ones."""
    if np.any(ok):
        best = int(np.flatnonzero(ok)[np.argmax(z[ok])])
        ax.plot(x[best], z[best], "*", color=COLORS[2], ms=22, zorder=5, label=best_label(best), gid="best")
    if np.any(bad):
        ax.plot(
            x[bad],
            np.zeros(int(bad.sum())),
            "x",
            color=_GREY,
            ms=12,
            mew=2.5,
            clip_on=False,
            label="Failed",
            gid="failed",
        )


def significance_vs_efficiency_figure(
    efficiencies: npt.ArrayLike,
    z: npt.ArrayLike,
    *,
    failed: npt.ArrayLike | None = None,
    label: str | None = None,
    title: str | None = None,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """Local significance after each cut against its sideband efficiency (log x, tighter to the right).

    Parameters
    ----------
    efficiencies
        Sideband (background) efficiencies of the cuts, in (0, 1].
    z
        Local significance (sigma) after each cut; NaN marks a failed point.
    failed
        Boolean per point: the fit or test failed there (drawn as grey crosses at Z = 0).
    label
        Legend entry of the curve (default "Local significance").
    title
        Legend title, e.g. the window.
    text, com
        Label after "bumphunt" and centre-of-mass energy (TeV).

    Raises
    ------
    DataFormatError
        If the arrays differ in length or an efficiency is outside (0, 1].
    """
    eff = _array(efficiencies, "efficiencies")
    zz = _same_length(eff, z, "z")
    if not np.all((eff > 0) & (eff <= 1)):
        raise DataFormatError(f"efficiencies must lie in (0, 1], got {eff.tolist()}")
    bad = ~np.isfinite(zz)
    if failed is not None:
        bad |= _same_length(eff, failed, "failed").astype(bool)
    ok = ~bad
    order = np.argsort(-eff)
    ok_sorted = order[ok[order]]
    with style_context():
        fig = new_figure((10.0, 8.0))
        ax = fig.subplots()
        top = _z_top(zz[ok])
        _sigma_lines(ax, top)
        ax.plot(
            eff[ok_sorted],
            zz[ok_sorted],
            "o-",
            color=COLORS[0],
            lw=2,
            ms=8,
            label=label or "Local significance",
            gid="z",
        )
        _mark_best_and_failed(
            ax, eff, zz, ok, bad, lambda i: f"Best: {zz[i]:.2f}$\\sigma$ at {100 * eff[i]:g} %"
        )
        ax.set_xscale("log")
        ax.set_xlim(min(1.5, 1.6 * float(eff.max())), float(eff.min()) / 1.6)  # inverted: tighter right
        ax.set_ylim(0, top)
        ax.set_xlabel(r"Sideband efficiency $\epsilon_{SB}$ of the cut")
        ax.set_ylabel(Z_LABEL)
        ax.legend(loc="upper left", title=title, fontsize="x-small", title_fontsize="x-small")
        fig.subplots_adjust(left=0.14, right=0.96, top=0.91, bottom=0.13)
        add_experiment_label(ax, text=text, com=com)
    return fig


def scan_figure(
    window_centers: npt.ArrayLike,
    local_z: npt.ArrayLike,
    *,
    sr_widths: npt.ArrayLike | float | None = None,
    truth_mass: float | None = None,
    global_z: float | None = None,
    failed: npt.ArrayLike | None = None,
    xlabel: str = MJJ_LABEL,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """Local significance of each window of a scan against the SR centre (GeV).

    Parameters
    ----------
    window_centers
        SR centre of each window (GeV).
    local_z
        Local significance of each window (sigma); NaN marks a failed window.
    sr_widths
        SR width of each window, or one for all (GeV): drawn as horizontal bars (windows may overlap).
    truth_mass
        Injected or true signal mass (GeV): a dashed vertical line and a marker on the mass axis.
    global_z
        Global significance of the search (sigma), written in the plot.
    failed
        Boolean per window: the window failed (grey crosses at Z = 0).
    xlabel, text, com
        Mass axis label, label after "bumphunt", centre-of-mass energy (TeV).

    Raises
    ------
    DataFormatError
        If the arrays differ in length.
    """
    centers = _array(window_centers, "window_centers")
    zz = _same_length(centers, local_z, "local_z")
    widths = None
    if sr_widths is not None:
        widths = np.broadcast_to(np.asarray(sr_widths, dtype=np.float64), centers.shape).copy()
    bad = ~np.isfinite(zz)
    if failed is not None:
        bad |= _same_length(centers, failed, "failed").astype(bool)
    ok = ~bad
    order = np.argsort(centers)
    ok_sorted = order[ok[order]]
    with style_context():
        fig = new_figure((12.0, 8.0))
        ax = fig.subplots()
        top = _z_top(zz[ok], minimum=5.5 if np.any(zz[ok] > 3) else 3.5)
        _sigma_lines(ax, top)
        xerr = None if widths is None else widths[ok_sorted] / 2
        line = ax.errorbar(
            centers[ok_sorted],
            zz[ok_sorted],
            xerr=xerr,
            fmt="o-",
            color=COLORS[0],
            lw=2,
            ms=7,
            elinewidth=2,
            ecolor=to_rgba(COLORS[0], 0.45),
            capsize=0,
            label="Local significance per window",
        )
        line.lines[0].set_gid("local-z")
        _mark_best_and_failed(
            ax, centers, zz, ok, bad, lambda i: f"Best window: {centers[i]:g} GeV, {zz[i]:.2f}$\\sigma$"
        )
        if truth_mass is not None:
            ax.axvline(
                truth_mass,
                color=COLORS[2],
                ls=":",
                lw=2,
                gid="truth-mass",
                label=f"Signal mass (truth) {truth_mass:g} GeV",
            )
            ax.plot(
                [truth_mass],
                [0.0],
                marker="^",
                color=COLORS[2],
                ms=16,
                clip_on=False,
                zorder=6,
                transform=blended_transform_factory(ax.transData, ax.transAxes),
                gid="truth-marker",
            )
        if global_z is not None and math.isfinite(global_z):
            ax.text(
                0.03,
                0.95,
                f"Global significance {global_z:.2f}$\\sigma$",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize="small",
                gid="global-z",
            )
        span = centers if widths is None else np.concatenate([centers - widths / 2, centers + widths / 2])
        pad = 0.05 * float(np.ptp(span)) if span.size > 1 and np.ptp(span) > 0 else 50.0
        lo, hi = float(span.min()) - pad, float(span.max()) + pad
        if truth_mass is not None:
            lo, hi = min(lo, truth_mass - pad), max(hi, truth_mass + pad)
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, top * 1.15)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(Z_LABEL)
        ax.legend(loc="upper right", fontsize="x-small")
        fig.subplots_adjust(left=0.12, right=0.97, top=0.91, bottom=0.13)
        add_experiment_label(ax, text=text, com=com)
    return fig


def ensemble_figure(
    s_over_b: npt.ArrayLike,
    median: npt.ArrayLike,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    *,
    label: str = "Median",
    background_only: tuple[float, float, float] | None = None,
    xlabel: str = "Injected S/B in the SR",
    ylabel: str = Z_LABEL,
    log_x: bool | None = None,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """Median significance over pseudo-experiments against the injected S/B, with the 68 % band.

    Parameters
    ----------
    s_over_b
        Injected signal-to-background ratio of each ensemble (0 = background only).
    median, low, high
        Median and the 16 % and 84 % quantiles of the significance in each ensemble (sigma).
    label
        Legend entry of the median (the band is labelled "68 % band").
    background_only
        ``(median, low, high)`` of the background-only ensemble: a dotted line with a grey band. By
        default taken from the first ``s_over_b == 0`` entry, if there is one.
    xlabel, ylabel
        Axis labels.
    log_x
        Logarithmic S/B axis; default when every drawn S/B is positive and they span a factor > 20.
        On a log axis the S/B = 0 entries are shown only as the background-only line.
    text, com
        Label after "bumphunt" and centre-of-mass energy (TeV).

    Raises
    ------
    DataFormatError
        If the arrays differ in length or ``low <= median <= high`` does not hold.
    """
    x = _array(s_over_b, "s_over_b")
    med = _same_length(x, median, "median")
    lo = _same_length(x, low, "low")
    hi = _same_length(x, high, "high")
    if np.any(lo > med + 1e-12) or np.any(med > hi + 1e-12):
        raise DataFormatError("ensemble quantiles must satisfy low <= median <= high")
    zero = x <= 0
    if background_only is None and np.any(zero):
        i = int(np.flatnonzero(zero)[0])
        background_only = (float(med[i]), float(lo[i]), float(hi[i]))
    positive = x[~zero]
    if log_x is None:
        log_x = bool(positive.size > 1 and positive.max() / positive.min() > 20)
    show = ~zero if log_x else np.ones_like(zero)
    order = np.flatnonzero(show)[np.argsort(x[show])]
    with style_context():
        fig = new_figure((10.0, 8.0))
        ax = fig.subplots()
        top = _z_top(hi[order], np.array(background_only if background_only else []))
        _sigma_lines(ax, top)
        ax.fill_between(
            x[order], lo[order], hi[order], color=COLORS[0], alpha=0.3, lw=0, label="68 % band", gid="band"
        )
        ax.plot(x[order], med[order], "o-", color=COLORS[0], lw=2, ms=7, label=label, gid="median")
        if background_only is not None:
            b_med, b_lo, b_hi = background_only
            ax.axhspan(b_lo, b_hi, color=_GREY, alpha=0.2, lw=0, gid="background-only-band")
            ax.axhline(
                b_med,
                color="black",
                ls=":",
                lw=2,
                label="Background only (median, 68 %)",
                gid="background-only",
            )
        if log_x:
            ax.set_xscale("log")
        else:
            ax.set_xlim(left=0)
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.set_ylim(0, top)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left", fontsize="x-small")
        fig.subplots_adjust(left=0.14, right=0.96, top=0.91, bottom=0.13)
        add_experiment_label(ax, text=text, com=com)
    return fig


@dataclass(frozen=True)
class EfficiencyCurve:
    """Events and passing events per mass bin after one cut, and the efficiency fitted to the sidebands.

    Attributes
    ----------
    efficiency
        Target sideband efficiency of the cut (legend entry).
    centers
        Bin centres (GeV).
    n_total, n_passed
        Events per bin, and how many pass the cut.
    fitted
        The efficiency fitted across the sidebands at each bin centre (interpolated into the SR), or None.
    """

    efficiency: float
    centers: np.ndarray
    n_total: np.ndarray
    n_passed: np.ndarray
    fitted: np.ndarray | None = None


def efficiency_vs_mass_figure(
    panels: Sequence[tuple[str, tuple[float, float], Sequence[EfficiencyCurve]]],
    *,
    text: str = "Simulation",
    com: float | str | None = DEFAULT_COM_TEV,
) -> Figure:
    """Selection efficiency against the mass in each window, relative to the target efficiency.

    One panel per window, one colour per cut: the fraction of events passing in each mass bin divided
    by the cut's target sideband efficiency (1 = independent of the mass), with binomial errors; the SR
    is shaded and the efficiency fitted across the sidebands is drawn as a line through it. A background
    estimate that assumes a flat efficiency is wrong wherever the points leave 1; the fitted line is
    what the ``efficiency_fit`` background uses.

    Parameters
    ----------
    panels
        ``(label, (sr_low, sr_high), curves)`` per window (masses in GeV).
    text, com
        Label after "bumphunt" and centre-of-mass energy (TeV).

    Raises
    ------
    DataFormatError
        If there is no panel.
    """
    if not panels:
        raise DataFormatError("efficiency_vs_mass_figure needs at least one window")
    n = len(panels)
    columns = min(n, 3)
    rows = math.ceil(n / columns)
    with style_context():
        fig = new_figure((6.5 * columns + 1.0, 5.5 * rows + 0.8))
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax, (label, sr, curves) in zip(axes, panels, strict=False):
            ax.axvspan(sr[0], sr[1], color=_GREY, alpha=0.15, lw=0)
            ax.axhline(1.0, color=_GREY, lw=1, ls="--")
            for k, curve in enumerate(curves):
                color = COLORS[k % len(COLORS)]
                filled = curve.n_total > 0
                total = np.maximum(curve.n_total, 1.0)
                ratio = curve.n_passed / total
                # binomial error, at least that of one event so that empty cuts show their reach
                error = np.sqrt(np.maximum(ratio * (1 - ratio), 1.0 / total) / total)
                ax.errorbar(
                    curve.centers[filled],
                    ratio[filled] / curve.efficiency,
                    yerr=error[filled] / curve.efficiency,
                    fmt="o",
                    ms=4,
                    color=color,
                    label=f"{100 * curve.efficiency:g} %",
                )
                if curve.fitted is not None:
                    ax.plot(curve.centers, curve.fitted / curve.efficiency, "-", color=color, lw=1.5)
            ax.set_ylim(0.0, 2.0)
            ax.text(0.97, 0.95, label, transform=ax.transAxes, ha="right", va="top", fontsize="xx-small")
            ax.set_xlabel(MJJ_LABEL, fontsize="x-small")
            ax.set_ylabel(r"$\epsilon(m)\,/\,\epsilon_{SB}$", fontsize="x-small")
            ax.tick_params(labelsize="xx-small")
        for ax in axes[n:]:
            ax.set_visible(False)
        axes[0].legend(title="cut", fontsize="xx-small", title_fontsize="xx-small", loc="lower left", ncols=2)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.08, hspace=0.5, wspace=0.3)
        add_experiment_label(axes[0], text=text, com=com)
    return fig


def _efficiency_panel(window: WindowSummary) -> tuple[str, tuple[float, float], list[EfficiencyCurve]] | None:
    """The efficiency curves of one window of a summary (cuts below 100 %), or None."""
    curves = []
    for point in window.points:
        curve = point.efficiency_curve
        if curve is None or not 0 < point.efficiency < 1:
            continue
        fitted = curve.fitted_efficiency
        curves.append(
            EfficiencyCurve(
                point.efficiency,
                np.asarray(curve.centers, dtype=np.float64),
                np.asarray(curve.n_total, dtype=np.float64),
                np.asarray(curve.n_passed, dtype=np.float64),
                None if fitted is None else np.asarray(fitted, dtype=np.float64),
            )
        )
    if not curves:
        return None
    low, high = window.sr
    return f"SR [{low:g}, {high:g}) GeV", (low, high), curves


# ----------------------------------------------------------------------------------- from a summary
def _z(value: float | None) -> float:
    return math.nan if value is None else value


def summary_figures(
    summary: Summary | Mapping[str, Any],
    *,
    text: str | None = None,
    com: float | str | None = DEFAULT_COM_TEV,
) -> dict[str, Figure]:
    """The figures that a result summary alone can give (see :func:`bumphunt.report.write_report`).

    Returns
    -------
    dict
        ``"scan"`` (:func:`scan_figure`) when the summary holds more than one window,
        ``"efficiency_vs_mass"`` (:func:`efficiency_vs_mass_figure`) of every window whose points carry
        efficiency curves, and ``"significance_vs_efficiency"``
        (:func:`significance_vs_efficiency_figure`) of the best window when it holds selection points.

    Parameters
    ----------
    summary
        The summary of a search (:class:`~bumphunt.summary.Summary`, or its JSON mapping).
    text
        Label after "bumphunt"; default "Simulation" when the data have truth labels, else "Open Data".
    com
        Centre-of-mass energy (TeV).

    Raises
    ------
    bumphunt.errors.DataFormatError
        If a mapping is not a summary of the current schema.
    """
    summary = parse_summary(summary)
    if text is None:
        text = "Simulation" if summary.data.has_labels else "Open Data"
    windows = summary.windows
    figures: dict[str, Figure] = {}
    if len(windows) > 1:
        sr = np.array([w.sr for w in windows])
        truth = None if summary.truth is None else summary.truth.signal_mass
        injection = summary.data.injection or {}
        if truth is None and injection.get("signal_mass") is not None:
            truth = float(injection["signal_mass"])
        glob = summary.global_significance
        figures["scan"] = scan_figure(
            sr.mean(axis=1),
            np.array([w.local_z for w in windows]),
            sr_widths=sr[:, 1] - sr[:, 0],
            failed=np.array([w.status != "ok" for w in windows]),
            truth_mass=truth,
            global_z=None if glob is None else glob.z,
            text=text,
            com=com,
        )
    panels = [panel for panel in (_efficiency_panel(w) for w in windows) if panel is not None]
    if panels:
        figures["efficiency_vs_mass"] = efficiency_vs_mass_figure(panels, text=text, com=com)
    best = summary.best
    if best is not None:
        points = [p for p in best.points if 0 < p.efficiency <= 1]
        if points:
            figures["significance_vs_efficiency"] = significance_vs_efficiency_figure(
                [p.efficiency for p in points],
                [_z(p.z) for p in points],
                failed=[p.status != "ok" for p in points],
                title=best.label or None,
                text=text,
                com=com,
            )
    return figures

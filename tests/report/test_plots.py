"""Figures of bumphunt.report.plots: their axes and artists hold the numbers given (masses in GeV)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bumphunt.errors import DataFormatError
from bumphunt.events import Window
from bumphunt.report import (
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
from bumphunt.stats import fit_sidebands
from bumphunt.stats.metrics import auc, roc_curve, sic_curve

WINDOW = Window.from_edges(3000.0, 3200.0, 3600.0, 3800.0)
EDGES = np.arange(3000.0, 3801.0, 100.0)
EXPECTED = np.array([400.0, 225.0, 100.0, 100.0, 64.0, 49.0, 36.0, 25.0])
COUNTS = np.array([400.0, 255.0, 110.0, 140.0, 72.0, 42.0, 36.0, 20.0])
PULLS = np.array([0.0, 2.0, 1.0, 4.0, 1.0, -1.0, 0.0, -1.0])  # (COUNTS - EXPECTED) / sqrt(EXPECTED) by hand


def by_gid(ax: Axes, gid: str) -> list[Artist]:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def one(ax: Axes, gid: str) -> Any:
    found = by_gid(ax, gid)
    assert len(found) == 1, f"expected one artist {gid!r}, found {len(found)}"
    return found[0]


def span_x(patch: Any) -> tuple[float, float]:
    """x extent (data) of an axvspan: a Rectangle (matplotlib >= 3.9) or a Polygon."""
    if hasattr(patch, "get_width"):
        return patch.get_x(), patch.get_x() + patch.get_width()
    xy = np.asarray(patch.get_xy())
    return float(xy[:, 0].min()), float(xy[:, 0].max())


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# ------------------------------------------------------------------------------------------ numbers
def test_pulls_and_poisson_interval_by_hand() -> None:
    np.testing.assert_allclose(pulls(COUNTS, EXPECTED), PULLS)
    assert np.isnan(pulls([3.0], [0.0])[0])
    low, high = poisson_interval([0, 10])
    # Garwood 68.27 % intervals (PDG table): n = 0 -> [0, 1.84], n = 10 -> [6.89, 14.27]
    np.testing.assert_allclose(low, [0.0, 6.89], atol=0.005)
    np.testing.assert_allclose(high, [1.84, 14.27], atol=0.005)


# ----------------------------------------------------------------------------------------- spectrum
def test_spectrum_figure_panels_sr_span_pulls_and_data() -> None:
    fig = spectrum_figure(
        COUNTS,
        EDGES,
        EXPECTED,
        WINDOW,
        title="window",
        selection_label="All events",
        xlabel=r"$m_{\mu\mu}$ [GeV]",
    )
    assert isinstance(fig, Figure)
    ax, ax_pull = fig.axes
    assert ax.get_shared_x_axes().joined(ax, ax_pull)
    assert ax.get_xlim() == (3000.0, 3800.0)
    assert ax.get_yscale() == "log"
    for a in (ax, ax_pull):  # the SR is shaded in both panels, exactly at its edges
        assert span_x(one(a, "signal-region")) == pytest.approx((3200.0, 3600.0))
    stairs = one(ax_pull, "pulls").get_data()
    np.testing.assert_allclose(stairs.values, PULLS)
    np.testing.assert_allclose(stairs.edges, EDGES)
    fit_line = one(ax, "background-fit").get_data()
    np.testing.assert_allclose(fit_line.values, EXPECTED)  # over the whole window, SR included
    data = one(ax, "data")
    np.testing.assert_allclose(data.get_xdata(), EDGES[:-1] + 50.0)
    np.testing.assert_allclose(data.get_ydata(), COUNTS)
    assert by_gid(ax, "fit-band") == []  # no error given
    assert ax.get_ylabel() == "Events / 100 GeV"
    assert ax_pull.get_xlabel() == r"$m_{\mu\mu}$ [GeV]"
    assert ax_pull.get_ylim()[1] >= 4.0 and ax_pull.get_ylim()[0] <= -4.0  # the 4 sigma pull is inside
    assert ax.get_legend().get_title().get_text() == "window\nAll events"
    assert {"bumphunt", "Simulation"} <= set(texts(fig))
    assert any("13 TeV" in t for t in texts(fig))


def test_spectrum_figure_error_band_weighted_counts_and_unequal_bins() -> None:
    edges = np.array([3000.0, 3100.0, 3200.0, 3400.0, 3600.0, 3700.0, 3800.0])
    sumw = np.array([100.0, 80.0, 120.0, 90.0, 30.0, 20.0])
    counts = np.stack([sumw, sumw * 4.0], axis=1)  # weights of 4: error sqrt(sumw2) = 2 sqrt(sumw)
    expected = np.array([100.0, 80.0, 100.0, 90.0, 30.0, 20.0])
    fig = spectrum_figure(
        counts, edges, expected, (3200.0, 3600.0), expected_error=np.full(6, 2.0), text="Open Data"
    )
    ax, ax_pull = fig.axes
    widths = np.diff(edges)
    assert ax.get_ylabel() == "Events / GeV"
    np.testing.assert_allclose(one(ax, "data").get_ydata(), sumw / widths)
    band = one(ax, "fit-band").get_data()
    np.testing.assert_allclose(band.values, (expected + 2.0) / widths)
    np.testing.assert_allclose(band.baseline, (expected - 2.0) / widths)
    np.testing.assert_allclose(one(ax_pull, "pulls").get_data().values, [0, 0, 2, 0, 0, 0])
    assert "Open Data" in texts(fig)


def test_spectrum_figure_rejects_mismatched_shapes() -> None:
    with pytest.raises(DataFormatError, match="expected must have shape"):
        spectrum_figure(COUNTS, EDGES, EXPECTED[:-1], WINDOW)
    with pytest.raises(DataFormatError, match="strictly increasing"):
        spectrum_figure(COUNTS, EDGES[::-1], EXPECTED, WINDOW)


def test_spectrum_from_fit_matches_the_fit() -> None:
    rng = np.random.default_rng(3)
    mass = 2900.0 + rng.exponential(300.0, 20_000)
    fit = fit_sidebands(mass, WINDOW, "dijet3", bin_width=50.0)
    spectrum = spectrum_from_fit(fit)
    np.testing.assert_allclose(spectrum.expected, fit.expected())
    np.testing.assert_array_equal(spectrum.counts, fit.counts)
    sr_error = fit.integral(3200.0, 3250.0)[1]
    assert spectrum.expected_error[4] == pytest.approx(sr_error)  # first SR bin
    assert np.all(spectrum.expected_error > 0)
    # the fit describes the falling toy: pulls are O(1), not O(10)
    assert np.nanmax(np.abs(spectrum.pulls)) < 4.5


def test_selection_spectra_figure_one_column_per_selection() -> None:
    tight = Spectrum(COUNTS / 10, EDGES, EXPECTED / 10)
    fig = selection_spectra_figure(
        {"All events": Spectrum(COUNTS, EDGES, EXPECTED), "eps_SB = 5 %": tight}, WINDOW
    )
    assert len(fig.axes) == 4
    top = [ax for ax in fig.axes if by_gid(ax, "data")]
    assert [ax.get_legend().get_title().get_text() for ax in top] == ["All events", "eps_SB = 5 %"]
    np.testing.assert_allclose(one(top[1], "data").get_ydata(), COUNTS / 10)
    pull_axes = [ax for ax in fig.axes if by_gid(ax, "pulls")]
    np.testing.assert_allclose(one(pull_axes[1], "pulls").get_data().values, PULLS / np.sqrt(10))
    assert texts(fig).count("bumphunt") == 1
    with pytest.raises(DataFormatError, match="at least one"):
        selection_spectra_figure({}, WINDOW)
    with pytest.raises(DataFormatError, match=r"must be a bumphunt\.report\.Spectrum"):
        selection_spectra_figure({"x": (COUNTS, EXPECTED)}, WINDOW)  # type: ignore[dict-item]


# ------------------------------------------------------------------------------------------ ROC/SIC
def test_roc_sic_figure_curves_random_line_and_auc() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 4000)
    good, weak = rng.normal(labels * 1.5), rng.normal(labels * 0.5)
    fig = roc_sic_figure(
        {"good": (good, labels), "weak": roc_curve(weak, labels), "sic only": sic_curve(weak, labels)}
    )
    ax_roc, ax_sic = fig.axes
    assert ax_roc.get_yscale() == "log"
    curve = roc_curve(good, labels)
    ok = (curve.eps_b > 0) & (curve.eps_s > 0)
    roc_line = one(ax_roc, "roc:good")
    np.testing.assert_allclose(roc_line.get_xdata(), curve.eps_s[ok])
    np.testing.assert_allclose(roc_line.get_ydata(), 1.0 / curve.eps_b[ok])
    random = one(ax_roc, "random")
    np.testing.assert_allclose(random.get_ydata(), 1.0 / random.get_xdata())
    random_sic = one(ax_sic, "random")
    np.testing.assert_allclose(random_sic.get_ydata(), np.sqrt(random_sic.get_xdata()))
    sic = sic_curve(good, labels)  # 50 background events at least, the default
    np.testing.assert_allclose(one(ax_sic, "sic:good").get_ydata(), sic.sic)
    labels_roc = [t.get_text() for t in ax_roc.get_legend().get_texts()]
    assert f"good (AUC {auc(good, labels):.3f})" in labels_roc
    assert "sic only" in labels_roc  # no AUC from a SIC curve, which lacks the loose thresholds
    assert max(one(ax_sic, "sic:good").get_ydata()) > 2.0  # a separating score beats random (1 at most)
    with pytest.raises(DataFormatError, match="must be a RocCurve"):
        roc_sic_figure({"bad": good})  # type: ignore[dict-item]


# ------------------------------------------------------------------------------ significance figures
def test_significance_vs_efficiency_figure_marks_best_and_failed() -> None:
    eff = np.array([1.0, 0.25, 0.1, 0.05, 0.01, 0.005])
    z = np.array([0.5, 1.2, 2.5, 3.4, np.nan, 2.0])
    fig = significance_vs_efficiency_figure(eff, z, failed=[False] * 5 + [True], title="SR [3300, 3700) GeV")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    left, right = ax.get_xlim()
    assert left > 1.0 > 0.005 > right  # inverted: tighter cuts to the right
    np.testing.assert_allclose(one(ax, "z").get_xdata(), [1.0, 0.25, 0.1, 0.05])
    best = one(ax, "best")
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (0.05, 3.4)
    failed = one(ax, "failed")
    np.testing.assert_allclose(failed.get_xdata(), [0.01, 0.005])
    np.testing.assert_allclose(failed.get_ydata(), [0.0, 0.0])
    assert by_gid(ax, "sigma-3") and by_gid(ax, "sigma-2") and not by_gid(ax, "sigma-5")
    with pytest.raises(DataFormatError, match="efficiencies must lie"):
        significance_vs_efficiency_figure([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(DataFormatError, match="z must have shape"):
        significance_vs_efficiency_figure([0.5, 1.0], [1.0])


def test_scan_figure_truth_global_and_reference_lines() -> None:
    centers = np.arange(3000.0, 4001.0, 200.0)
    z = np.array([0.3, 1.0, 5.6, 2.0, np.nan, 0.1])
    fig = scan_figure(centers, z, sr_widths=400.0, truth_mass=3450.0, global_z=3.1, xlabel="m [GeV]")
    (ax,) = fig.axes
    np.testing.assert_allclose(one(ax, "local-z").get_xdata(), [3000.0, 3200.0, 3400.0, 3600.0, 4000.0])
    assert one(ax, "truth-mass").get_xdata()[0] == 3450.0
    assert one(ax, "truth-marker").get_xdata()[0] == 3450.0
    assert one(ax, "best").get_xdata()[0] == 3400.0
    np.testing.assert_allclose(one(ax, "failed").get_xdata(), [3800.0])
    assert "3.10" in one(ax, "global-z").get_text()
    for level in ("2", "3", "5"):
        assert one(ax, f"sigma-{level}").get_ydata()[0] == float(level)
    assert ax.get_xlim()[0] < 3000.0 - 200.0 and ax.get_xlim()[1] > 4000.0 + 200.0  # SR bars inside
    assert ax.get_ylim()[1] > 5.6
    plain = scan_figure(centers[:3], [0.5, 1.0, 0.7])
    assert not by_gid(plain.axes[0], "truth-mass") and not by_gid(plain.axes[0], "global-z")


def test_ensemble_figure_band_and_background_only() -> None:
    s_over_b = np.array([0.0, 0.001, 0.003, 0.01, 0.03])
    median = np.array([0.4, 0.8, 1.6, 3.0, 6.0])
    low, high = median - 0.5, median + 0.7
    fig = ensemble_figure(s_over_b, median, low, high, label="CATHODE")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"  # 0.001 .. 0.03 spans a factor 30; S/B = 0 -> background-only line
    np.testing.assert_allclose(one(ax, "median").get_xdata(), s_over_b[1:])
    band = one(ax, "band").get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(low[1:].min()) and band[:, 1].max() == pytest.approx(
        high[1:].max()
    )
    assert one(ax, "background-only").get_ydata()[0] == pytest.approx(0.4)
    linear = ensemble_figure(s_over_b[1:3], median[1:3], low[1:3], high[1:3], background_only=(0.2, 0.0, 0.9))
    assert linear.axes[0].get_xscale() == "linear"
    assert one(linear.axes[0], "background-only").get_ydata()[0] == pytest.approx(0.2)
    with pytest.raises(DataFormatError, match="low <= median <= high"):
        ensemble_figure(s_over_b, median, high, low)


def test_summary_figures_from_a_summary(summary: dict[str, Any]) -> None:
    figures = summary_figures(summary)
    assert set(figures) == {"scan", "significance_vs_efficiency"}
    scan_ax = figures["scan"].axes[0]
    np.testing.assert_allclose(one(scan_ax, "local-z").get_xdata(), [3100.0, 3300.0, 3500.0, 3700.0])
    assert one(scan_ax, "truth-mass").get_xdata()[0] == 3500.0
    eff_ax = figures["significance_vs_efficiency"].axes[0]
    np.testing.assert_allclose(one(eff_ax, "failed").get_xdata(), [0.005])
    assert "Simulation" in texts(figures["scan"])
    with pytest.raises(DataFormatError, match="bumphunt_version: Field required"):
        summary_figures({})
    summary["global"] = summary["truth"] = summary["data"]["injection"] = None
    summary["data"]["has_labels"] = False
    summary["best_window"] = None
    figures = summary_figures(summary)
    assert set(figures) == {"scan"}
    assert not by_gid(figures["scan"].axes[0], "global-z")
    assert "Open Data" in texts(figures["scan"])


def test_figures_do_not_touch_pyplot() -> None:
    before = plt.get_fignums()
    spectrum_figure(COUNTS, EDGES, EXPECTED, WINDOW)
    scan_figure([3000.0, 3200.0], [1.0, 2.0])
    assert plt.get_fignums() == before

"""The results directory of a search: ``summary.json``, plots and a self-contained ``report.html``.

Layout::

    <directory>/
      summary.json        config, provenance, per-window significances, fits, truth comparison
      report.html         one file with every plot embedded, to send to a colleague
      plots/*.png         the plots of the report
      scores.parquet      mass, window index, anomaly score (and truth label) of every scored event

The directory is assembled under a temporary name next to the target and renamed into place only when
complete, so an interrupted or failed run leaves no half-written results directory (and an existing
one, with ``overwrite``, is replaced only at the very end).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.summary import Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bumphunt.search import SearchResult, WindowResult

__all__ = ["atomic_directory", "check_output_directory", "result_figures", "write_results"]


def check_output_directory(directory: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Fail early if ``directory`` exists and may not be replaced, or its parent is not a folder.

    Raises
    ------
    ConfigError
        Naming the directory and the way out (``--overwrite`` / ``output.overwrite``).
    """
    path = Path(directory)
    if path.exists() and not overwrite:
        raise ConfigError(
            f"results directory {str(path)!r} exists; choose another (-o) or replace it (--overwrite, "
            "output.overwrite: true)"
        )
    if path.exists() and not path.is_dir():
        raise ConfigError(f"results directory {str(path)!r} exists and is not a directory")
    parent = path.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"cannot make the results directory {str(path)!r}: {str(parent)!r} is a file")
    return path


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; move it onto ``target`` only on success.

    On any exception (KeyboardInterrupt included) the temporary directory is removed and ``target`` is
    untouched. With ``overwrite``, an existing ``target`` is replaced by two renames at the end.
    """
    target = check_output_directory(target, overwrite=overwrite)
    target.absolute().parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.absolute().parent))
    try:
        yield tmp
        check_output_directory(target, overwrite=overwrite)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=tmp.parent))
            old.rmdir()
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _score_table(result: SearchResult) -> Any:
    import pandas as pd

    frames = []
    for i, w in enumerate(result.windows):
        if w.scores is None:
            continue
        frame = pd.DataFrame({"window": np.full(w.mass.size, i, dtype=np.int32), "mass": w.mass})
        frame["region"] = np.where(w.window.in_sr(w.mass), "SR", "SB")
        frame["score"] = w.scores
        if w.labels is not None:
            frame["label"] = w.labels
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _mass_axis(result: SearchResult) -> dict[str, Any]:
    """Axis label and experiment label of the mass spectra: dimuons for NanoAOD data (real files:
    "Open Data", centre-of-mass energy not known to bumphunt), dijets otherwise."""
    provenance = result.data.events.provenance
    if provenance.get("format") != "nanoaod":
        return {}
    generated = bool(provenance.get("generated", False))
    return {"xlabel": r"$m_{\mu\mu}$ [GeV]", **({} if generated else {"text": "Open Data", "com": None})}


def _window_spectra(w: WindowResult) -> dict[str, tuple[tuple[np.ndarray, ...], Any]]:
    """The spectra of a window's plots: ``"spectrum_all"`` (the loosest successful selection) and
    ``"spectrum_selected"`` (the most significant one), each ``((counts, edges, expected, error),
    point)`` of the events that pass and the background predicted for them."""
    from bumphunt.stats.selection import selected_spectrum

    assert w.scan is not None
    points = [p for p in w.scan.points if p.status == "ok" and p.fit is not None]
    chosen = {"spectrum_all": points[0] if points else None, "spectrum_selected": w.best_point}
    return {
        name: (selected_spectrum(point, w.scan.background), point)
        for name, point in chosen.items()
        if point is not None and point.fit is not None
    }


def result_figures(result: SearchResult, summary: Summary) -> dict[str, tuple[Figure, str]]:
    """The plots of a search: name -> (figure, caption); last, the discovery reach of ``output.reach``."""
    figures = _search_figures(result, summary)
    reach = result.config.output.reach
    if reach is not None:
        from bumphunt.report.reach_plots import reach_figure, read_reach

        injected = summary.truth.n_signal if summary.truth is not None and summary.data.injection else None
        figures["reach"] = (
            reach_figure(read_reach(reach), injected=injected),
            f"Discovery reach ({reach.name}): median global significance over pseudo-experiments against "
            "the injected signal events, with the 68 % band, per method"
            + (f"; dotted: this run's {injected} injected events." if injected is not None else "."),
        )
    return figures


def _search_figures(result: SearchResult, summary: Summary) -> dict[str, tuple[Figure, str]]:
    """The plots of the search itself: name -> (figure, caption)."""
    from bumphunt.report import plots

    figures: dict[str, tuple[Figure, str]] = {}
    best = result.best
    from_summary = plots.summary_figures(summary)  # scan and significance-vs-efficiency of the best window
    if "scan" in from_summary:
        g = summary.global_significance
        figures["scan"] = (
            from_summary["scan"],
            "Local significance (largest over the selection efficiencies) against the SR centre of each "
            "window" + (f"; global significance {g.z:.2f} sigma." if g is not None else "."),
        )
    if "efficiency_vs_mass" in from_summary:
        figures["efficiency_vs_mass"] = (
            from_summary["efficiency_vs_mass"],
            "Selection efficiency against the mass in every window: the fraction of events passing each "
            "cut per mass bin, divided by its sideband efficiency (1 = independent of the mass), SR "
            "shaded; lines: the efficiency fitted across the sidebands and interpolated into the SR, "
            "which the efficiency_fit background estimate uses.",
        )
    scan = result.mass_scan
    if scan is not None and not isinstance(scan, str):
        listed = "; ".join(
            f"{i}: {e.low:.4g}-{e.high:.4g} GeV, {e.local_z:.1f} sigma local, "
            f"{'>' if e.global_z_is_lower_limit else ''}{e.global_z:.1f} global"
            for i, e in enumerate(scan.excesses[:3], start=1)
        )
        figures["mass_scan"] = (
            plots.mass_scan_figure(scan, title=f"{scan.n_events:,} selected pairs, no mass range"),
            "Mass-only scan of the whole spectrum of the selected pairs: logarithmic bins, a smooth "
            "reference fitted without its peaks, BumpHunter excesses (numbered, most significant first"
            + (f"; {listed}" if listed else "")
            + ").",
        )
    if best is None:
        return figures
    w = result.windows[best]
    assert w.scan is not None
    for name, (spectrum, point) in _window_spectra(w).items():
        counts, edges, expected, error = spectrum
        what = "before the selection" if name == "spectrum_all" else "after the selection"
        prediction = (
            f"the {point.fit.shape.name} fit of the uncut sidebands"
            + (" times the efficiency fitted across them" if name == "spectrum_selected" else "")
            if w.scan.background == "efficiency_fit"
            else f"the {point.fit.shape.name} fit to the sidebands"
        )
        figures[name] = (
            plots.spectrum_figure(
                counts,
                edges,
                expected,
                w.window,
                expected_error=error,
                title=f"{w.window.label}",
                selection_label=f"SB efficiency {point.efficiency:g}",
                **_mass_axis(result),
            ),
            f"Mass spectrum in the best window {what} (SB efficiency {point.efficiency:g}): the events "
            f"that pass, and the background predicted for them ({prediction}, interpolated under the "
            "shaded SR, with its uncertainty as a band), and the pulls.",
        )
    if "significance_vs_efficiency" in from_summary:
        figures["significance_vs_efficiency"] = (
            from_summary["significance_vs_efficiency"],
            f"Local significance in {w.window.label} against the sideband efficiency of the score cut.",
        )
    if w.labels is not None and w.scores is not None:
        in_sr = w.window.in_sr(w.mass)
        labels = w.labels[in_sr]
        if 0 < int(labels.sum()) < labels.size:
            figures["roc_sic"] = (
                plots.roc_sic_figure({result.config.method.name: (w.scores[in_sr], labels)}),
                f"Truth: ROC and significance improvement of the out-of-fold SR scores in {w.window.label}.",
            )
    return figures


def write_results(
    result: SearchResult, directory: str | os.PathLike[str], *, overwrite: bool = False
) -> Summary:
    """Write the results directory of ``result`` atomically; returns the summary.

    Raises
    ------
    ConfigError
        If ``directory`` exists and ``overwrite`` is false.
    """
    from bumphunt.report.html import save_figure, write_report

    summary = result.summary()
    with atomic_directory(directory, overwrite=overwrite) as tmp:
        (tmp / "summary.json").write_text(json.dumps(summary.to_dict(), indent=1))
        table = _score_table(result)
        if len(table):
            table.to_parquet(tmp / "scores.parquet", index=False)
        figures = result_figures(result, summary)
        (tmp / "plots").mkdir()
        for name, (figure, _) in figures.items():
            save_figure(figure, tmp / "plots" / f"{name}.png")
        write_report(
            tmp / "report.html",
            summary,
            {name: figure for name, (figure, _) in figures.items()},
            captions={name: caption for name, (_, caption) in figures.items()},
            title=f"bumphunt: {summary.name}",
        )
    return summary

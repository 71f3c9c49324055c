"""A self-contained HTML report of a search, and PNG output of figures; both written atomically.

The report is one file: every image is embedded as a base64 ``data:image/png`` URI and the style sheet is
inline, so it opens anywhere (mail attachment, a laptop without network) and loads nothing from outside;
a Content-Security-Policy in the page forbids any other source. All text taken from the summary is
HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from matplotlib.figure import Figure

import bumphunt
from bumphunt._files import atomic_path
from bumphunt.errors import DataFormatError, MissingFileError
from bumphunt.summary import FitSummary, Summary, parse_summary

__all__ = [
    "DEFAULT_CAPTIONS",
    "DEFAULT_DPI",
    "FIGURE_TITLES",
    "figure_png",
    "render_report",
    "save_figure",
    "write_report",
]

#: Resolution of PNG output (dots per inch): a 10 inch wide figure becomes 1100 pixels.
DEFAULT_DPI = 110.0

#: Headings of the figures that bumphunt itself names (other names are shown as given).
FIGURE_TITLES: Mapping[str, str] = {
    "scan": "Window scan",
    "significance_vs_efficiency": "Significance against selection efficiency",
    "efficiency_vs_mass": "Selection efficiency against the mass",
    "spectrum": "Mass spectrum in the best window",
    "selection_spectra": "Spectra before and after the selection",
    "roc_sic": "ROC and SIC curves",
    "ensemble": "Significance against injected signal",
    "reach": "Discovery reach",
}

#: Captions of the figures that bumphunt itself names.
DEFAULT_CAPTIONS: Mapping[str, str] = {
    "scan": "Local significance of each signal-region window against its centre; the bars show the "
    "SR width. Dashed lines: 2, 3 and 5 sigma. The dotted line marks the true signal mass, if known.",
    "significance_vs_efficiency": "Local significance in the best window after cutting on the anomaly "
    "score at fixed sideband efficiency; tighter cuts to the right.",
    "spectrum": "Events in the window with the background fit to the sidebands, interpolated into the "
    "shaded signal region; below, the pulls (data - fit) / sqrt(fit).",
    "selection_spectra": "Spectra and sideband fits before and after the cut on the anomaly score.",
    "roc_sic": "Left: background rejection 1/eps_B against signal efficiency eps_S. Right: significance "
    "improvement eps_S / sqrt(eps_B). Dashed: a random classifier. Needs truth labels (simulation).",
    "ensemble": "Median local significance over pseudo-experiments against the injected signal-to-"
    "background ratio, with the central 68 % band; dotted: background only.",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DASH = "\u2013"

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d1d1f;background:#fff}
main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}
header{border-bottom:3px solid #5790fc;margin-bottom:16px}
h1{font-size:1.6em;margin:0.4em 0 0.2em}
h2{font-size:1.25em;margin:1.4em 0 0.5em}
.meta{color:#555;font-size:0.9em;margin:0 0 0.8em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 12px;font-size:0.95em}
dl.facts dt{font-weight:600;color:#444}
dl.facts dd{margin:0}
.summary{background:#f3f7ff;border:1px solid #b8ccf5;border-radius:6px;padding:12px 18px}
.summary .z{font-size:1.35em;font-weight:700}
.good{color:#1a7f37}.bad{color:#b42318}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:0.85em;width:100%}
th,td{border:1px solid #d0d7de;padding:4px 7px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;white-space:normal}
td.text,th.text{text-align:left;white-space:normal;min-width:9em}
tr.best td{background:#fff4d6;font-weight:600}
tr.failed td{color:#8a8a8a}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:18px}
figure.wide{grid-column:1/-1}
figure{margin:0;border:1px solid #e1e4e8;border-radius:6px;padding:8px;background:#fff}
figure img{display:block;width:100%;height:auto}
figcaption{font-size:0.88em;color:#333;margin-top:6px}
details{margin-top:10px}
summary{cursor:pointer;font-weight:600}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;padding:10px;overflow:auto;font-size:0.85em}
footer{margin-top:28px;color:#777;font-size:0.8em}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# ------------------------------------------------------------------------------------------- figures
def figure_png(fig: Figure, *, dpi: float = DEFAULT_DPI) -> bytes:
    """Render ``fig`` to PNG bytes at ``dpi`` on a white background."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: float = DEFAULT_DPI) -> Path:
    """Write ``fig`` as a PNG file, atomically (a failed render leaves no file behind).

    Parameters
    ----------
    fig
        The figure.
    path
        Target file name (the directory is created).
    dpi
        Resolution (dots per inch).

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    data = figure_png(fig, dpi=dpi)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def _png_bytes(name: str, figure: Figure | str | os.PathLike[str] | bytes, dpi: float) -> bytes:
    if isinstance(figure, Figure):
        return figure_png(figure, dpi=dpi)
    if isinstance(figure, bytes):
        data, source = figure, "the given bytes"
    elif isinstance(figure, str | os.PathLike):
        path = Path(figure)
        if not path.is_file():
            raise MissingFileError(f"figure {name!r}: no PNG file at {path}")
        data, source = path.read_bytes(), str(path)
    else:
        raise DataFormatError(
            f"figure {name!r} must be a matplotlib Figure, a PNG file path or PNG bytes, got {type(figure)}"
        )
    if not data.startswith(_PNG_SIGNATURE):
        raise DataFormatError(f"figure {name!r}: {source} is not a PNG image")
    return data


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels from the IHDR chunk of a PNG image."""
    if len(data) < 24:
        raise DataFormatError("a figure's PNG image is truncated")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# ----------------------------------------------------------------------------------------- formatting
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _z(value: Any) -> str:
    x = _finite(value)
    return _DASH if x is None else f"{x:.2f}\u2009\u03c3"


def _p(value: Any) -> str:
    x = _finite(value)
    return _DASH if x is None else f"{x:.2e}" if x < 0.01 else f"{x:.3f}"


def _num(value: Any, spec: str = "g") -> str:
    x = _finite(value)
    return _DASH if x is None else format(x, spec)


def _count(value: Any) -> str:
    x = _finite(value)
    return _DASH if x is None else f"{round(x):,}" if x == round(x) else f"{x:,.1f}"


def _percent(value: Any) -> str:
    x = _finite(value)
    return _DASH if x is None else f"{100 * x:g}\u2009%"


def _interval(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        low, high = (_finite(v) for v in value)
        if low is not None and high is not None:
            return f"[{low:g}, {high:g})"
    return _DASH


def _yes_no(value: Any) -> str:
    if value is None:
        return _DASH
    return '<span class="good">yes</span>' if value else '<span class="bad">no</span>'


def _dump(value: Any) -> str:
    """YAML of plain data; JSON (non-JSON values as strings) for anything YAML cannot represent."""
    try:
        return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True)
    except yaml.YAMLError:
        return json.dumps(value, indent=2, default=str, ensure_ascii=False)


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    """A definition list; values are HTML already (escaped by the caller)."""
    items = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">{items}</dl>'


# ------------------------------------------------------------------------------------------- sections
def _header(summary: Summary, title: str, now: str) -> str:
    data = summary.data
    meta = [
        f"report by bumphunt {_e(bumphunt.__version__)} on {_e(now)}",
        f"results from bumphunt {_e(summary.bumphunt_version)} on {_e(summary.created)}",
    ]
    rows: list[tuple[str, str]] = [
        ("Data", f"<code>{_e(data.path)}</code>"),
        ("Events", _e(_count(data.n_events))),
    ]
    if data.features:
        rows.append(("Features", _e(", ".join(data.features))))
    rows.append(("Mass range", _e(f"{_interval(data.mass_range)} GeV")))
    rows.append(("Truth labels", "yes (simulation)" if data.has_labels else "no"))
    injection = data.injection
    if injection:
        parts = []
        if injection.get("n_signal") is not None:
            parts.append(f"{_count(injection['n_signal'])} signal events")
        if injection.get("signal_mass") is not None:
            parts.append(f"at {_num(injection['signal_mass'])} GeV")
        if injection.get("s_over_b") is not None:
            parts.append(f"(S/B = {_num(injection['s_over_b'])})")
        rows.append(("Injected signal", _e(" ".join(parts) or _DASH)))
    rows.append(("Method", _e(summary.method.name)))
    if summary.timing.get("total_s") is not None:
        rows.append(("Run time", _e(f"{_num(summary.timing['total_s'], '.0f')} s")))
    return f'<header><h1>{_e(title)}</h1><p class="meta">{" &middot; ".join(meta)}</p>{_facts(rows)}</header>'


def _summary_box(summary: Summary) -> str:
    rows: list[tuple[str, str]] = []
    window = summary.best
    local = f'<span class="z">{_e(_z(summary.local_z))}</span>'
    if window is not None:
        rows.append(("Best window", f"{_e(window.label)} (#{summary.best_window})"))
        if window.p_value is not None:
            local += f" (p = {_e(_p(window.p_value))})"
        if window.best_efficiency is not None:
            local += f" at sideband efficiency {_e(_percent(window.best_efficiency))}"
    rows.append(("Local significance", local))
    glob = summary.global_significance
    if glob is not None:
        bound = ""
        details = [f"p = {_p(glob.p_value)}"]
        if glob.z_is_lower_limit and glob.tail is not None:
            bound = "≥ "
            details = ["the Gross-Vitells excursion tail fitted to the pseudo-experiments lies beyond"]
        elif glob.z_is_lower_limit and glob.n_toys:
            # no pseudo-experiment reached the observed value: only a bound is known
            bound = "≥ "
            details = [f"p < {_p(1.0 / glob.n_toys)}: no pseudo-experiment reached the observed value"]
        details.append(f"{_count(glob.n_toys)} pseudo-experiments")
        shown = _z(glob.z)
        if glob.z_error is not None and glob.estimate != "bound":
            shown = f"{glob.z:.2f} ± {glob.z_error:.2f}\u2009\u03c3"
        if glob.estimate == "tail":
            details.append(
                f"{_count(glob.n_above)} of them reached the observed value: extrapolated by the "
                "Gross-Vitells excursion tail fitted to them, error from bootstrap resamplings"
            )
        elif not glob.resolved and glob.tail is None:
            details.append(
                f"not measured: it rests on {_count(glob.n_above)} pseudo-experiment(s) above "
                f"the observed value; about {_count(glob.toys_needed)} would measure it to 30 %"
            )
        if glob.method:
            details.append(glob.method)
        rows.append(
            (
                "Global significance",
                f'<span class="z">{_e(bound + shown)}</span> ({_e(", ".join(details))})',
            )
        )
    else:
        rows.append(("Global significance", "not computed (no background-only pseudo-experiments)"))
    truth = summary.truth
    if truth is not None:
        text = _e(f"signal mass {_num(truth.signal_mass)} GeV")
        if truth.best_window_contains_truth is not None:
            text += f"; best window contains it: {_yes_no(truth.best_window_contains_truth)}"
        rows.append(("Truth", text))
    return f'<section class="summary"><h2>Summary</h2>{_facts(rows)}</section>'


def _fit_text(fit: FitSummary | None) -> str:
    if fit is None:
        return _DASH
    text = f"{_num(fit.chi2, '.1f')} / {fit.ndf:g}"
    if fit.chi2 is not None and fit.ndf:
        text += f" = {fit.chi2 / fit.ndf:.2f}"
    return f"{fit.shape}: {text}"


def _window_table(windows: Sequence[Any], best_window: int | None, heading: str = "Windows") -> str:
    if not windows:
        return f"<h2>{_e(heading)}</h2><p>No windows in the summary.</p>"
    with_check = any(w.background_check is not None for w in windows)
    with_reweighted = any(w.reweighted is not None for w in windows)
    with_truth = any(w.truth is not None for w in windows)
    head = [
        "#", "Window", "SR [GeV]", "SB [GeV]", "Events SR / SB", "Local Z", "Best \u03b5<sub>SB</sub>",
        "Fit \u03c7\u00b2/ndf",
    ]  # fmt: skip
    if with_reweighted:
        head.append("Reweighted Z")
    if with_check:
        head.append("Bkg. check AUC")
    if with_truth:
        head += ["Truth AUC", "Max SIC", "Signal in SR"]
    head.append("Status")
    cells = "".join(
        f'<th class="text">{h}</th>' if h in ("Window", "Status") else f"<th>{h}</th>" for h in head
    )
    rows = [f"<thead><tr>{cells}</tr></thead><tbody>"]
    for i, w in enumerate(windows):
        values = [
            str(i), w.label, _interval(w.sr), " ".join(_interval(sb) for sb in w.sb) or _DASH,
            f"{_count(w.n_sr)} / {_count(w.n_sb)}", _z(w.local_z), _percent(w.best_efficiency),
            _fit_text(w.fit),
        ]  # fmt: skip
        if with_reweighted:
            values.append(_DASH if w.reweighted is None else _z(w.reweighted.z))
        if with_check:
            check = w.background_check
            values.append(
                _DASH
                if check is None
                else f"{check.auc:.3f} \u00b1 {check.null_std:.3f} (pull {check.pull:+.1f})"
            )
        if with_truth:
            truth = w.truth
            values += (
                [_DASH] * 3
                if truth is None
                else [_num(truth.auc, ".3f"), _num(truth.max_sic, ".2f"), _count(truth.n_signal_sr)]
            )
        values.append(f"{w.status}: {w.message}" if w.message else w.status)
        classes = " ".join(c for c, on in (("best", i == best_window), ("failed", w.status != "ok")) if on)
        tds = "".join(
            f'<td class="text">{_e(v)}</td>' if j in (1, len(values) - 1) else f"<td>{_e(v)}</td>"
            for j, v in enumerate(values)
        )
        rows.append(f'<tr class="{classes}">{tds}</tr>' if classes else f"<tr>{tds}</tr>")
    rows.append("</tbody>")
    return f'<h2>{_e(heading)}</h2><div class="table-wrap"><table>{"".join(rows)}</table></div>'


def _validation_table(summary: Summary) -> str:
    other = summary.validation
    if other is None:
        return ""
    heading = f"Validation: the same search on {other.sign}-sign pairs"
    if other.message:
        return f"<h2>{_e(heading)}</h2><p>Not run: {_e(other.message)}</p>"
    note = (
        f"<p>{_count(other.n_events)} {_e(other.sign)}-sign candidates; largest local significance "
        f"{_z(other.local_z)}. No resonance decays to a same-sign pair: significances here show what the "
        "method finds where nothing is.</p>"
    )
    return _window_table(other.windows, other.best_window, heading) + note


def _figure_section(images: Sequence[tuple[str, bytes]], captions: Mapping[str, str]) -> str:
    if not images:
        return ""
    parts = []
    for name, data in images:
        title = FIGURE_TITLES.get(name, name)
        caption = captions.get(name, DEFAULT_CAPTIONS.get(name, ""))
        encoded = base64.b64encode(data).decode("ascii")
        width, height = _png_size(data)
        wide = ' class="wide"' if width > 1.6 * height else ""
        parts.append(
            f'<figure id="figure-{_e(name)}"{wide}>'
            f'<img src="data:image/png;base64,{encoded}" alt="{_e(title)}">'
            f"<figcaption><strong>{_e(title)}.</strong> {_e(caption)}</figcaption></figure>"
        )
    return f'<h2>Figures</h2><div class="figures">{"".join(parts)}</div>'


def _config_section(summary: Summary) -> str:
    blocks = [("Configuration", summary.config), ("Method settings", summary.method.settings)]
    inner = "".join(
        f"<details><summary>{_e(name)}</summary><pre>{_e(_dump(v))}</pre></details>"
        for name, v in blocks
        if v
    )
    return f"<h2>Configuration</h2>{inner}" if inner else ""


# --------------------------------------------------------------------------------------------- report
def render_report(
    summary: Summary | Mapping[str, Any],
    figures: Mapping[str, Figure | str | os.PathLike[str] | bytes] | None = None,
    *,
    title: str | None = None,
    captions: Mapping[str, str] | None = None,
    dpi: float = DEFAULT_DPI,
    now: dt.datetime | None = None,
) -> str:
    """The HTML text of :func:`write_report` (arguments as there; ``now`` fixes the creation time)."""
    summary = parse_summary(summary, "the report summary")
    images = [(str(name), _png_bytes(str(name), fig, dpi)) for name, fig in (figures or {}).items()]
    if title is None:
        title = f"bumphunt report: {summary.name}"
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    body = "".join(
        [
            _header(summary, title, stamp),
            _summary_box(summary),
            _window_table(summary.windows, summary.best_window),
            _validation_table(summary),
            _figure_section(images, captions or {}),
            _config_section(summary),
            f"<footer>Written by bumphunt {_e(bumphunt.__version__)}. Self-contained: images are embedded, "
            "nothing is loaded from elsewhere.</footer>",
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_report(
    path: str | os.PathLike[str],
    summary: Summary | Mapping[str, Any],
    figures: Mapping[str, Figure | str | os.PathLike[str] | bytes] | None = None,
    *,
    title: str | None = None,
    captions: Mapping[str, str] | None = None,
    dpi: float = DEFAULT_DPI,
) -> Path:
    """Write a self-contained HTML report of a search, atomically.

    The page holds a header (title, bumphunt version, creation time, data source), a summary box (best
    window, local and global significance, truth comparison), a table of the windows (SR, SB, events,
    local Z, best efficiency, background-fit chi2/ndf, ...), the figures with captions, and the
    configuration as collapsible YAML. Optional entries of the summary (``global``, ``truth``, a
    window's ``truth`` or ``background_check``, ...) may be None.

    Parameters
    ----------
    path
        The HTML file to write; if it is an existing directory, ``report.html`` inside it.
    summary
        The summary of a search (:class:`~bumphunt.summary.Summary`, or its JSON mapping, validated).
    figures
        Name -> figure, in display order: a matplotlib Figure (rendered to PNG at ``dpi``), the path of
        a PNG file, or PNG bytes. Names in :data:`FIGURE_TITLES` get a heading and caption of their own;
        other names are used as the heading.
    title
        Page title; default ``"bumphunt report: <summary name>"``.
    captions
        Name -> caption, replacing :data:`DEFAULT_CAPTIONS`.
    dpi
        Resolution of rendered figures.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    DataFormatError
        If ``summary`` is not a summary of the current schema (the message names the field) or a figure
        is neither a Figure nor a PNG image.
    MissingFileError
        If a figure path does not exist.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "report.html"
    text = render_report(summary, figures, title=title, captions=captions, dpi=dpi)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target

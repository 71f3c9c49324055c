"""The HTML report and PNG output: self-contained, escaped, atomic, tolerant of missing summary keys."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import pytest
import yaml
from matplotlib.figure import Figure

import bumphunt
from bumphunt.errors import DataFormatError, MissingFileError
from bumphunt.report import figure_png, render_report, save_figure, write_report
from bumphunt.report.style import new_figure, style_context

IMG = '<img src="data:image/png;base64,'


def small_figure(color: str = "#e42536") -> Figure:
    with style_context():
        fig = new_figure((3.0, 2.0))
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color=color)
    return fig


def broken_figure() -> Figure:
    """A figure whose rendering fails: its axis label is malformed math text."""
    fig = small_figure()
    fig.axes[0].set_xlabel(r"$\frac{1$")
    return fig


def embedded_pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def test_report_embeds_every_figure_and_loads_nothing_from_outside(
    tmp_path: Path, summary: dict[str, Any]
) -> None:
    png_file = save_figure(small_figure("#5790fc"), tmp_path / "results" / "scan.png", dpi=40)
    figures = {"spectrum": small_figure(), "scan": png_file, "my plot": png_file.read_bytes()}
    out = write_report(tmp_path / "report.html", summary, figures, dpi=40)
    assert out == tmp_path / "report.html"
    text = out.read_text(encoding="utf-8")
    assert text.count(IMG) == 3
    images = embedded_pngs(text)
    assert images[1] == images[2] == png_file.read_bytes()
    decoded = mpimg.imread(io.BytesIO(images[0]), format="png")
    assert decoded.shape[:2] == (80, 120)  # 3 x 2 inches at 40 dpi
    lowered = text.lower()
    for outside in ('src="http', "href=", "<script", "<link", "url(", "@import", "<iframe"):
        assert outside not in lowered
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # captions: bumphunt's names get their own heading, other names are shown as given
    assert "Mass spectrum in the best window" in text and "Window scan" in text and "my plot" in text


def test_report_content_summary_table_and_config(tmp_path: Path, summary: dict[str, Any]) -> None:
    now = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone.utc)
    text = render_report(summary, {}, now=now)
    assert "<title>bumphunt report: demo</title>" in text
    assert f"report by bumphunt {bumphunt.__version__} on 2026-11-24T09:30:00+00:00" in text
    assert "results from bumphunt 0.1.0 on 2026-11-23T15:00:00+00:00" in text
    assert "/data/lhco/events_anomalydetection.h5" in text and "60,000" in text
    assert "300 signal events at 3500 GeV (S/B = 0.02)" in text
    box = text[text.index('<section class="summary">') : text.index("</section>")]
    assert "SR [3300, 3700) GeV (#2)" in box
    assert "4.20\u2009\u03c3" in box and "p = 1.30e-05" in box and "5\u2009%" in box
    assert "3.10\u2009\u03c3" in box and "200 pseudo-experiments" in box
    assert 'best window contains it: <span class="good">yes</span>' in box
    rows = re.findall(r"<tr( class=\"[^\"]*\")?>(.*?)</tr>", text)
    assert len(rows) == 1 + 4  # header + windows
    best = [cells for cls, cells in rows if "best" in cls]
    assert len(best) == 1 and "<td>2</td>" in best[0]
    assert "[3100, 3300) [3700, 3900)" in best[0] and "13,000 / 9,000" in best[0]
    assert "dijet4: 10.2 / 9 = 1.13" in best[0] and "0.810" in best[0]
    # the fixture's check has no pull (an older summary): it is derived from the AUC and its error
    assert "0.510 \u00b1 0.010 (pull +1.0)" in best[0]
    configs = re.findall(r"<details><summary>(.*?)</summary><pre>(.*?)</pre></details>", text, flags=re.S)
    assert [name for name, _ in configs] == ["Configuration", "Method settings"]
    assert yaml.safe_load(html.unescape(configs[0][1])) == summary["config"]
    assert yaml.safe_load(html.unescape(configs[1][1])) == {"n_folds": 5, "flow": "maf"}


def test_summary_text_is_escaped(tmp_path: Path, summary: dict[str, Any]) -> None:
    evil = '<script>alert("x")</script>'
    summary["name"] = evil
    summary["windows"][2]["label"] = evil
    summary["windows"][1]["status"] = "failed"
    summary["windows"][1]["message"] = f"fit failed {evil}"
    summary["method"]["name"] = evil
    summary["data"]["path"] = f'data"/><img src=x onerror=alert(1)>{evil}.h5'
    summary["config"]["note"] = evil
    out = write_report(tmp_path / "report.html", summary, {evil: small_figure()}, dpi=30)
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "<img src=x" not in text
    assert text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    assert text.count(IMG) == 1


def test_optional_parts_may_be_none(tmp_path: Path, summary: dict[str, Any]) -> None:
    summary["global"] = summary["truth"] = None
    summary["data"]["injection"] = None
    for window in summary["windows"]:
        window["truth"] = window["background_check"] = window["fit"] = None
    summary["windows"][3] = {**summary["windows"][3], "status": "failed", "message": "too few events"}
    text = write_report(tmp_path / "report.html", summary, {}).read_text(encoding="utf-8")
    assert "Global significance" in text and "not computed" in text
    assert "Truth AUC" not in text and "Bkg. check AUC" not in text and "Injected signal" not in text
    assert "failed: too few events" in text
    assert "<details>" in text  # configuration and method settings remain
    assert IMG not in text


def test_a_malformed_summary_is_an_error_that_names_the_field(summary: dict[str, Any]) -> None:
    bad_window = {**summary, "windows": [{**summary["windows"][0], "sr": "bad"}]}
    with pytest.raises(DataFormatError, match=r"windows\.0\.sr"):
        render_report(bad_window)
    del summary["config"]
    with pytest.raises(DataFormatError, match=r"the report summary: .*: config: Field required"):
        render_report(summary)
    with pytest.raises(DataFormatError, match="not a bumphunt summary"):
        render_report([1, 2])  # type: ignore[arg-type]


def test_failing_figure_leaves_no_report(tmp_path: Path, summary: dict[str, Any]) -> None:
    target = tmp_path / "report.html"
    with pytest.raises(ValueError):
        write_report(target, summary, {"good": small_figure(), "bad": broken_figure()}, dpi=30)
    assert list(tmp_path.iterdir()) == []
    target.write_text("old report")
    with pytest.raises(ValueError):
        write_report(target, summary, {"bad": broken_figure()}, dpi=30)
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temporary file left
    with pytest.raises(ValueError):
        save_figure(broken_figure(), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_figure_inputs_and_directory_target(tmp_path: Path, summary: dict[str, Any]) -> None:
    (tmp_path / "not_a_png.png").write_text("hello")
    with pytest.raises(DataFormatError, match=r"figure 'fake': .*not_a_png\.png is not a PNG image"):
        write_report(tmp_path, summary, {"fake": tmp_path / "not_a_png.png"})
    with pytest.raises(MissingFileError, match="no PNG file at"):
        write_report(tmp_path, summary, {"gone": tmp_path / "gone.png"})
    with pytest.raises(DataFormatError, match="must be a matplotlib Figure"):
        write_report(tmp_path, summary, {"number": 3})  # type: ignore[dict-item]
    assert not (tmp_path / "report.html").exists()
    out = write_report(tmp_path, summary, {"fig": figure_png(small_figure(), dpi=30)})
    assert out == tmp_path / "report.html" and out.read_text(encoding="utf-8").count(IMG) == 1


def test_save_figure_writes_png(tmp_path: Path) -> None:
    out = save_figure(small_figure(), tmp_path / "figs" / "a.png", dpi=50)
    image = mpimg.imread(out)
    assert image.shape[:2] == (100, 150)
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.png"]


def test_global_significance_without_any_toy_above_is_shown_as_a_bound(summary: dict[str, Any]) -> None:
    summary["global"].update(z=2.58, z_is_lower_limit=True, p_value=0.0, n_above=0)
    text = render_report(summary, {})
    box = text[text.index('<section class="summary">') : text.index("</section>")]
    assert "\u2265 2.58\u2009\u03c3" in box
    assert "p &lt; 5.00e-03: no pseudo-experiment reached the observed value" in box
    assert "p = 0.00e+00" not in box


def test_summary_schema_is_exported(capsys) -> None:
    from bumphunt.cli import main

    assert main(["config", "summary-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"].startswith("bumphunt summary.json, schema version 1")
    assert {"schema", "windows", "global", "truth"} <= set(schema["properties"])

"""report.html in a real browser: headless Chromium renders the embedded plots (a screenshot shows them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import numpy as np
import pytest

from bumphunt.events import Window
from bumphunt.report import scan_figure, significance_vs_efficiency_figure, spectrum_figure, write_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1280, 2400
FIT_BLUE = np.array([0x57, 0x90, 0xFC]) / 255  # the background-fit and scan line colour of the style


def screenshot(chromium: str, page: Path, png: Path, profile: Path) -> np.ndarray:
    """RGB screenshot (floats in [0, 1], HEIGHT x WIDTH) of ``page`` in headless Chromium."""
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}", page.resolve().as_uri(),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"headless Chromium did not finish within 120 s for {page}")
    assert png.is_file(), f"Chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    image = mpimg.imread(png)
    return np.asarray(image[..., :3], dtype=np.float64)


def near(image: np.ndarray, color: np.ndarray, tolerance: float = 0.08) -> np.ndarray:
    return np.all(np.abs(image - color) < tolerance, axis=-1)


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        message = "no chromium executable on PATH (install Debian's chromium to run the browser test)"
        if os.environ.get("CI", "").lower() == "true":  # .ci/run installs it: its absence is a failure
            pytest.fail(f"{message}; CI=true, where .ci/run installs it")
        pytest.skip(message)
    return CHROMIUM


def test_report_plots_render_in_headless_chromium(
    chromium: str, tmp_path: Path, summary: dict[str, Any]
) -> None:
    edges = np.arange(3000.0, 3801.0, 50.0)
    expected = 2000.0 * np.exp(-(edges[:-1] - 3000.0) / 400.0)
    counts = np.random.default_rng(1).poisson(expected).astype(float)
    figures = {
        "spectrum": spectrum_figure(counts, edges, expected, Window.from_edges(3000, 3200, 3600, 3800)),
        "scan": scan_figure([3100.0, 3300.0, 3500.0, 3700.0], [0.4, 1.9, 4.2, 2.2], sr_widths=400.0),
        "significance_vs_efficiency": significance_vs_efficiency_figure([1.0, 0.1, 0.05], [0.9, 2.1, 4.2]),
    }
    with_plots = write_report(tmp_path / "plots" / "report.html", summary, figures)
    without = write_report(tmp_path / "bare" / "report.html", summary, {})

    shot = screenshot(chromium, with_plots, tmp_path / "plots.png", tmp_path / "profile-a")
    bare = screenshot(chromium, without, tmp_path / "bare.png", tmp_path / "profile-b")
    assert shot.shape == bare.shape == (HEIGHT, WIDTH, 3)

    ink = np.any(shot < 0.9, axis=-1)  # pixels that are not (near) white
    assert ink.mean() > 0.02, "the screenshot is blank"
    # Header, summary box and window table come first and look the same in both pages (up to the creation
    # time); the figures start at the first pixel row where the pages differ across much of the width.
    differs = np.any(np.abs(shot - bare) > 0.1, axis=-1)
    start = int(np.argmax(differs.mean(axis=1) > 0.2))
    assert 300 < start < HEIGHT // 2, f"figures start at pixel row {start}"
    assert differs[:start].mean() < 0.005
    figures_area, bare_area = shot[start:], bare[start:]
    assert ink[start:].mean() > 0.04, f"only {ink[start:].mean():.1%} of the figure area is drawn"
    assert ink[start:].mean() > 3 * np.any(bare_area < 0.9, axis=-1).mean()
    # The plots themselves, not broken-image icons: the style's blue (fit, scan and significance lines)
    # and the orange shading of the signal region are on screen below the table, and not on the bare page.
    sr_shading = np.array([0xFD, 0xEA, 0xD2]) / 255  # #f89c20 at 18 % opacity on white
    assert near(figures_area, FIT_BLUE).sum() > 300
    assert near(figures_area, sr_shading, 0.04).sum() > 20_000
    assert near(bare_area, FIT_BLUE).sum() == near(bare_area, sr_shading, 0.04).sum() == 0

"""The discovery-reach figure: read from a reach summary, drawn per method, shown in the run's report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bumphunt.config import parse_config
from bumphunt.errors import DataFormatError, MissingFileError
from bumphunt.report.reach_plots import reach_figure, read_reach

TABLE = {
    "mass_only": [
        {"s_over_b": 0.04, "n_signal": 312.0, "n": 10, "global": [1.8, 1.1, 2.2], "local": [2.6, 1.9, 2.9]},
        {"s_over_b": 0.02, "n_signal": 156.0, "n": 10, "global": [1.2, 0.7, 1.9], "local": [2.0, 1.7, 2.6]},
    ],
    "cathode": [
        {"s_over_b": 0.02, "n_signal": 156.0, "n": 10, "global": [2.2, 0.8, 2.7], "local": [3.4, 2.3, 3.7]},
        {"s_over_b": 0.04, "n_signal": 312.0, "n": 10, "global": [5.0, 3.8, 6.5], "local": [5.8, 4.6, 6.9]},
    ],
}


def write_reach(path: Path, table: object = TABLE) -> Path:
    path.write_text(json.dumps({"table": table, "needed": {}}))
    return path


def test_curves_are_read_in_order_of_the_injected_signal(tmp_path):
    curves = {c.method: c for c in read_reach(write_reach(tmp_path / "reach.json"))}
    assert list(curves) == ["mass_only", "cathode"]
    np.testing.assert_array_equal(curves["mass_only"].n_signal, [156.0, 312.0])
    np.testing.assert_array_equal(curves["mass_only"].median, [1.2, 1.8])
    np.testing.assert_array_equal(curves["cathode"].high, [2.7, 6.5])
    assert curves["mass_only"].label == "mass-only fit"


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, MissingFileError, r"reach summary '.*reach\.json' not found \(output\.reach\)"),
        ("{not json", DataFormatError, r"reach summary '.*reach\.json': not a reach\.json"),
        (json.dumps({"needed": {}}), DataFormatError, r"not a reach\.json .*'table'"),
        (json.dumps({"table": {"cwola": [{"n_signal": 1, "global": [1.0]}]}}), DataFormatError, r"cwola"),
        (json.dumps({"table": {}}), DataFormatError, r"holds no method"),
    ],
)
def test_bad_reach_summaries_name_the_file(tmp_path, content, error, match):
    path = tmp_path / "reach.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=match):
        read_reach(path)


def test_the_figure_draws_each_method_and_marks_the_injection(tmp_path):
    curves = read_reach(write_reach(tmp_path / "reach.json"))
    ax = reach_figure(curves, injected=250.0).axes[0]
    lines = {line.get_gid(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["cathode"].get_ydata(), [2.2, 5.0])
    np.testing.assert_array_equal(lines["mass_only"].get_xdata(), [156.0, 312.0])
    assert lines["injected"].get_xdata()[0] == 250.0
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["mass-only fit", "CATHODE"]
    assert "injected" not in {line.get_gid() for line in reach_figure(curves).axes[0].get_lines()}


def test_a_run_shows_the_reach_figure_and_stops_early_on_a_bad_one(small_config, tmp_path):
    from bumphunt.results import result_figures
    from bumphunt.search import run_search

    config = small_config(tmp_path / "out", name="cwola")
    config["statistics"].update(global_toys=0, efficiencies=[1.0, 0.2])
    config["output"]["reach"] = str(write_reach(tmp_path / "reach.json"))
    cfg = parse_config(config)
    result = run_search(cfg)
    summary = result.summary()
    figures = result_figures(result, summary)
    assert list(figures)[-1] == "reach"
    assert f"this run's {summary.truth.n_signal} injected events" in figures["reach"][1]
    injected = [line for line in figures["reach"][0].axes[0].get_lines() if line.get_gid() == "injected"]
    assert injected[0].get_xdata()[0] == summary.truth.n_signal
    (tmp_path / "reach.json").write_text("[]")
    stages: list[str] = []
    with pytest.raises(DataFormatError, match=r"reach summary '.*reach\.json'"):
        run_search(cfg, progress=lambda stage, done, total: stages.append(stage))
    assert stages == []

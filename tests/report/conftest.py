"""Shared input of the report tests: the summary of a four-window search."""

from __future__ import annotations

import copy
from typing import Any

import pytest

_SUMMARY: dict[str, Any] = {
    "schema": "bumphunt.summary",
    "schema_version": 1,
    "bumphunt_version": "0.1.0",
    "created": "2026-11-23T15:00:00+00:00",
    "name": "demo",
    "config": {
        "data": {"path": "events.h5", "mass_range": [2800.0, 5000.0]},
        "windows": {"sr_width": 400.0, "sb_width": 200.0, "step": 200.0},
        "method": {"name": "cathode", "epochs": 50},
    },
    "data": {
        "path": "/data/lhco/events_anomalydetection.h5",
        "n_events": 60000,
        "features": ["mj_min", "delta_mj", "tau21_jmin", "tau21_jmax"],
        "mass_range": [2800.0, 5000.0],
        "has_labels": True,
        "source": "/data/lhco/events_anomalydetection.h5",
        "n_signal": 300,
        "injection": {"s_over_b": 0.02, "n_signal": 300, "signal_mass": 3500.0},
    },
    "provenance": {"source": "/data/lhco/events_anomalydetection.h5"},
    "method": {"name": "cathode", "settings": {"n_folds": 5, "flow": "maf"}},
    "windows": [
        {
            "label": f"SR [{lo:g}, {lo + 400:g}) GeV",
            "sr": [lo, lo + 400.0],
            "sb": [[lo - 200.0, lo], [lo + 400.0, lo + 600.0]],
            "status": "ok",
            "message": "",
            "n_sr": 13000,
            "n_sb": 9000,
            "local_z": z,
            "seconds": 40.0,
            "p_value": p,
            "best_efficiency": 0.05,
            "points": [
                {"efficiency": 1.0, "n_sr": 13000, "background": 12900.5, "background_error": 80.1,
                 "z": 0.9, "p_value": 0.18, "status": "ok", "message": ""},
                {"efficiency": 0.1, "n_sr": 1300, "background": 1250.0, "background_error": 30.0,
                 "z": 2.1, "p_value": 0.018, "status": "ok", "message": ""},
                {"efficiency": 0.05, "n_sr": 700, "background": 600.0, "background_error": 20.0,
                 "z": z, "p_value": p, "status": "ok", "message": ""},
                {"efficiency": 0.005, "n_sr": 3, "background": None, "background_error": None,
                 "z": 0.0, "p_value": None, "status": "failed", "message": "too few sideband events"},
            ],
            "fit": {"shape": "dijet4", "values": [1.0, 8.0, -5.0, 0.1], "errors": [0.1, 0.2, 0.3, 0.01],
                    "chi2": 10.2, "ndf": 9, "p_value": 0.33},
            "background_check": {"auc": 0.51, "null_std": 0.01, "n_data": 2000, "n_samples": 8000},
            "truth": {"auc": 0.81, "max_sic": 3.2, "n_signal_sr": 250, "n_background_sr": 12750},
        }
        for lo, z, p in (
            (2900.0, 0.4, 0.34), (3100.0, 1.9, 0.029), (3300.0, 4.2, 1.3e-5), (3500.0, 2.2, 0.014)
        )
    ],
    "best_window": 2,
    "local_z": 4.2,
    "global": {"z": 3.1, "z_is_lower_limit": False, "p_value": 0.001, "p_value_error": 0.0007, "n_toys": 200,
               "n_above": 2, "resolved": False, "toys_needed": 2000, "toys": [0.5, 1.0, 3.5],
               "method": "bootstrap of the SB fit"},
    "truth": {"signal_mass": 3500.0, "signal_mass_68": [3450.0, 3550.0], "n_signal": 300,
              "best_window_contains_truth": True},
    "timing": {"total_s": 412.0},
}  # fmt: skip


@pytest.fixture
def summary() -> dict[str, Any]:
    """A full summary of a four-window search (deep copy: tests may edit it)."""
    return copy.deepcopy(_SUMMARY)

"""The dimuon search on generated NanoAOD: what the anomaly score adds to the mass-only fit (issue 14).

Inputs are NanoAOD files written by bumphunt:

* ``--background``: unweighted pseudo-data without Upsilons (``bumphunt generate mix`` of b bbar, c cbar
  and Drell-Yan samples);
* ``--signal``: an unweighted pool of Upsilon events (``bumphunt generate mix`` of an upsilon sample).

The search is the shipped example configuration (``bumphunt config example --dimuon``: SR 9-10.6 GeV,
sidebands 5-9 and 10.6-16 GeV, anti-isolated pairs, CATHODE with boosted-tree ensembles, F-test
choice among odd polynomials), with Upsilons injected at ``--s-over-b`` in the SR and settings given
with ``--set`` as on the command line. For each seed (injection and training) it reports the local
significance of

(a) the mass-only fit: the count in the SR against the sideband fit, no cut (sideband efficiency 1);
(b) the best cut-and-count on a single feature (each feature and its negative as the score, the same
    sideband efficiencies), the largest over features;
(c) cut-and-count on the CATHODE score, the largest over the sideband efficiencies below 1;
(d) likelihood reweighting with the CATHODE score;

and the same on same-sign pairs (no resonance there, nothing injected), with the median and the
68 % band (16th-84th percentiles) over seeds.

Usage:
  python benchmarks/dimuon_search.py --background data.root --signal upsilon.root --s-over-b 0.05 \\
      [--seeds 3] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bumphunt.config import apply_overrides, dimuon_example_yaml, parse_config
from bumphunt.search import build_windows, load_data, run_search
from bumphunt.stats.selection import selection_scan

COLUMNS = ("mass-only (a)", "best single feature (b)", "CATHODE cut (c)", "reweighting (d)")


def search_config(args: argparse.Namespace, seed: int, sign: str, out: Path) -> Any:
    values = yaml.safe_load(dimuon_example_yaml())
    values["data"]["path"] = str(args.background)
    if sign == "opposite":  # Upsilons decay to opposite-sign pairs; the same-sign search gets none
        values["data"]["injection"] = {"signal": str(args.signal), "s_over_b": args.s_over_b, "seed": seed}
    values["data"]["dimuon"]["mass_scan"] = False
    values["method"]["seed"] = seed
    values["output"] = {"directory": str(out), "overwrite": True}
    values = apply_overrides(values, [*args.set, f"data.dimuon.sign={sign}"], "benchmark")
    return parse_config(values, "benchmark configuration")


def single_feature_z(config: Any, data: Any) -> tuple[float, str]:
    """Largest cut-and-count significance with one feature (or its negative) as the score."""
    stats = config.statistics
    window = build_windows(config.windows, config.data.mass_range)[0]
    events = data.events.take(window.in_window(data.events.mass))
    best, best_name = 0.0, ""
    for k, name in enumerate(events.feature_names):
        for sign, label in ((1.0, name), (-1.0, f"-{name}")):
            scan = selection_scan(
                events.mass,
                sign * events.features[:, k],
                window,
                bin_width=stats.bin_width,
                efficiencies=[e for e in stats.efficiencies if e < 1.0],
                shape=stats.shape,
                method=stats.method,
                background=stats.background,
                min_sideband_events=stats.min_sideband_events,
            )
            if scan.max_z > best:
                best, best_name = scan.max_z, label
    return best, best_name


def one_search(args: argparse.Namespace, seed: int, sign: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = search_config(args, seed, sign, Path(tmp) / "results")
        data = load_data(config)
        t0 = time.perf_counter()
        result = run_search(config, data=data)
        seconds = time.perf_counter() - t0
    window = result.windows[0]
    if window.scan is None:
        return {"status": f"failed: {window.message}", "seconds": seconds}
    points = {p.efficiency: p for p in window.scan.points if p.status == "ok"}
    uncut = points.get(1.0)
    cut = [p.z for e, p in points.items() if e < 1.0]
    single, feature = single_feature_z(config, data)
    return {
        "status": "ok",
        "seconds": seconds,
        "z": (
            uncut.z if uncut is not None else float("nan"),
            single,
            max(cut) if cut else float("nan"),
            window.reweighted["z"] if window.reweighted else float("nan"),
        ),
        "feature": feature,
        "n_sr": int(window.window.in_sr(window.mass).sum()),
        "n_signal_sr": (data.injection or {}).get("n_signal_sr"),
        "shape": window.shape_choice["chosen"] if window.shape_choice else config.statistics.shape,
    }


def band(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "-"
    low, mid, high = np.percentile(v, [16, 50, 84])
    return f"{mid:.2f} [{low:.2f}, {high:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--background", type=Path, required=True)
    parser.add_argument("--signal", type=Path, required=True)
    parser.add_argument("--s-over-b", type=float, required=True, help="injected S/B in the SR")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    rows: dict[str, list[dict[str, Any]]] = {"opposite": [], "same": []}
    for seed in range(1, args.seeds + 1):
        for sign in rows:
            row = one_search(args, seed, sign)
            rows[sign].append(row)
            z = " ".join(f"{v:.2f}" for v in row.get("z", ()))
            print(
                f"seed {seed} {sign}-sign: {row['status']}; Z (a b c d) = {z}; best feature "
                f"{row.get('feature')}; SR events {row.get('n_sr')} (signal {row.get('n_signal_sr')}); "
                f"shape {row.get('shape')}; {row['seconds']:.0f} s",
                flush=True,
            )
    print(f"\nS/B = {args.s_over_b:g} in the SR, {args.seeds} seeds: median [68 % band] of the local Z")
    print("| pairs | " + " | ".join(COLUMNS) + " |")
    print("| --- " * (len(COLUMNS) + 1) + "|")
    for sign, results in rows.items():
        ok = [r for r in results if r["status"] == "ok"]
        cells = [band([r["z"][i] for r in ok]) for i in range(len(COLUMNS))]
        print(f"| {sign}-sign | " + " | ".join(cells) + " |")
    ok = [r for r in rows["opposite"] if r["status"] == "ok"]
    if ok:
        a = np.median([r["z"][0] for r in ok])
        best = max(np.median([r["z"][2] for r in ok]), np.median([r["z"][3] for r in ok]))
        print(f"\nratio of the better of (c), (d) to (a), medians: {best / a:.2f}" if a > 0 else "")


if __name__ == "__main__":
    main()

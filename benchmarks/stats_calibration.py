"""Calibration figures of bumphunt.stats on toys of known truth, and the cross-check with pyBumpHunter.

Prints, on background-only toys in the window SB 2000-3300 | SR 3300-3700 | SB 3700-7000 GeV:

* parameter pulls (mean, width) of sideband fits of the dijet 3/4/5-parameter functions and a cubic
  polynomial (1e6 events per toy; the dijet normalisation in ln p0), and the pull of the SR prediction;
* the rate at which the F-test and the likelihood-ratio test pick the true number of parameters;
* the uniformity (KS p-value) of the local p-values of cut-and-count and of the signal-plus-background
  fit, and the fraction of toys beyond 2 sigma (expected 0.0228);
* the agreement of the BumpHunter scan with pyBumpHunter on the same histograms (local p-values, global
  p-value), and the time per fit.

Usage: python benchmarks/stats_calibration.py [N_TOYS] [SEED]   (defaults 1000 and 1; about 3 minutes)
"""

from __future__ import annotations

import contextlib
import io
import sys
import time

import numpy as np

from bumphunt.stats import (
    Window,
    bumphunter,
    choose_shape,
    fit_background,
    get_shape,
    null_p_values,
    window_edges,
)

WINDOW = Window.from_edges(2000.0, 3300.0, 3700.0, 7000.0)
BIN_WIDTH = 50.0
TRUTHS = {
    "dijet3": (1.0, 10.0, 5.0),
    "dijet4": (1.0, 10.0, 5.0, 1.0),
    "dijet5": (1.0, 10.0, 5.0, 0.5, 0.1),
    "poly3": (60.0, -70.0, 30.0, -5.0),
}


def truth(name: str, n_events: float):
    shape = get_shape(name, (WINDOW.sb_low, WINDOW.sb_high))
    p = np.array(TRUTHS[name])
    scale = n_events / shape.bin_integrals([WINDOW.sb_low, WINDOW.sb_high], p)[0]
    if shape.log_linear:
        p[0] *= scale
    else:
        p *= scale
    return shape, p


def pulls(n_toys: int, seed: int) -> None:
    edges = window_edges(WINDOW, BIN_WIDTH)
    sidebands = ~WINDOW.in_sr(0.5 * (edges[1:] + edges[:-1]))
    rng = np.random.default_rng(seed)
    print(f"Sideband-fit pulls over {n_toys} toys of 1e6 events (parameters..., SR prediction):")
    for name in TRUTHS:
        shape, p_true = truth(name, 1e6)
        mu = shape.bin_integrals(edges, p_true)
        sr_true = mu[~sidebands].sum()
        rows, start = [], time.perf_counter()
        for _ in range(n_toys):
            fit = fit_background(rng.poisson(mu), edges, shape, fitted=sidebands)
            v, e, t = fit.values.copy(), fit.errors.copy(), p_true.copy()
            if shape.log_linear:
                v[0], e[0], t[0] = np.log(v[0]), e[0] / v[0], np.log(t[0])
            b, b_err = fit.integral(WINDOW.sr_low, WINDOW.sr_high)
            rows.append([*((v - t) / e), (b - sr_true) / b_err])
        per_fit = (time.perf_counter() - start) / n_toys * 1e3
        rows = np.array(rows)
        print(f"  {name}: means {np.round(rows.mean(0), 3).tolist()}")
        print(f"  {name}: widths {np.round(rows.std(0), 3).tolist()}  ({per_fit:.1f} ms per fit)")


def f_test(n_toys: int, seed: int) -> None:
    edges = window_edges(WINDOW, BIN_WIDTH)
    sidebands = ~WINDOW.in_sr(0.5 * (edges[1:] + edges[:-1]))
    rng = np.random.default_rng(seed)
    print(f"Choice of the number of parameters over {n_toys} toys (alpha = 0.05):")
    cases = [("dijet3", ("dijet3", "dijet4", "dijet5")), ("dijet4", ("dijet3", "dijet4", "dijet5")),
             ("poly3", ("poly1", "poly2", "poly3", "poly4"))]  # fmt: skip
    for name, shapes in cases:
        shape, p_true = truth(name, 1e6)
        mu = shape.bin_integrals(edges, p_true)
        for test in ("f", "lr"):
            chosen = [
                choose_shape(rng.poisson(mu), edges, shapes, fitted=sidebands, test=test).best.shape.name
                for _ in range(n_toys)
            ]
            print(f"  truth {name}, {test}-test: picks the truth in {np.mean(np.array(chosen) == name):.3f}")


def p_value_uniformity(n_toys: int, seed: int) -> None:
    shape, p_true = truth("dijet4", 1e5)
    print(f"Local p-values on {n_toys} background-only toys (dijet4, 1e5 events per toy):")
    for method, width in (("cut_and_count", None), ("signal_fit", 100.0)):
        r = null_p_values(
            shape,
            p_true,
            WINDOW,
            bin_width=BIN_WIDTH,
            n_toys=n_toys,
            seed=seed,
            method=method,
            signal_width=width,
        )
        print(
            f"  {method}: KS p-value {r.ks_p_value:.3f}, beyond 2 sigma {r.fraction_beyond_2sigma:.4f} "
            f"+- {r.fraction_beyond_2sigma_error:.4f} (expected 0.0228), failed fits {r.n_failed}"
        )


def pybumphunter_agreement(n_toys: int, seed: int) -> None:
    from pyBumpHunter import BumpHunter1D

    edges = np.linspace(2000.0, 6000.0, 41)
    centers = 0.5 * (edges[1:] + edges[:-1])
    reference = 8e3 * np.exp(-(centers - 2000.0) / 600.0)
    data = np.random.default_rng(seed).poisson(reference)
    data[14:17] += np.array([15, 25, 15])
    hunter = BumpHunter1D(
        rang=[2000.0, 6000.0], bins=edges, width_min=1, width_max=6, npe=n_toys, nworker=1, seed=seed
    )
    with contextlib.redirect_stdout(io.StringIO()):
        hunter.bump_scan(data, reference, is_hist=True)
    ours = bumphunter(data, reference, edges, n_toys=n_toys, seed=seed, width_min=1, width_max=6)
    theirs = np.concatenate([np.atleast_1d(r) for r in hunter.res_ar])
    rel = np.max(np.abs(ours.p_values - theirs) / theirs)
    err = np.hypot(ours.global_p_value_error, np.sqrt(hunter.global_Pval * (1 - hunter.global_Pval) / n_toys))
    print(f"BumpHunter vs pyBumpHunter ({ours.p_values.size} windows, {n_toys} toys each):")
    print(f"  largest relative difference of local p-values: {rel:.2e}")
    print(
        f"  t: {ours.t:.4f} vs {hunter.t_ar[0]:.4f}; best window {ours.best_low:.0f}-{ours.best_high:.0f} GeV"
    )
    print(
        f"  global p-value: {ours.global_p_value:.4f} vs {hunter.global_Pval:.4f} "
        f"(difference {abs(ours.global_p_value - hunter.global_Pval) / err:.2f} combined standard errors)"
    )


def main(n_toys: int = 1000, seed: int = 1) -> None:
    pulls(n_toys, seed)
    f_test(max(n_toys // 2, 100), seed)
    p_value_uniformity(n_toys, seed)
    pybumphunter_agreement(max(n_toys, 2000), seed)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

"""Reference numbers of the generated physics, the source of the tolerances in tests/generate.

Prints, for N selected signal and QCD events: the signal mjj median and 16/84 % quantiles, the heavier
and lighter jet mass medians, tau21 medians of the heavier jet, and the QCD mjj spectrum in 250 GeV bins
above 2.5 TeV with the fitted local slope.

Usage: python benchmarks/reference_physics.py [N] [SEED]
"""

from __future__ import annotations

import sys

import numpy as np

from bumphunt.generate import generate_chunk, qcd_dijet, wprime_to_xy
from bumphunt.physics.kinematics import dijet_mass


def tau21_heavier(f: np.ndarray) -> np.ndarray:
    return np.where(f[:, 3] >= f[:, 10], f[:, 5] / f[:, 4], f[:, 12] / f[:, 11])


def main(n: int = 2000, seed: int = 1) -> None:
    signal = generate_chunk(wprime_to_xy(), n, seed).features
    qcd = generate_chunk(qcd_dijet(), n, seed)
    mjj = dijet_mass(signal)
    q16, q50, q84 = np.percentile(mjj, [16, 50, 84])
    print(f"signal ({n} events, seed {seed}): mjj median {q50:.0f} GeV (16-84 %: {q16:.0f}-{q84:.0f})")
    print(f"  heavier jet mass median {np.median(np.maximum(signal[:, 3], signal[:, 10])):.1f} GeV, "
          f"lighter {np.median(np.minimum(signal[:, 3], signal[:, 10])):.1f} GeV")  # fmt: skip
    print(f"  tau21 (heavier jet) median: signal {np.median(tau21_heavier(signal)):.3f}, "
          f"QCD {np.median(tau21_heavier(qcd.features)):.3f}")  # fmt: skip
    mjj_qcd = dijet_mass(qcd.features)
    edges = np.arange(2500.0, 4501.0, 250.0)
    counts, _ = np.histogram(mjj_qcd, edges)
    efficiency = qcd.n_passed / qcd.n_generated
    print(f"QCD ({n} events; efficiency {efficiency:.3f}): median mjj {np.median(mjj_qcd):.0f} GeV")
    for lo, c in zip(edges[:-1], counts, strict=True):
        print(f"  mjj {lo:.0f}-{lo + 250:.0f} GeV: {c}")
    ok = counts > 0
    centres = edges[:-1] + 125.0
    slope = np.polyfit(centres[ok], np.log(counts[ok]), 1, w=np.sqrt(counts[ok]))[0]
    print(f"  falls by a factor {np.exp(-slope * 1000):.1f} per TeV above 2.5 TeV")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

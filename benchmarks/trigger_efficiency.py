"""How low must PhaseSpace:pTHatMin be for the LHCO trigger to be fully efficient above mjj = 2.5 TeV?

Generates QCD dijets with a loose cut (pTHat > 500 GeV), applies the trigger (leading anti-kT R = 1.0
jet pT > 1.2 TeV), and prints, for triggered events with mjj above 2.5 TeV, the fraction that came from
pTHat below each candidate cut. A cut is safe when that fraction is negligible: every event a user
would analyse above 2.5 TeV is then generated with it.

Usage: python benchmarks/trigger_efficiency.py [N_SELECTED] [SEED]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bumphunt.generate.cards import qcd_dijet
from bumphunt.generate.pythia_loop import generate_chunk
from bumphunt.physics.kinematics import dijet_mass


def main(n_events: int = 2000, seed: int = 11) -> None:
    start = time.perf_counter()
    chunk = generate_chunk(qcd_dijet(pthat_min=500.0), n_events, seed)
    mjj = dijet_mass(chunk.features)
    high = mjj > 2500.0
    seconds = time.perf_counter() - start
    print(f"generated {chunk.n_generated} QCD events with pTHat > 500 GeV in {seconds:.0f} s;")
    print(f"{chunk.n_passed} pass the trigger, {high.sum()} of the kept {len(mjj)} have mjj > 2.5 TeV")
    print("pTHat cut [GeV]   fraction of triggered mjj > 2.5 TeV events below the cut (binomial error)")
    for cut in (600, 700, 800, 900, 1000):
        k = int(np.sum(chunk.pthat[high] < cut))
        n = int(high.sum())
        frac = k / n
        err = np.sqrt(max(frac * (1 - frac), 1.0 / n) / n)
        print(f"{cut:>14}   {frac:.4f} +- {err:.4f}  ({k}/{n})")
    print(
        f"minimum pTHat among triggered events: {chunk.pthat.min():.0f} GeV; "
        f"with mjj > 2.5 TeV: {chunk.pthat[high].min():.0f} GeV"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

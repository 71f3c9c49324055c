"""The W' -> X Y card does what it claims in Pythia's event record."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.generate import make_pythia, qcd_dijet, wprime_to_xy


def test_every_wprime_decays_to_x_and_y_and_those_to_quarks():
    pythia = make_pythia(wprime_to_xy(3000.0, 400.0, 150.0), seed=3)
    batch = pythia.nextBatch(40)
    prt = batch["prt"]
    ids = prt["id"]
    for event in range(len(batch)):
        pid = ak.to_numpy(ids[event])
        daughter1 = ak.to_numpy(prt["daughter1"][event])
        daughter2 = ak.to_numpy(prt["daughter2"][event])
        mass = ak.to_numpy(prt["m"][event])
        # last copy of each resonance in the record carries its decay products
        for resonance, products, nominal in ((34, {35, 37}, 3000.0), (35, None, 400.0), (37, None, 150.0)):
            copies = np.flatnonzero(np.abs(pid) == resonance)
            assert len(copies) > 0, f"no particle {resonance} in event {event}"
            last = copies[-1]
            assert (
                abs(mass[last] / nominal - 1) < 0.2
                if resonance == 34
                else abs(mass[last] / nominal - 1) < 0.03
            )
            children = set(np.abs(pid[daughter1[last] : daughter2[last] + 1]).tolist())
            if products is not None:
                assert children == products
            else:
                assert children <= {1, 2, 3, 4, 5}, f"{resonance} decayed to {children}"


@pytest.mark.parametrize(
    ("masses", "message"),
    [
        ((3500.0, 3000.0, 600.0), r"m_x \+ m_y must be below m_wprime"),
        ((3500.0, -5.0, 100.0), "m_x must be a positive mass"),
    ],
)
def test_bad_masses_are_rejected(masses, message):
    with pytest.raises(ConfigError, match=message):
        wprime_to_xy(*masses)


def test_bad_pthat_is_rejected():
    with pytest.raises(ConfigError, match="pthat_min"):
        qcd_dijet(-1.0)

"""Small generated samples shared by the generator tests (seconds to make)."""

from __future__ import annotations

import pytest

pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

from bumphunt.generate import ChunkResult, generate_chunk, qcd_dijet, wprime_to_xy


@pytest.fixture(scope="session")
def signal_chunk() -> ChunkResult:
    """300 selected W' -> X Y events (mW' = 3500, mX = 500, mY = 100 GeV) with constituents."""
    return generate_chunk(wprime_to_xy(), 300, seed=12345, constituents=True)


@pytest.fixture(scope="session")
def qcd_chunk() -> ChunkResult:
    """300 selected QCD dijet events with pTHat > 1000 GeV.

    At the default cut of 600 GeV only 2.2 % of generated events pass the 1.2 TeV trigger (about 3 min
    for 300, a third of the suite); at 1000 GeV 41 % do (8 s). The spectrum above the trigger turn-on,
    which these tests check, is the same (README: how the default pTHatMin was chosen).
    """
    return generate_chunk(qcd_dijet(1000.0), 300, seed=54321)

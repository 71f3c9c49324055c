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
    """300 selected QCD dijet events with the default pTHat cut."""
    return generate_chunk(qcd_dijet(), 300, seed=54321)

"""A small generated top-pair lepton sample shared by the lepton tests (about 15 s to make)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def lepton_file(build_once) -> Path:
    """600 ttbar events with a stored lepton (``bumphunt generate ttbar-leptons``, seed 7)."""
    pytest.importorskip("pythia8mc")
    from bumphunt.generate import LeptonPlan, generate_leptons
    from bumphunt.generate.cards import ttbar

    plan = LeptonPlan(ttbar(), n_events=600, seed=7, chunk_size=300)
    name = "ttbar_leptons.root"
    return build_once("leptons", lambda folder: generate_leptons(plan, folder / name)) / name

"""Small generated 7 TeV samples shared by the mass-bin scan tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mod_samples(tmp_path_factory) -> dict[str, Path]:
    """MOD HDF5 files of 700 QCD dijet events (pTHat > 350 GeV) and 300 Z' (950 GeV) -> q qbar events."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from bumphunt.generate.cards import qcd_dijets_7tev, zprime_to_dijets_7tev
    from bumphunt.generate.mod_dijets import ModPlan, generate_mod_dijets

    folder = tmp_path_factory.mktemp("mod")
    # one worker process: under pytest-xdist this test process has one core's share
    files = {"qcd": folder / "qcd.h5", "zprime": folder / "zprime.h5"}
    generate_mod_dijets(ModPlan(qcd_dijets_7tev(350.0), n_events=700, seed=3, chunk_size=350), files["qcd"])
    generate_mod_dijets(
        ModPlan(zprime_to_dijets_7tev(950.0), n_events=300, seed=4, chunk_size=150),
        files["zprime"],
    )
    return files

"""Inputs for the reader tests: generated LHCO files and small files written here."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def generated_nanoaod(tmp_path_factory) -> Path:
    """40 Drell-Yan dimuon events from the generator as a NanoAOD file, about 3 s."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from bumphunt.generate import DimuonPlan, generate_dimuon
    from bumphunt.generate.cards import drell_yan

    path = tmp_path_factory.mktemp("nanoaod") / "dy.root"
    generate_dimuon(DimuonPlan(drell_yan(), n_events=40, seed=2, chunk_size=40), path)
    return path

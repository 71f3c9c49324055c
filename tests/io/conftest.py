"""Inputs for the reader tests: generated LHCO files and small files written here."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def generated_lhco(tmp_path_factory) -> tuple[Path, Path]:
    """20 W' -> X Y events from the generator: (features file, constituents file), about 5 s."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from bumphunt.generate import GenerationPlan, generate, wprime_to_xy

    out = tmp_path_factory.mktemp("lhco")
    plan = GenerationPlan(wprime_to_xy(), n_events=20, seed=1, chunk_size=20, constituents=True)
    generate(plan, [out / "features.h5"], constituents_output=out / "constituents.h5")
    return out / "features.h5", out / "constituents.h5"


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

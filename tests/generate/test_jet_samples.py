"""Jet samples: the leading jet in a pT window, for QCD and the substructure signals."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.generate import JET_PROCESSES, JetPlan, JetSelection, generate_jet_chunk, generate_jets
from bumphunt.generate.cards import wprime_to_scalars
from bumphunt.io.lhco_constituents import iter_lhco_constituents


def _jet_kinematics(constituents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pT, eta and mass (GeV, -, GeV) of jets given as padded massless constituents (pT, eta, phi)."""
    pt, eta, phi = constituents[..., 0], constituents[..., 1], constituents[..., 2]
    px, py = (pt * np.cos(phi)).sum(1), (pt * np.sin(phi)).sum(1)
    pz, e = (pt * np.sinh(eta)).sum(1), (pt * np.cosh(eta)).sum(1)
    jet_pt = np.hypot(px, py)
    return jet_pt, np.arcsinh(pz / jet_pt), np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))


@pytest.mark.parametrize(("process", "mass_range"), [("top", (140.0, 220.0)), ("w", (70.0, 120.0))])
def test_signal_jets_lie_in_the_window_and_carry_their_particle_mass(process, mass_range):
    result = generate_jet_chunk(JET_PROCESSES[process](), 40, seed=7)
    pt, eta, mass = _jet_kinematics(result.constituents)
    assert result.constituents.shape == (40, 200, 3)
    # the jet of the constituents is the selected jet: its pT in the window, |eta| < 2
    assert np.all((pt >= 550.0 - 1e-6) & (pt <= 650.0 + 1e-6)) and np.all(np.abs(eta) < 2.0)
    # boosted tops and W bosons: the jet mass peaks near the particle mass (plus underlying event)
    assert mass_range[0] < np.median(mass) < mass_range[1]
    assert result.n_generated >= result.n_passed >= 40 and result.sigma_mb > 0


def test_jets_file_streams_back_with_the_label(tmp_path):
    plan = JetPlan(JET_PROCESSES["qcd"](), n_events=30, seed=3, chunk_size=15, selection=JetSelection())
    summary = generate_jets(plan, tmp_path / "qcd.h5")
    assert summary.provenance["n_events"] == 30 and summary.provenance["label"] == 0
    chunks = list(iter_lhco_constituents(tmp_path / "qcd.h5", chunk_size=100))
    assert sum(len(c.particles) for c in chunks) == 30
    assert np.all(chunks[0].label == 0)


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="pt_min < pt_max"):
        JetSelection(pt_min=700.0, pt_max=600.0)
    with pytest.raises(ConfigError, match="2 m_light < m_heavy"):
        wprime_to_scalars(m_heavy=100.0, m_light=80.0)
    with pytest.raises(ConfigError, match="pthat_min < pthat_max"):
        JET_PROCESSES["qcd"](500.0, 400.0)


def test_command_line_names_a_bad_process(tmp_path, capsys):
    from bumphunt.cli import main

    assert main(["generate", "jets", "--process", "gluino", "-n", "5", "-o", str(tmp_path / "x.h5")]) == 2
    assert "unknown process 'gluino'" in capsys.readouterr().err
    assert main(["generate", "jets", "-n", "5", "-o", str(tmp_path / "x.h5"), "--mass", "900"]) == 2
    assert "--mass applies to the signal processes only" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()

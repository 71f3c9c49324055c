"""Event generation with Pythia 8 and FastJet: dijets in the LHC Olympics R&D formats, jet samples (the
leading jet in a pT window) in the LHCO constituents layout, dimuons in CMS NanoAOD format,
electrons and muons of top-pair events in a flat ntuple.

Example
-------
>>> from bumphunt.generate import GenerationPlan, generate, wprime_to_xy
>>> plan = GenerationPlan(wprime_to_xy(3500, 500, 100), n_events=1000, seed=1)
>>> summary = generate(plan, ["signal.h5"], workers=2)  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from bumphunt._lazy import lazy_exports

if TYPE_CHECKING:
    from bumphunt.generate.cards import (
        DEFAULT_PTHAT_MIN,
        DIMUON_PROCESSES,
        JET_PROCESSES,
        PROCESSES,
        ProcessCard,
        qcd_dijet,
        wprime_to_xy,
    )
    from bumphunt.generate.dimuon import DimuonPlan, generate_dimuon
    from bumphunt.generate.jet_loop import JetSelection, generate_jet_chunk
    from bumphunt.generate.leptons import LeptonPlan, generate_leptons
    from bumphunt.generate.pythia_loop import ChunkResult, DijetSelection, generate_chunk, make_pythia
    from bumphunt.generate.run import GenerationPlan, GenerationSummary, JetPlan, generate, generate_jets

# each public name is imported from its submodule on first use (bumphunt._lazy)
_SUBMODULES = {
    "ChunkResult": "pythia_loop",
    "DEFAULT_PTHAT_MIN": "cards",
    "DIMUON_PROCESSES": "cards",
    "DijetSelection": "pythia_loop",
    "DimuonPlan": "dimuon",
    "GenerationPlan": "run",
    "GenerationSummary": "run",
    "JET_PROCESSES": "cards",
    "JetPlan": "run",
    "JetSelection": "jet_loop",
    "LeptonPlan": "leptons",
    "PROCESSES": "cards",
    "ProcessCard": "cards",
    "generate": "run",
    "generate_chunk": "pythia_loop",
    "generate_dimuon": "dimuon",
    "generate_jet_chunk": "jet_loop",
    "generate_jets": "run",
    "generate_leptons": "leptons",
    "make_pythia": "pythia_loop",
    "qcd_dijet": "cards",
    "wprime_to_xy": "cards",
}

__all__ = [
    "DEFAULT_PTHAT_MIN",
    "DIMUON_PROCESSES",
    "JET_PROCESSES",
    "PROCESSES",
    "ChunkResult",
    "DijetSelection",
    "DimuonPlan",
    "GenerationPlan",
    "GenerationSummary",
    "JetPlan",
    "JetSelection",
    "LeptonPlan",
    "ProcessCard",
    "generate",
    "generate_chunk",
    "generate_dimuon",
    "generate_jet_chunk",
    "generate_jets",
    "generate_leptons",
    "make_pythia",
    "qcd_dijet",
    "wprime_to_xy",
]

__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, globals())

"""Event generation with Pythia 8 and FastJet: dijets in the LHC Olympics R&D formats, dimuons in CMS
NanoAOD format.

Example
-------
>>> from bumphunt.generate import GenerationPlan, generate, wprime_to_xy
>>> plan = GenerationPlan(wprime_to_xy(3500, 500, 100), n_events=1000, seed=1)
>>> summary = generate(plan, ["signal.h5"], workers=2)  # doctest: +SKIP
"""

from bumphunt.generate.cards import (
    DEFAULT_PTHAT_MIN,
    DIMUON_PROCESSES,
    PROCESSES,
    ProcessCard,
    qcd_dijet,
    wprime_to_xy,
)
from bumphunt.generate.dimuon import DimuonPlan, generate_dimuon
from bumphunt.generate.pythia_loop import ChunkResult, DijetSelection, generate_chunk, make_pythia
from bumphunt.generate.run import GenerationPlan, GenerationSummary, generate

__all__ = [
    "DEFAULT_PTHAT_MIN",
    "DIMUON_PROCESSES",
    "PROCESSES",
    "ChunkResult",
    "DijetSelection",
    "DimuonPlan",
    "GenerationPlan",
    "GenerationSummary",
    "ProcessCard",
    "generate",
    "generate_chunk",
    "generate_dimuon",
    "make_pythia",
    "qcd_dijet",
    "wprime_to_xy",
]

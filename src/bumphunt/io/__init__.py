"""Readers and writers for the file formats of collider physics.

Every reader returns an :class:`~bumphunt.events.EventSet` (or, for object-level content, a pandas
table) and documents the exact layout it expects:

================================  =====================================================================
reader                            layout
================================  =====================================================================
:func:`read_lhco_features`        LHC Olympics R&D high-level features (pandas HDF5)
:func:`read_lhco_constituents`    LHC Olympics R&D constituents (pandas HDF5, streamed), FastJet
:func:`iter_lhco_constituents`    the same, chunk by chunk, without clustering
:func:`read_dimuons`              CMS NanoAOD, TTree or RNTuple: dimuon candidates
:func:`read_leptons`              CMS NanoAOD: electrons and muons (lepton table)
:func:`read_jets`                 CMS NanoAOD: jets
:func:`read_flat_leptons`         flat ntuples with Px, Py, Pz, E (lepton table)
:func:`read_lepton_sample`        any lepton file (flat ntuple, NanoAOD, labelled table), both flavours
:func:`read_mod_jets`             energyflow MOD HDF5: jets and particles, grouped by event
:func:`read_mod_dijets`           energyflow MOD HDF5: dijet mass per event
:func:`read_mod_dijet_particles`  energyflow MOD HDF5: dijet mass and the two jets' particles
:func:`read_table`                Parquet / CSV / pandas HDF5 with a column mapping
================================  =====================================================================

:func:`read_events` reads any layout a search can use, recognized by :func:`detect_layout` (the rule
``bumphunt inspect`` and ``bumphunt run`` share); :func:`inspect_file` says what a file holds;
:mod:`bumphunt.io.registry` downloads public datasets.
"""

from typing import TYPE_CHECKING

from bumphunt._lazy import lazy_exports

if TYPE_CHECKING:
    from bumphunt.io.auto import FileLayout, detect_layout, read_events
    from bumphunt.io.flat_ntuple import read_flat_leptons
    from bumphunt.io.inspect import FileSummary, inspect_file
    from bumphunt.io.lepton_files import read_lepton_sample
    from bumphunt.io.lhco_constituents import ConstituentChunk, iter_lhco_constituents, read_lhco_constituents
    from bumphunt.io.lhco_features import read_lhco_features
    from bumphunt.io.mod_hdf5 import (
        ModDijets,
        ModJets,
        read_mod_dijet_particles,
        read_mod_dijets,
        read_mod_jets,
    )
    from bumphunt.io.nanoaod import Dimuons, read_dimuons, read_jets, read_leptons
    from bumphunt.io.table_reader import read_table

# each public name is imported from its submodule on first use (bumphunt._lazy)
_SUBMODULES = {
    "ConstituentChunk": "lhco_constituents",
    "Dimuons": "nanoaod",
    "FileLayout": "auto",
    "FileSummary": "inspect",
    "ModDijets": "mod_hdf5",
    "ModJets": "mod_hdf5",
    "detect_layout": "auto",
    "inspect_file": "inspect",
    "iter_lhco_constituents": "lhco_constituents",
    "read_dimuons": "nanoaod",
    "read_events": "auto",
    "read_flat_leptons": "flat_ntuple",
    "read_jets": "nanoaod",
    "read_lepton_sample": "lepton_files",
    "read_leptons": "nanoaod",
    "read_lhco_constituents": "lhco_constituents",
    "read_lhco_features": "lhco_features",
    "read_mod_dijet_particles": "mod_hdf5",
    "read_mod_dijets": "mod_hdf5",
    "read_mod_jets": "mod_hdf5",
    "read_table": "table_reader",
}

__all__ = [
    "ConstituentChunk",
    "Dimuons",
    "FileLayout",
    "FileSummary",
    "ModDijets",
    "ModJets",
    "detect_layout",
    "inspect_file",
    "iter_lhco_constituents",
    "read_dimuons",
    "read_events",
    "read_flat_leptons",
    "read_jets",
    "read_lepton_sample",
    "read_leptons",
    "read_lhco_constituents",
    "read_lhco_features",
    "read_mod_dijet_particles",
    "read_mod_dijets",
    "read_mod_jets",
    "read_table",
]

__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, globals())

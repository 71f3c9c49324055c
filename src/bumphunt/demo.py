"""The demonstration search that ships with bumphunt: ``bumphunt demo``.

The package carries a compact dataset made by ``bumphunt generate dijet`` (the commands and seeds are in
each file's provenance, :func:`demo_provenance`):

* ``background.parquet``: QCD dijet events (Pythia 8 + FastJet, LHC Olympics selection) with
  ``mjj`` in the demo's mass range, float32;
* ``signal.parquet``: W' (3.5 TeV) -> X (500 GeV) Y (100 GeV) -> four quarks, the signal pool.

:func:`demo_config` injects signal at :data:`DEMO_S_OVER_B` into the background and runs a CATHODE scan
of sliding windows; ``bumphunt demo`` writes the results directory with the report and prints where the
excess is next to the injected truth.

``bumphunt demo dimuon`` (:func:`dimuon_demo_config`) runs the dimuon search of the shipped example
configuration on generated CMS NanoAOD files (:data:`DIMUON_DEMO_FILES`): unweighted b bbar, c cbar and
Drell-Yan pseudo-data and a pool of Upsilon events, made by ``scripts/make_dimuon_demo_data.py``.
"""

from __future__ import annotations

import os
import shlex
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bumphunt.config import CATHODE_FEATURES, SearchConfig, parse_config
from bumphunt.errors import ConfigError, MissingFileError

__all__ = [
    "DEMO_MASS_RANGE",
    "DEMO_SEED",
    "DEMO_SR",
    "DEMO_S_OVER_B",
    "DIMUON_DEMO_FILES",
    "DIMUON_DEMO_S_OVER_B",
    "build_demo_data",
    "demo_config",
    "demo_data_dir",
    "demo_provenance",
    "dimuon_demo_config",
]

DEMO_MASS_RANGE = (2900.0, 4500.0)
"""Mass range of the shipped events (GeV)."""

DEMO_SR = (3300.0, 3700.0)
"""Reference signal region of the injected S/B (GeV), around the W' mass of 3.5 TeV."""

DEMO_S_OVER_B = 0.028
"""Injected signal over background in :data:`DEMO_SR`: what the defaults need for a median 5 sigma
global (``benchmarks/discovery_reach.py``: S/B 4 % on half of these events, the same S/sqrt(B) as
4 %/sqrt(2) on all of them)."""

DEMO_SEED = 2
"""Seed of the choice of injected signal events."""


#: The dimuon demo's files: unweighted pseudo-data of b bbar, c cbar and Drell-Yan events, and a pool
#: of unweighted Upsilon events (``bumphunt generate dimuon`` then ``bumphunt generate mix``; the
#: commands are in ``scripts/make_dimuon_demo_data.py`` and in each file's provenance).
DIMUON_DEMO_FILES = ("dimuon_background.root", "dimuon_upsilon.root")

#: Upsilon events injected over the background in the SR 9-10.6 GeV of the dimuon demo.
DIMUON_DEMO_S_OVER_B = 0.1


def demo_data_dir(files: tuple[str, ...] = ("background.parquet", "signal.parquet")) -> Path:
    """Folder of the shipped demo files.

    Parameters
    ----------
    files
        The files that must be there (the dijet demo's by default, :data:`DIMUON_DEMO_FILES`).

    Raises
    ------
    MissingFileError
        If the installation lacks them.
    """
    folder = Path(str(resources.files("bumphunt") / "data" / "demo"))
    for name in files:
        if not (folder / name).is_file():
            raise MissingFileError(f"demo file {str(folder / name)!r} is missing from this installation")
    return folder


def demo_config(output: str | os.PathLike[str] = "bumphunt-demo", *, overwrite: bool = False) -> SearchConfig:
    """The demo search: CATHODE on a 400 GeV sliding window over the shipped events with the library's
    defaults (every event of the range outside each SR as its sidebands).

    Parameters
    ----------
    output
        Results directory.
    overwrite
        Replace an existing results directory.
    """
    folder = demo_data_dir()
    return parse_config(
        {
            "name": "demo: W' -> XY in QCD dijets, CATHODE window scan",
            "data": {
                "path": str(folder / "background.parquet"),
                "features": list(CATHODE_FEATURES),
                "mass_range": list(DEMO_MASS_RANGE),
                "injection": {
                    "signal": str(folder / "signal.parquet"),
                    "s_over_b": DEMO_S_OVER_B,
                    "sr": list(DEMO_SR),
                    "seed": DEMO_SEED,
                },
            },
            "windows": {
                "sideband_width": 200.0,
                "scan": {
                    "start": DEMO_MASS_RANGE[0],
                    "stop": DEMO_MASS_RANGE[1],
                    "sr_width": 400.0,
                    "step": 200.0,
                },
            },
            "method": {"name": "cathode", "seed": 0},  # the library's defaults
            "statistics": {
                "efficiencies": [1.0, 0.2, 0.1, 0.05, 0.02],
                "bin_width": 50.0,
                "global_toys": 500,
            },
            "output": {"directory": str(output), "overwrite": overwrite},
        },
        "demo configuration",
    )


def dimuon_demo_config(
    output: str | os.PathLike[str] = "bumphunt-demo-dimuon", *, overwrite: bool = False
) -> SearchConfig:
    """The dimuon demo: the shipped example search (:func:`bumphunt.config.dimuon_example_yaml`) on the
    shipped generated NanoAOD pseudo-data, with Upsilons injected at :data:`DIMUON_DEMO_S_OVER_B`.

    All opposite-sign pairs are searched, with the muon impact parameters and isolations as features:
    the generated Upsilons (Pythia's NRQCD production) are isolated, so the anti-isolated region of the
    example holds none of them. The same-sign pairs are searched too, as the validation. The
    mass-only scan of the whole spectrum is left out: the generated heavy-flavour pairs (pair creation
    only, both muons above 3 GeV) rise from 5 to 8 GeV, a shape the smooth reference of the scan, made
    for the falling spectra of collision data, does not follow.
    """
    import yaml

    from bumphunt.config import dimuon_example_yaml

    folder = demo_data_dir(DIMUON_DEMO_FILES)
    values = yaml.safe_load(dimuon_example_yaml())
    values["name"] = "demo: Upsilons injected into generated heavy-flavour and Drell-Yan dimuons"
    values["data"]["path"] = str(folder / DIMUON_DEMO_FILES[0])
    values["data"]["dimuon"].update(isolation=[], tight_id=True, validate_other_sign=True, mass_scan=False)
    values["method"]["flow"]["batch_size"] = 256  # a few thousand events: more than one step per epoch
    values["data"]["injection"] = {
        "signal": str(folder / DIMUON_DEMO_FILES[1]),
        "s_over_b": DIMUON_DEMO_S_OVER_B,
        "seed": DEMO_SEED,
    }
    values["output"] = {"directory": str(output), "overwrite": overwrite}
    return parse_config(values, "dimuon demo configuration")


def demo_provenance() -> dict[str, Any]:
    """Provenance of the shipped files (generator commands, seeds, selection)."""
    from bumphunt.events import EventSet

    folder = demo_data_dir()
    return {
        name: dict(EventSet.from_parquet(folder / f"{name}.parquet").provenance)
        for name in ("background", "signal")
    }


def build_demo_data(
    background: str | os.PathLike[str],
    signal: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    mass_range: tuple[float, float] = DEMO_MASS_RANGE,
    n_background: int | None = None,
    n_signal: int = 2000,
    seed: int = 0,
) -> dict[str, Path]:
    """Write the demo files from two ``bumphunt generate dijet`` outputs (LHCO HDF5).

    Parameters
    ----------
    background, signal
        Generated QCD and W' files.
    output_dir
        Folder for ``background.parquet`` and ``signal.parquet`` (float32).
    mass_range
        Keep events with ``mjj`` in ``[low, high)`` (GeV).
    n_background
        Keep the first ``n_background`` background events of the file (all if None) before the mass cut.
    n_signal
        Signal events to keep, drawn with ``seed`` from those in the mass range.
    seed
        Seed of the choice of signal events.

    Returns
    -------
    dict
        Paths of the two files.
    """
    from bumphunt.events import EventSet
    from bumphunt.io.lhco_features import read_lhco_features

    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
    out = Path(output_dir)
    qcd = read_lhco_features(background)
    if n_background is not None:
        qcd = qcd.take(np.arange(min(n_background, len(qcd))))
    qcd = qcd.in_mass(mass_range)
    sig = read_lhco_features(signal).in_mass(mass_range)
    if n_signal > len(sig):
        raise ConfigError(
            f"n_signal = {n_signal} but {signal} has {len(sig)} events in {list(mass_range)} GeV"
        )
    sig = sig.take(np.sort(np.random.default_rng(seed).choice(len(sig), n_signal, replace=False)))
    paths = {}
    for name, events, settings in (
        ("background", qcd, {"n_background": n_background}),
        ("signal", sig, {"n_signal": n_signal, "seed": seed}),
    ):
        provenance = {
            **dict(events.provenance),
            "demo_build": {"command": command, "mass_range": list(mass_range), **settings},
        }
        labelled = EventSet(events.mass, events.features, events.feature_names, None, None, provenance)
        paths[name] = labelled.to_parquet(out / f"{name}.parquet", float_dtype="float32")
    if not paths["background"].exists():
        raise MissingFileError(f"{paths['background']} was not written")
    return paths

"""Pseudo-data from generated samples: processes mixed by cross section and unweighted.

Each generated NanoAOD file (:func:`bumphunt.generate.generate_dimuon`) stands for a cross section: an
event carries ``genWeight * sigma_generated / n_generated`` picobarn (both numbers in the file's
provenance). At an integrated luminosity ``L`` (1/pb) an event is expected ``lambda = L * genWeight *
sigma_generated / n_generated`` times. Keeping each event with probability ``lambda`` (which must not
exceed 1) gives an unweighted sample whose process composition and distributions are those of
collision data at that luminosity, with Poisson fluctuations; no event is used twice. The largest
luminosity the inputs support is ``1 / max(event cross section)``, the default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from bumphunt import __version__
from bumphunt._files import existing_file
from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.io.nanoaod_writer import BRANCH_TYPES, read_root_provenance, write_nanoaod
from bumphunt.seeding import SeedLike, seed_sequence

__all__ = ["MixSummary", "event_cross_sections", "mix_samples", "read_generated"]


@dataclass(frozen=True)
class MixSummary:
    """What :func:`mix_samples` wrote.

    Attributes
    ----------
    output
        The file.
    luminosity_pb
        Integrated luminosity (1/pb) the sample stands for.
    kept
        Events kept from each input, by file name.
    expected
        Expected events from each input at that luminosity.
    provenance
        The provenance stored in the file.
    """

    output: Path
    luminosity_pb: float
    kept: dict[str, int]
    expected: dict[str, float]
    provenance: dict[str, Any]


def read_generated(path: str | os.PathLike[str]) -> tuple[ak.Array, dict[str, Any]]:
    """The events of a generated NanoAOD file as records (``genWeight``, ``MET_*``, ``Muon``, ``Jet``)
    and its provenance.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the file has no bumphunt provenance (it was not made by the generator).
    """
    path = existing_file(path)
    provenance = read_root_provenance(path)
    if "sigma_generated_pb" not in provenance:
        raise DataFormatError(
            f"file {str(path)!r}: no generator provenance (sigma_generated_pb); mix only files that "
            "`bumphunt generate dimuon` wrote"
        )
    with uproot.open(path) as file:
        tree = file["Events"]
        fields: dict[str, Any] = {name: tree[name].array(library="np") for name in BRANCH_TYPES[None]}
        for collection, quantities in BRANCH_TYPES.items():
            if collection is None:
                continue
            arrays = tree.arrays([f"{collection}_{q}" for q in quantities])
            fields[collection] = ak.zip({q: arrays[f"{collection}_{q}"] for q in quantities})
    return ak.zip(fields, depth_limit=1), provenance


def event_cross_sections(events: ak.Array, provenance: dict[str, Any]) -> np.ndarray:
    """Cross section each event stands for (pb): ``genWeight * sigma_generated / n_generated``."""
    weights = ak.to_numpy(events["genWeight"]).astype(np.float64)
    return weights * provenance["sigma_generated_pb"] / provenance["n_generated"]


def mix_samples(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    luminosity_pb: float | None = None,
    seed: SeedLike = 0,
    command: str | None = None,
) -> MixSummary:
    """Mix generated samples by cross section into one unweighted NanoAOD file.

    Parameters
    ----------
    inputs
        Generated NanoAOD files (one process each, or any).
    output
        The ``.root`` file to write.
    luminosity_pb
        Integrated luminosity (1/pb); default: the largest the inputs support.
    seed
        Seed of the accept/reject draws and of the shuffle of the output.
    command
        Command line recorded in the provenance.

    Raises
    ------
    bumphunt.errors.ConfigError
        If no input is given, or the luminosity asks some event to be used more than once.
    """
    if not inputs:
        raise ConfigError("give at least one generated NanoAOD file to mix")
    samples = [(str(p), *read_generated(p)) for p in inputs]
    sigmas = [event_cross_sections(events, prov) for _, events, prov in samples]
    largest = max((float(s.max()) for s in sigmas if len(s)), default=0.0)
    if largest <= 0:
        raise ConfigError("the inputs hold no event with a positive weight")
    max_luminosity = 1.0 / largest
    if luminosity_pb is None:
        luminosity_pb = max_luminosity
    elif not 0 < luminosity_pb <= max_luminosity * (1 + 1e-12):
        raise ConfigError(
            f"luminosity {luminosity_pb!r}/pb: the inputs support at most {max_luminosity:.6g}/pb "
            "without using an event twice; generate more events or lower the luminosity"
        )
    rng = np.random.default_rng(seed_sequence(seed))
    kept_blocks, kept, expected = [], {}, {}
    for (name, events, _), sigma in zip(samples, sigmas, strict=True):
        probability = sigma * luminosity_pb
        keep = rng.random(len(probability)) < probability
        kept_blocks.append(events[keep])
        kept[name] = int(keep.sum())
        expected[name] = float(probability.sum())
    mixed = ak.concatenate(kept_blocks) if kept_blocks else ak.Array([])
    mixed = mixed[rng.permutation(len(mixed))]
    mixed = ak.with_field(mixed, np.ones(len(mixed)), "genWeight")
    provenance = {
        "format": "CMS NanoAOD (generated pseudo-data)",
        "bumphunt_version": __version__,
        "luminosity_pb": luminosity_pb,
        "max_luminosity_pb": max_luminosity,
        "inputs": [
            {
                "file": name,
                "process": prov.get("process"),
                "label": prov.get("label"),
                "sigma_selected_pb": prov.get("sigma_selected_pb"),
                "kept": kept[name],
                "expected": expected[name],
            }
            for name, _, prov in samples
        ],
        "seed": seed if isinstance(seed, int) else None,
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    written = write_nanoaod(output, [mixed], provenance)
    return MixSummary(written, luminosity_pb, kept, expected, provenance)

"""Make the dimuon demo files shipped in ``src/bumphunt/data/demo`` (``bumphunt demo dimuon``).

The files of record were made with these commands (run from the folder of the generated files):

  bumphunt generate dimuon --process bbbar -n 12000 --chunk-size 250 --seed 101 -o bbbar.root
  bumphunt generate dimuon --process ccbar -n 1000 --chunk-size 100 --seed 202 -o ccbar.root
  bumphunt generate dimuon --process drell-yan -n 300 --chunk-size 100 --seed 303 -o dy.root
  bumphunt generate dimuon --process upsilon -n 3000 --chunk-size 250 --seed 404 -o upsilon.root
  python scripts/make_dimuon_demo_data.py . src/bumphunt/data/demo --drop-copies

which mixes b bbar, c cbar and Drell-Yan by cross section into unweighted pseudo-data at the largest
luminosity they support (``bumphunt generate mix``, seed 5) and unweights the Upsilon sample into the
signal pool (seed 6). The generator settings, seeds and the mixing are stored in the files' provenance.

``--drop-copies`` is for samples made before the generator left out events whose muons pass without
the repeated decays (bumphunt commit after 3a18bea): in those, such an event gave up to
``decay_repeats`` copies of one dimuon (identical muon directions), e.g. 50 copies of an Upsilon formed
in a c cbar event, which a search takes for a resonance. The option drops every event whose two leading
muons have exactly the direction of another event's, which is what the fixed generator does at the
source; per-event cross sections are unchanged. Samples made by the fixed generator have no such
copies and need no option.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np

from bumphunt.demo import DIMUON_DEMO_FILES
from bumphunt.generate.mix import mix_samples, read_generated
from bumphunt.io.nanoaod_writer import write_nanoaod


def drop_copies(path: Path, folder: Path) -> Path:
    """A copy of the generated file ``path`` without events whose two leading muons' directions repeat."""
    events, provenance = read_generated(path)
    muon = events["Muon"]
    key = np.stack([ak.to_numpy(muon[q][:, i]) for i in (0, 1) for q in ("eta", "phi")], axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    keep = counts[inverse.ravel()] == 1
    print(
        f"{path.name}: dropped {int((~keep).sum())} copies in {int((counts > 1).sum())} groups of {len(keep)}"
    )
    out = folder / path.name
    note = {
        "dropped_copies": int((~keep).sum()),
        "dropped_by": "scripts/make_dimuon_demo_data.py --drop-copies",
    }
    write_nanoaod(out, [events[keep]], {**provenance, **note})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("generated", help="folder with bbbar.root, ccbar.root, dy.root and upsilon.root")
    parser.add_argument("output_dir")
    parser.add_argument("--drop-copies", action="store_true", help="see the module documentation")
    args = parser.parse_args()
    source, out = Path(args.generated), Path(args.output_dir)
    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
    with tempfile.TemporaryDirectory() as tmp:
        names = ("bbbar.root", "ccbar.root", "dy.root", "upsilon.root")
        files = {n: drop_copies(source / n, Path(tmp)) if args.drop_copies else source / n for n in names}
        background = mix_samples(
            [files["bbbar.root"], files["ccbar.root"], files["dy.root"]],
            out / DIMUON_DEMO_FILES[0],
            seed=5,
            command=command,
        )
        signal = mix_samples([files["upsilon.root"]], out / DIMUON_DEMO_FILES[1], seed=6, command=command)
    for summary in (background, signal):
        size = summary.output.stat().st_size / 1e6
        print(f"{summary.output}: {sum(summary.kept.values())} events ({size:.2f} MB), kept {summary.kept}")


if __name__ == "__main__":
    main()

"""Make the dimuon demo files shipped in ``src/bumphunt/data/demo`` (``bumphunt demo dimuon``).

The files of record were made with these commands (run from the folder of the generated files):

  bumphunt generate dimuon --process bbbar -n 12000 --chunk-size 250 --seed 101 -o bbbar.root
  bumphunt generate dimuon --process ccbar -n 1000 --chunk-size 100 --seed 202 -o ccbar.root
  bumphunt generate dimuon --process drell-yan -n 300 --chunk-size 100 --seed 303 -o dy.root
  bumphunt generate dimuon --process upsilon -n 3000 --chunk-size 250 --seed 404 -o upsilon.root
  python scripts/make_dimuon_demo_data.py . src/bumphunt/data/demo

which mixes b bbar, c cbar and Drell-Yan by cross section into unweighted pseudo-data at the largest
luminosity they support (``bumphunt generate mix``, seed 5) and unweights the Upsilon sample into the
signal pool (seed 6). The generator settings, seeds and the mixing are stored in the files' provenance.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bumphunt.demo import DIMUON_DEMO_FILES
from bumphunt.generate.mix import mix_samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("generated", help="folder with bbbar.root, ccbar.root, dy.root and upsilon.root")
    parser.add_argument("output_dir")
    args = parser.parse_args()
    source, out = Path(args.generated), Path(args.output_dir)
    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
    background = mix_samples(
        [source / "bbbar.root", source / "ccbar.root", source / "dy.root"],
        out / DIMUON_DEMO_FILES[0],
        seed=5,
        command=command,
    )
    signal = mix_samples([source / "upsilon.root"], out / DIMUON_DEMO_FILES[1], seed=6, command=command)
    for summary in (background, signal):
        size = summary.output.stat().st_size / 1e6
        print(f"{summary.output}: {sum(summary.kept.values())} events ({size:.2f} MB), kept {summary.kept}")


if __name__ == "__main__":
    main()

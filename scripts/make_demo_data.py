"""Make the demo dataset shipped in ``src/bumphunt/data/demo`` from ``bumphunt generate dijet`` outputs.

The files of record were made from:

  bumphunt generate dijet --process qcd -n 100000 --pthat-min 800 --workers 2 --chunk-size 1000 \
      --seed 1001 -o qcd_data_pthat800_100k.h5
  bumphunt generate dijet --process wprime -n 20000 --workers 2 --chunk-size 1000 --seed 1003 \
      -o sig_wprime_20k.h5
  python scripts/make_demo_data.py qcd_data_pthat800_100k.h5 sig_wprime_20k.h5 src/bumphunt/data/demo

Those commands, the generator settings and every seed are stored in the files' provenance
(``bumphunt.demo.demo_provenance()``).
"""

from __future__ import annotations

import argparse

from bumphunt.demo import DEMO_MASS_RANGE, build_demo_data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("background", help="QCD file from bumphunt generate dijet")
    parser.add_argument("signal", help="W' file from bumphunt generate dijet")
    parser.add_argument("output_dir")
    parser.add_argument("--n-background", type=int, default=None, help="first N background events only")
    parser.add_argument("--n-signal", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = build_demo_data(
        args.background,
        args.signal,
        args.output_dir,
        mass_range=DEMO_MASS_RANGE,
        n_background=args.n_background,
        n_signal=args.n_signal,
        seed=args.seed,
    )
    for name, path in paths.items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

"""Peak memory of streaming an LHCO-layout constituents file against the size of the table it holds.

Writes a constituents file of N events (default 200 000) in the LHCO R&D layout: a pandas "table"
store under key "df", integer column names 0 .. 2100, float64, per event 700 particles x (pT, eta, phi)
zero padded, then the label. The rows are random but physical: two back-to-back sprays of 25 hard
particles (the jets) on top of 60-250 soft particles, pT ordered, |eta| < 2.5. The file is then read
through ``bumphunt.io.iter_lhco_constituents`` (or, with ``--cluster``, ``read_lhco_constituents``,
which also clusters jets with FastJet) in a child process run under ``/usr/bin/time -v``, and the
child's peak resident memory is printed next to the in-memory size of the whole table (the reference:
what reading it at once with ``pandas.read_hdf`` would hold, before any copy).

Usage: python benchmarks/constituents_memory.py [--events N] [--chunk-size N] [--cluster] [--dir DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd

from bumphunt.io.lhco import MAX_CONSTITUENTS, constituents_frame

WRITE_BLOCK = 5_000


def physical_block(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 700, 3)`` zero-padded, pT-ordered particles: two hard sprays plus soft particles."""
    n_soft = rng.integers(60, 250, n)
    n_hard = 25
    particles = np.zeros((n, MAX_CONSTITUENTS, 3))
    width = n_hard * 2 + n_soft.max()
    pt = rng.exponential(3.0, size=(n, width)) + 0.5
    eta = rng.uniform(-2.5, 2.5, size=(n, width))
    phi = rng.uniform(-np.pi, np.pi, size=(n, width))
    axis_eta = rng.uniform(-1.5, 1.5, size=(n, 2))
    axis_phi = rng.uniform(-np.pi, np.pi, n)
    for j, offset in enumerate((0.0, np.pi)):
        hard = slice(j * n_hard, (j + 1) * n_hard)
        pt[:, hard] = rng.exponential(60.0, size=(n, n_hard)) + 5.0
        eta[:, hard] = np.clip(axis_eta[:, j : j + 1] + rng.normal(0.0, 0.2, (n, n_hard)), -2.5, 2.5)
        phi[:, hard] = np.angle(np.exp(1j * (axis_phi[:, None] + offset + rng.normal(0.0, 0.2, (n, n_hard)))))
    keep = np.arange(width)[None, :] < (2 * n_hard + n_soft)[:, None]
    pt = np.where(keep, pt, 0.0)
    order = np.argsort(-pt, axis=1, kind="stable")
    for k, values in enumerate((pt, eta, phi)):
        sorted_values = np.take_along_axis(values, order, axis=1)
        particles[:, :width, k] = np.where(np.take_along_axis(keep, order, axis=1), sorted_values, 0.0)
    return particles


def write_file(path: Path, n_events: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with pd.HDFStore(path, mode="w", complib="blosc:lz4", complevel=5) as store:
        for start in range(0, n_events, WRITE_BLOCK):
            n = min(WRITE_BLOCK, n_events - start)
            frame = constituents_frame(physical_block(rng, n), rng.integers(0, 2, n))
            frame.index = np.arange(start, start + n)
            store.append("df", frame, format="table", index=False)


def read_file(path: Path, chunk_size: int | None, cluster: bool) -> None:
    """The measured child: read the whole file through the streaming reader."""
    from bumphunt.io import iter_lhco_constituents, read_lhco_constituents

    options = {} if chunk_size is None else {"chunk_size": chunk_size}
    start = time.perf_counter()
    if cluster:
        events = read_lhco_constituents(path, nonfinite="drop", **options)
        summary = f"{len(events)} events with two jets, median mjj {np.median(events.mass):.0f} GeV"
    else:
        n_events = n_particles = 0
        for chunk in iter_lhco_constituents(path, **options):
            n_events += len(chunk)
            n_particles += int(ak.sum(ak.num(chunk.particles, axis=1)))
        summary = f"{n_events} events, {n_particles / n_events:.1f} particles per event"
    print(f"read: {summary} in {time.perf_counter() - start:.1f} s")


def peak_rss_mib(time_output: str) -> float:
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_output)
    if match is None:
        raise RuntimeError(f"no peak memory in /usr/bin/time output:\n{time_output}")
    return int(match.group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the reader's")
    parser.add_argument("--cluster", action="store_true", help="also cluster jets (much slower)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write the file (default: a temp dir)"
    )
    parser.add_argument("--read", type=Path, default=None, help=argparse.SUPPRESS)  # the measured child
    args = parser.parse_args()
    if args.read is not None:
        read_file(args.read, args.chunk_size, args.cluster)
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "constituents.h5"
        start = time.perf_counter()
        write_file(path, args.events, args.seed)
        print(f"wrote {args.events} events, {path.stat().st_size / 2**20:.0f} MiB on disk "
              f"(blosc:lz4), in {time.perf_counter() - start:.0f} s")  # fmt: skip
        command = [sys.executable, __file__, "--read", str(path)]
        command += ["--cluster"] if args.cluster else []
        command += ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []
        result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True)
        print(result.stdout.strip())
        peak = peak_rss_mib(result.stderr)
    table = args.events * (3 * MAX_CONSTITUENTS + 1) * 8 / 2**20
    print(f"peak resident memory of the reader  : {peak:8.0f} MiB   (goal < 1024 MiB)")
    print(f"the whole table in memory (float64) : {table:8.0f} MiB")
    print(f"ratio peak / whole table            : {peak / table:8.3f}")


if __name__ == "__main__":
    main()

"""Throughput of ``bumphunt generate dijet`` against bare Pythia ``next()`` on the same settings.

Reference: one Pythia instance, initialized once with exactly the settings of the process card, calling
``next()`` in a loop with no further work. Ours: the full ``bumphunt.generate.generate`` call (per-chunk
Pythia initialization, batched generation, particle selection, FastJet clustering, N-subjettiness,
chunk files, the final HDF5 output), with 1 and with 2 worker processes. Rates count generated events
(before the trigger) per second of wall time, so the ratio is the share of time spent in Pythia itself.

Usage: python benchmarks/generation.py [--process qcd|wprime] [--events N] [--chunk-size N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bumphunt.generate import PROCESSES, GenerationPlan, generate, make_pythia


def bare_pythia_rate(card, n_generated: int, seed: int) -> float:
    """Events per second of Pythia ``init()`` plus ``next()`` x n_generated."""
    start = time.perf_counter()
    pythia = make_pythia(card, seed)
    for _ in range(n_generated):
        pythia.next()
    return n_generated / (time.perf_counter() - start)


def bumphunt_rate(plan: GenerationPlan, workers: int) -> tuple[float, int]:
    """Generated events per second of the full ``generate`` call, and how many were generated."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = generate(plan, [Path(tmp) / "events.h5"], workers=workers)
    return summary.events_per_second, summary.provenance["n_generated"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process", default="qcd", choices=sorted(PROCESSES))
    parser.add_argument("--events", type=int, default=1000, help="selected events per measurement")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    card = PROCESSES[args.process]()
    plan = GenerationPlan(card, n_events=args.events, seed=args.seed, chunk_size=args.chunk_size)
    print(f"process {card.name}: {args.events} selected events, chunks of {args.chunk_size}, "
          f"{os.cpu_count()} CPU cores")  # fmt: skip
    ours_1, n_generated = bumphunt_rate(plan, workers=1)
    bare = bare_pythia_rate(card, n_generated, seed=args.seed)
    ours_2, _ = bumphunt_rate(plan, workers=2)
    print(f"bare Pythia next()           : {bare:8.1f} generated events/s ({n_generated} events, 1 core)")
    print(f"bumphunt generate, 1 worker  : {ours_1:8.1f} generated events/s")
    print(f"bumphunt generate, 2 workers : {ours_2:8.1f} generated events/s")
    print(f"ratio bumphunt(1 worker) / bare Pythia = {ours_1 / bare:.3f}   (goal >= 0.8)")
    print(f"scaling 2 workers / 1 worker          = {ours_2 / ours_1:.3f}")
    efficiency = args.events / n_generated
    print(f"selected events/s: {ours_1 * efficiency:.1f} (1 worker), {ours_2 * efficiency:.1f} (2 workers)")


if __name__ == "__main__":
    main()

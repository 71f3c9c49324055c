"""``bumphunt massbin-scan``: Particle Flow Networks between adjacent dijet-mass bins of MOD HDF5 files.

One command runs :func:`bumphunt.massbin_scan.run_massbin_scan` and writes the report, the summary and the
AUC-along-the-mass figure (:func:`~bumphunt.massbin_scan.write_massbin_scan`).
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table

from bumphunt.errors import ConfigError

__all__ = ["massbin_scan"]


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated numbers, got {text!r}") from None


@click.command("massbin-scan")
@click.argument("sources", nargs=-1, required=True, metavar="FILE...")
@click.option("-o", "--output", required=True, help="Directory of the report, summary and figure.")
@click.option(
    "--edges",
    default="800,900,1000,1100,1200,1300,1400",
    show_default=True,
    help="Dijet-mass bin edges (GeV).",
)
@click.option(
    "--null",
    "null",
    type=click.Choice(["background", "shuffle", "none"]),
    default="shuffle",
    show_default=True,
    help="Reference of each pair's AUC: background-only files (--null-file) or label-shuffled training.",
)
@click.option("--null-file", "null_files", multiple=True, help="Background-only MOD file; repeatable.")
@click.option("--n-null", type=int, default=1, show_default=True, help="Shuffled scans of --null shuffle.")
@click.option("--signal", default=None, help="MOD file of signal events to inject.")
@click.option("--n-signal", type=int, default=0, show_default=True, help="Signal events injected.")
@click.option(
    "--particles",
    type=click.Choice(["auto", "pfcs", "gens"]),
    default="auto",
    show_default=True,
    help="Particles of the jets: pfcs (reconstructed), gens (generator level), auto (pfcs when present).",
)
@click.option("--max-particles", type=int, default=100, show_default=True, help="Hardest particles per jet.")
@click.option("--pid", is_flag=True, help="Give the PFN each particle's species as well.")
@click.option("--min-events", type=int, default=200, show_default=True, help="Fewest events a bin needs.")
@click.option("--max-events", type=int, default=None, help="Most events used per bin [default: all].")
@click.option("--folds", "n_folds", type=int, default=5, show_default=True, help="Folds over events.")
@click.option(
    "--ensemble",
    "n_ensemble",
    type=int,
    default=3,
    show_default=True,
    help="PFNs per fold, logits averaged (>= 2 measures the training noise).",
)
@click.option("--epochs", "max_epochs", type=int, default=30, show_default=True, help="Most PFN epochs.")
@click.option(
    "--emd-pairs",
    type=int,
    default=0,
    show_default=True,
    help="Jet pairs for the EMD between bins (emd extra).",
)
@click.option("--device", default="auto", show_default=True, help="Torch device: auto, cpu, cuda.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of folds, subsets and training.")
@click.option("--open-data", is_flag=True, help="Label the figure 'Open Data' instead of 'Simulation'.")
def massbin_scan(
    sources: Sequence[str],
    output: str,
    edges: str,
    null: str,
    null_files: Sequence[str],
    n_null: int,
    signal: str | None,
    n_signal: int,
    particles: str,
    max_particles: int,
    pid: bool,
    min_events: int,
    max_events: int | None,
    n_folds: int,
    n_ensemble: int,
    max_epochs: int,
    emd_pairs: int,
    device: str,
    seed: int,
    open_data: bool,
) -> None:
    """Train a Particle Flow Network between the jets of each pair of adjacent dijet-mass bins of the MOD
    HDF5 FILEs (CMS 2011A Open Data, or `bumphunt generate mod-dijets`); where a resonance sits, the AUC
    rises above its null."""
    from bumphunt.massbin_scan import MassBinScanPlan, run_massbin_scan, write_massbin_scan

    plan = MassBinScanPlan(
        sources=tuple(sources),
        edges=_floats(edges, "--edges"),
        null=None if null == "none" else null,  # type: ignore[arg-type]
        null_sources=tuple(null_files),
        n_null=n_null,
        signal=signal,
        n_signal=n_signal,
        particles=particles,  # type: ignore[arg-type]
        max_particles=max_particles,
        pid=pid,
        min_events=min_events,
        max_events=max_events,
        n_folds=n_folds,
        n_ensemble=n_ensemble,
        max_epochs=max_epochs,
        emd_pairs=emd_pairs,
        device=device,
        seed=seed,
    )
    console = Console()
    summary = run_massbin_scan(plan, progress=console.print)
    files = write_massbin_scan(summary, output, text="Open Data" if open_data else "Simulation")
    table = Table(title="PFN between adjacent dijet-mass bins")
    for column in ("bins (GeV)", "AUC", "null", "local Z"):
        table.add_column(column, justify="right")
    for i, pair in enumerate(summary["pairs"]):
        low, high = pair["low_bin"], pair["high_bin"]
        reference = summary["null"][i] if summary["null"] else None
        table.add_row(
            f"{low[0]:g}-{low[1]:g} | {high[0]:g}-{high[1]:g}",
            f"{pair['auc']:.4f} ± {pair['error']:.4f}",
            "-" if reference is None else f"{reference['auc']:.4f} ± {reference['error']:.4f}",
            "-" if summary["z"] is None else f"{summary['z'][i]:+.2f}",
        )
    console.print(table)
    console.print(f"report, summary and figure in {files['report'].rsplit('/', 1)[0]}")

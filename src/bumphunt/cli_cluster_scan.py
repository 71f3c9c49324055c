"""``bumphunt cluster-scan``: jet images, bootstraps and contamination runs, and their summary.

Cluster scanning is no windowed search: it needs no signal region, trains no classifier per window and
gets its significance from bootstraps of the whole spectrum, so it has its own command group instead of
a ``method`` of ``bumphunt run``:

``bumphunt cluster-scan images FILE -o STORE``
    jet images of an LHCO constituents file, made once (:mod:`bumphunt.io.image_store`);
``bumphunt cluster-scan run STORE -o DIR``
    the observed run, the background-only bootstraps and the contamination runs on the executors
    (resumable), then the summary and figures (:mod:`bumphunt.cluster_scan`);
``bumphunt cluster-scan summary DIR``
    the summary and figures of the finished runs of ``DIR`` again.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bumphunt.errors import ConfigError

__all__ = ["cluster_scan"]


def _floats(text: str | None, what: str) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"{what}: expected comma-separated numbers, got {text!r}") from None


def _edges(text: str) -> tuple[float, ...]:
    """``LOW:HIGH:BINS`` or comma-separated edges (GeV)."""
    import numpy as np

    if ":" in text:
        try:
            low, high, bins = text.split(":")
            return tuple(float(x) for x in np.linspace(float(low), float(high), int(bins) + 1))
        except ValueError:
            raise ConfigError(
                f"--bins: expected LOW:HIGH:BINS or comma-separated edges, got {text!r}"
            ) from None
    return _floats(text, "--bins")


@click.group("cluster-scan")
def cluster_scan() -> None:
    """Cluster scanning: k-means on jet images along the dijet mass (arXiv:2402.17714)."""


@cluster_scan.command("images")
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Image store directory to create.")
@click.option(
    "--mass-range", nargs=2, type=float, default=None, help="Keep events with LOW <= mjj < HIGH (GeV)."
)
@click.option("--pixels", type=int, default=40, show_default=True, help="Pixels per side.")
@click.option("--half-width", type=float, default=0.8, show_default=True, help="Half width in eta and phi.")
@click.option("--power", type=float, default=0.5, show_default=True, help="Pixel intensity exponent.")
@click.option("--smear", type=float, default=1.0, show_default=True, help="Gaussian smearing (pixels).")
@click.option("--no-rotate", is_flag=True, help="Skip the principal-axis rotation.")
@click.option("--no-flip", is_flag=True, help="Skip the quadrant flip.")
@click.option("--chunk-size", type=int, default=2000, show_default=True, help="Events per block.")
def images_command(
    source: str,
    output: str,
    mass_range: tuple[float, float] | None,
    pixels: int,
    half_width: float,
    power: float,
    smear: float,
    no_rotate: bool,
    no_flip: bool,
    chunk_size: int,
) -> None:
    """Images of the two leading jets of every event of an LHCO constituents FILE."""
    from bumphunt.cli import _progress
    from bumphunt.io.image_store import build_image_store
    from bumphunt.physics.jet_images import ImageSpec

    spec = ImageSpec(
        pixels=pixels, half_width=half_width, power=power, smear=smear, rotate=not no_rotate, flip=not no_flip
    )
    progress = _progress("ev")
    task = progress.add_task("events", total=None)
    with progress:
        store = build_image_store(
            source,
            output,
            spec,
            mass_range=mass_range,
            chunk_size=chunk_size,
            progress=lambda n: progress.advance(task, n),
        )
    size = store.images.nbytes / 1e9
    Console().print(f"{len(store):,} events imaged into {store.directory} ({size:.2f} GB of images)")


@cluster_scan.command("run")
@click.argument("background", metavar="STORE", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, help="Directory of the run results, summary and figures.")
@click.option("--signal", default=None, help="Image store of the signal pool (contamination runs).")
@click.option("--bins", default="3000:4600:16", show_default=True, help="Mass bins: LOW:HIGH:BINS or edges.")
@click.option("--clusters", type=int, default=50, show_default=True, help="k of k-means.")
@click.option("--batch-size", type=int, default=2048, show_default=True, help="Jets per k-means mini-batch.")
@click.option("--epochs", type=int, default=1, show_default=True, help="k-means passes over the events.")
@click.option("--inits", type=int, default=1, show_default=True, help="k-means initialisations per run.")
@click.option(
    "--statistic",
    type=click.Choice(["max_deviation", "chi2_ndof"]),
    default="max_deviation",
    show_default=True,
)
@click.option("--threshold", type=float, default=3.0, show_default=True, help="Labelling threshold.")
@click.option("--train-range", nargs=2, type=float, default=None, help="k-means training mass range (GeV).")
@click.option("--bootstraps", type=int, default=200, show_default=True, help="Background-only bootstraps.")
@click.option("--fractions", default=None, help="Injected signal per background event, comma-separated.")
@click.option("--signal-runs", type=int, default=20, show_default=True, help="Runs per signal fraction.")
@click.option("--baseline", default="dijet4", show_default=True, help="Shape of the fit baseline.")
@click.option(
    "--baseline-resamplings",
    type=int,
    default=10_000,
    show_default=True,
    help="Resamplings of the mass histogram for the null of the fit baseline.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master random seed.")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--address", default=None, help="Address of a running Dask scheduler (with --executor dask).")
def run_command(
    background: str,
    output: str,
    signal: str | None,
    bins: str,
    clusters: int,
    batch_size: int,
    epochs: int,
    inits: int,
    statistic: str,
    threshold: float,
    train_range: tuple[float, float] | None,
    bootstraps: int,
    fractions: str | None,
    signal_runs: int,
    baseline: str,
    baseline_resamplings: int,
    seed: int,
    workers: int,
    executor: str,
    address: str | None,
) -> None:
    """Run the cluster scan of the image STORE: observed, bootstraps, contamination runs (resumable)."""
    from bumphunt.cli import _progress
    from bumphunt.cluster_scan import ClusterScanPlan, run_cluster_scan
    from bumphunt.config import parse_executor

    plan = ClusterScanPlan(
        background=background,
        signal=signal,
        edges=_edges(bins),
        n_clusters=clusters,
        batch_size=batch_size,
        n_epochs=epochs,
        n_inits=inits,
        threshold=threshold,
        statistic=statistic,
        train_range=train_range,
        baseline_shape=baseline,
        n_bootstraps=bootstraps,
        signal_fractions=_floats(fractions, "--fractions"),
        n_signal_runs=signal_runs,
        n_baseline_resamplings=baseline_resamplings,
        seed=seed,
    )
    settings = {"kind": executor, "n_workers": workers}
    if address is not None:
        settings.update(kind="dask", address=address)
    spec = parse_executor(settings, "cluster-scan executor options")
    runs = Path(output) / "runs"
    progress = _progress("run")
    task = progress.add_task("runs", total=None)
    with progress:
        summary = run_cluster_scan(
            plan,
            runs,
            executor=spec,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    Console().print(
        f"{summary.n_run} run, {summary.n_skipped} already done, {summary.n_failed} failed "
        f"on {summary.executor} in {summary.wall_seconds:.0f} s"
    )
    for failure in summary.failed:
        Console().print(f"failed {failure.key}: {failure.message}")
    _summarize(runs, Path(output))
    if summary.failed:
        raise click.exceptions.Exit(1)


@cluster_scan.command("summary")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
def summary_command(directory: str) -> None:
    """Summary and figures of the finished runs in DIR (the -o of cluster-scan run)."""
    _summarize(Path(directory) / "runs", Path(directory))


def _z_text(result: dict) -> str:
    """``Z`` with ``>`` for a lower limit and ``(tail fit)`` when extrapolated beyond the null sample."""
    text = (">" if result["is_limit"] else "") + f"{result['z']:.2f}"
    return text + (" (tail fit)" if result["method"] != "empirical" else "")


def _summarize(runs: Path, output: Path) -> None:
    from bumphunt.cluster_scan import write_cluster_scan_outputs

    if not runs.is_dir() or not any(runs.glob("*.json")):
        raise ConfigError(
            f"cluster scan: {str(runs)!r} holds no finished run; run bumphunt cluster-scan run first"
        )
    summary = write_cluster_scan_outputs(runs, output)
    table = Table(
        title=f"bumphunt cluster-scan: {summary['n_bootstraps']} background-only bootstraps "
        f"({summary['n_baseline_null']} resamplings for the fit)"
    )
    for column in ("injected signal", "runs", "cluster scan Z: median [68 %]", "dijet fit Z: median [68 %]"):
        table.add_column(column, justify="right")
    if "observed" in summary:
        observed, fit = summary["observed"], summary.get("observed_fit")
        table.add_row("observed", "1", _z_text(observed), "-" if fit is None else _z_text(fit))
    for point in summary["points"]:
        cs, fit = point["z_cluster_scan"], point["z_fit"]
        table.add_row(
            f"{point['n_signal']} ({point['fraction']:g})",
            str(point["runs"]),
            f"{cs['median']:.2f} [{cs['low']:.2f}, {cs['high']:.2f}]",
            "-" if fit is None else f"{fit['median']:.2f} [{fit['low']:.2f}, {fit['high']:.2f}]",
        )
    Console().print(table)
    if summary["points"]:
        need = summary["signal_for_3_sigma"]
        ratio = summary["ratio"]
        Console().print(
            "signal events for a median of 3 sigma: "
            f"cluster scanning {need['cluster_scan']}, fit {need['fit']}"
            + ("" if ratio is None else f", ratio {ratio:.2f}")
        )
    Console().print(f"summary and figures in {output}")

"""The ``bumphunt`` command line: a thin layer over the library."""

from __future__ import annotations

import dataclasses
import json
import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from bumphunt import __version__
from bumphunt._files import atomic_path
from bumphunt.errors import BumphuntError, ConfigError

if TYPE_CHECKING:
    from bumphunt.config import SearchConfig
    from bumphunt.summary import BackgroundCheckSummary, Summary

__all__ = ["cli", "main"]

console = Console(stderr=True)


class _RateColumn(ProgressColumn):
    """Completed units per second since the task started."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f} {self.unit}/s", style="progress.data.speed")


def _progress(unit: str) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="bumphunt")
@click.option("-v", "--verbose", count=True, help="Log more (-v: info, -vv: debug).")
def cli(verbose: int) -> None:
    """bumphunt: data-driven searches for new particles at colliders."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
        force=True,
    )


@cli.group()
def generate() -> None:
    """Generate collider events with Pythia 8 and FastJet."""


_EXECUTOR_OPTIONS = (
    click.option("--seed", type=int, default=0, show_default=True, help="Master random seed."),
    click.option(
        "--workers",
        type=int,
        default=1,
        show_default=True,
        help="Worker processes (local, Dask LocalCluster).",
    ),
    click.option(
        "--executor",
        type=click.Choice(["local", "dask"]),
        default="local",
        show_default=True,
        help="Where chunks run: local processes, or a Dask cluster (a LocalCluster of --workers, "
        "or --address).",
    ),
    click.option(
        "--address", default=None, help="Address of a running Dask scheduler (with --executor dask)."
    ),
)


def _executor_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_EXECUTOR_OPTIONS):
        command = option(command)
    return command


@generate.command("dijet")
@click.option(
    "--process",
    "process",
    default="qcd",
    show_default=True,
    help="Physics process: 'qcd' (QCD dijets, label 0) or 'wprime' (W' -> X Y -> 4q, label 1).",
)
@click.option(
    "-n",
    "--events",
    "n_events",
    type=int,
    required=True,
    help="Number of events that pass the trigger (leading jet pT > trigger).",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    required=True,
    help="High-level features file (.h5 like the LHCO Zenodo file, or .parquet); repeatable.",
)
@click.option(
    "--constituents",
    "constituents_output",
    default=None,
    help="Also write the LHCO constituents layout (700 particles x pT, eta, phi) to this .h5 file.",
)
@_executor_options
@click.option(
    "--chunk-size",
    type=int,
    default=500,
    show_default=True,
    help="Selected events per chunk (unit of parallel work and of resumption).",
)
@click.option(
    "--pthat-min",
    type=float,
    default=None,
    help="QCD only: PhaseSpace:pTHatMin in GeV [default: bumphunt.generate.DEFAULT_PTHAT_MIN].",
)
@click.option("--m-wprime", type=float, default=3500.0, show_default=True, help="W' mass (GeV).")
@click.option("--m-x", type=float, default=500.0, show_default=True, help="X mass (GeV).")
@click.option("--m-y", type=float, default=100.0, show_default=True, help="Y mass (GeV).")
@click.option(
    "--trigger-pt", type=float, default=1200.0, show_default=True, help="Leading-jet pT threshold (GeV)."
)
def generate_dijet(
    process: str,
    n_events: int,
    outputs: Sequence[str],
    constituents_output: str | None,
    seed: int,
    workers: int,
    executor: str,
    address: str | None,
    chunk_size: int,
    pthat_min: float | None,
    m_wprime: float,
    m_x: float,
    m_y: float,
    trigger_pt: float,
) -> None:
    """Dijet events in the LHC Olympics 2020 R&D format (pp at 13 TeV, anti-kT R = 1.0 jets).

    Chunks run on local processes or a Dask cluster, with the same events for the same seed; a rerun
    of an interrupted command resumes from the chunks it finished.
    """
    from bumphunt.generate import DEFAULT_PTHAT_MIN, PROCESSES, DijetSelection, GenerationPlan
    from bumphunt.generate import generate as run_generation

    if process not in PROCESSES:
        raise ConfigError(f"unknown process {process!r}; choose one of {', '.join(sorted(PROCESSES))}")
    if process == "qcd":
        card = PROCESSES["qcd"](DEFAULT_PTHAT_MIN if pthat_min is None else pthat_min)
    else:
        if pthat_min is not None:
            raise ConfigError("--pthat-min applies to --process qcd only")
        card = PROCESSES["wprime"](m_wprime, m_x, m_y)
    plan = GenerationPlan(
        card,
        n_events=n_events,
        seed=seed,
        chunk_size=chunk_size,
        selection=DijetSelection(trigger_pt=trigger_pt),
        constituents=constituents_output is not None,
    )
    _run_generation(
        f"dijet --process {card.name}",
        card.name,
        n_events,
        lambda **kw: run_generation(plan, outputs, constituents_output=constituents_output, **kw),
        executor,
        workers,
        address,
    )


@generate.command("jets")
@click.option(
    "--process",
    "process",
    default="qcd",
    show_default=True,
    help="'qcd' (quark and gluon jets, label 0), 'top' (Z' -> t tbar), 'w' (W' -> W(qq) Z(nu nu)) or "
    "'scalar' (W' -> H(-> h h -> 4b) W(e nu)); signals label 1.",
)
@click.option(
    "-n", "--jets", "n_jets", type=int, required=True, help="Number of jets that pass the selection."
)
@click.option(
    "-o", "--output", required=True, help="Jets file (.h5): the LHCO constituents layout, one jet per row."
)
@_executor_options
@click.option("--chunk-size", type=int, default=1000, show_default=True, help="Jets per chunk.")
@click.option("--pt-min", type=float, default=550.0, show_default=True, help="Lowest leading-jet pT (GeV).")
@click.option("--pt-max", type=float, default=650.0, show_default=True, help="Highest leading-jet pT (GeV).")
@click.option("--jet-eta-max", type=float, default=2.0, show_default=True, help="Largest leading-jet |eta|.")
@click.option("--radius", type=float, default=1.0, show_default=True, help="Anti-kT radius R.")
@click.option(
    "--mass",
    type=float,
    default=None,
    help="Mass of the signal's heavy resonance (GeV) [default: bumphunt.generate.cards.JET_RESONANCE_MASS].",
)
def generate_jets_command(
    process: str,
    n_jets: int,
    output: str,
    seed: int,
    workers: int,
    executor: str,
    address: str | None,
    chunk_size: int,
    pt_min: float,
    pt_max: float,
    jet_eta_max: float,
    radius: float,
    mass: float | None,
) -> None:
    """Jet samples for substructure studies: the leading jet of each event with pT in a window (pp at
    13 TeV, Pythia 8 and FastJet), its constituents kept.

    Chunks run on local processes or a Dask cluster; a rerun of an interrupted command resumes.
    """
    from bumphunt.generate import JET_PROCESSES, JetPlan, JetSelection, generate_jets

    if process not in JET_PROCESSES:
        raise ConfigError(f"unknown process {process!r}; choose one of {', '.join(sorted(JET_PROCESSES))}")
    if process == "qcd":
        if mass is not None:
            raise ConfigError("--mass applies to the signal processes only")
        card = JET_PROCESSES["qcd"]()
    else:
        card = JET_PROCESSES[process]() if mass is None else JET_PROCESSES[process](mass)
    selection = JetSelection(pt_min=pt_min, pt_max=pt_max, jet_eta_max=jet_eta_max, radius=radius)
    plan = JetPlan(card, n_events=n_jets, seed=seed, chunk_size=chunk_size, selection=selection)
    _run_generation(
        f"jets --process {card.name}",
        card.name,
        n_jets,
        lambda **kw: generate_jets(plan, output, **kw),
        executor,
        workers,
        address,
    )


def _run_generation(
    title: str,
    name: str,
    n_events: int,
    run: Callable[..., Any],
    executor: str,
    workers: int,
    address: str | None,
) -> None:
    """Run a generation with a progress bar and print what it produced (``run`` takes ``executor``,
    ``command`` and ``progress`` keywords and returns a GenerationSummary)."""
    from bumphunt.config import parse_executor

    spec = parse_executor(
        {"kind": executor, "n_workers": workers, "address": address}, "--executor/--workers/--address"
    )
    command = shlex.join(["bumphunt", *click.get_current_context().obj["argv"]])
    progress = _progress("ev")
    task = progress.add_task(f"{name} events", total=n_events)

    def advance(n: int) -> None:
        if not progress.live.is_started:  # only once the settings are accepted
            progress.start()
        progress.advance(task, n)

    try:
        summary = run(executor=spec, command=command, progress=advance)
    finally:
        progress.stop()
    prov = summary.provenance
    table = Table(title=f"bumphunt generate {title}", show_header=False)
    table.add_row("selected events", f"{prov['n_events']:,}")
    table.add_row("generated events", f"{prov['n_generated']:,} ({summary.events_per_second:,.1f} /s)")
    table.add_row("selection efficiency", f"{prov['selection_efficiency']:.4g}")
    if prov.get("decay_repeats", 1) > 1:
        table.add_row("decay repeats per generated event", str(prov["decay_repeats"]))
        table.add_row("events sharing a generated event", f"{prov['events_sharing_a_generated_event']:,}")
        table.add_row(
            "generated events left out (muons without repeats)", f"{prov['generated_events_left_out']:,}"
        )
    table.add_row(
        "cross section (generated)",
        f"{prov['sigma_generated_pb']:.4g} ± {prov['sigma_generated_err_pb']:.2g} pb",
    )
    table.add_row("cross section (selected)", f"{prov['sigma_selected_pb']:.4g} pb")
    table.add_row("chunks reused", str(summary.chunks_reused))
    for path in summary.outputs:
        table.add_row("written", str(path))
    Console().print(table)


@generate.command("dimuon")
@click.option(
    "--process",
    "process",
    default="bbbar",
    show_default=True,
    help="Physics process: 'bbbar', 'ccbar', 'drell-yan' (label 0) or 'upsilon' (Upsilon 1S, 2S, 3S; "
    "label 1).",
)
@click.option(
    "-n",
    "--events",
    "n_events",
    type=int,
    required=True,
    help="Number of events with two or more stored muons.",
)
@click.option("-o", "--output", "output", required=True, help="NanoAOD-format ROOT file to write (.root).")
@_executor_options
@click.option(
    "--chunk-size",
    type=int,
    default=200,
    show_default=True,
    help="Selected events per chunk (unit of parallel work and of resumption).",
)
@click.option(
    "--pthat-min",
    type=float,
    default=None,
    help="bbbar, ccbar, upsilon: PhaseSpace:pTHatMin in GeV [default: 5].",
)
@click.option(
    "--decay-repeats",
    type=int,
    default=None,
    help="bbbar, ccbar, upsilon: decays of the b hadrons, c hadrons or Upsilons redone per generated event "
    "(each repeat an unweighted event) [default: 50, 50, 10].",
)
def generate_dimuon_command(
    process: str,
    n_events: int,
    output: str,
    seed: int,
    workers: int,
    executor: str,
    address: str | None,
    chunk_size: int,
    pthat_min: float | None,
    decay_repeats: int | None,
) -> None:
    """Dimuon events in CMS NanoAOD format (pp at 13 TeV, parametric CMS-like detector model).

    Events with two or more muons above 3 GeV within |eta| < 2.4 are kept. Chunks run on local
    processes or a Dask cluster, with the same events for the same seed; a rerun of an interrupted
    command resumes from the chunks it finished.
    """
    from bumphunt.generate import DIMUON_PROCESSES, DimuonPlan, generate_dimuon

    if process not in DIMUON_PROCESSES:
        raise ConfigError(f"unknown process {process!r}; choose one of {', '.join(sorted(DIMUON_PROCESSES))}")
    options = {"pthat_min": pthat_min, "decay_repeats": decay_repeats}
    given = {key: value for key, value in options.items() if value is not None}
    if process == "drell-yan" and given:
        flags = ", ".join("--" + key.replace("_", "-") for key in given)
        raise ConfigError(f"{flags} does not apply to --process drell-yan")
    card = DIMUON_PROCESSES[process](**given)
    plan = DimuonPlan(card, n_events=n_events, seed=seed, chunk_size=chunk_size)
    _run_generation(
        f"dimuon --process {card.name}",
        card.name,
        n_events,
        lambda **kw: generate_dimuon(plan, output, **kw),
        executor,
        workers,
        address,
    )


@generate.command("ttbar-leptons")
@click.option(
    "-n", "--events", "n_events", type=int, required=True, help="Number of events with a stored lepton."
)
@click.option("-o", "--output", "output", required=True, help="Flat lepton ntuple to write (.root).")
@_executor_options
@click.option("--chunk-size", type=int, default=2000, show_default=True, help="Selected events per chunk.")
@click.option(
    "--min-leptons", type=int, default=1, show_default=True, help="Stored electrons and muons an event needs."
)
def generate_ttbar_leptons_command(
    n_events: int,
    output: str,
    seed: int,
    workers: int,
    executor: str,
    address: str | None,
    chunk_size: int,
    min_leptons: int,
) -> None:
    """Electrons and muons of top-pair events (pp at 13 TeV) in a flat ntuple with generator truth.

    Leptons from W decays, taus and heavy-flavour decays pass a parametric detector model (acceptance,
    efficiency, ECAL energy and tracker momentum resolution, four-momenta built with the flavour's mass
    hypothesis; bumphunt.physics.lepton_detector) and are stored as float32 Px, Py, Pz, E, Charge and
    genPartFlav in TTree 'events', the layout of the CMS Open Data HZZ ntuple.
    """
    from bumphunt.generate import LeptonPlan, generate_leptons
    from bumphunt.generate.cards import ttbar

    plan = LeptonPlan(ttbar(), n_events=n_events, seed=seed, chunk_size=chunk_size, min_leptons=min_leptons)
    _run_generation(
        "ttbar-leptons",
        "ttbar",
        n_events,
        lambda **kw: generate_leptons(plan, output, **kw),
        executor,
        workers,
        address,
    )


@generate.command("mod-dijets")
@click.option(
    "--process",
    default="qcd",
    show_default=True,
    help="'qcd' (QCD dijets, label 0) or 'zprime' (a narrow Z' -> q qbar dijet resonance, label 1).",
)
@click.option("-n", "--events", "n_events", type=int, required=True, help="Number of events that pass.")
@click.option("-o", "--output", required=True, help="MOD HDF5 file to write (.h5).")
@_executor_options
@click.option("--chunk-size", type=int, default=1000, show_default=True, help="Selected events per chunk.")
@click.option("--mass", type=float, default=None, help="zprime: the Z' mass in GeV [default: 1000].")
@click.option("--pthat-min", type=float, default=None, help="qcd: PhaseSpace:pTHatMin in GeV [default: 300].")
@click.option("--radius", type=float, default=0.5, show_default=True, help="Anti-kT radius R.")
@click.option("--jet-pt-min", type=float, default=375.0, show_default=True, help="Both jets above (GeV).")
@click.option("--jet-eta-max", type=float, default=1.9, show_default=True, help="Both jets within |eta|.")
def generate_mod_dijets_command(
    process: str,
    n_events: int,
    output: str,
    seed: int,
    workers: int,
    executor: str,
    address: str | None,
    chunk_size: int,
    mass: float | None,
    pthat_min: float | None,
    radius: float,
    jet_pt_min: float,
    jet_eta_max: float,
) -> None:
    """Dijet events at 7 TeV in the CMS 2011A jet selection (MOD HDF5 layout): the two hardest anti-kT
    R = 0.5 jets, both above 375 GeV and within |eta| < 1.9, with their generator-level particles."""
    from bumphunt.generate.cards import MOD_PROCESSES
    from bumphunt.generate.mod_dijets import ModPlan, generate_mod_dijets
    from bumphunt.generate.mod_loop import ModSelection

    if process not in MOD_PROCESSES:
        raise ConfigError(f"unknown process {process!r}; choose one of {', '.join(sorted(MOD_PROCESSES))}")
    if process == "qcd" and mass is not None:
        raise ConfigError("--mass applies to --process zprime only")
    if process == "zprime" and pthat_min is not None:
        raise ConfigError("--pthat-min applies to --process qcd only")
    value = mass if process == "zprime" else pthat_min
    card = MOD_PROCESSES[process]() if value is None else MOD_PROCESSES[process](value)
    selection = ModSelection(radius=radius, jet_pt_min=jet_pt_min, jet_eta_max=jet_eta_max)
    plan = ModPlan(card, n_events=n_events, seed=seed, chunk_size=chunk_size, selection=selection)
    _run_generation(
        f"mod-dijets --process {card.name}",
        card.name,
        n_events,
        lambda **kw: generate_mod_dijets(plan, output, **kw),
        executor,
        workers,
        address,
    )


@generate.command("mix")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, help="NanoAOD-format ROOT file to write (.root).")
@click.option(
    "--luminosity",
    type=float,
    default=None,
    help="Integrated luminosity in 1/pb [default: the largest the inputs support without reusing events].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the accept/reject draws.")
def generate_mix_command(inputs: tuple[str, ...], output: str, luminosity: float | None, seed: int) -> None:
    """Mix generated NanoAOD files by cross section into unweighted pseudo-data (genWeight = 1).

    Each event of INPUTS is kept with probability L x genWeight x sigma / N_generated, so the output
    has the process composition of collision data at luminosity L.
    """
    from bumphunt.generate.mix import mix_samples

    command = shlex.join(["bumphunt", *click.get_current_context().obj["argv"]])
    summary = mix_samples(inputs, output, luminosity_pb=luminosity, seed=seed, command=command)
    table = Table(title="bumphunt generate mix")
    for column in ("input", "process", "expected", "kept"):
        table.add_column(column)
    for entry in summary.provenance["inputs"]:
        table.add_row(entry["file"], str(entry["process"]), f"{entry['expected']:,.1f}", f"{entry['kept']:,}")
    Console().print(table)
    Console().print(f"luminosity {summary.luminosity_pb:.4g}/pb; written {summary.output}")


@cli.command("scan")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--sign",
    type=click.Choice(["opposite", "same"]),
    default="opposite",
    show_default=True,
    help="Pair charge.",
)
@click.option("--muon-pt-min", type=float, default=3.0, show_default=True, help="Muon pT threshold (GeV).")
@click.option("--low", type=float, default=1.0, show_default=True, help="Lowest mass scanned (GeV).")
@click.option("--high", type=float, default=None, help="Highest mass scanned (GeV) [default: the largest].")
@click.option(
    "--bins-per-decade", type=int, default=100, show_default=True, help="Logarithmic bins per decade."
)
@click.option("--degree", type=int, default=6, show_default=True, help="Degree of the smooth reference fit.")
@click.option(
    "--toys", type=int, default=1000, show_default=True, help="Pseudo-experiments (global p-value)."
)
@click.option("--excesses", type=int, default=5, show_default=True, help="Excesses to list.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the pseudo-experiments.")
@click.option("-o", "--output", default="mass-scan", show_default=True, help="Folder for the plot and JSON.")
def scan_command(
    paths: tuple[str, ...],
    sign: str,
    muon_pt_min: float,
    low: float,
    high: float | None,
    bins_per_decade: int,
    degree: int,
    toys: int,
    excesses: int,
    seed: int,
    output: str,
) -> None:
    """Mass-only BumpHunter scan of the dimuon spectrum of NanoAOD files PATHS (files or glob patterns).

    Bins the spectrum logarithmically from --low up, fits a smooth reference to it (peaks left out),
    and lists the most significant excesses with local and global significance; writes
    mass_scan.png and mass_scan.json to the output folder.
    """
    from bumphunt.io.nanoaod import DimuonSelection, read_dimuon_candidates
    from bumphunt.report.plots import mass_scan_figure
    from bumphunt.stats.spectrum_scan import scan_spectrum

    candidates = read_dimuon_candidates(
        list(paths), DimuonSelection(sign=sign, muon_pt_min=muon_pt_min), features=["pt"]
    )
    result = scan_spectrum(
        candidates.mass,
        low=low,
        high=high,
        bins_per_decade=bins_per_decade,
        degree=degree,
        n_excesses=excesses,
        n_toys=toys,
        seed=seed,
    )
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    figure = mass_scan_figure(result, title=f"{sign}-sign dimuons, {result.n_events:,} events")
    with atomic_path(out / "mass_scan.png") as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    record = {
        "files": candidates.provenance["files"],
        "sign": sign,
        "n_events": result.n_events,
        "bins_per_decade": bins_per_decade,
        "degree": degree,
        "n_toys": toys,
        "excesses": [dataclasses.asdict(e) for e in result.excesses],
    }
    with atomic_path(out / "mass_scan.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2))
    table = Table(title=f"bumphunt scan: {result.n_events:,} {sign}-sign dimuons from {low:g} GeV")
    for column in ("#", "mass range [GeV]", "data", "reference", "local Z", "global Z"):
        table.add_column(column, justify="right")
    for number, e in enumerate(result.excesses, start=1):
        limit = ">" if e.global_z_is_lower_limit else ""
        table.add_row(
            str(number),
            f"{e.low:.4g} - {e.high:.4g}",
            f"{e.n_data:,.0f}",
            f"{e.n_reference:,.1f}",
            f"{e.local_z:.2f}",
            f"{limit}{e.global_z:.2f}",
        )
    Console().print(table)
    Console().print(f"written: {out / 'mass_scan.png'}, {out / 'mass_scan.json'}")


@cli.command("fetch")
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the registered datasets and exit.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Download directory [default: $BUMPHUNT_CACHE or the user cache directory].",
)
def fetch_command(name: str | None, list_only: bool, cache_dir: str | None) -> None:
    """Download the public dataset NAME once into the cache, verify it, and print its path.

    An interrupted download resumes when the command is run again.
    """
    from rich.progress import DownloadColumn, TransferSpeedColumn

    from bumphunt.io import registry

    if list_only:
        table = Table(title="bumphunt fetch: registered datasets")
        for column in ("name", "description", "checksum"):
            table.add_column(column)
        for entry in registry.REGISTRY.values():
            checksum = entry.checksum.split(":")[0] if entry.checksum else "none published"
            table.add_row(entry.name, entry.description, checksum)
        Console().print(table)
        return
    if name is None:
        raise click.UsageError("give a dataset NAME, or --list to see them")
    entry = registry.get(name)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(entry.filename, total=entry.size)
        path = registry.fetch(
            entry,
            cache=cache_dir,
            progress=lambda advance, total: progress.update(task, advance=advance, total=total),
        )
    click.echo(str(path))


@cli.command("inspect")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--key", default=None, help="Table key in an HDF5 store with several.")
@click.option("--tree", default=None, help="TTree or RNTuple in a ROOT file with several.")
def inspect_command(path: str, key: str | None, tree: str | None) -> None:
    """Show what FILE holds: format, events, columns or branches, mass range."""
    from bumphunt.io import inspect_file

    summary = inspect_file(path, key=key, tree=tree)
    table = Table(title=f"bumphunt inspect {path}", show_header=False)
    table.add_row("format", f"{summary.format} ({summary.container})")
    table.add_row("events", f"{summary.n_events:,}")
    shown = ", ".join(summary.columns[:40])
    more = f" ... ({len(summary.columns)} in all)" if len(summary.columns) > 40 else ""
    table.add_row("columns", shown + more)
    if summary.mass_range is not None:
        low, high = summary.mass_range
        table.add_row("mass range", f"{summary.mass_name}: {low:,.4g} to {high:,.4g} GeV")
    for note in summary.notes:
        table.add_row("note", note)
    Console().print(table)


@cli.group("config")
def config_group() -> None:
    """The search configuration: JSON schema and a commented example."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON schema of the YAML configuration."""
    from bumphunt.config import json_schema

    click.echo(json_schema())


@config_group.command("summary-schema")
def summary_schema_command() -> None:
    """Print the JSON schema of the summary.json that bumphunt run writes."""
    from bumphunt.summary import summary_schema

    click.echo(json.dumps(summary_schema(), indent=2))


@config_group.command("example")
@click.option("--dimuon", is_flag=True, help="The dimuon (Upsilon) search in CMS NanoAOD instead of dijets.")
def config_example(dimuon: bool) -> None:
    """Print a commented example configuration (save it and edit: bumphunt config example > search.yaml)."""
    from bumphunt.config import dimuon_example_yaml, example_yaml

    click.echo(dimuon_example_yaml() if dimuon else example_yaml(), nl=False)


@config_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def config_check(path: str) -> None:
    """Validate the configuration PATH and show the settings it resolves to."""
    import yaml

    from bumphunt.config import load_config

    click.echo(yaml.safe_dump(load_config(path).to_dict(), sort_keys=False), nl=False)


def _search_progress() -> tuple[Progress, Callable[[str, int, int], None]]:
    """A rich display of the search stages and the callback that drives it."""
    progress = _progress("it")
    tasks: dict[str, TaskID] = {}
    names = {"windows": "windows", "training": "  training (folds/epochs)", "toys": "look-elsewhere toys"}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(names.get(stage, stage), total=total)
        if stage == "training" and done == 0:
            progress.reset(tasks[stage], total=total)
        progress.update(tasks[stage], completed=done, total=total)

    return progress, update


def _run_and_write(config: SearchConfig, *, title: str) -> None:
    """Run a search with progress bars, write its results directory, print the final table."""
    from bumphunt.results import check_output_directory, write_results
    from bumphunt.search import build_windows, check_windows, load_data, run_search

    check_output_directory(config.output.directory, overwrite=config.output.overwrite)
    data = load_data(config)
    check_windows(
        build_windows(config.windows, config.data.mass_range),
        data.events,
        mass_range=config.data.mass_range,
        tolerance=0.5 * config.statistics.bin_width,
        statistics=config.statistics,
    )
    click.get_current_context().obj["on_interrupt"] = "Interrupted; no results directory was written."
    progress, update = _search_progress()
    with progress:
        result = run_search(config, data=data, progress=update)
    summary = write_results(result, config.output.directory, overwrite=config.output.overwrite)
    Console().print(_results_table(summary, title=title))
    Console().print(_verdict(summary))
    if summary.validation is not None and summary.validation.message:
        Console().print(
            f"Validation on {summary.validation.sign}-sign pairs not run: {summary.validation.message}"
        )
    elif summary.validation is not None:
        other = summary.validation
        Console().print(
            f"Validation on {other.sign}-sign pairs ({other.n_events:,} candidates, where no resonance can "
            f"be): largest local significance {other.local_z:.2f} sigma"
        )
    Console().print(f"report: {Path(config.output.directory) / 'report.html'}")


def _results_table(summary: Summary, *, title: str) -> Table:
    table = Table(title=title)
    for column in ("window", "SR events", "local Z", "best eff.", "flow check AUC", "truth AUC", "status"):
        table.add_column(column, justify="right" if column != "window" else "left")
    for i, w in enumerate(summary.windows):
        mark = " *" if i == summary.best_window else ""
        table.add_row(
            f"[{w.sr[0]:g}, {w.sr[1]:g}) GeV{mark}",
            f"{w.n_sr:,}",
            f"{w.local_z:.2f}",
            "-" if w.best_efficiency is None else f"{w.best_efficiency:g}",
            _check_text(w.background_check),
            "-" if w.truth is None or w.truth.auc is None else f"{w.truth.auc:.3f}",
            w.status if w.status == "ok" else f"failed: {w.message[:40]}",
        )
    return table


def _check_text(check: BackgroundCheckSummary | None) -> str:
    """The flow check of one window: AUC and pull, or '-'."""
    return "-" if check is None else f"{check.auc:.3f} (pull {check.pull:+.1f})"


def _verdict(summary: Summary) -> str:
    """Where the excess is, its local and global significance, and the truth when known."""
    w = summary.best
    if w is None:
        return "No window could be evaluated."
    lines = [
        f"Largest excess: SR [{w.sr[0]:g}, {w.sr[1]:g}) GeV at sideband efficiency "
        f"{w.best_efficiency:g}: local significance {summary.local_z:.2f} sigma"
    ]
    g = summary.global_significance
    if g is not None:
        error = "" if g.z_error is None else f" +- {g.z_error:.2f}"
        if g.estimate == "bound" and g.tail is not None:
            value = f">= {g.z:.2f} sigma (the Gross-Vitells excursion tail fitted to the toys lies beyond)"
        elif g.estimate == "bound":
            value = f">= {g.z:.2f} sigma (p < {1 / g.n_toys:.3g}: no toy reached the observed value)"
        elif g.estimate == "tail":
            value = (
                f"{g.z:.2f}{error} sigma (p = {g.p_value:.3g}; {g.n_above} of the toys reached the "
                "observed value, so the Gross-Vitells excursion tail fitted to them extrapolates it)"
            )
        else:
            value = f"{g.z:.2f}{error} sigma (p = {g.p_value:.3g}, counted: {g.n_above} toys above)"
        lines.append(
            f"Global significance (look-elsewhere over {len(summary.windows)} windows and the "
            f"efficiencies, {g.n_toys} background-only toys): {value}"
        )
        if g.estimate == "bound" and g.tail is None:
            lines.append(
                f"  This rests on {g.n_above} toy(s) above the observed value; about "
                f"{g.toys_needed:,} toys (statistics.global_toys) would measure it to 30 %."
            )
    truth = summary.truth
    if truth is not None:
        inj = summary.data.injection or {}
        low, high = truth.signal_mass_68
        text = (
            f"Truth: {truth.n_signal} signal events, mass median {truth.signal_mass:.4g} GeV "
            f"(68 %: {low:.4g}-{high:.4g})"
        )
        if inj:
            text += f", injected at S/B = {inj['s_over_b']:g} in [{inj['sr'][0]:g}, {inj['sr'][1]:g}) GeV"
        found = "yes" if truth.best_window_contains_truth else "no"
        lines.append(f"{text}; the excess window contains the signal mass: {found}")
    return "\n".join(lines)


@cli.command("run")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, help="Results directory [default: output.directory of CONFIG].")
@click.option("--overwrite", is_flag=True, help="Replace an existing results directory.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a setting of CONFIG (dotted key, YAML value), e.g. --set data.dimuon.sign=same; "
    "repeatable.",
)
def run_command(config_path: str, output: str | None, overwrite: bool, overrides: tuple[str, ...]) -> None:
    """Run the search described by the YAML file CONFIG and write its results directory.

    The directory holds summary.json, the plots and a self-contained report.html; it appears only
    when the search has finished (an interrupted run leaves none).
    """
    from bumphunt.config import load_config

    config = load_config(config_path, overrides)
    out = config.output.model_copy(
        update={
            "directory": Path(output) if output is not None else config.output.directory,
            "overwrite": overwrite or config.output.overwrite,
        }
    )
    config = config.model_copy(update={"output": out})
    _run_and_write(config, title=f"bumphunt run {config_path}: {config.name}")


@cli.command("demo")
@click.argument("which", type=click.Choice(["dijet", "dimuon"]), default="dijet")
@click.option("-o", "--output", default=None, help="Results directory [default: bumphunt-demo(-dimuon)].")
@click.option("--overwrite", is_flag=True, help="Replace an existing results directory.")
def demo_command(which: str, output: str | None, overwrite: bool) -> None:
    """Search a shipped dataset and write the results directory with report.html (a few minutes).

    dijet (default): QCD dijets with an injected W' -> XY, a CATHODE window scan. dimuon: generated
    NanoAOD pseudo-data (b bbar, c cbar, Drell-Yan) with injected Upsilons, the example dimuon search
    with its same-sign validation. Prints where the excess is, its significance
    and the injected truth.
    """
    from bumphunt.demo import demo_config, dimuon_demo_config

    if which == "dimuon":
        config = dimuon_demo_config(output or "bumphunt-demo-dimuon", overwrite=overwrite)
    else:
        config = demo_config(output or "bumphunt-demo", overwrite=overwrite)
    _run_and_write(config, title=f"bumphunt demo {which}")


@cli.command("ensemble")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option(
    "--executor",
    type=click.Choice(["local", "dask", "slurm"]),
    default=None,
    help="Where the pseudo-experiments run [default: ensemble.executor.kind of CONFIG].",
)
@click.option("--workers", type=int, default=None, help="Worker processes (local, Dask LocalCluster).")
@click.option(
    "--address", default=None, help="Address of a running Dask scheduler (implies --executor dask)."
)
@click.option("--slurm-script", is_flag=True, help="Print the SLURM job script of the workers and exit.")
def ensemble_command(
    config_path: str, executor: str | None, workers: int | None, address: str | None, slurm_script: bool
) -> None:
    """Run the pseudo-experiments of CONFIG: background-only subsamples and signal injections.

    Each pseudo-experiment is the whole search on a resampled dataset, with its own seed and result
    file; a rerun skips finished ones, so an interrupted ensemble resumes where it stopped.
    """
    from bumphunt.config import load_config, parse_executor
    from bumphunt.ensemble import ensemble_directory, run_ensemble, write_ensemble_outputs
    from bumphunt.executors import slurm_job_script

    config = load_config(config_path)
    update: dict[str, Any] = {}
    if executor is not None:
        update["kind"] = executor
    if address is not None:
        update.update(kind="dask", address=address)
    if workers is not None:
        update["n_workers"] = workers
    settings = {**config.ensemble.executor.model_dump(exclude_unset=True), **update}
    if slurm_script:
        settings = {k: v for k, v in settings.items() if k != "n_workers"} | {"kind": "slurm"}
    elif settings.get("kind", "local") != "slurm":
        settings.pop("slurm", None)  # the options chose another executor than the file's SLURM one
    spec_config = parse_executor(settings, f"{config_path}: ensemble.executor with the command-line options")
    if slurm_script:
        click.echo(slurm_job_script(spec_config))
        return
    progress = _progress("exp")
    task = progress.add_task("pseudo-experiments", total=None)
    with progress:
        run, summary = run_ensemble(
            config,
            executor=spec_config,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    folder = ensemble_directory(config)
    write_ensemble_outputs(summary, folder)
    table = Table(title=f"bumphunt ensemble {config_path}: {config.name}")
    for column in ("S/B", "experiments", "max local Z: median [68 %]", "Z at the signal: median [68 %]"):
        table.add_column(column, justify="right")
    for point in summary["points"]:
        z, ref = point["max_local_z"], point["z_at_reference"]
        table.add_row(
            "background only" if point["s_over_b"] == 0 else f"{point['s_over_b']:g}",
            str(z["n"]),
            f"{z['median']:.2f} [{z['low']:.2f}, {z['high']:.2f}]",
            "-" if ref is None else f"{ref['median']:.2f} [{ref['low']:.2f}, {ref['high']:.2f}]",
        )
    Console().print(table)
    Console().print(
        f"{run.n_run} run, {run.n_skipped} already done, {run.n_failed} failed, {run.n_retried} retried "
        f"on {run.executor} in {run.wall_seconds:.0f} s; results in {folder}"
    )
    for failure in run.failed:
        Console().print(f"failed {failure.key}: {failure.message}")
    if run.failed:
        raise click.exceptions.Exit(1)


def _add_command_groups() -> None:
    from bumphunt.cli_cluster_scan import cluster_scan

    cli.add_command(cluster_scan)
    from bumphunt.cli_interpret import interpret

    cli.add_command(interpret)
    from bumphunt.cli_lepton_id import lepton_id

    cli.add_command(lepton_id)
    from bumphunt.cli_massbin import massbin_scan

    cli.add_command(massbin_scan)


_add_command_groups()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    Errors a user can cause (bad settings, bad files, bad command-line usage) print one line on standard
    error and give exit status 2.
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    obj: dict[str, Any] = {"argv": args}
    try:
        cli.main(args=args, prog_name="bumphunt", standalone_mode=False, obj=obj)
    except click.exceptions.Abort:  # click turns a KeyboardInterrupt into Abort
        console.print(obj.get("on_interrupt", "Aborted."))
        return 130
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except click.exceptions.ClickException as err:
        click.echo(f"Error: {err.format_message()}", err=True)
        return 2
    except BumphuntError as err:
        click.echo(f"Error: {err}", err=True)
        return 2
    except KeyboardInterrupt:
        console.print(
            obj.get(
                "on_interrupt", "Interrupted; finished work is kept: run the same command again to resume."
            )
        )
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

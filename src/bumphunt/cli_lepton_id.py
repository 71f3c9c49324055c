"""``bumphunt lepton-id``: electron or muon from (pT, eta, phi, E), with baseline, models and overtraining.

One command runs :func:`bumphunt.lepton_id.run_lepton_study` on a lepton file (a flat ntuple such as the
CMS Open Data HZZ tree or a ``bumphunt generate ttbar-leptons`` sample, CMS NanoAOD, or a table with a
label column) and writes the report, the summary and the figures (:func:`write_lepton_study`).
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from bumphunt.errors import ConfigError

__all__ = ["lepton_id"]


def _integers(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated integers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


@click.command("lepton-id")
@click.argument("source", metavar="FILE")
@click.option("-o", "--output", required=True, help="Directory of the report, summary and figures.")
@click.option("--tree", default=None, help="ROOT TTree or RNTuple [default: the only one, or Events].")
@click.option("--label", default=None, help="Tables: the label column ('e'/'mu', or 1 for a muon) [flavour].")
@click.option(
    "--representations",
    default="pt_eta_phi_E,px_py_pz_E,p2_minus_E2",
    show_default=True,
    help="Comma-separated inputs of the MLP and the trees.",
)
@click.option("--models", default="mlp,trees", show_default=True, help="Comma-separated: mlp, trees.")
@click.option(
    "--precision",
    type=click.Choice(["float32", "float64"]),
    default="float32",
    show_default=True,
    help="Round pT, eta, phi, E to this precision first (float32: as an ntuple stores them).",
)
@click.option("--test-fraction", type=float, default=0.3, show_default=True, help="Held-out fraction.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated seeds (one split each).")
@click.option("--epochs", "mlp_epochs", type=int, default=200, show_default=True, help="Most MLP epochs.")
@click.option(
    "--curve-representation",
    default="pt_eta_phi_E",
    show_default=True,
    help="Input of the overtraining study.",
)
@click.option(
    "--sizes", default=None, help="Comma-separated training-set sizes [default: 10, 30, 100, ... and all]."
)
@click.option(
    "--curve-epochs", type=int, default=100, show_default=True, help="Epochs of each training curve."
)
@click.option("--record-every", type=int, default=5, show_default=True, help="Epochs between curve points.")
@click.option(
    "--bootstrap", "n_bootstrap", type=int, default=3, show_default=True, help="Training sets per size."
)
@click.option("--device", default="auto", show_default=True, help="Torch device: auto, cpu, cuda.")
@click.option("--open-data", is_flag=True, help="Label the figures 'Open Data' (no energy) not 'Simulation'.")
def lepton_id(
    source: str,
    output: str,
    tree: str | None,
    label: str | None,
    representations: str,
    models: str,
    precision: str,
    test_fraction: float,
    seeds: str,
    mlp_epochs: int,
    curve_representation: str,
    sizes: str | None,
    curve_epochs: int,
    record_every: int,
    n_bootstrap: int,
    device: str,
    open_data: bool,
) -> None:
    """Tell electrons from muons in FILE from their four-momenta alone: the mass-cut baseline, an MLP and
    boosted trees on each representation, and the MLP's train and test accuracy along training for
    several training-set sizes (overtraining study)."""
    from bumphunt.io.lepton_files import read_lepton_sample
    from bumphunt.lepton_id import LeptonStudyPlan, run_lepton_study, write_lepton_study

    plan = LeptonStudyPlan(
        source=source,
        tree=tree,
        label=label,
        representations=_names(representations),
        models=_names(models),
        precision=precision,  # type: ignore[arg-type]
        test_fraction=test_fraction,
        seeds=_integers(seeds, "--seeds") or (),
        mlp_epochs=mlp_epochs,
        curve_representation=curve_representation,
        curve_sizes=_integers(sizes, "--sizes"),
        curve_epochs=curve_epochs,
        record_every=record_every,
        n_bootstrap=n_bootstrap,
        device=device,
    )
    console = Console()
    table = read_lepton_sample(source, tree=tree, label=label)
    summary = run_lepton_study(plan, table=table, progress=console.print)
    files = write_lepton_study(
        summary,
        output,
        table=table,
        text="Open Data" if open_data else "Simulation",
        com=None if open_data else 13.0,
    )
    agg = summary["aggregate"]
    result = Table(title=f"test accuracy (median of {len(plan.seeds)} seeds)")
    for column in ("classifier", "representation", "accuracy", "AUC"):
        result.add_column(column, justify="right")
    result.add_row("majority flavour", "-", f"{agg['majority_accuracy']['median']:.4f}", "-")
    result.add_row(
        "mass cut",
        "p2_minus_E2",
        f"{agg['baseline_accuracy']['median']:.4f}",
        f"{agg['baseline_auc']['median']:.4f}",
    )
    for kind, by_name in agg["models"].items():
        for name, metrics in by_name.items():
            result.add_row(
                kind, name, f"{metrics['accuracy']['median']:.4f}", f"{metrics['auc']['median']:.4f}"
            )
    console.print(result)
    gaps = Table(title=f"overtraining: MLP on {plan.curve_representation}, train - test accuracy at the end")
    for column in ("training leptons", "gap (median)", "16 %", "84 %"):
        gaps.add_column(column, justify="right")
    for size, entry in agg["curves"].items():
        gap = entry["final_gap"]
        gaps.add_row(f"{int(size):,}", f"{gap['median']:.4f}", f"{gap['low']:.4f}", f"{gap['high']:.4f}")
    console.print(gaps)
    console.print(f"report, summary and figures in {files['report'].rsplit('/', 1)[0]}")

"""``bumphunt interpret``: train a jet-image autoencoder and explain it with a few observables.

One command runs :func:`bumphunt.interpretable.run_interpretation` on jets files of ``bumphunt generate
jets`` and writes the summary, the selection path and the ROC curves (:func:`write_interpretation`).
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table

from bumphunt.errors import ConfigError

__all__ = ["interpret"]


def _signals(items: Sequence[str]) -> dict[str, str]:
    signals = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--signal: expected NAME=FILE, got {item!r}")
        signals[name] = path
    return signals


@click.command("interpret")
@click.argument("background", metavar="BACKGROUND")
@click.option(
    "--signal", "signals", multiple=True, required=True, help="NAME=FILE of a signal jets file; repeatable."
)
@click.option("-o", "--output", required=True, help="Directory of the summary and figures.")
@click.option(
    "--pt-range", nargs=2, type=float, default=(550.0, 650.0), show_default=True, help="Jet pT window (GeV)."
)
@click.option(
    "--train", "n_train", type=int, default=50_000, show_default=True, help="Background training jets."
)
@click.option(
    "--validation", "n_validation", type=int, default=10_000, show_default=True, help="Held-out jets (ADO)."
)
@click.option(
    "--test", "n_test", type=int, default=20_000, show_default=True, help="Background test jets (AUCs)."
)
@click.option("--signal-jets", type=int, default=20_000, show_default=True, help="Most jets per signal.")
@click.option("--steps", type=int, default=8, show_default=True, help="Observables the selection adds.")
@click.option(
    "--start",
    default="",
    help="Comma-separated observables every mimicker takes (the paper: mass,pt) [default: none].",
)
@click.option(
    "--tries",
    type=int,
    default=5,
    show_default=True,
    help="Candidates retrained per selection step; the best on the training pairs is added.",
)
@click.option("--mimickers", default="hln,pnn", show_default=True, help="Comma-separated: hln, pnn.")
@click.option("--observables", default=None, help="Comma-separated candidate observables [default: all].")
@click.option("--ae-epochs", type=int, default=60, show_default=True, help="Most autoencoder epochs.")
@click.option(
    "--ae-schedule",
    type=click.Choice(["plateau", "cosine"]),
    default="cosine",
    show_default=True,
    help="Autoencoder learning rate: cut on plateaus, or cosine-annealed over --ae-epochs.",
)
@click.option(
    "--ae-learning-rate", type=float, default=1e-2, show_default=True, help="Autoencoder learning rate."
)
@click.option(
    "--ae-warmup",
    "ae_warmup_epochs",
    type=int,
    default=2,
    show_default=True,
    help="Epochs of linear learning-rate warm-up before the cosine (--ae-schedule cosine).",
)
@click.option(
    "--autoencoders",
    "n_autoencoders",
    type=int,
    default=5,
    show_default=True,
    help="Autoencoders of different seeds (1: the paper's); the score is the geometric mean of their errors.",
)
@click.option("--mimicker-epochs", type=int, default=300, show_default=True, help="Most mimicker epochs.")
@click.option("--device", default="auto", show_default=True, help="Torch device: auto, cpu, cuda.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of networks and pairs.")
def interpret(
    background: str,
    signals: Sequence[str],
    output: str,
    pt_range: tuple[float, float],
    n_train: int,
    n_validation: int,
    n_test: int,
    signal_jets: int,
    steps: int,
    start: str,
    tries: int,
    mimickers: str,
    observables: str | None,
    ae_epochs: int,
    ae_schedule: str,
    ae_learning_rate: float,
    ae_warmup_epochs: int,
    n_autoencoders: int,
    mimicker_epochs: int,
    device: str,
    seed: int,
) -> None:
    """Train an autoencoder on the BACKGROUND jets' images, choose observables for small networks that
    mimic it (HLN, PNN; greedy, ADO-guided) and compare all of them on each signal (arXiv:2203.01343)."""
    from bumphunt.interpretable import InterpretPlan, run_interpretation, write_interpretation

    plan = InterpretPlan(
        background=background,
        signals=_signals(signals),
        pt_range=tuple(pt_range),
        n_train=n_train,
        n_validation=n_validation,
        n_test=n_test,
        n_signal=signal_jets,
        observables=None if observables is None else tuple(o.strip() for o in observables.split(",")),
        n_steps=steps,
        start=tuple(o.strip() for o in start.split(",") if o.strip()),
        selection_tries=tries,
        mimickers=tuple(m.strip() for m in mimickers.split(",")),
        autoencoder_epochs=ae_epochs,
        autoencoder_schedule=ae_schedule,
        autoencoder_learning_rate=ae_learning_rate,
        autoencoder_warmup_epochs=ae_warmup_epochs,
        n_autoencoders=n_autoencoders,
        mimicker_epochs=mimicker_epochs,
        device=device,
        seed=seed,
    )
    console = Console()
    summary = run_interpretation(plan, progress=console.print)
    files = write_interpretation(summary, output)
    for kind, result in summary["mimickers"].items():
        path = Table(title=f"{kind.upper()}: greedy selection")
        for column in ("step", "added", "guide ADO", "ADO (validation)"):
            path.add_column(column, justify="right")
        for i, step in enumerate(result["selection"]):
            guide = "-" if step["guide_ado"] is None else f"{step['guide_ado']:.3f}"
            path.add_row(
                str(i),
                step["added"] or " + ".join(step["observables"]),
                guide,
                f"{step['validation_ado']:.4f}",
            )
        console.print(path)
    table = Table(title="AUC against the test background")
    methods = list(next(iter(summary["auc"].values())))
    table.add_column("signal")
    for method in methods:
        table.add_column(method, justify="right")
    for name, aucs in summary["auc"].items():
        table.add_row(name, *(f"{aucs[m]:.3f}" for m in methods))
    console.print(table)
    console.print(f"summary and figures in {files['summary'].rsplit('/', 1)[0]}")

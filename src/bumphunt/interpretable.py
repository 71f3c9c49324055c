"""Interpretable anomaly detection end to end (arXiv:2203.01343): an autoencoder on jet images, explained.

:func:`run_interpretation` takes a background jets file and signal jets files (``bumphunt generate
jets``, the LHCO constituents layout with one jet per row):

1. every jet with pT in ``pt_range`` gets its image (:mod:`bumphunt.physics.jet_images`) and its
   candidate observables (:mod:`bumphunt.physics.jet_observables`), block by block;
2. the background is split into training, validation (held out for the ADO) and test jets;
3. a convolutional autoencoder (:class:`~bumphunt.methods.autoencoder.JetImageAutoencoder`), or several
   with different seeds (:class:`~bumphunt.methods.autoencoder.AutoencoderEnsemble`: a member far worse
   converged than the others is trained again), is trained on the training images; its reconstruction
   error (the geometric mean of theirs) is the anomaly score;
4. for each mimicker (HLN, PNN; :mod:`bumphunt.methods.mimickers`) the greedy ADO-guided selection
   (:func:`~bumphunt.methods.observable_selection.select_observables`) picks observables (from none, or
   from the plan's start observables), and reports each step with the ADO on the validation jets;
5. the autoencoder and the final mimickers score the test background and every signal: AUCs and ROC
   curves per signal.

The result is a JSON-ready summary; :func:`write_interpretation` adds the figures.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.physics.jet_images import ImageSpec

__all__ = [
    "InterpretPlan",
    "JetTable",
    "read_interpretation_jets",
    "read_jets",
    "run_interpretation",
    "write_interpretation",
]

logger = logging.getLogger(__name__)

#: Images of arXiv:2203.01343: 40 x 40 pixels over +-1 in (phi, eta), pT fractions, no square root or
#: smearing.
PAPER_IMAGES = ImageSpec(pixels=40, half_width=1.0, power=1.0, smear=0.0)


@dataclasses.dataclass(frozen=True)
class InterpretPlan:
    """What an interpretation runs.

    Attributes
    ----------
    background
        Jets file of the background (QCD).
    signals
        Signal name -> jets file.
    pt_range
        Jets with ``low <= pT <= high`` (GeV, from the constituents) are used.
    n_train, n_validation, n_test
        Background jets for training (autoencoder and mimickers), for the held-out ADO, and for the AUCs;
        the first jets of the file in that order.
    n_signal
        Most jets read per signal.
    images
        Image definition.
    observables
        Candidate observables (:func:`bumphunt.physics.jet_observables.observable_names` by default).
    start
        Observables every mimicker takes. None by default: the first step takes the observable that alone
        orders the training jets most like the autoencoder, so that all ``n_steps`` observables are
        chosen; the paper starts from ``("mass", "pt")``.
    n_steps
        Observables the greedy selection adds.
    selection_tries
        Candidates retrained at each step of the selection, best by the guide first; the one whose
        mimicker orders the training pairs best is added
        (:func:`~bumphunt.methods.observable_selection.select_observables`, ``tries``).
    mimickers
        Which mimickers: ``"hln"``, ``"pnn"``.
    autoencoder_epochs, mimicker_epochs
        Most training epochs (early stopping).
    autoencoder_schedule
        Learning-rate schedule of the autoencoder, ``"plateau"`` or ``"cosine"``
        (:class:`~bumphunt.methods.autoencoder.JetImageAutoencoder`).
    autoencoder_learning_rate
        Adam's (starting) learning rate of the autoencoder. The defaults (60 cosine epochs at 1e-2 after
        a 2-epoch warm-up) converge where the paper's 1e-3 leaves the autoencoder on a plateau for tens
        of epochs; see the README for the measurements.
    autoencoder_warmup_epochs
        With the cosine schedule: epochs over which the learning rate first rises linearly.
    n_autoencoders
        Autoencoders trained with different seeds; the anomaly score is the geometric mean of their
        reconstruction errors. Two trainings order QCD jets alike only 78-90 % of the time (ADO), the
        average of two orders like a third 89-92 % of the time: an ensemble is a more reproducible score
        to explain, at ``n`` times the training time. A member whose best validation loss exceeds 1.5
        times the lowest is trained again (:class:`~bumphunt.methods.autoencoder.AutoencoderEnsemble`).
        5 by default (an HLN on 8 selected observables orders QCD jets like 5 healthy autoencoders 0.906
        of the time, like 3 of them 0.903); 1 is the paper's single autoencoder.
    device
        Torch device, ``"auto"``: CUDA when present.
    seed
        Seed of the networks and pairs.
    """

    background: str
    signals: Mapping[str, str]
    pt_range: tuple[float, float] = (550.0, 650.0)
    n_train: int = 50_000
    n_validation: int = 10_000
    n_test: int = 20_000
    n_signal: int = 20_000
    images: ImageSpec = PAPER_IMAGES
    observables: tuple[str, ...] | None = None
    start: tuple[str, ...] = ()
    n_steps: int = 8
    selection_tries: int = 5
    mimickers: tuple[str, ...] = ("hln", "pnn")
    autoencoder_epochs: int = 60
    mimicker_epochs: int = 300
    autoencoder_schedule: str = "cosine"
    autoencoder_learning_rate: float = 1e-2
    autoencoder_warmup_epochs: int = 2
    n_autoencoders: int = 5
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        low, high = self.pt_range
        if not 0 <= low < high:
            raise ConfigError(
                f"pt_range must be [low, high] with 0 <= low < high GeV, got {list(self.pt_range)!r}"
            )
        for name in ("n_train", "n_validation", "n_test", "n_signal"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 10):
                raise ConfigError(f"{name} must be an integer >= 10, got {value!r}")
        unknown = [m for m in self.mimickers if m not in ("hln", "pnn")]
        if unknown or not self.mimickers:
            raise ConfigError(f"mimickers must be among 'hln', 'pnn', got {list(self.mimickers)!r}")
        if not (isinstance(self.n_steps, int) and self.n_steps >= (0 if self.start else 1)):
            raise ConfigError(
                f"n_steps must be an integer >= {0 if self.start else 1}"
                f"{'' if self.start else ' without start observables'}, got {self.n_steps!r}"
            )
        if not (isinstance(self.selection_tries, int) and self.selection_tries >= 1):
            raise ConfigError(f"selection_tries must be a positive integer, got {self.selection_tries!r}")
        if not (isinstance(self.n_autoencoders, int) and self.n_autoencoders >= 1):
            raise ConfigError(f"n_autoencoders must be a positive integer, got {self.n_autoencoders!r}")
        if self.autoencoder_schedule not in ("plateau", "cosine"):
            raise ConfigError(
                f"autoencoder_schedule must be 'plateau' or 'cosine', got {self.autoencoder_schedule!r}"
            )
        rate = self.autoencoder_learning_rate
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ConfigError(f"autoencoder_learning_rate must be a positive number, got {rate!r}")
        warmup = self.autoencoder_warmup_epochs
        if not (isinstance(warmup, int) and 0 <= warmup < self.autoencoder_epochs):
            raise ConfigError(
                "autoencoder_warmup_epochs must be an integer from 0 to autoencoder_epochs - 1, "
                f"got {warmup!r}"
            )
        if warmup and self.autoencoder_schedule != "cosine":
            raise ConfigError(
                "autoencoder_warmup_epochs needs autoencoder_schedule 'cosine', "
                f"got {self.autoencoder_schedule!r}"
            )
        if not self.signals:
            raise ConfigError("signals: give at least one signal jets file")
        from bumphunt.physics.jet_observables import check_observable_names

        names = self.candidates
        check_observable_names(names)
        missing = [name for name in self.start if name not in names]
        if missing:
            raise ConfigError(f"start observables {missing} are not among the candidate observables")

    @property
    def candidates(self) -> tuple[str, ...]:
        from bumphunt.physics.jet_observables import observable_names

        return tuple(self.observables) if self.observables is not None else observable_names()


@dataclasses.dataclass(frozen=True)
class JetTable:
    """Images and observables of jets read from a file."""

    images: np.ndarray
    observables: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index: slice | np.ndarray) -> JetTable:
        return JetTable(self.images[index], {k: v[index] for k, v in self.observables.items()})

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        return np.column_stack([self.observables[name] for name in names])


def read_jets(
    path: str | os.PathLike[str],
    n_jets: int,
    *,
    pt_range: tuple[float, float],
    images: ImageSpec,
    observables: Sequence[str],
    chunk_size: int = 5_000,
) -> JetTable:
    """The first ``n_jets`` jets of a jets file with pT in ``pt_range``: images and observables, computed
    block by block.

    Raises
    ------
    bumphunt.errors.ConfigError
        If no jet of the file lies in ``pt_range`` (the message names the file and the setting).
    """
    from bumphunt.io.lhco_constituents import iter_lhco_constituents
    from bumphunt.physics.jet_images import image_observables, is_image_observable, jet_images
    from bumphunt.physics.jet_observables import check_observable_names, jet_observables

    names = list(dict.fromkeys(["pt", *observables]))
    check_observable_names(names)
    # the image observables come from the images made here, of the plan's definition
    from_images = [name for name in names if is_image_observable(name)]
    from_constituents = [name for name in names if not is_image_observable(name)]
    image_blocks, observable_blocks, n_read, n_kept = [], [], 0, 0
    for chunk in iter_lhco_constituents(path, chunk_size=chunk_size):
        # the pT cut first: the other observables are computed on the jets kept only
        pt = jet_observables(chunk.particles, ["pt"])["pt"]
        keep = (pt >= pt_range[0]) & (pt <= pt_range[1])
        keep &= np.cumsum(keep) + n_kept <= n_jets
        n_read += len(keep)
        if not keep.any():
            if n_kept >= n_jets:
                break
            continue
        jets = chunk.particles[keep]
        counts = ak.to_numpy(ak.num(jets, axis=1))
        flat = {k: ak.to_numpy(ak.flatten(jets[k])) for k in ("pt", "eta", "phi")}
        block = jet_images(flat["pt"], flat["eta"], flat["phi"], counts, images)
        image_blocks.append(block)
        values = jet_observables(jets, from_constituents, image_spec=images)
        observable_blocks.append(values | image_observables(block, from_images, half_width=images.half_width))
        n_kept += int(keep.sum())
        if n_kept >= n_jets:
            break
    if n_kept == 0:
        raise ConfigError(
            f"pt_range: no jet of {os.fspath(path)!r} has pT in [{pt_range[0]:g}, {pt_range[1]:g}] GeV "
            f"({n_read} jets read)"
        )
    logger.info("read %d jets of %s (%d read)", n_kept, os.fspath(path), n_read)
    return JetTable(
        np.concatenate(image_blocks),
        {name: np.concatenate([block[name] for block in observable_blocks]) for name in names},
    )


def _mimicker(kind: str, plan: InterpretPlan) -> Any:
    from bumphunt.methods.mimickers import HighLevelNetwork, PairedNetwork

    settings = {"max_epochs": plan.mimicker_epochs, "device": plan.device, "seed": plan.seed}
    if kind == "hln":
        return HighLevelNetwork(**settings)
    return PairedNetwork(**settings)


def read_interpretation_jets(
    plan: InterpretPlan, *, progress: Callable[[str], None] | None = None
) -> tuple[JetTable, dict[str, JetTable]]:
    """The background and signal jets of ``plan`` with their images and candidate observables.

    Raises
    ------
    bumphunt.errors.ConfigError
        If the background file has fewer jets in the pT range than the plan's three parts need.
    """
    names = plan.candidates
    n_background = plan.n_train + plan.n_validation + plan.n_test
    if progress is not None:
        progress(f"reading {n_background} background jets")
    background = read_jets(
        plan.background, n_background, pt_range=plan.pt_range, images=plan.images, observables=names
    )
    if len(background) < n_background:
        raise ConfigError(
            f"n_train + n_validation + n_test = {n_background} background jets asked, {plan.background!r} "
            f"has {len(background)} with pT in {list(plan.pt_range)} GeV"
        )
    signals = {}
    for name, path in plan.signals.items():
        if progress is not None:
            progress(f"reading signal {name}")
        signals[name] = read_jets(
            path, plan.n_signal, pt_range=plan.pt_range, images=plan.images, observables=names
        )
    return background, signals


def run_interpretation(
    plan: InterpretPlan,
    *,
    jets: tuple[JetTable, dict[str, JetTable]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``plan`` (see the module documentation); return the JSON-ready summary with the scores.

    ``jets`` are the background and signal jets of :func:`read_interpretation_jets` for ``plan`` (read
    once, say, for runs with several seeds); they are read from the plan's files when ``None``.

    The summary holds the sizes, the autoencoder's training history, for each mimicker its selection
    path, chosen observables, ADO on the validation jets and on the test jets, and per signal the AUC of
    the autoencoder and of each mimicker. ``"scores"`` holds the test-background and signal scores of
    each method (for the ROC curves).
    """
    from bumphunt.methods.autoencoder import AutoencoderEnsemble, JetImageAutoencoder
    from bumphunt.methods.observable_selection import select_observables
    from bumphunt.stats.metrics import auc
    from bumphunt.stats.ordering import average_decision_ordering

    def say(text: str) -> None:
        logger.info(text)
        if progress is not None:
            progress(text)

    names = plan.candidates
    n_background = plan.n_train + plan.n_validation + plan.n_test
    background, signals = jets if jets is not None else read_interpretation_jets(plan, progress=say)
    train = background.take(slice(0, plan.n_train))
    validation = background.take(slice(plan.n_train, plan.n_train + plan.n_validation))
    test = background.take(slice(plan.n_train + plan.n_validation, n_background))
    ensemble = AutoencoderEnsemble(
        JetImageAutoencoder(
            max_epochs=plan.autoencoder_epochs,
            schedule=plan.autoencoder_schedule,
            learning_rate=plan.autoencoder_learning_rate,
            warmup_epochs=plan.autoencoder_warmup_epochs,
            device=plan.device,
        ),
        n_members=plan.n_autoencoders,
        seed=plan.seed,
    ).fit(train.images, progress=say)
    members = ensemble.members_
    ae_score = ensemble.score  # geometric mean of the members' reconstruction errors (image units squared)

    ae = {
        "train": ae_score(train.images),
        "validation": ae_score(validation.images),
        "test": ae_score(test.images),
        **{f"signal:{name}": ae_score(table.images) for name, table in signals.items()},
    }
    scores: dict[str, dict[str, np.ndarray]] = {"autoencoder": {k: v for k, v in ae.items() if k != "train"}}
    summary: dict[str, Any] = {
        "sizes": {
            "train": len(train),
            "validation": len(validation),
            "test": len(test),
            **{f"signal:{name}": len(table) for name, table in signals.items()},
        },
        "pt_range": list(plan.pt_range),
        "candidates": len(names),
        "autoencoder": {
            "members": len(members),
            "best_epoch": [m.history_.best_epoch for m in members],
            "validation_loss": ensemble.validation_loss_,
            "restarts": [m.restarts_ for m in members],
            "retrains": ensemble.retrains_,
            "discarded_validation_loss": ensemble.discarded_loss_,
        },
        "mimickers": {},
    }
    for kind in plan.mimickers:
        say(f"selecting observables for the {kind.upper()}")
        selection, model = select_observables(
            train.observables,
            ae["train"],
            _mimicker(kind, plan),
            start=plan.start,
            candidates=names,
            n_steps=plan.n_steps,
            tries=plan.selection_tries,
            validation=(validation.observables, ae["validation"]),
            seed=plan.seed,
            progress=lambda step, kind=kind: say(
                f"{kind.upper()}: {step.added or 'start'} -> validation ADO {step.validation_ado:.4f}"
            ),
        )
        chosen = selection.chosen
        mimic = {"test": model.score(test.matrix(chosen))}
        mimic.update({f"signal:{n}": model.score(t.matrix(chosen)) for n, t in signals.items()})
        mimic["validation"] = model.score(validation.matrix(chosen))
        scores[kind] = mimic
        summary["mimickers"][kind] = {
            "selection": selection.to_dict()["steps"],
            "chosen": list(chosen),
            "ado_validation": selection.steps[-1].validation_ado,
            "ado_test": average_decision_ordering(ae["test"], mimic["test"]),
        }
    summary["auc"] = {}
    for name in signals:
        labels = np.repeat([0, 1], [len(test), len(signals[name])])
        summary["auc"][name] = {
            method: auc(np.concatenate([values["test"], values[f"signal:{name}"]]), labels)
            for method, values in scores.items()
        }
    summary["scores"] = scores
    return summary


def write_interpretation(summary: Mapping[str, Any], output: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``summary.json`` (without the per-jet scores) and the figures into ``output``: the selection
    path of each mimicker and the ROC/SIC curves of every method for each signal."""
    import json

    from bumphunt._files import atomic_path
    from bumphunt.report.interpret_plots import selection_path_figure
    from bumphunt.report.plots import roc_sic_figure
    from bumphunt.stats._records import jsonable

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    path = out / "selection_path.png"
    selection_path_figure({k: v["selection"] for k, v in summary["mimickers"].items()}).savefig(path)
    files["selection_path"] = str(path)
    scores = summary["scores"]
    for name in summary["auc"]:
        curves = {}
        for method, values in scores.items():
            background, signal = values["test"], values[f"signal:{name}"]
            labels = np.repeat([0, 1], [len(background), len(signal)])
            curves[method.upper() if method != "autoencoder" else "autoencoder"] = (
                np.concatenate([background, signal]),
                labels,
            )
        path = out / f"roc_{name}.png"
        roc_sic_figure(curves).savefig(path)
        files[f"roc_{name}"] = str(path)
    record = {k: v for k, v in summary.items() if k != "scores"}
    record["files"] = files
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(jsonable(record), indent=1))
    files["summary"] = str(out / "summary.json")
    return files

"""Greedy choice of the observables that let a small network mimic an anomaly score (ADO-guided).

Following Faucett, Thaler, Whiteson (arXiv:2010.11998) and Bradshaw, Chang, Ostdiek (arXiv:2203.01343):

1. a mimicker (:class:`~bumphunt.methods.mimickers.HighLevelNetwork` or
   :class:`~bumphunt.methods.mimickers.PairedNetwork`) is trained on the start observables (jet mass and
   pT by default) to reproduce the target score (the autoencoder's) on background events;
2. among random pairs of training events, those the mimicker orders differently from the target are
   kept (all of them when there are no start observables: the first step then takes the observable that
   alone orders the training pairs best); each candidate observable is scored by its decision ordering
   with the target on those pairs alone, in the orientation in which it orders all training pairs best
   (an observable may order either way, but in one way for all pairs: taking the better orientation on
   the misordered pairs alone,
   ``max(ADO, 1 - ADO)`` there, would favour observables that order them exactly as wrongly as the
   mimicker does, i.e. copies of what it already has);
3. the best candidate is added, the mimicker is retrained from scratch on the larger set, and the steps
   repeat ``n_steps`` times (or until no candidate is left or ``target_ado`` is reached). With
   ``tries = k > 1`` the ``k`` best candidates by the guide are each tried (a mimicker retrained with
   each) and the one whose mimicker orders the training pairs best is kept: the guide ranks
   observables by what they add alone, and among close runners-up the retrained network is the judge.
   The held-out events play no part in the choice.

Each step records the observable added, its ADO on the misordered pairs, and the ADO of the retrained
mimicker with the target on the training pairs and, when given, over all pairs of held-out background
(:func:`bumphunt.stats.ordering.average_decision_ordering`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import clone

from bumphunt.errors import ConfigError, DataFormatError
from bumphunt.seeding import SeedLike, seed_sequence
from bumphunt.stats._records import Record
from bumphunt.stats.ordering import average_decision_ordering

__all__ = ["ObservableSelection", "SelectionStep", "select_observables"]

logger = logging.getLogger(__name__)

Observables = Mapping[str, npt.ArrayLike]


@dataclasses.dataclass(frozen=True)
class SelectionStep(Record):
    """One step of the greedy selection.

    Attributes
    ----------
    added
        The observable added at this step (``None`` for the start set).
    observables
        The mimicker's inputs after the step.
    guide_ado
        ADO of the added observable (in its orientation over all training pairs) with the target on the
        pairs the previous mimicker misordered (``None`` for the start set).
    train_ado
        ADO of the retrained mimicker with the target on the training pairs.
    validation_ado
        ADO over all pairs of the held-out events (``None`` without them).
    """

    added: str | None
    observables: tuple[str, ...]
    guide_ado: float | None
    train_ado: float
    validation_ado: float | None


@dataclasses.dataclass(frozen=True)
class ObservableSelection(Record):
    """The path of the greedy selection; ``steps[-1].observables`` is the final set."""

    steps: tuple[SelectionStep, ...]

    @property
    def chosen(self) -> tuple[str, ...]:
        return self.steps[-1].observables


def _decision(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per pair: 1 where the two differences have the same sign, 0 where opposite, 1/2 on a tie."""
    product = np.sign(first) * np.sign(second)
    return 0.5 * (product + 1.0)


def _matrix(table: Observables, names: Sequence[str], what: str, n: int) -> np.ndarray:
    missing = [name for name in names if name not in table]
    if missing:
        raise ConfigError(f"{what}: observable(s) {missing} are not among {sorted(table)}")
    columns = [np.asarray(table[name], dtype=np.float64) for name in names]
    for name, column in zip(names, columns, strict=True):
        if column.shape != (n,):
            raise DataFormatError(f"{what}: observable {name!r} has shape {column.shape}, expected ({n},)")
    return np.column_stack(columns)


def select_observables(
    observables: Observables,
    target: npt.ArrayLike,
    mimicker: Any,
    *,
    start: Sequence[str] = ("mass", "pt"),
    candidates: Sequence[str] | None = None,
    n_steps: int = 8,
    target_ado: float | None = None,
    n_pairs: int = 200_000,
    tries: int = 1,
    validation: tuple[Observables, npt.ArrayLike] | None = None,
    seed: SeedLike = 0,
    progress: Callable[[SelectionStep], None] | None = None,
) -> tuple[ObservableSelection, Any]:
    """Choose observables greedily for ``mimicker`` to reproduce ``target`` (see the module documentation).

    Parameters
    ----------
    observables
        Name -> ``(n,)`` values on the training (background) events.
    target
        ``(n,)`` the score to mimic on the same events (e.g. the autoencoder's reconstruction error).
    mimicker
        An unfitted estimator with ``fit(X, target)`` and ``score(X)``; cloned at each step.
    start
        Observables every mimicker takes (may be empty).
    candidates
        Observables to choose from (default: all others).
    n_steps
        Most observables added.
    target_ado
        Stop once the validation ADO (or the training ADO without validation) reaches this.
    n_pairs
        Random training pairs for the guide and the training ADO.
    tries
        Candidates retrained at each step, best by the guide first; the one with the best training ADO is
        added (1: the guide's choice alone, as in arXiv:2010.11998).
    validation
        Held-out ``(observables, target)`` for the validation ADO over all their pairs.
    seed
        Seed of the pairs.
    progress
        Called with each step as it finishes.

    Returns
    -------
    ObservableSelection, estimator
        The path and the last fitted mimicker.

    Raises
    ------
    bumphunt.errors.ConfigError
        For an observable name that does not exist or a setting out of range.
    """
    y = np.asarray(target, dtype=np.float64)
    n = len(y)
    if not isinstance(n_steps, int) or n_steps < 0:
        raise ConfigError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    if not isinstance(n_pairs, int) or n_pairs < 1:
        raise ConfigError(f"n_pairs must be a positive integer, got {n_pairs!r}")
    if not isinstance(tries, int) or tries < 1:
        raise ConfigError(f"tries must be a positive integer, got {tries!r}")
    pool = [name for name in (candidates if candidates is not None else observables) if name not in start]
    if not start and (n_steps < 1 or not pool):
        raise ConfigError(
            "without start observables the selection needs n_steps >= 1 and a candidate (the mimicker "
            "needs an input)"
        )
    _matrix(observables, [*start, *pool], "select_observables", n)
    if validation is not None:
        validation_table, validation_target = validation
        validation_y = np.asarray(validation_target, dtype=np.float64)
        _matrix(validation_table, [*start, *pool], "select_observables validation", len(validation_y))
    rng = np.random.default_rng(seed_sequence(seed))
    first, second = rng.integers(0, n, n_pairs), rng.integers(0, n, n_pairs)
    distinct = first != second
    first, second = first[distinct], second[distinct]
    target_order = y[first] - y[second]
    # each observable in its orientation: the sign with which it orders all training pairs best
    oriented = {}
    for name in pool:
        values = np.asarray(observables[name], dtype=np.float64)
        agrees = np.mean(_decision(values[first] - values[second], target_order)) >= 0.5
        oriented[name] = values if agrees else -values

    def fit(names: tuple[str, ...]) -> tuple[Any, np.ndarray, float, float | None]:
        model = clone(mimicker).fit(_matrix(observables, names, "select_observables", n), y)
        score = model.score(_matrix(observables, names, "select_observables", n))
        train_ado = float(np.mean(_decision(score[first] - score[second], target_order)))
        validation_ado = None
        if validation is not None:
            held_out = model.score(_matrix(validation_table, names, "validation", len(validation_y)))
            validation_ado = average_decision_ordering(validation_y, held_out)
        return model, score, train_ado, validation_ado

    chosen = tuple(start)
    steps: list[SelectionStep] = []
    model, score, train_ado, validation_ado = None, np.zeros(n), 0.0, None
    if chosen:
        model, score, train_ado, validation_ado = fit(chosen)
        steps.append(SelectionStep(None, chosen, None, train_ado, validation_ado))
        if progress is not None:
            progress(steps[-1])
    for _ in range(n_steps):
        reached = validation_ado if validation_ado is not None else train_ado
        remaining = [name for name in pool if name not in chosen]
        if not remaining or (target_ado is not None and reached >= target_ado):
            break
        if chosen:
            misordered = _decision(score[first] - score[second], target_order) == 0.0
        else:  # nothing to order with yet: every pair counts
            misordered = np.ones(len(first), dtype=bool)
        if not misordered.any():
            break
        a, b, order = first[misordered], second[misordered], target_order[misordered]
        guide = {}
        for name in remaining:
            values = oriented[name]
            guide[name] = float(np.mean(_decision(values[a] - values[b], order)))
        ranked = sorted(remaining, key=lambda name: -guide[name])[:tries]
        fits = [fit((*chosen, name)) for name in ranked]
        pick = max(range(len(ranked)), key=lambda i: fits[i][2])  # first of equals: the guide's order
        best = ranked[pick]
        chosen = (*chosen, best)
        model, score, train_ado, validation_ado = fits[pick]
        steps.append(SelectionStep(best, chosen, guide[best], train_ado, validation_ado))
        logger.info(
            "observable selection: added %s (guide ADO %.3f), ADO %.4f (validation %s)",
            best,
            guide[best],
            train_ado,
            "-" if validation_ado is None else f"{validation_ado:.4f}",
        )
        if progress is not None:
            progress(steps[-1])
    return ObservableSelection(tuple(steps)), model

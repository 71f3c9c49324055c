"""Greedy, ADO-guided choice of the observables a mimicker needs."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.methods.mimickers import HighLevelNetwork, PairedNetwork
from bumphunt.methods.observable_selection import select_observables

SETTINGS = {"max_epochs": 30, "patience": 4, "device": "cpu", "hidden_layers": (32, 32)}


def _table(seed: int, n: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Ten observables; the score depends on 'b' and 'c' (and the start observable 'a') only."""
    rng = np.random.default_rng(seed)
    table = {name: rng.normal(size=n) for name in "abcdefghij"}
    score = np.exp(0.5 * table["a"] + table["b"] ** 2 - 0.8 * table["c"])
    return table, score


@pytest.mark.parametrize("kind", [HighLevelNetwork, PairedNetwork])
def test_the_selection_adds_the_observables_the_score_depends_on_first(kind):
    table, score = _table(0, 3000)
    held_out = _table(1, 1500)
    steps = []
    selection, model = select_observables(
        table,
        score,
        kind(seed=2, **SETTINGS),
        start=("a",),
        n_steps=3,
        validation=held_out,
        progress=steps.append,
    )
    assert [s.added for s in selection.steps] == [None, *[s.added for s in selection.steps[1:]]]
    assert set(selection.chosen[1:3]) == {"b", "c"}
    assert len(steps) == len(selection.steps) == 4
    # the ordering improves as they are added and is nearly the score's once both are in
    ados = [s.validation_ado for s in selection.steps]
    assert ados[0] < 0.8 < 0.93 < ados[2]
    assert selection.steps[1].guide_ado > 0.5
    assert model.score(np.column_stack([held_out[0][n] for n in selection.chosen])).shape == (1500,)
    assert selection.to_dict()["steps"][0]["added"] is None


def test_the_selection_stops_at_the_target_ado_and_names_bad_observables():
    table, score = _table(3, 1500)
    selection, _ = select_observables(
        table, score, HighLevelNetwork(seed=1, **SETTINGS), start=("a", "b", "c"), n_steps=5, target_ado=0.9
    )
    assert len(selection.steps) == 1 and selection.steps[0].train_ado > 0.9
    with pytest.raises(ConfigError, match=r"observable\(s\) \['nope'\] are not among"):
        select_observables(table, score, HighLevelNetwork(**SETTINGS), start=("nope",))
    with pytest.raises(ConfigError, match="n_steps"):
        select_observables(table, score, HighLevelNetwork(**SETTINGS), start=("a",), n_steps=-1)


def test_without_start_observables_the_first_step_takes_the_best_single_observable():
    table, _ = _table(5, 2000)
    score = np.exp(1.5 * table["d"] + 0.5 * table["e"])
    selection, model = select_observables(
        table, score, HighLevelNetwork(seed=0, **SETTINGS), start=(), n_steps=2
    )
    assert [s.added for s in selection.steps] == ["d", "e"] and selection.chosen == ("d", "e")
    assert selection.steps[0].observables == ("d",) and selection.steps[1].train_ado > 0.95
    assert model.n_features_in_ == 2
    with pytest.raises(ConfigError, match="without start observables the selection needs n_steps >= 1"):
        select_observables(table, score, HighLevelNetwork(**SETTINGS), start=(), n_steps=0)
    with pytest.raises(ConfigError, match="tries must be a positive integer, got 0"):
        select_observables(table, score, HighLevelNetwork(**SETTINGS), tries=0)


def test_tries_retrains_the_runners_up_and_keeps_the_best_network():
    # The score depends on 'y' only through its product with the start observable 'a': alone, 'y' orders
    # the pairs no better than chance, so the guide ranks 'x' (a weak main effect) first. Retrained with
    # the start observable, 'y' orders nearly all pairs; with two tries it is added.
    rng = np.random.default_rng(6)
    a, x, y = rng.normal(size=(3, 3000))
    table = {"a": a, "x": x, "y": y}
    score = np.exp(a * y + 0.3 * x)
    mimicker = HighLevelNetwork(seed=0, **SETTINGS)
    guided, _ = select_observables(table, score, mimicker, start=("a",), n_steps=1)
    tried, _ = select_observables(table, score, mimicker, start=("a",), n_steps=1, tries=2)
    assert guided.steps[1].added == "x" and tried.steps[1].added == "y"
    assert tried.steps[1].guide_ado < guided.steps[1].guide_ado
    assert tried.steps[1].train_ado > guided.steps[1].train_ado + 0.1


def test_a_copy_of_an_observable_the_mimicker_has_is_not_chosen_over_a_new_one():
    # On the pairs the mimicker misorders, a monotone copy of its own input orders them exactly as
    # wrongly; read in the other orientation there, it would look perfect. Its orientation comes from
    # all pairs, so the observable that carries new information is added instead.
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 2000))
    table = {"a": a, "a_copy": 3.0 * a + 1.0, "b": b, "noise": rng.normal(size=2000)}
    score = np.exp(a + 0.6 * b)
    selection, _ = select_observables(
        table, score, HighLevelNetwork(seed=0, **SETTINGS), start=("a",), n_steps=1
    )
    assert selection.steps[1].added == "b", selection.steps

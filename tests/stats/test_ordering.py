"""The average decision ordering: exact over all pairs, ties counted half."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bumphunt.errors import DataFormatError
from bumphunt.stats.ordering import average_decision_ordering


def _by_pairs(f: np.ndarray, g: np.ndarray) -> float:
    agree = [
        1.0 if s > 0 else 0.5 if s == 0 else 0.0
        for s in ((f[i] - f[j]) * (g[i] - g[j]) for i, j in itertools.combinations(range(len(f)), 2))
    ]
    return float(np.mean(agree))


def test_a_score_orders_like_itself_and_opposite_to_its_negative():
    f = np.random.default_rng(0).normal(size=500)
    assert average_decision_ordering(f, f) == 1.0
    assert average_decision_ordering(f, -f) == 0.0
    # monotonic transformations change nothing
    assert average_decision_ordering(f, np.exp(3 * f)) == 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_equals_the_share_of_agreeing_pairs_with_ties_counted_half(seed):
    rng = np.random.default_rng(seed)
    f, g = rng.integers(0, 5, 40).astype(float), rng.integers(0, 3, 40) + 0.5 * rng.integers(0, 2, 40)
    assert average_decision_ordering(f, g) == pytest.approx(_by_pairs(f, g), abs=1e-12)


def test_unrelated_scores_give_one_half_and_a_constant_score_ties_everything():
    rng = np.random.default_rng(4)
    assert average_decision_ordering(rng.normal(size=20000), rng.normal(size=20000)) == pytest.approx(
        0.5, abs=0.01
    )
    assert average_decision_ordering(rng.normal(size=10), np.ones(10)) == 0.5


def test_bad_scores_are_refused():
    with pytest.raises(DataFormatError, match="equal length"):
        average_decision_ordering([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DataFormatError, match="at least two"):
        average_decision_ordering([1.0], [1.0])
    with pytest.raises(DataFormatError, match="NaN"):
        average_decision_ordering([1.0, np.nan], [1.0, 2.0])

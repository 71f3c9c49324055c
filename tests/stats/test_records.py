"""Records turn into JSON and never carry a silent NaN."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bumphunt.stats import Window, cut_and_count, dijet
from bumphunt.stats._records import Record, jsonable


def test_nested_results_become_builtin_types():
    data = jsonable(
        {"count": cut_and_count(12, 10.0), "window": Window.from_edges(1, 2, 3, 4), "arr": np.arange(3)}
    )
    text = json.dumps(data)
    back = json.loads(text)
    assert back["count"]["n_obs"] == 12.0
    assert back["window"] == {"sr": [2.0, 3.0], "sb": [[1.0, 2.0], [3.0, 4.0]]}
    assert back["arr"] == [0, 1, 2]
    assert json.loads(json.dumps(dijet(4).to_dict()))["param_names"] == ["p0", "p1", "p2", "p3"]


def test_nan_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Broken(Record):
        value: float

    with pytest.raises(ValueError, match="NaN"):
        Broken(float("nan")).to_dict()
    with pytest.raises(ValueError, match="NaN"):
        jsonable(np.array([1.0, np.nan]))

"""The event loop's bookkeeping: batch sizes, empty batches, counts."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError
from bumphunt.generate import DijetSelection, generate_chunk, qcd_dijet


def test_rare_selection_with_constituents_survives_batches_with_no_passing_event():
    # QCD passes the trigger with ~2 % efficiency: the first batches of 10 events mostly pass nothing
    result = generate_chunk(qcd_dijet(), 3, seed=4, constituents=True)
    assert result.features.shape == (3, 14)
    assert result.constituents.shape == (3, 700, 3)
    assert result.n_passed >= 3
    assert result.n_generated > 20 * result.n_passed / 3
    assert np.all(result.pthat > 570.0)


def test_zero_events_gives_empty_arrays_of_the_right_shape():
    result = generate_chunk(qcd_dijet(), 0, seed=4, constituents=True)
    assert result.features.shape == (0, 14)
    assert result.constituents.shape == (0, 700, 3)
    assert result.n_generated == 0


@pytest.mark.parametrize(
    ("setting", "value"), [("trigger_pt", -1.0), ("eta_max", 0.0), ("max_constituents", 0)]
)
def test_bad_selection_settings_are_rejected(setting, value):
    with pytest.raises(ConfigError, match=setting):
        DijetSelection(**{setting: value})


def test_negative_event_count_is_rejected():
    with pytest.raises(ConfigError, match="must not be negative"):
        generate_chunk(qcd_dijet(), -1, seed=1)

"""EventSet: validation, mass windows, splits, concatenation and the Parquet round trip."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError, EmptySelectionError, MissingFileError
from bumphunt.events import EventSet, Window, concatenate


def make_events(n: int = 1000, seed: int = 0, *, label: bool = True, weight: bool = False) -> EventSet:
    rng = np.random.default_rng(seed)
    return EventSet(
        mass=rng.uniform(2800.0, 4200.0, n),
        features=rng.normal(size=(n, 3)),
        feature_names=("mj_min", "delta_mj", "tau21_jmin"),
        label=rng.integers(0, 2, n) if label else None,
        weight=rng.uniform(0.5, 1.5, n) if weight else None,
        provenance={"source": "test.h5", "seed": seed},
    )


def test_arrays_are_read_only_copies():
    mass = np.array([100.0, 200.0])
    events = EventSet(mass, np.zeros((2, 1)), ("x",))
    mass[0] = -1.0
    assert events.mass[0] == 100.0
    with pytest.raises(ValueError, match="read-only"):
        events.mass[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        events.features[0, 0] = 5.0


def test_nan_and_inf_are_reported_with_column_and_count():
    features = np.ones((10, 2))
    features[[1, 4, 7], 1] = np.nan
    features[2, 0] = np.inf
    with pytest.raises(DataFormatError) as info:
        EventSet(np.full(10, 3000.0), features, ("a", "b"), provenance={"source": "x.h5"})
    message = str(info.value)
    assert "x.h5" in message
    assert "column 'a' has 1" in message
    assert "column 'b' has 3" in message
    assert "nonfinite='drop'" in message


def test_drop_option_removes_exactly_the_bad_events():
    features = np.arange(20.0).reshape(10, 2)
    features[[1, 4], 1] = np.nan
    mass = np.linspace(1000.0, 2000.0, 10)
    mass[7] = np.inf
    events = EventSet.from_arrays(mass, features, ("a", "b"), label=np.arange(10), nonfinite="drop")
    assert len(events) == 7
    assert events.label.tolist() == [0, 2, 3, 5, 6, 8, 9]
    assert events.provenance["n_dropped_nonfinite"] == 3


@pytest.mark.parametrize("bad_mass", [0.0, -5.0])
def test_non_positive_masses_are_rejected(bad_mass):
    mass = np.array([100.0, bad_mass, 300.0])
    with pytest.raises(DataFormatError, match=r"'mass' has 1 values <= 0 GeV"):
        EventSet(mass, np.zeros((3, 0)), ())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": np.zeros((4, 2))}, r"shape \(3 events, 1 names\)"),
        ({"feature_names": ("mass",), "features": np.zeros((3, 1))}, "reserved"),
        ({"feature_names": ("a", "a"), "features": np.zeros((3, 2))}, "repeated"),
        ({"label": np.array([0.0, 0.5, 1.0])}, "not integers"),
        ({"weight": np.ones(2)}, r"weight must have shape \(3,\)"),
    ],
)
def test_inconsistent_inputs_are_rejected(kwargs, match):
    arguments = {"mass": np.ones(3), "features": np.zeros((3, 1)), "feature_names": ("a",), **kwargs}
    with pytest.raises(DataFormatError, match=match):
        EventSet(**arguments)


def test_window_selection_matches_explicit_masks():
    events = make_events()
    window = Window(sr=(3300.0, 3700.0), sb=((3000.0, 3300.0), (3700.0, 4000.0)))
    sr, sb = events.signal_region(window), events.sidebands(window)
    m = events.mass
    assert len(sr) == np.count_nonzero((m >= 3300) & (m < 3700))
    assert len(sb) == np.count_nonzero(((m >= 3000) & (m < 3300)) | ((m >= 3700) & (m < 4000)))
    assert np.all((sr.mass >= 3300) & (sr.mass < 3700))
    # rows stay together: the label and features of each selected event are those of the original
    index = np.flatnonzero((m >= 3300) & (m < 3700))
    np.testing.assert_array_equal(sr.features, events.features[index])
    np.testing.assert_array_equal(sr.label, events.label[index])
    assert sr.provenance["source"] == "test.h5"


def test_half_open_intervals_do_not_double_count_the_boundary():
    events = EventSet(np.array([3300.0, 3300.0, 3700.0]), np.zeros((3, 0)), ())
    window = Window(sr=(3300.0, 3700.0), sb=((3000.0, 3300.0), (3700.0, 4000.0)))
    assert len(events.signal_region(window)) == 2
    assert len(events.sidebands(window)) == 1


def test_empty_selection_names_window_and_data_range():
    events = make_events()
    with pytest.raises(EmptySelectionError, match=r"\[5000, 6000\) GeV.*mass range is \[28"):
        events.in_mass((5000.0, 6000.0))
    assert len(events.in_mass((5000.0, 6000.0), allow_empty=True)) == 0


@pytest.mark.parametrize(
    ("sr", "sb", "match"),
    [
        ((3700.0, 3300.0), (), "low < high"),
        ((3300.0, 3700.0), ((3200.0, 3400.0),), "overlaps the signal region"),
        ((3300.0, 3700.0), ((3000.0, 3200.0), (3100.0, 3300.0)), "overlap"),
        ((3300.0, float("nan")), (), "finite"),
    ],
)
def test_bad_windows_are_rejected(sr, sb, match):
    with pytest.raises(ConfigError, match=match):
        Window(sr=sr, sb=sb)


def test_window_around_builds_adjacent_sidebands():
    window = Window.around((3300.0, 3700.0), sideband_width=300.0)
    assert window.sb == ((3000.0, 3300.0), (3700.0, 4000.0))


def test_split_is_a_seeded_partition():
    events = make_events(n=1001)
    parts = events.split((0.5, 0.3, 0.2), seed=42)
    assert [len(p) for p in parts] == [500, 301, 200]
    joined = np.sort(np.concatenate([p.mass for p in parts]))
    np.testing.assert_array_equal(joined, np.sort(events.mass))
    again = events.split((0.5, 0.3, 0.2), seed=42)
    other = events.split((0.5, 0.3, 0.2), seed=43)
    np.testing.assert_array_equal(parts[0].mass, again[0].mass)
    assert not np.array_equal(parts[0].mass, other[0].mass)


@pytest.mark.parametrize("fractions", [(0.5, 0.4), (0.5, -0.5, 1.0), ()])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ConfigError, match="fractions"):
        make_events().split(fractions, seed=1)


def test_concatenate_keeps_rows_and_records_parts():
    a, b = make_events(n=10, seed=1), make_events(n=5, seed=2)
    joined = concatenate([a, b])
    assert len(joined) == 15
    np.testing.assert_array_equal(joined.mass, np.concatenate([a.mass, b.mass]))
    np.testing.assert_array_equal(joined.label, np.concatenate([a.label, b.label]))
    assert [p["seed"] for p in joined.provenance["parts"]] == [1, 2]


def test_concatenate_rejects_mismatched_sets():
    a = make_events(n=10)
    with pytest.raises(DataFormatError, match="features"):
        concatenate([a, a.with_features(["mj_min"])])
    with pytest.raises(DataFormatError, match="only one of them has a label"):
        concatenate([a, make_events(n=10, label=False)])


def test_with_features_and_column():
    events = make_events(n=20)
    reduced = events.with_features(["tau21_jmin", "mj_min"])
    assert reduced.feature_names == ("tau21_jmin", "mj_min")
    np.testing.assert_array_equal(reduced.column("mj_min"), events.features[:, 0])
    with pytest.raises(ConfigError, match="no feature named 'nope'"):
        events.column("nope")


def test_parquet_round_trip_keeps_everything(tmp_path):
    events = make_events(n=50, weight=True)
    path = events.to_parquet(tmp_path / "events.parquet")
    back = EventSet.from_parquet(path)
    assert back.feature_names == events.feature_names
    np.testing.assert_array_equal(back.mass, events.mass)
    np.testing.assert_array_equal(back.features, events.features)
    np.testing.assert_array_equal(back.label, events.label)
    np.testing.assert_array_equal(back.weight, events.weight)
    assert dict(back.provenance) == {"source": "test.h5", "seed": 0}
    assert not list(tmp_path.glob(".*tmp"))  # written atomically, nothing left over


def test_parquet_float32_halves_the_floats_and_reads_back_as_float64(tmp_path):
    import pyarrow.parquet as pq

    events = make_events(n=50, weight=True)
    path = events.to_parquet(tmp_path / "events32.parquet", float_dtype="float32")
    schema = pq.read_schema(path)
    assert str(schema.field("mass").type) == "float"
    assert str(schema.field("label").type) == "int64"
    back = EventSet.from_parquet(path)
    assert back.features.dtype == np.float64
    np.testing.assert_array_equal(back.mass, events.mass.astype(np.float32))
    np.testing.assert_allclose(back.features, events.features, rtol=1e-7)
    with pytest.raises(ConfigError, match="float_dtype"):
        events.to_parquet(tmp_path / "x.parquet", float_dtype="float16")


def test_parquet_without_label_or_weight(tmp_path):
    events = make_events(n=5, label=False)
    back = EventSet.from_parquet(events.to_parquet(tmp_path / "e.parquet"))
    assert back.label is None
    assert back.weight is None


def test_from_parquet_rejects_foreign_files(tmp_path):
    import pandas as pd

    pd.DataFrame({"mass": [1.0, 2.0]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(DataFormatError, match=r"not written by EventSet\.to_parquet"):
        EventSet.from_parquet(tmp_path / "plain.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataFormatError, match="not a readable Parquet file"):
        EventSet.from_parquet(tmp_path / "junk.parquet")
    with pytest.raises(MissingFileError, match="does not exist"):
        EventSet.from_parquet(tmp_path / "missing.parquet")


def test_window_edges_masks_and_json():
    window = Window.from_edges(3000.0, 3300.0, 3700.0, 4000.0)
    assert window == Window.around((3300.0, 3700.0), 300.0)
    assert (window.sb_low, window.sr_low, window.sr_high, window.sb_high, window.center) == (
        3000.0, 3300.0, 3700.0, 4000.0, 3500.0,
    )  # fmt: skip
    m = np.array([2999.0, 3000.0, 3299.9, 3300.0, 3699.9, 3700.0, 3999.9, 4000.0])
    np.testing.assert_array_equal(window.in_sr(m), [0, 0, 0, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(window.in_sb(m), [0, 1, 1, 0, 0, 1, 1, 0])
    assert window.contiguous
    gapped = Window(sr=(3300.0, 3700.0), sb=((3000.0, 3200.0), (3700.0, 4000.0)))
    assert not gapped.contiguous
    assert not gapped.in_window(np.array([3250.0]))[0]
    assert window.to_dict() == {"sr": [3300.0, 3700.0], "sb": [[3000.0, 3300.0], [3700.0, 4000.0]]}
    with pytest.raises(ConfigError, match="sb_low < sr_low < sr_high < sb_high"):
        Window.from_edges(3000.0, 3700.0, 3300.0, 4000.0)


def test_statistics_reject_a_window_with_gaps():
    from bumphunt.stats import window_edges

    gapped = Window(sr=(3300.0, 3700.0), sb=((3000.0, 3200.0), (3700.0, 4000.0)))
    with pytest.raises(ConfigError, match="sideband next to each side"):
        window_edges(gapped, 50.0)

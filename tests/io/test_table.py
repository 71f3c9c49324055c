"""Plain tables (CSV, Parquet, pandas HDF5) read through a column mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bumphunt.errors import DataFormatError
from bumphunt.io import read_table


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 200
    return pd.DataFrame(
        {
            "m_jj_tev": rng.uniform(2.5, 4.5, n),
            "mj1": rng.uniform(10, 500, n),
            "tau21": rng.uniform(0, 1, n),
            "truth": rng.integers(0, 2, n),
            "w": rng.uniform(0.5, 2.0, n),
            "comment": ["x"] * n,
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".h5"])
def test_mapping_and_units_in_every_container(tmp_path, frame, suffix):
    path = tmp_path / f"events{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_hdf(path, key="events", format="table")
    events = read_table(
        path,
        mass="m_jj_tev",
        mass_scale=1000.0,
        features={"mj_min": "mj1", "tau": "tau21"},
        label="truth",
        weight="w",
    )
    assert events.feature_names == ("mj_min", "tau")
    np.testing.assert_allclose(events.mass, frame["m_jj_tev"] * 1000.0, rtol=1e-15)
    np.testing.assert_allclose(events.column("tau"), frame["tau21"], rtol=1e-15)
    np.testing.assert_array_equal(events.label, frame["truth"])
    np.testing.assert_allclose(events.weight, frame["w"], rtol=1e-15)
    assert events.provenance["columns"] == {"mass": "m_jj_tev", "mj_min": "mj1", "tau": "tau21"}


def test_default_features_are_the_other_numeric_columns(tmp_path, frame):
    frame.to_parquet(tmp_path / "t.parquet")
    events = read_table(tmp_path / "t.parquet", mass="m_jj_tev", label="truth")
    assert events.feature_names == ("mj1", "tau21", "w")


def test_non_numeric_column_is_reported(tmp_path, frame):
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataFormatError, match="column 'comment' is not numeric"):
        read_table(tmp_path / "t.csv", mass="m_jj_tev", features=["comment"])


def test_missing_mapped_column(tmp_path, frame):
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataFormatError, match="column 'mjj' not found"):
        read_table(tmp_path / "t.parquet", mass="mjj")


def test_nan_in_a_table_column_names_the_file_column(tmp_path, frame):
    frame.loc[[4, 8], "mj1"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataFormatError, match="column 'mj1' has 2"):
        read_table(tmp_path / "t.csv", mass="m_jj_tev", features={"mj_min": "mj1"})
    events = read_table(tmp_path / "t.csv", mass="m_jj_tev", features={"mj_min": "mj1"}, nonfinite="drop")
    assert len(events) == 198

"""The jet image store: made once from a constituents file, memory-mapped, refused for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bumphunt.errors import ConfigError, DataFormatError, MissingFileError
from bumphunt.io import read_lhco_constituents
from bumphunt.io.image_store import build_image_store, open_image_store
from bumphunt.physics.jet_images import ImageSpec


def test_store_holds_the_images_and_masses_of_every_event(generated_lhco, tmp_path):
    _, constituents = generated_lhco
    seen = []
    store = build_image_store(
        constituents, tmp_path / "store", ImageSpec(pixels=20), chunk_size=7, progress=seen.append
    )
    assert sum(seen) == 20 and seen[0] == 7
    reference = read_lhco_constituents(constituents)
    assert len(store) == len(reference.mass)
    assert store.mjj == pytest.approx(reference.mass, rel=1e-6)
    assert isinstance(store.images, np.memmap) and store.images.shape == (len(store), 2, 20, 20)
    assert np.asarray(store.images).sum(axis=(2, 3)) == pytest.approx(np.ones((len(store), 2)), abs=1e-5)
    assert store.label is not None and np.all(store.label == 1)
    again = open_image_store(tmp_path / "store")
    assert np.array_equal(np.asarray(again.images), np.asarray(store.images))
    assert again.spec == ImageSpec(pixels=20)
    assert not list(tmp_path.glob(".store.partial*"))


def test_mass_range_keeps_the_events_inside(generated_lhco, tmp_path):
    _, constituents = generated_lhco
    full = build_image_store(constituents, tmp_path / "all", ImageSpec(pixels=10))
    low, high = np.quantile(full.mjj, [0.25, 0.75])
    part = build_image_store(constituents, tmp_path / "part", ImageSpec(pixels=10), mass_range=(low, high))
    inside = (full.mjj >= low) & (full.mjj < high)
    assert part.mjj == pytest.approx(full.mjj[inside])
    assert np.array_equal(np.asarray(part.images), np.asarray(full.images)[inside])


def test_bad_input_is_named_and_leaves_nothing(generated_lhco, tmp_path):
    features, constituents = generated_lhco
    with pytest.raises(DataFormatError, match=r"features\.h5.*constituents"):
        build_image_store(features, tmp_path / "store")
    assert not list(tmp_path.iterdir())
    (tmp_path / "exists").mkdir()
    with pytest.raises(ConfigError, match="already exists"):
        build_image_store(constituents, tmp_path / "exists")
    with pytest.raises(MissingFileError, match="no jet image store"):
        open_image_store(tmp_path / "exists")

"""Jet images of a whole LHC Olympics constituents file, made once and kept on disk.

Cluster scanning trains k-means many times (every bootstrap) on the same images. Making them means
clustering every event with FastJet and preprocessing two images per event
(:mod:`bumphunt.physics.jet_images`), so :func:`build_image_store` does it once, streaming the file in
blocks, and writes a directory:

``images.bin``
    ``(n, 2, pixels, pixels)`` float32, C order, no header (leading jet, then subleading); opened as a
    read-only :class:`numpy.memmap`, so 1M events (12.8 GB) never sit in memory;
``mjj.npy``, ``label.npy``
    the dijet mass (GeV) of each event, and its label when the file has one;
``store.json``
    the shape, the image definition, the source file and the selection.

The directory is written under a temporary name and renamed when complete, so a store that exists is
whole. :func:`open_image_store` opens one; :func:`write_image_store` writes one from image arrays made
elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bumphunt import __version__
from bumphunt.errors import ConfigError, DataFormatError, MissingFileError
from bumphunt.physics.jet_images import ImageSpec, dijet_images

__all__ = ["ImageBlock", "ImageStore", "build_image_store", "open_image_store", "write_image_store"]

_IMAGES, _MJJ, _LABEL, _META = "images.bin", "mjj.npy", "label.npy", "store.json"


@dataclass(frozen=True)
class ImageStore:
    """An opened image store.

    Attributes
    ----------
    directory
        Where it lies.
    images
        ``(n, 2, pixels, pixels)`` read-only float32 memory map.
    mjj
        ``(n,)`` dijet masses (GeV).
    label
        ``(n,)`` labels, or ``None``.
    spec
        The image definition.
    meta
        Everything in ``store.json`` (source, selection, counts).
    """

    directory: Path
    images: np.memmap
    mjj: np.ndarray
    label: np.ndarray | None
    spec: ImageSpec
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.mjj)


def _check_source(path: str | os.PathLike[str], key: str | None) -> None:
    from bumphunt.io.auto import detect_layout

    found = detect_layout(path, key=key)
    if found.layout != "lhco-constituents":
        raise DataFormatError(
            f"file {os.fspath(path)!r}: jet images need particle constituents (the LHCO R&D constituents "
            f"layout), but this file has the {found.layout!r} layout"
        )


@dataclass(frozen=True)
class ImageBlock:
    """A block of events for :func:`write_image_store`: ``images`` ``(n, 2, pixels, pixels)``, ``mjj``
    ``(n,)`` (GeV) and ``label`` ``(n,)`` or ``None``."""

    images: np.ndarray
    mjj: np.ndarray
    label: np.ndarray | None = None


def write_image_store(
    directory: str | os.PathLike[str],
    blocks: Iterable[ImageBlock],
    spec: ImageSpec,
    meta: dict[str, Any] | None = None,
) -> ImageStore:
    """Write the blocks of events into a new store (under a temporary name, renamed when complete).

    Parameters
    ----------
    directory
        The store to create (must not exist).
    blocks
        The events, block by block (each block's images are written as they come).
    spec
        The image definition the images follow.
    meta
        More entries for ``store.json`` (source, selection, ...).

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``directory`` exists, or a block's images are not ``(n, 2, pixels, pixels)``.
    """
    target = Path(directory)
    if target.exists():
        raise ConfigError(
            f"image store {str(target)!r} already exists; remove it or choose another directory"
        )
    pixels = spec.pixels
    temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        n_events = 0
        masses, labels = [], []
        with open(temporary / _IMAGES, "wb") as out:
            for block in blocks:
                if block.images.shape[1:] != (2, pixels, pixels) or len(block.mjj) != len(block.images):
                    raise ConfigError(
                        f"image store {str(target)!r}: a block of images of shape {block.images.shape} and "
                        f"{len(block.mjj)} masses; expected (n, 2, {pixels}, {pixels}) and n"
                    )
                out.write(np.ascontiguousarray(block.images, dtype=np.float32).tobytes())
                masses.append(np.asarray(block.mjj, dtype=np.float64))
                if block.label is not None:
                    labels.append(np.asarray(block.label))
                n_events += len(block.mjj)
        np.save(temporary / _MJJ, np.concatenate(masses) if masses else np.zeros(0))
        if labels:
            np.save(temporary / _LABEL, np.concatenate(labels))
        record = {
            "format": "bumphunt jet image store",
            "bumphunt_version": __version__,
            "shape": [n_events, 2, pixels, pixels],
            "dtype": "float32",
            "spec": asdict(spec),
            **(meta or {}),
            "n_events": n_events,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (temporary / _META).write_text(json.dumps(record, indent=1))
        temporary.rename(target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return open_image_store(target)


def build_image_store(
    source: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    spec: ImageSpec | None = None,
    *,
    mass_range: tuple[float, float] | None = None,
    key: str | None = None,
    radius: float = 1.0,
    min_jet_pt: float = 20.0,
    chunk_size: int = 2_000,
    stop: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImageStore:
    """Image the two leading jets of every event of an LHCO constituents file into a store.

    Parameters
    ----------
    source
        The constituents file (pandas HDF5, 700 particles x (pT, eta, phi) [+ label]).
    directory
        The store to create (must not exist).
    spec
        The image definition (default :class:`~bumphunt.physics.jet_images.ImageSpec`).
    mass_range
        Keep events with ``low <= mjj < high`` only (GeV).
    key, chunk_size, stop
        As in :func:`bumphunt.io.iter_lhco_constituents`.
    radius, min_jet_pt
        The jets (anti-kT).
    progress
        Called with the number of events read after each block.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``directory`` exists.
    bumphunt.errors.DataFormatError, bumphunt.errors.MissingFileError
        For a file that is not a constituents file.
    """
    from bumphunt.io.lhco_constituents import iter_lhco_constituents

    spec = spec or ImageSpec()
    if Path(directory).exists():
        raise ConfigError(
            f"image store {str(directory)!r} already exists; remove it or choose another directory"
        )
    if mass_range is not None and not mass_range[0] < mass_range[1]:
        raise ConfigError(f"mass_range must be [low, high] with low < high, got {list(mass_range)!r}")
    _check_source(source, key)
    counts = {"n_read": 0, "n_without_two_jets": 0}

    def blocks() -> Iterator[ImageBlock]:
        for chunk in iter_lhco_constituents(source, key=key, chunk_size=chunk_size, stop=stop):
            block = dijet_images(chunk.particles, spec, radius=radius, min_jet_pt=min_jet_pt)
            keep = np.ones(len(block.mjj), dtype=bool)
            if mass_range is not None:
                keep = (block.mjj >= mass_range[0]) & (block.mjj < mass_range[1])
            label = None if chunk.label is None else chunk.label[block.keep][keep]
            counts["n_read"] += len(chunk)
            counts["n_without_two_jets"] += int(len(chunk) - block.keep.sum())
            if progress is not None:
                progress(len(chunk))
            yield ImageBlock(block.images[keep], block.mjj[keep], label)

    meta = {
        "source": os.fspath(source),
        "key": key,
        "jets": {"algorithm": "antikt", "radius": radius, "min_pt": min_jet_pt},
        "mass_range": list(mass_range) if mass_range is not None else None,
        "counts": counts,  # filled while the blocks are written, before store.json is
    }
    return write_image_store(directory, blocks(), spec, meta)


def open_image_store(directory: str | os.PathLike[str]) -> ImageStore:
    """Open a store made by :func:`build_image_store` (images memory-mapped, read-only).

    Raises
    ------
    bumphunt.errors.MissingFileError
        If ``directory`` is no complete image store.
    """
    folder = Path(directory)
    meta_path = folder / _META
    if not meta_path.is_file() or not (folder / _IMAGES).is_file():
        raise MissingFileError(f"{str(folder)!r} is no jet image store (no {_META} and {_IMAGES})")
    meta = json.loads(meta_path.read_text())
    shape = tuple(meta["shape"])
    expected = int(np.prod(shape)) * 4
    if (folder / _IMAGES).stat().st_size != expected:
        raise DataFormatError(
            f"image store {str(folder)!r}: {_IMAGES} holds {(folder / _IMAGES).stat().st_size} bytes, "
            f"its shape {list(shape)} needs {expected}"
        )
    images = (
        np.memmap(folder / _IMAGES, dtype=np.float32, mode="r", shape=shape)
        if shape[0]
        else np.zeros(shape, dtype=np.float32)
    )
    label = np.load(folder / _LABEL) if (folder / _LABEL).is_file() else None
    return ImageStore(
        directory=folder,
        images=images,  # type: ignore[arg-type]
        mjj=np.load(folder / _MJJ),
        label=label,
        spec=ImageSpec(**meta["spec"]),
        meta=meta,
    )

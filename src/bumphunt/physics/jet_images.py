"""Jet images: the constituents of a jet as a pT-weighted picture in (phi, eta) around its axis.

:func:`jet_images` turns the constituents of many jets into images at once (numpy, no Python loop over
jets or particles). The preprocessing follows the cluster-scanning study (arXiv:2402.17714) and each
step can be switched off (:class:`ImageSpec`). In order:

1. **centre**: coordinates relative to the hardest constituent (largest pT; phi wrapped to
   [-pi, pi)), then relative to the pT-weighted centroid;
2. **rotate**: the major axis of the pT-weighted second moments
   ``I = sum pT (dphi^2, dphi deta; deta dphi, deta^2)`` turned onto the phi axis;
3. **flip**: phi and/or eta mirrored so that the quadrant with the largest pT sum is (phi > 0, eta > 0);
4. **pixelate**: a ``pixels x pixels`` grid over ``[-half_width, half_width]`` in phi (first image axis)
   and eta (second), each pixel the pT sum of its constituents (those outside the grid are dropped);
5. **normalise** to unit sum;
6. **intensity**: each pixel raised to ``power`` (0.5, the square root, evens out the hard core and the
   soft periphery);
7. **smear**: a Gaussian filter of ``smear`` pixels (:func:`scipy.ndimage.gaussian_filter`, edges
   reflected), so that nearby constituents land in overlapping pixels;
8. **normalise** again (the image sums are 1 whatever steps 6-7 did).

A rotation of a jet's constituents about its axis in (phi, eta) leaves the image unchanged (steps 1-3
undo it). Jets without constituents inside the grid give an all-zero image.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import awkward as ak
import numpy as np
import scipy.ndimage

from bumphunt.errors import ConfigError

__all__ = [
    "IMAGE_OBSERVABLES",
    "DijetImages",
    "ImageSpec",
    "dijet_images",
    "image_observable_names",
    "image_observables",
    "is_image_observable",
    "iter_dijet_images",
    "jet_images",
    "lit_pixels",
    "ring_name",
]

#: Observables of a jet's image with fixed names, see :func:`image_observables`.
IMAGE_OBSERVABLES = ("image_ptd", "image_max", "image_pixels")

#: Ring edges of the default candidates (distance from the image centre in (phi, eta)): one pixel of
#: the paper's 40 x 40 grid over +-1 is 0.05 wide.
RING_EDGES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, math.inf)

_SHARE = re.compile(r"^image_share(\d+)$")
_NUMBER = r"\d+(?:\.\d+)?"
_RING = re.compile(rf"^image_ring_({_NUMBER})_({_NUMBER}|inf)(?:_k({_NUMBER}))?$")


def _parse_image_observable(name: str) -> tuple[str, tuple[float, ...]] | None:
    """``(kind, parameters)`` of an image observable name, None for any other name."""
    if name in IMAGE_OBSERVABLES:
        return name, ()
    match = _SHARE.match(name)
    if match is not None and int(match[1]) >= 1:
        return "share", (int(match[1]),)
    match = _RING.match(name)
    if match is not None:
        low, high, kappa = float(match[1]), float(match[2]), float(match[3] or 1.0)
        if low < high and kappa > 0:
            return "ring", (low, high, kappa)
    return None


def is_image_observable(name: str) -> bool:
    """Whether ``name`` is an observable of a jet's image (:func:`image_observables`)."""
    return _parse_image_observable(name) is not None


def ring_name(low: float, high: float, kappa: float = 1.0) -> str:
    """The name of the ring observable over ``low <= r < high`` with energy exponent ``kappa``."""
    edges = f"image_ring_{low:g}_{'inf' if math.isinf(high) else f'{high:g}'}"
    return edges if kappa == 1.0 else f"{edges}_k{kappa:g}"


def image_observable_names(
    *, shares: int = 5, ring_edges: Sequence[float] = RING_EDGES, kappas: Sequence[float] = (1.0, 2.0)
) -> tuple[str, ...]:
    """The image observables among the default candidates: :data:`IMAGE_OBSERVABLES`, the shares of the
    2nd to ``shares``-th brightest pixels, and the rings between consecutive ``ring_edges`` for each of
    ``kappas``."""
    names = [*IMAGE_OBSERVABLES, *(f"image_share{n}" for n in range(2, shares + 1))]
    for kappa in kappas:
        names += [ring_name(low, high, kappa) for low, high in itertools.pairwise(ring_edges)]
    return tuple(names)


@dataclass(frozen=True)
class ImageSpec:
    """How jet images are made (see the module documentation for the order of the steps).

    Attributes
    ----------
    pixels
        Pixels per side.
    half_width
        Half width of the grid in phi (rad) and eta.
    centre, rotate, flip
        Steps 1-3.
    power
        Exponent of the pixel intensities (1 leaves them; 0.5 takes the square root).
    smear
        Standard deviation of the Gaussian smearing in pixels (0: none).
    normalise
        Divide each image by its sum (after pixelation and again at the end).
    """

    pixels: int = 40
    half_width: float = 0.8
    centre: bool = True
    rotate: bool = True
    flip: bool = True
    power: float = 0.5
    smear: float = 1.0
    normalise: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.pixels, int) or self.pixels < 2:
            raise ConfigError(f"images.pixels must be an integer >= 2, got {self.pixels!r}")
        if not self.half_width > 0:
            raise ConfigError(f"images.half_width must be positive, got {self.half_width!r}")
        if not self.power > 0:
            raise ConfigError(f"images.power must be positive, got {self.power!r}")
        if not self.smear >= 0:
            raise ConfigError(f"images.smear must not be negative, got {self.smear!r}")


def _segment_sum(values: np.ndarray, jet: np.ndarray, n_jets: int) -> np.ndarray:
    return np.bincount(jet, weights=values, minlength=n_jets)


def _wrap(phi: np.ndarray) -> np.ndarray:
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _normalised(images: np.ndarray) -> np.ndarray:
    total = images.sum(axis=(1, 2), keepdims=True)
    return np.divide(images, total, out=np.zeros_like(images), where=total > 0)


def jet_images(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, counts: np.ndarray, spec: ImageSpec | None = None
) -> np.ndarray:
    """Images of jets from their constituents, given as flat arrays.

    Parameters
    ----------
    pt, eta, phi
        The constituents of all jets, jet after jet (GeV, -, rad).
    counts
        Constituents of each jet (sums to ``len(pt)``).
    spec
        The image definition (default :class:`ImageSpec`).

    Returns
    -------
    numpy.ndarray
        ``(n_jets, pixels, pixels)`` float32, axis 1 phi and axis 2 eta, increasing.
    """
    spec = spec or ImageSpec()
    pt, eta, phi = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi))
    counts = np.asarray(counts, dtype=np.int64)
    if not len(pt) == len(eta) == len(phi) == counts.sum():
        raise ValueError("pt, eta and phi must have one entry per constituent, sum(counts) in all")
    n_jets = len(counts)
    jet = np.repeat(np.arange(n_jets), counts)
    x, y = phi.copy(), eta.copy()  # x: phi, y: eta
    if spec.centre and len(pt):
        order = np.lexsort((-pt, jet))  # by jet, hardest first
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        has = counts > 0
        hardest = np.zeros(n_jets, dtype=np.int64)
        hardest[has] = order[first[has]]
        x = _wrap(x - x[hardest][jet])
        y = y - y[hardest][jet]
        weight = _segment_sum(pt, jet, n_jets)
        safe = np.where(weight > 0, weight, 1.0)
        x = x - (_segment_sum(pt * x, jet, n_jets) / safe)[jet]
        y = y - (_segment_sum(pt * y, jet, n_jets) / safe)[jet]
    if spec.rotate and len(pt):
        xx = _segment_sum(pt * x * x, jet, n_jets)
        yy = _segment_sum(pt * y * y, jet, n_jets)
        xy = _segment_sum(pt * x * y, jet, n_jets)
        angle = 0.5 * np.arctan2(2.0 * xy, xx - yy)[jet]  # of the major axis, from the phi axis
        cos, sin = np.cos(angle), np.sin(angle)
        x, y = x * cos + y * sin, -x * sin + y * cos
    if spec.flip and len(pt):
        quadrant = 2 * (x <= 0) + (y <= 0)  # 0: (+, +), 1: (+, -), 2: (-, +), 3: (-, -)
        sums = np.bincount(jet * 4 + quadrant, weights=pt, minlength=4 * n_jets).reshape(n_jets, 4)
        largest = np.argmax(sums, axis=1)
        x = x * np.where(largest >= 2, -1.0, 1.0)[jet]
        y = y * np.where(largest % 2 == 1, -1.0, 1.0)[jet]
    n = spec.pixels
    scale = n / (2.0 * spec.half_width)
    ix = np.floor((x + spec.half_width) * scale).astype(np.int64)
    iy = np.floor((y + spec.half_width) * scale).astype(np.int64)
    inside = (ix >= 0) & (ix < n) & (iy >= 0) & (iy < n)
    flat = (jet[inside] * n + ix[inside]) * n + iy[inside]
    images = np.bincount(flat, weights=pt[inside], minlength=n_jets * n * n).reshape(n_jets, n, n)
    if spec.normalise:
        images = _normalised(images)
    if spec.power != 1.0:
        images = images**spec.power
    if spec.smear > 0:
        images = scipy.ndimage.gaussian_filter(images, sigma=(0.0, spec.smear, spec.smear))
    if spec.normalise:
        images = _normalised(images)
    return images.astype(np.float32)


def _pixel_centres(pixels: int, half_width: float) -> np.ndarray:
    """Centres of the pixels along one image axis (phi or eta, same units as ``half_width``)."""
    return -half_width + (2.0 * half_width / pixels) * (np.arange(pixels) + 0.5)


def lit_pixels(images: np.ndarray, half_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lit pixels of jet images as zero-padded pseudo-particles, brightest first.

    Parameters
    ----------
    images
        ``(n_jets, pixels, pixels)`` images (:func:`jet_images`; axis 1 phi, axis 2 eta).
    half_width
        Half width of their grid (rad in phi, and in eta).

    Returns
    -------
    intensity, eta, phi
        ``(n_jets, n_lit)`` pixel intensities (0 for padding) and pixel-centre coordinates, where
        ``n_lit`` is the largest number of lit pixels of any image.
    """
    values = np.asarray(images, dtype=np.float64)
    if values.ndim != 3 or values.shape[1] != values.shape[2]:
        raise ValueError(f"images must have shape (n_jets, pixels, pixels), got {values.shape}")
    n_jets, pixels = len(values), values.shape[1]
    flat = values.reshape(n_jets, -1)
    n_lit = max(int(np.count_nonzero(flat > 0, axis=1).max(initial=0)), 1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :n_lit]
    intensity = np.maximum(np.take_along_axis(flat, order, axis=1), 0.0)
    centres = _pixel_centres(pixels, half_width)
    return intensity, centres[order % pixels], centres[order // pixels]


def image_observables(
    images: np.ndarray, names: Iterable[str] = IMAGE_OBSERVABLES, *, half_width: float = 1.0
) -> dict[str, np.ndarray]:
    """Observables of jet images: how a picture of the jet spreads its intensity over the pixels.

    A pixel holds the summed pT of the constituents in it, so these differ from their constituent
    counterparts wherever nearby particles share a pixel: they describe the jet at the image's resolution,
    as an image-based network (an autoencoder) sees it. With ``p_k`` the pixel intensities of an image
    divided by their sum and ``r_k`` the distance of pixel ``k``'s centre from the image centre (the jet
    axis after centring) in (phi, eta):

    ``image_ptd``
        ``sqrt(sum_k p_k^2)``, the pixel-level pT dispersion (1 for a single lit pixel, ``1/sqrt(n)``
        for ``n`` equal ones);
    ``image_max``
        the largest ``p_k``, the share of the brightest pixel;
    ``image_pixels``
        the number of pixels with ``p_k > 0``;
    ``image_share{n}``
        the ``n``-th largest ``p_k`` (``image_share1`` is ``image_max``; 0 when fewer pixels are lit):
        how hard the second, third... brightest cells are, the prongs of a jet at the image's resolution;
    ``image_ring_{low}_{high}[_k{kappa}]``
        ``sum_{low <= r_k < high} p_k^kappa`` (``high`` may be ``inf``; ``kappa`` 1 when left out). With
        ``kappa = 1``, the share of the jet's pT in the ring: the differential jet shape at the image's
        resolution. With ``kappa = 2`` the squared shares, which weigh the pixels as an image network's
        squared-error loss does: concentrated deposits away from the core count most.

    Parameters
    ----------
    images
        ``(n_jets, pixels, pixels)`` images (:func:`jet_images`).
    names
        Which observables (see above; :func:`image_observable_names` lists the default candidates).
    half_width
        Half width of the image grid (the :class:`ImageSpec`'s), for the ring radii.

    Returns
    -------
    dict
        Name -> ``(n_jets,)`` float64; 0 for an empty image.
    """
    names = list(names)
    parsed = {name: _parse_image_observable(name) for name in names}
    unknown = [name for name, kind in parsed.items() if kind is None]
    if unknown:
        raise ConfigError(
            f"unknown image observable(s) {unknown}; known: {list(IMAGE_OBSERVABLES)}, image_share<n>, "
            "image_ring_<low>_<high>[_k<kappa>] (low < high, high may be inf)"
        )
    values = np.asarray(images, dtype=np.float64)
    if values.ndim != 3:
        raise ValueError(f"images must have shape (n_jets, pixels, pixels), got {values.shape}")
    shares = _normalised(values).reshape(len(values), -1)
    pixels = values.shape[1]
    centres = _pixel_centres(pixels, half_width)
    radius = np.hypot(centres[:, None], centres[None, :]).ravel()
    ranked: np.ndarray | None = None
    out: dict[str, np.ndarray] = {}
    known = {name: kind for name, kind in parsed.items() if kind is not None}  # all of them, checked above
    for name, (kind, parameters) in known.items():
        if kind == "image_ptd":
            out[name] = np.sqrt((shares**2).sum(axis=1))
        elif kind == "image_max":
            out[name] = shares.max(axis=1, initial=0.0)
        elif kind == "image_pixels":
            out[name] = (shares > 0).sum(axis=1).astype(np.float64)
        elif kind == "share":
            rank = int(parameters[0])
            if rank > shares.shape[1]:
                out[name] = np.zeros(len(shares))
                continue
            if ranked is None:
                ranked = -np.sort(-shares, axis=1)
            out[name] = ranked[:, rank - 1].copy()
        else:
            low, high, kappa = parameters
            ring = (radius >= low) & (radius < high)
            out[name] = (shares[:, ring] ** kappa).sum(axis=1)
    return out


@dataclass(frozen=True)
class DijetImages:
    """Images of the two leading jets of a block of events.

    Attributes
    ----------
    mjj
        Invariant mass of the two leading jets (GeV).
    images
        ``(n_events, 2, pixels, pixels)`` float32: leading jet, then subleading.
    keep
        Which events of the block had two jets (the others are not in ``mjj``, ``images``).
    """

    mjj: np.ndarray
    images: np.ndarray
    keep: np.ndarray


def dijet_images(
    particles: ak.Array, spec: ImageSpec | None = None, *, radius: float = 1.0, min_jet_pt: float = 20.0
) -> DijetImages:
    """Cluster each event (anti-kT, FastJet) and image its two leading jets.

    Parameters
    ----------
    particles
        ``events * var * {pt, eta, phi}`` (massless particles, GeV, -, rad).
    spec
        The image definition.
    radius, min_jet_pt
        The jets (the LHC Olympics R&D files used R = 1.0 and 20 GeV).
    """
    from bumphunt.physics.jets import cluster_jets

    jets, constituents = cluster_jets(particles, radius=radius, min_pt=min_jet_pt)
    keep = ak.to_numpy(ak.num(jets, axis=1)) >= 2
    two = constituents[keep][:, :2]
    leading = jets[keep][:, :2]
    total = {k: ak.to_numpy(ak.sum(leading[k], axis=1)) for k in ("px", "py", "pz", "E")}
    mjj = np.sqrt(np.clip(total["E"] ** 2 - total["px"] ** 2 - total["py"] ** 2 - total["pz"] ** 2, 0, None))
    flat = ak.flatten(two, axis=1)  # jets * var * {px, py, pz, E}
    counts = ak.to_numpy(ak.num(flat, axis=1))
    px, py, pz = (ak.to_numpy(ak.flatten(flat[k])) for k in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), 0.0)
    images = jet_images(pt, eta, np.arctan2(py, px), counts, spec)
    n = images.shape[-1]
    return DijetImages(mjj=mjj, images=images.reshape(-1, 2, n, n), keep=keep)


def iter_dijet_images(
    chunks: Iterable[ak.Array],
    spec: ImageSpec | None = None,
    *,
    radius: float = 1.0,
    min_jet_pt: float = 20.0,
) -> Iterator[DijetImages]:
    """:func:`dijet_images` of each block of events, one block at a time (so that the images of a large
    file never sit in memory together)."""
    for particles in chunks:
        yield dijet_images(particles, spec, radius=radius, min_jet_pt=min_jet_pt)

"""High-level observables of single jets, by name, vectorized over blocks of jets.

The candidates a mimicker of an anomaly score chooses from (:mod:`bumphunt.methods.observable_selection`):

``pt``, ``mass``
    transverse momentum and invariant mass of the sum of the (massless) constituents (GeV);
``multiplicity``
    number of constituents;
``tau{N}_b{beta}``
    N-subjettiness tau_N with angular exponent beta, unnormalized, exclusive-kT axes (GeV;
    :func:`bumphunt.physics.jets.nsubjettiness`), e.g. ``tau2_b1``, ``tau3_b0.5``;
``tau{N}{M}_b{beta}``
    the ratio tau_N / tau_M, e.g. ``tau21_b1`` (0 where tau_M is 0);
``efp_d{d}_{k}``, ``efp_d{d}_{k}_k{kappa}_b{beta}``
    energy flow polynomials (:mod:`bumphunt.physics.efp`): without suffix kappa = beta = 1 (IRC safe);
    the suffixes set the energy and angular exponents (either may be left out), e.g. ``efp_d2_0_k2_b0.5``,
    ``efp_d1_0_k-1``;
``image_efp_d{d}_{k}[_k{kappa}][_b{beta}]``
    the same EFPs of the jet's image: each lit pixel a particle at the pixel's centre carrying the pT
    summed in it (the image grid, centring, rotation and flip of ``image_spec``, without its intensity
    power or smearing). Nearby particles merge as in a calorimeter cell, so with ``kappa = 2`` these
    weigh the jet as an image-based network's squared-error loss does;
``image_ptd``, ``image_max``, ``image_pixels``, ``image_share{n}``, ``image_ring_{low}_{high}[_k{kappa}]``
    pT dispersion, brightest-pixel share, lit pixels, the share of the n-th brightest pixel and the
    (squared, kappa = 2) pT shares in rings around the axis of the jet's image
    (:func:`bumphunt.physics.jet_images.image_observables`): the jet at the resolution of an image-based
    network.

Jets are given as ``jets * var * {pt, eta, phi}`` awkward arrays, as
:func:`bumphunt.io.iter_lhco_constituents` streams them from a jets file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.physics.efp import EFP_GRAPHS, efps
from bumphunt.physics.jet_images import (
    ImageSpec,
    image_observable_names,
    image_observables,
    is_image_observable,
    jet_images,
    lit_pixels,
)

__all__ = ["check_observable_names", "jet_observables", "observable_names"]

_TAU = re.compile(r"^tau(\d)(\d)?_b(\d+(?:\.\d+)?)$")
_EFP = re.compile(r"^(image_)?(efp_d\d+_\d+)(?:_k(-?\d+(?:\.\d+)?))?(?:_b(\d+(?:\.\d+)?))?$")
_EFP_NAMES = frozenset(graph.name for graph in EFP_GRAPHS)
_KINEMATIC = ("pt", "mass", "multiplicity")


def observable_names(
    *,
    n_max: int = 4,
    betas: Sequence[float] = (0.5, 1.0, 2.0),
    efp_degree: int = 5,
    images: bool = True,
    generalized_degree: int = 4,
) -> tuple[str, ...]:
    """The default candidate list.

    Kinematics; tau_1..tau_n_max and their ratios tau_{N+1,N} for each of ``betas``; the EFPs up to
    ``efp_degree`` (kappa = beta = 1); the connected EFPs up to ``generalized_degree`` at the other
    ``betas`` (kappa = 1); and, with ``images``, the image observables
    (:func:`~bumphunt.physics.jet_images.image_observable_names`) and the connected image EFPs up to
    ``generalized_degree`` for kappa in (1, 2) and each of ``betas`` (``generalized_degree = 0``: none of
    the connected ones).
    """
    from bumphunt.physics.efp import efp_names

    names = list(_KINEMATIC)
    for beta in betas:
        tag = f"{beta:g}"
        names += [f"tau{n}_b{tag}" for n in range(1, n_max + 1)]
        names += [f"tau{n + 1}{n}_b{tag}" for n in range(1, n_max)]
    names += efp_names(efp_degree)
    connected = efp_names(generalized_degree, connected_only=True) if generalized_degree else ()
    names += [f"{graph}_b{beta:g}" for beta in betas if beta != 1.0 for graph in connected]
    if images:
        names += image_observable_names()
        names += [f"image_{g}_k{k}_b{beta:g}" for k in (1, 2) for beta in betas for g in connected]
    return tuple(names)


def check_observable_names(names: Sequence[str]) -> None:
    """Raise :class:`~bumphunt.errors.ConfigError` naming every name that is no observable."""
    unknown = [
        name
        for name in names
        if name not in _KINEMATIC
        and _efp_exponents(name) is None
        and not is_image_observable(name)
        and not _TAU.match(name)
    ]
    if unknown:
        raise ConfigError(
            f"unknown observable(s) {unknown}; known: pt, mass, multiplicity, tau<N>_b<beta>, "
            "tau<N><M>_b<beta>, [image_]efp_d<degree>_<k>[_k<kappa>][_b<beta>], image_ptd, image_max, "
            "image_pixels, image_share<n>, image_ring_<low>_<high>[_k<kappa>] "
            "(bumphunt.physics.jet_observables)"
        )


def _flat(jets: ak.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat constituent pT, eta, phi and the counts per jet, as :func:`jet_images` takes them."""
    flat = [ak.to_numpy(ak.flatten(jets[k])) for k in ("pt", "eta", "phi")]
    return flat[0], flat[1], flat[2], ak.to_numpy(ak.num(jets, axis=1))


def _efp_exponents(name: str) -> tuple[bool, str, float, float] | None:
    """``(of the image, graph name, kappa, beta)`` of an EFP observable name, None for any other name."""
    match = _EFP.match(name)
    if match is None or match[2] not in _EFP_NAMES or (match[4] is not None and float(match[4]) <= 0):
        return None
    return match[1] is not None, match[2], float(match[3] or 1.0), float(match[4] or 1.0)


def jet_observables(
    jets: ak.Array, names: Sequence[str], *, image_spec: ImageSpec | None = None
) -> dict[str, np.ndarray]:
    """Observables ``names`` of each jet of a block.

    Parameters
    ----------
    jets
        ``jets * var * {pt, eta, phi}`` massless constituents (GeV, -, rad).
    names
        Observable names (see the module documentation).
    image_spec
        The images of the image observables (default :class:`~bumphunt.physics.jet_images.ImageSpec`).

    Returns
    -------
    dict
        Name -> ``(n_jets,)`` float64.

    Raises
    ------
    bumphunt.errors.ConfigError
        For a name that is no observable.
    """
    check_observable_names(names)
    from bumphunt.physics.jets import nsubjettiness, to_cartesian

    vectors = to_cartesian(jets)
    px, py, pz, e = (ak.to_numpy(ak.sum(vectors[k], axis=1)) for k in ("px", "py", "pz", "E"))
    out: dict[str, np.ndarray] = {}
    taus: dict[float, np.ndarray] = {}
    by_exponents: dict[tuple[bool, float, float], dict[str, list[str]]] = {}
    for name in names:
        parsed = _efp_exponents(name)
        if parsed is not None:
            of_image, graph, kappa, beta = parsed
            by_exponents.setdefault((of_image, kappa, beta), {}).setdefault(graph, []).append(name)
    particles: dict[bool, list[np.ndarray]] = {}
    if any(not of_image for of_image, _, _ in by_exponents):
        size = max(int(ak.max(ak.num(jets, axis=1), initial=0)), 1)
        padded = ak.fill_none(ak.pad_none(jets, size, axis=1, clip=True), {"pt": 0.0, "eta": 0.0, "phi": 0.0})
        particles[False] = [ak.to_numpy(padded[k]) for k in ("pt", "eta", "phi")]
    spec = image_spec or ImageSpec()
    if any(of_image for of_image, _, _ in by_exponents):
        pixelated = jet_images(*_flat(jets), dataclasses.replace(spec, power=1.0, smear=0.0))
        particles[True] = list(lit_pixels(pixelated, spec.half_width))
    for (of_image, kappa, beta), graphs in by_exponents.items():
        values = efps(*particles[of_image], list(graphs), kappa=kappa, beta=beta)
        out.update({name: values[graph] for graph, aliases in graphs.items() for name in aliases})
    wanted_image = [name for name in names if is_image_observable(name)]
    if wanted_image:
        out.update(
            image_observables(jet_images(*_flat(jets), spec), wanted_image, half_width=spec.half_width)
        )
    for name in names:
        if name in out:
            continue
        if name == "pt":
            out[name] = np.hypot(px, py)
        elif name == "mass":
            out[name] = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
        elif name == "multiplicity":
            out[name] = ak.to_numpy(ak.num(jets, axis=1)).astype(np.float64)
        else:
            match = _TAU.match(name)
            assert match is not None
            n, m, beta = int(match[1]), match[2], float(match[3])
            n_max = max(n, int(m) if m else 0)
            if beta not in taus or taus[beta].shape[1] < n_max:
                taus[beta] = nsubjettiness(vectors, n_max=max(n_max, 4), beta=beta)
            tau = taus[beta]
            if m is None:
                out[name] = tau[:, n - 1]
            else:
                denominator = tau[:, int(m) - 1]
                out[name] = np.divide(
                    tau[:, n - 1], denominator, out=np.zeros(len(tau)), where=denominator > 0
                )
    return {name: out[name] for name in names}

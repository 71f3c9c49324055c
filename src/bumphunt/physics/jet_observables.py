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
``efp_d{d}_{k}``
    energy flow polynomials (:mod:`bumphunt.physics.efp`, beta = 1 by default);
``image_ptd``, ``image_max``, ``image_pixels``
    pT dispersion, brightest-pixel share and lit pixels of the jet's image
    (:func:`bumphunt.physics.jet_images.image_observables`): the jet at the resolution of an image-based
    network.

Jets are given as ``jets * var * {pt, eta, phi}`` awkward arrays, as
:func:`bumphunt.io.iter_lhco_constituents` streams them from a jets file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import awkward as ak
import numpy as np

from bumphunt.errors import ConfigError
from bumphunt.physics.efp import EFP_GRAPHS, efps
from bumphunt.physics.jet_images import IMAGE_OBSERVABLES, ImageSpec, image_observables, jet_images

__all__ = ["check_observable_names", "jet_observables", "observable_names"]

_TAU = re.compile(r"^tau(\d)(\d)?_b(\d+(?:\.\d+)?)$")
_EFP_NAMES = frozenset(graph.name for graph in EFP_GRAPHS)
_KINEMATIC = ("pt", "mass", "multiplicity")


def observable_names(
    *, n_max: int = 4, betas: Sequence[float] = (0.5, 1.0, 2.0), efp_degree: int = 5, images: bool = True
) -> tuple[str, ...]:
    """The default candidate list: kinematics, tau_1..tau_n_max and their ratios tau_{N+1,N} for each
    beta, the EFPs up to ``efp_degree`` and, with ``images``, the image observables."""
    from bumphunt.physics.efp import efp_names

    names = list(_KINEMATIC)
    for beta in betas:
        tag = f"{beta:g}"
        names += [f"tau{n}_b{tag}" for n in range(1, n_max + 1)]
        names += [f"tau{n + 1}{n}_b{tag}" for n in range(1, n_max)]
    return (*names, *efp_names(efp_degree), *(IMAGE_OBSERVABLES if images else ()))


def check_observable_names(names: Sequence[str]) -> None:
    """Raise :class:`~bumphunt.errors.ConfigError` naming every name that is no observable."""
    unknown = [
        name
        for name in names
        if name not in _KINEMATIC
        and name not in _EFP_NAMES
        and name not in IMAGE_OBSERVABLES
        and not _TAU.match(name)
    ]
    if unknown:
        raise ConfigError(
            f"unknown observable(s) {unknown}; known: pt, mass, multiplicity, tau<N>_b<beta>, "
            "tau<N><M>_b<beta>, efp_d<degree>_<k>, image_ptd, image_max, image_pixels "
            "(bumphunt.physics.jet_observables)"
        )


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
    wanted_efps = [name for name in names if name in _EFP_NAMES]
    if wanted_efps:
        size = max(int(ak.max(ak.num(jets, axis=1), initial=0)), 1)
        padded = ak.fill_none(ak.pad_none(jets, size, axis=1, clip=True), {"pt": 0.0, "eta": 0.0, "phi": 0.0})
        out.update(efps(*(ak.to_numpy(padded[k]) for k in ("pt", "eta", "phi")), wanted_efps))
    wanted_image = [name for name in names if name in IMAGE_OBSERVABLES]
    if wanted_image:
        flat = {k: ak.to_numpy(ak.flatten(jets[k])) for k in ("pt", "eta", "phi")}
        counts = ak.to_numpy(ak.num(jets, axis=1))
        images = jet_images(flat["pt"], flat["eta"], flat["phi"], counts, image_spec)
        out.update(image_observables(images, wanted_image))
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

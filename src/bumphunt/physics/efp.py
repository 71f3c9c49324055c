"""Energy flow polynomials (EFPs) of jets, vectorized over jets (Komiske, Metodiev, Thaler, arXiv:1712.07124).

An EFP is a multigraph ``G``. For a jet with momentum fractions ``z_i = pT_i / sum_j pT_j`` and angular
distances ``theta_ij = ((y_i - y_j)^2 + (phi_i - phi_j)^2)^(beta / 2)`` (energyflow's normalised
hadronic measure), each vertex of ``G`` is summed over the particles and each edge contributes ``theta``:

``EFP_G = sum_{i_1 .. i_V} z_{i_1}^kappa ... z_{i_V}^kappa prod_{(k, l) in G} theta_{i_k i_l}``.

``kappa = 1`` (the default) gives the infrared- and collinear-safe EFPs of the paper; other energy
exponents (energyflow's ``kappa``) give the generalized, IRC-unsafe EFPs that Faucett et al.
(arXiv:2010.11998) and Bradshaw et al. (arXiv:2203.01343) search for the observables a network learned:
``kappa = 0`` counts particles, ``kappa = 2`` weighs the hardest ones, ``kappa < 0`` the softest.

The degree ``d`` of ``G`` is its number of edges. An EFP of a disconnected graph is the product of those of
its connected parts. :data:`EFP_GRAPHS` lists every multigraph of degree 1 to :data:`MAX_DEGREE` (5): 53
connected and 48 disconnected ones, 101 in all, the non-constant EFPs of energyflow's
``EFPSet(('d<=', 5))`` (whose degree-0 EFP is the constant 1), enumerated here by growing connected
multigraphs edge by edge and keeping one per isomorphism class.

:func:`efps` evaluates them for blocks of jets at once on zero-padded arrays (padding has ``z = 0`` and
drops out) by summing the vertices one at a time with batched matrix products (BLAS). energyflow is
not needed; the tests compare with it to 1e-9 where it is installed (``pip install 'bumphunt[efp]'``; its
dependency ``wasserstein`` asks for numpy < 2, so install it with ``--no-deps`` beside numpy 2).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bumphunt.errors import ConfigError, DataFormatError

__all__ = ["EFP_GRAPHS", "MAX_DEGREE", "EFPGraph", "efp_names", "efps"]

#: Largest degree (number of edges) of :data:`EFP_GRAPHS`.
MAX_DEGREE = 5

Edges = tuple[tuple[int, int], ...]


def _canonical(edges: Sequence[tuple[int, int]], n_vertices: int) -> Edges:
    """The smallest sorted edge list over all relabellings of the vertices (an isomorphism invariant)."""
    best: Edges | None = None
    for perm in itertools.permutations(range(n_vertices)):
        relabelled = tuple(sorted(tuple(sorted((perm[a], perm[b]))) for a, b in edges))
        if best is None or relabelled < best:
            best = relabelled
    assert best is not None
    return best


def _connected_graphs(max_degree: int) -> dict[int, list[tuple[int, Edges]]]:
    """Connected multigraphs (no loops) by degree: ``(n_vertices, canonical edges)``.

    Each one of degree ``d`` comes from one of degree ``d - 1`` by an edge between two of its vertices
    (removing an edge of a cycle keeps a graph connected) or to a new vertex (removing a leaf)."""
    graphs: dict[int, list[tuple[int, Edges]]] = {1: [(2, ((0, 1),))]}
    for degree in range(2, max_degree + 1):
        found: dict[tuple[int, Edges], None] = {}
        for n, edges in graphs[degree - 1]:
            grown = [(n, (*edges, pair)) for pair in itertools.combinations(range(n), 2)]
            grown += [(n + 1, (*edges, (vertex, n))) for vertex in range(n)]
            for size, new in grown:
                found[(size, _canonical(new, size))] = None
        graphs[degree] = sorted(found, key=lambda g: (g[0], g[1]))
    return graphs


@dataclass(frozen=True)
class EFPGraph:
    """One EFP: its connected parts (each ``(n_vertices, edges)``), degree and name.

    ``name`` is ``efp_d{degree}_{k}`` with ``k`` counting the graphs of that degree (connected ones first,
    fewer vertices first).
    """

    name: str
    degree: int
    parts: tuple[tuple[int, Edges], ...]

    @property
    def connected(self) -> bool:
        return len(self.parts) == 1


def _all_graphs(max_degree: int) -> tuple[EFPGraph, ...]:
    connected = _connected_graphs(max_degree)
    flat = [(d, g) for d in range(1, max_degree + 1) for g in connected[d]]
    out: list[EFPGraph] = []
    for degree in range(1, max_degree + 1):
        parts_lists = [(g,) for g in connected[degree]]
        for size in range(2, degree + 1):  # disconnected: multisets of connected parts
            for combo in itertools.combinations_with_replacement(range(len(flat)), size):
                if sum(flat[i][0] for i in combo) == degree:
                    parts_lists.append(tuple(flat[i][1] for i in combo))
        out += [EFPGraph(f"efp_d{degree}_{k}", degree, parts) for k, parts in enumerate(parts_lists)]
    return tuple(out)


#: Every EFP of degree 1 to :data:`MAX_DEGREE`, in the order of :func:`efp_names`.
EFP_GRAPHS: tuple[EFPGraph, ...] = _all_graphs(MAX_DEGREE)
_BY_NAME = {graph.name: graph for graph in EFP_GRAPHS}


def efp_names(max_degree: int = MAX_DEGREE, *, connected_only: bool = False) -> tuple[str, ...]:
    """Names of the EFPs up to ``max_degree`` (all, or only the connected graphs)."""
    if not 1 <= max_degree <= MAX_DEGREE:
        raise ConfigError(f"EFP max_degree must lie in [1, {MAX_DEGREE}], got {max_degree!r}")
    return tuple(g.name for g in EFP_GRAPHS if g.degree <= max_degree and (g.connected or not connected_only))


def _oriented(scope: tuple[int, ...], array: np.ndarray, first: int) -> np.ndarray:
    """A matrix factor with axis 1 over vertex ``first``."""
    return array if scope[0] == first else np.swapaxes(array, 1, 2)


def _connected_values(z: np.ndarray, theta: np.ndarray, graph: tuple[int, Edges], cache: dict) -> np.ndarray:
    """One connected EFP by variable elimination: vertices are summed one at a time, fewest neighbours
    first, each by a batched matrix-vector or matrix-matrix product. Graphs of degree <= 5 have treewidth
    <= 2 (K4 needs six edges), so no factor over more than two vertices ever appears and the cost is at
    most ``O(n_jets n^3)``."""
    n_vertices, edges = graph
    multiplicity: dict[tuple[int, int], int] = {}
    for edge in edges:
        multiplicity[edge] = multiplicity.get(edge, 0) + 1
    for power in multiplicity.values():
        if power not in cache:
            cache[power] = theta**power
    factors: list[tuple[tuple[int, ...], np.ndarray]] = [((v,), z) for v in range(n_vertices)]
    factors += [(edge, cache[power]) for edge, power in multiplicity.items()]
    scalars = np.ones(len(z))
    remaining = set(range(n_vertices))

    def neighbours(vertex: int) -> set[int]:
        return {u for scope, _ in factors if vertex in scope for u in scope if u != vertex}

    while remaining:
        vertex = min(remaining, key=lambda v: (len(neighbours(v)), v))
        near = sorted(neighbours(vertex))
        involved = [f for f in factors if vertex in f[0]]
        factors = [f for f in factors if vertex not in f[0]]
        remaining.discard(vertex)
        weight = functools.reduce(np.multiply, [a for scope, a in involved if len(scope) == 1])
        if not near:
            scalars = scalars * weight.sum(axis=1)
            continue
        if len(near) > 2:
            raise AssertionError(f"EFP graph {edges} has treewidth > 2")
        matrices = {
            u: functools.reduce(
                np.multiply, [_oriented(s, a, u) for s, a in involved if len(s) == 2 and u in s]
            )
            for u in near
        }
        if len(near) == 1:
            (u,) = near
            factors.append(((u,), np.matmul(matrices[u], weight[:, :, None])[:, :, 0]))
        else:
            u, w = near
            product = np.matmul(matrices[u] * weight[:, None, :], np.swapaxes(matrices[w], 1, 2))
            factors.append(((u, w), product))
    return scalars


def efps(
    pt: npt.ArrayLike,
    y: npt.ArrayLike,
    phi: npt.ArrayLike,
    names: Sequence[str] | None = None,
    *,
    beta: float = 1.0,
    kappa: float = 1.0,
) -> dict[str, np.ndarray]:
    """EFPs of a block of jets given as zero-padded constituent arrays.

    Parameters
    ----------
    pt, y, phi
        ``(n_jets, n_max)`` constituent transverse momenta (GeV; 0 for padding), rapidities and azimuths.
    names
        EFPs to compute (default: all of :data:`EFP_GRAPHS`).
    beta
        Angular exponent (> 0).
    kappa
        Energy exponent of the momentum fractions (1: IRC safe; see the module documentation).

    Returns
    -------
    dict
        Name -> ``(n_jets,)`` values (dimensionless). A jet without constituents gives 0.

    Raises
    ------
    bumphunt.errors.ConfigError
        For an unknown name, ``beta <= 0`` or a ``kappa`` that is not finite.
    bumphunt.errors.DataFormatError
        If the arrays differ in shape or hold negative pT or NaN/inf.
    """
    names = tuple(g.name for g in EFP_GRAPHS) if names is None else tuple(names)
    unknown = [n for n in names if n not in _BY_NAME]
    if unknown:
        raise ConfigError(
            f"unknown EFP name(s) {unknown}; the EFPs are efp_d<degree>_<k> of "
            "bumphunt.physics.efp.EFP_GRAPHS"
        )
    if not beta > 0:
        raise ConfigError(f"EFP beta must be positive, got {beta!r}")
    if not np.isfinite(kappa):
        raise ConfigError(f"EFP kappa must be a finite number, got {kappa!r}")
    pt, y, phi = (np.asarray(a, dtype=np.float64) for a in (pt, y, phi))
    if pt.ndim != 2 or pt.shape != y.shape or pt.shape != phi.shape:
        raise DataFormatError(
            f"EFPs need (n_jets, n_max) pt, y, phi of one shape, got {pt.shape}, {y.shape}, {phi.shape}"
        )
    if np.any(pt < 0) or not (
        np.all(np.isfinite(pt)) and np.all(np.isfinite(y)) and np.all(np.isfinite(phi))
    ):
        raise DataFormatError("EFPs: constituent pT must be finite and not negative, y and phi finite")
    out = {name: np.zeros(len(pt)) for name in names}
    # jets with similar numbers of particles together, each group padded to its own largest: the cost
    # grows as the cube of the padded length
    order = np.argsort(np.count_nonzero(pt > 0, axis=1), kind="stable")
    for start in range(0, len(order), _GROUP):
        rows = order[start : start + _GROUP]
        size = max(int(np.count_nonzero(pt[rows] > 0, axis=1).max()), 1)
        keep = np.argsort(-pt[rows], axis=1, kind="stable")[:, :size]  # real particles first
        values = _group_values(
            *(np.take_along_axis(a[rows], keep, axis=1) for a in (pt, y, phi)), names, beta, kappa
        )
        for name in names:
            out[name][rows] = values[name]
    return out


#: Jets per group of :func:`efps`.
_GROUP = 64


def _group_values(
    pt: np.ndarray, y: np.ndarray, phi: np.ndarray, names: Sequence[str], beta: float, kappa: float
) -> dict[str, np.ndarray]:
    total = pt.sum(axis=1, keepdims=True)
    z = np.divide(pt, total, out=np.zeros_like(pt), where=total > 0)
    if kappa != 1.0:  # padding (z = 0) stays 0 for every kappa, 0 ** 0 and 0 ** -1 included
        z = np.power(z, kappa, out=np.zeros_like(z), where=pt > 0)
    dphi = np.abs(phi[:, :, None] - phi[:, None, :])
    dphi = np.where(dphi > np.pi, 2.0 * np.pi - dphi, dphi)
    theta = ((y[:, :, None] - y[:, None, :]) ** 2 + dphi**2) ** (beta / 2.0)
    cache: dict = {}
    connected: dict[tuple[int, Edges], np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for name in names:
        value = np.ones(len(pt))
        for part in _BY_NAME[name].parts:
            if part not in connected:
                connected[part] = _connected_values(z, theta, part, cache)
            value = value * connected[part]
        out[name] = value
    return out

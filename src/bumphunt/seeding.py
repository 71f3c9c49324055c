"""Seeds: every random choice in bumphunt derives from one explicit seed.

All seeds are spawned with :class:`numpy.random.SeedSequence`, so child ``i`` depends only on the parent
seed and ``i`` (growing a list of tasks or chunks keeps the seeds of the first ones):

* :func:`child_seeds` -- seeds of the parts of one model (folds, ensemble members, flow, samples);
* :func:`spawn_seeds` -- seeds of independent tasks (pseudo-experiments), 63-bit;
* :func:`pythia_seeds` -- ``Random:seed`` values of generator chunks (Pythia accepts at most 900,000,000).
"""

from __future__ import annotations

import numbers

import numpy as np

from bumphunt.errors import ConfigError

__all__ = ["PYTHIA_MAX_SEED", "SeedLike", "child_seeds", "pythia_seeds", "seed_sequence", "spawn_seeds"]

#: Largest ``Random:seed`` that Pythia 8 accepts.
PYTHIA_MAX_SEED = 900_000_000

#: A seed: a non-negative integer or a :class:`numpy.random.SeedSequence`.
SeedLike = int | np.random.SeedSequence


def seed_sequence(seed: SeedLike, setting: str = "seed") -> np.random.SeedSequence:
    """``seed`` as a :class:`numpy.random.SeedSequence`.

    Raises
    ------
    bumphunt.errors.ConfigError
        If ``seed`` is neither a non-negative integer nor a SeedSequence (``None`` included: results
        must be reproducible).
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ConfigError(f"{setting} must be a non-negative integer or a numpy SeedSequence, got {seed!r}")


def child_seeds(seed: SeedLike, n: int, setting: str = "seed") -> list[int]:
    """``n`` independent integer seeds spawned from ``seed`` (the same ``seed`` gives the same list).

    Spawning does not advance ``seed``: the children are derived from its entropy and spawn key with
    :class:`numpy.random.SeedSequence` (``spawn_key`` extended by the child index).
    """
    parent = seed_sequence(seed, setting)
    return [
        int(np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, i)).generate_state(1)[0])
        for i in range(n)
    ]


def _is_count(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0


def _spawn(seed: int, n: int) -> list[np.random.SeedSequence]:
    if not _is_count(seed):
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not _is_count(n):
        raise ConfigError(f"the number of seeds must be a non-negative integer, got {n!r}")
    return np.random.SeedSequence(int(seed)).spawn(int(n))


def spawn_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent task seeds from child ``i`` of ``numpy.random.SeedSequence(seed)``.

    Each seed is a non-negative 63-bit integer (fits numpy, torch and JSON). Seed ``i`` depends only on
    ``seed`` and ``i``, so growing ``n`` keeps the seeds (and stored results) of the first tasks.

    Raises
    ------
    ConfigError
        If ``seed`` or ``n`` is negative or not an integer.
    """
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in _spawn(seed, n)]


def pythia_seeds(seed: int, n: int) -> list[int]:
    """``n`` Pythia ``Random:seed`` values (0 to :data:`PYTHIA_MAX_SEED`) from ``SeedSequence(seed)``.

    Seed ``i`` depends only on ``seed`` and ``i``: the chunks of a run keep their seeds (and events)
    when the run grows.

    Raises
    ------
    ConfigError
        If ``seed`` or ``n`` is negative or not an integer.
    """
    return [
        int(child.generate_state(1, dtype=np.uint32)[0] % (PYTHIA_MAX_SEED + 1)) for child in _spawn(seed, n)
    ]

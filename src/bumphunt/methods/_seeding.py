"""Seeds: every random choice in :mod:`bumphunt.methods` derives from one explicit seed."""

from __future__ import annotations

import numbers

import numpy as np

from bumphunt.errors import ConfigError

__all__ = ["SeedLike", "child_seeds", "seed_sequence"]

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

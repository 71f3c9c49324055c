"""The ``progress=`` callback that long loops of :mod:`bumphunt.methods` report to."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "report"]

#: Called as ``progress(done, total)`` after each step of a long loop (epochs, folds).
ProgressCallback = Callable[[int, int], None]


def report(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Call ``progress(done, total)`` if a callback was given."""
    if progress is not None:
        progress(done, total)

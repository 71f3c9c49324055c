"""Atomic file output: a crash never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` only on success.

    The temporary file lives in the target's directory, so the final :func:`os.replace` is atomic on
    POSIX file systems. On any exception the temporary file is removed and ``target`` is untouched.

    Parameters
    ----------
    target
        The final file name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers such as PyTables want to create the file themselves
    try:
        yield tmp_path
        tmp_path.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()

"""Files: atomic output (a crash never leaves a half-written file behind) and checked input paths."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bumphunt.errors import MissingFileError

__all__ = ["atomic_path", "existing_file", "one_line"]


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


def one_line(err: BaseException) -> str:
    """A library's error message on one line (uproot and HDF5 messages span several)."""
    return " ".join(str(err).split())


def existing_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path; raise :class:`~bumphunt.errors.MissingFileError` if it is not a file."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"file {str(path)!r} does not exist")
    if not path.is_file():
        raise MissingFileError(f"{str(path)!r} is not a file")
    return path

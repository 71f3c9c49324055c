"""Helpers for native libraries (Pythia, FastJet) that print to the C-level standard output."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["quiet_stdout"]


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send writes to file descriptor 1 to /dev/null for the duration of the block.

    Pythia's initialization listing and FastJet's banner are written by C++ straight to descriptor 1;
    a library must not print, so calls that may print run inside this block.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)

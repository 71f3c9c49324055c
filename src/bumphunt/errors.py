"""Exceptions a user can cause.

Every error raised because of a user's input (a file, a column, a setting) derives from
:class:`BumphuntError`; its message names the culprit and what was expected. The command line prints
the message in one line and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "BumphuntError",
    "ConfigError",
    "DataFormatError",
    "DependencyError",
    "FitError",
    "SelectionError",
]


class BumphuntError(Exception):
    """Base class of all errors that a user's input can cause."""


class ConfigError(BumphuntError, ValueError):
    """A setting has a value that is not allowed; the message names the setting."""


class DataFormatError(BumphuntError, ValueError):
    """A file or table is not what it claims to be; the message names the file, key or column."""


class DependencyError(BumphuntError, ImportError):
    """An optional dependency is needed for the requested feature but is not installed."""


class FitError(BumphuntError, RuntimeError):
    """A fit cannot be made (too few events, too few bins) or did not converge.

    The message names the shape, the mass range (GeV) and what went wrong.
    """


class SelectionError(BumphuntError, ValueError):
    """A selection keeps no events (or too few for the requested estimate); the message names the cut."""

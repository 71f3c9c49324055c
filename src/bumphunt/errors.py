"""Exceptions a user can cause.

Every error raised because of a user's input (a file, a column, a setting) derives from
:class:`BumphuntError`; its message names the culprit and what was expected. The command line prints
the message in one line and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "BumphuntError",
    "ChecksumError",
    "ConfigError",
    "DataFormatError",
    "DependencyError",
    "DownloadError",
    "EmptySelectionError",
    "FitError",
    "MissingFileError",
    "NotFittedError",
    "OutOfRangeError",
    "TrainingError",
]


class BumphuntError(Exception):
    """Base class of all errors that a user's input can cause."""


class ConfigError(BumphuntError, ValueError):
    """A setting has a value that is not allowed; the message names the setting."""


class DataFormatError(BumphuntError, ValueError):
    """A file or table is not what it claims to be; the message names the file, key or column."""


class DependencyError(BumphuntError, ImportError):
    """An optional dependency is needed for the requested feature but is not installed."""


class MissingFileError(BumphuntError, FileNotFoundError):
    """An input file does not exist; the message names it."""


class EmptySelectionError(BumphuntError, ValueError):
    """A selection (a mass window, a split, a cut on a score) keeps no events, or too few for the
    requested estimate; the message names the selection and the data's range."""


class DownloadError(BumphuntError, OSError):
    """A download failed (network, server); a partial file is kept so that the next attempt resumes."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the size or checksum on record; the file was deleted."""


class OutOfRangeError(DataFormatError):
    """A value lies outside the range a transform was fitted on (or outside its domain).

    The message names the column, how many values are outside and the allowed range.
    """


class NotFittedError(BumphuntError, ValueError, AttributeError):
    """A model or transform is used before ``fit``; the message names it and the missing step."""


class TrainingError(BumphuntError, RuntimeError):
    """Training a network diverged (the loss was never finite); the message names the model and setting."""


class FitError(BumphuntError, RuntimeError):
    """A fit cannot be made (too few events, too few bins) or did not converge.

    The message names the shape, the mass range (GeV) and what went wrong.
    """

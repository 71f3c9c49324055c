"""Opening input files with clear errors: existence, format sniffing, HDF5 and ROOT containers.

Every reader goes through these helpers, so that a missing file, a file of another format, a truncated
file, a wrong key or tree and a missing column or branch give the same kind of one-line message.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bumphunt._files import existing_file, one_line
from bumphunt.errors import DataFormatError

__all__ = [
    "SUFFIX_CONTAINERS",
    "Container",
    "branch_names",
    "check_columns",
    "container_of",
    "existing_file",
    "finite_rows",
    "iterate_root",
    "one_line",
    "open_h5py",
    "open_hdf_store",
    "open_root_tree",
    "require_container",
    "resolve_key",
    "root_errors",
    "sniff",
]

logger = logging.getLogger(__name__)

Container = Literal["hdf5", "root", "parquet", "text", "unknown"]

_MAGIC: tuple[tuple[bytes, Container], ...] = (
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"root", "root"),
    (b"PAR1", "parquet"),
)
_DESCRIPTIONS: dict[str, str] = {
    "hdf5": "an HDF5 file",
    "root": "a ROOT file",
    "parquet": "a Parquet file",
    "text": "a text file",
}


#: The container that a file name suffix promises.
SUFFIX_CONTAINERS: dict[str, Container] = {
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    ".root": "root",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "text",
    ".tsv": "text",
}


def sniff(path: Path) -> Container:
    """The container format of an existing file, from its first bytes."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head and b"\x00" not in head:
        try:  # an incremental decoder accepts a character cut at the end of the block
            codecs.getincrementaldecoder("utf-8")().decode(head)
        except UnicodeDecodeError:
            return "unknown"
        return "text"
    return "unknown"


def _describe(path: Path, found: Container) -> str:
    if path.stat().st_size == 0:
        return "empty"
    return _DESCRIPTIONS.get(found, "of a format bumphunt does not know")


def container_of(path: str | os.PathLike[str]) -> tuple[Path, Container]:
    """The container of an existing file; raise if its suffix promises another one."""
    path = existing_file(path)
    found = sniff(path)
    promised = SUFFIX_CONTAINERS.get(path.suffix.lower())
    if promised is not None and promised != found:
        raise DataFormatError(
            f"file {str(path)!r} has the suffix {path.suffix!r} but is {_describe(path, found)}, "
            f"not {_DESCRIPTIONS[promised]}"
        )
    return path, found


def require_container(path: str | os.PathLike[str], expected: Container, what: str) -> Path:
    """Check that ``path`` exists and is ``expected`` (``what`` names the layout the reader wants)."""
    path = existing_file(path)
    found = sniff(path)
    if found != expected:
        raise DataFormatError(
            f"file {str(path)!r} is {_describe(path, found)}, expected {_DESCRIPTIONS[expected]} ({what})"
        )
    return path


def open_h5py(path: str | os.PathLike[str], what: str) -> tuple[Path, Any]:
    """Open an HDF5 file read-only with h5py; ``what`` names the layout the reader wants."""
    import h5py

    path = require_container(path, "hdf5", what)
    try:
        return path, h5py.File(path, "r")
    except OSError as err:
        text = str(err)
        if "truncated" in text:
            problem = f"the HDF5 file is truncated ({path.stat().st_size} bytes on disk)"
        else:
            problem = "the HDF5 file cannot be opened"
        raise DataFormatError(f"file {str(path)!r}: {problem}: {one_line(err)}") from None


def resolve_key(path: Path, keys: Iterable[str], key: str | None) -> str:
    """The key to read: ``key`` if given and present, else the only key in the file."""
    keys = sorted(k.lstrip("/") for k in keys)
    if key is not None:
        key = key.lstrip("/")
        if key not in keys:
            raise DataFormatError(f"file {str(path)!r} has no key {key!r}; its keys are {keys}")
        return key
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise DataFormatError(f"file {str(path)!r} holds no pandas table")
    raise DataFormatError(f"file {str(path)!r} holds several tables {keys}; choose one with key=...")


@contextlib.contextmanager
def open_hdf_store(
    path: str | os.PathLike[str], key: str | None, what: str
) -> Iterator[tuple[pd.HDFStore, str]]:
    """Open a pandas HDF5 store read-only and resolve the table key; yields ``(store, key)``."""
    path, probe = open_h5py(path, what)  # clear messages for damaged files
    probe.close()
    try:
        store = pd.HDFStore(path, mode="r")
    except Exception as err:  # PyTables raises a zoo of types for damaged files
        raise DataFormatError(
            f"file {str(path)!r}: cannot open as a pandas HDF5 store: {one_line(err)}"
        ) from None
    try:
        yield store, resolve_key(path, store.keys(), key)
    finally:
        store.close()


def check_columns(
    path: str | os.PathLike[str], available: Iterable[Any], required: Iterable[Any], kind: str = "column"
) -> None:
    """Raise naming the first missing ``kind`` (column, branch) and close matches among ``available``."""
    available = list(available)
    present = set(available)
    missing = [name for name in required if name not in present]
    if not missing:
        return
    names = [str(a) for a in available]
    by_lower = {name.lower(): name for name in names}
    hints = [by_lower[h] for h in difflib.get_close_matches(str(missing[0]).lower(), list(by_lower), n=3)]
    hint = f"; close matches: {hints}" if hints else ""
    listed = ", ".join(repr(m) for m in missing)
    plural = kind + ("es" if kind.endswith(("s", "sh", "ch", "x")) else "s")
    raise DataFormatError(
        f"file {os.fspath(path)!r}: {kind} {listed} not found ({len(names)} {plural} present){hint}"
    )


def finite_rows(
    path: str | os.PathLike[str], columns: Mapping[str, np.ndarray], nonfinite: str
) -> np.ndarray | None:
    """Check file columns for NaN/inf before derived quantities hide where they came from.

    Returns ``None`` if all values are finite; with ``nonfinite="drop"`` the mask of the rows to keep
    (the number dropped is logged); with ``"raise"`` raises naming each column and its count.
    """
    bad = {name: ~np.isfinite(values) for name, values in columns.items()}
    counts = {name: int(np.count_nonzero(mask)) for name, mask in bad.items()}
    if not any(counts.values()):
        return None
    n_rows = len(next(iter(columns.values())))
    if nonfinite == "drop":
        keep = ~np.logical_or.reduce(list(bad.values()))
        logger.warning(
            "%s: dropped %d of %d rows with NaN/inf values", os.fspath(path), n_rows - keep.sum(), n_rows
        )
        return keep
    details = ", ".join(f"column {name!r} has {count}" for name, count in counts.items() if count)
    raise DataFormatError(
        f"file {os.fspath(path)!r}: NaN/inf values in {n_rows} rows: {details}; "
        "fix the file or read it with nonfinite='drop' to drop those rows"
    )


def root_errors() -> tuple[type[BaseException], ...]:
    """Exceptions uproot raises for damaged files."""
    import uproot

    return (OSError, ValueError, EOFError, uproot.deserialization.DeserializationError)


def open_root_tree(path: str | os.PathLike[str], tree: str | None, what: str) -> tuple[Path, Any]:
    """Open a TTree or RNTuple; ``tree=None`` takes the only one in the file. Returns ``(path, tree)``."""
    import uproot

    path = require_container(path, "root", what)
    try:
        root = uproot.open(path)
        classes = root.classnames()
    except root_errors() as err:
        raise DataFormatError(
            f"file {str(path)!r}: the ROOT file is truncated or corrupt: {one_line(err)}"
        ) from None
    trees = sorted({k.split(";")[0] for k, c in classes.items() if c == "TTree" or c.endswith("RNTuple")})
    if tree is None:
        if len(trees) != 1:
            raise DataFormatError(
                f"file {str(path)!r} holds {len(trees)} trees {trees}; choose one with tree=..."
            )
        tree = trees[0]
    elif tree not in trees:
        raise DataFormatError(f"file {str(path)!r} has no TTree or RNTuple {tree!r}; it holds {trees}")
    try:
        return path, root[tree]
    except root_errors() as err:
        raise DataFormatError(
            f"file {str(path)!r}: tree {tree!r} is truncated or corrupt: {one_line(err)}"
        ) from None


def branch_names(tree: Any) -> list[str]:
    """Top-level branch (TTree) or field (RNTuple) names; NanoAOD keeps every quantity at top level.

    (The recursive listing of an RNTuple with a thousand fields takes seconds; this one does not.)
    """
    return [name for name in tree.keys(recursive=False) if not name.startswith("_collection")]


def iterate_root(
    path: str | os.PathLike[str],
    tree: str | None,
    branches: Sequence[str],
    what: str,
    *,
    step_size: int | str = 100_000,
    entry_stop: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(first_entry, arrays)`` blocks of ``branches`` of a TTree or RNTuple (``uproot``).

    Parameters
    ----------
    step_size
        Entries per block, or a memory size such as ``"100 MB"``.
    entry_stop
        Stop before this entry (``None``: read all).
    progress
        Called with the number of entries after each block.
    """
    path, handle = open_root_tree(path, tree, what)
    check_columns(path, branch_names(handle), branches, kind="branch")
    try:
        for arrays, report in handle.iterate(
            list(branches), step_size=step_size, entry_stop=entry_stop, report=True, library="ak"
        ):
            yield report.tree_entry_start, arrays
            if progress is not None:
                progress(report.tree_entry_stop - report.tree_entry_start)
    except root_errors() as err:
        raise DataFormatError(
            f"file {str(path)!r}: the ROOT file is truncated or corrupt: {one_line(err)}"
        ) from None

"""Public datasets by name, downloaded once into a cache directory, verified and resumable.

Each :class:`RemoteFile` names a file with its URL and, where a public record gives them, its size and
checksum. :func:`fetch` downloads into ``<cache>/<filename>.part`` and resumes an interrupted download
with an HTTP ``Range`` request; the finished file is checked (size, checksum) and only then renamed to
``<cache>/<filename>``. A file that fails the check is deleted and :class:`~bumphunt.errors.ChecksumError`
is raised. The SHA-256 of every verified file is written next to it as ``<filename>.sha256`` (the format
of ``sha256sum``, so ``sha256sum -c`` in the cache directory re-checks the cached copies); where no
checksum is published, that record of the first complete download is all there is, and it is logged.

The cache directory is ``$BUMPHUNT_CACHE`` if set, else the user cache directory of the platform
(``~/.cache/bumphunt`` on Linux).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bumphunt import __version__
from bumphunt.errors import ChecksumError, ConfigError, DownloadError
from bumphunt.io._source import one_line

__all__ = [
    "REGISTRY",
    "RemoteFile",
    "cache_dir",
    "fetch",
    "get",
]

logger = logging.getLogger(__name__)

#: ``progress(advance, total)``: ``advance`` new bytes; ``total`` the file size in bytes if known.
DownloadProgress = Callable[[int, int | None], None]

_CHECKSUM = re.compile(r"^(sha256|md5):([0-9a-f]+)$")
_DIGEST_LENGTH = {"sha256": 64, "md5": 32}


@dataclass(frozen=True)
class RemoteFile:
    """A downloadable file.

    Attributes
    ----------
    name
        Registry name (what ``bumphunt fetch NAME`` takes).
    url
        Download URL.
    filename
        File name in the cache directory.
    description
        What the file holds.
    size
        Size in bytes, or ``None`` where no public record confirms it.
    checksum
        ``"sha256:<hex>"`` or ``"md5:<hex>"``, or ``None`` where no public record gives one.
    checksum_source
        Where ``size`` and ``checksum`` come from, or why there are none.
    """

    name: str
    url: str
    filename: str
    description: str
    size: int | None = None
    checksum: str | None = None
    checksum_source: str = ""

    def __post_init__(self) -> None:
        if self.checksum is not None:
            match = _CHECKSUM.match(self.checksum)
            if not match or len(match.group(2)) != _DIGEST_LENGTH[match.group(1)]:
                raise ConfigError(
                    f"registry entry {self.name!r}: checksum {self.checksum!r} is not 'sha256:<64 hex>' "
                    "or 'md5:<32 hex>'"
                )
        if self.size is not None and self.size < 0:
            raise ConfigError(f"registry entry {self.name!r}: negative size {self.size}")


_NO_PUBLIC_CHECKSUM = (
    "not confirmed: no size or checksum found in public material; the SHA-256 of the first download "
    "is recorded in the cache"
)
_LHCO_RND = "https://zenodo.org/records/4536377/files/"
_LHCO_EXTRA = "https://zenodo.org/records/5759087/files/"
_MOD_CMS = "https://zenodo.org/records/3340205/files/"
# md5 of the 18 files of the CMS 2011A jet sample in MOD HDF5 format, as listed in energyflow's
# energyflow/data/CMS2011AJets.json (git commit 72cdf7a690d03719e57c20c46badea52e88b5dcd).
_MOD_CMS_MD5 = (
    "f1d2d4013e1e0026b4f8cc84b9d5f944",
    "a2dd1e24aa14c43a6096e4f4b974216b",
    "640608aacabc7a5e1bf6624db597663d",
    "b209d8aba5ce1fac0b32f5b165a69556",
    "ce77402992251008e42aafbce45bf07e",
    "b154eac9d95c53e69f01fe9a5524973f",
    "9ab175cc177323878805fbfbfcaeef01",
    "54f4c707fb5970875e60c4f5ff26fa47",
    "2daabc0705fda69c02a39b1f76e831d0",
    "dbb40698729a224c8246bd9a7334f338",
    "7f6e5ab36cb7082ab10efff911509e46",
    "a3b2c2e1855c6c8106e6c6c0a045ce53",
    "a37a4ede9b52cf59ca2e52aad289e563",
    "d33c8158f0275452ea691c466b40a460",
    "973b387a7e7836785f82951c131fd3d9",
    "0bd33b317eab2e9843eeef7e3f6dc75a",
    "062b1d818ad07abbfd076d25394b27e8",
    "7a31e4bf0b5e657ada9ab252db6e2fd9",
)


def _entries() -> list[RemoteFile]:
    entries = [
        RemoteFile(
            "lhco-rnd-features",
            _LHCO_RND + "events_anomalydetection_v2.features.h5",
            "events_anomalydetection_v2.features.h5",
            "LHC Olympics 2020 R&D: high-level features of 1M QCD dijet and 100k W' -> X(qq) Y(qq) events "
            "(pandas HDF5; read with bumphunt.io.read_lhco_features)",
            checksum_source=_NO_PUBLIC_CHECKSUM,
        ),
        RemoteFile(
            "lhco-rnd-constituents",
            _LHCO_RND + "events_anomalydetection.h5",
            "events_anomalydetection.h5",
            "LHC Olympics 2020 R&D: 1.1M events x 700 particles (pT, eta, phi) + label "
            "(pandas HDF5; stream with bumphunt.io.iter_lhco_constituents)",
            checksum_source=_NO_PUBLIC_CHECKSUM,
        ),
        RemoteFile(
            "lhco-rnd-extra-qcd-features",
            _LHCO_EXTRA + "events_anomalydetection_qcd_extra_inneronly_features.h5",
            "events_anomalydetection_qcd_extra_inneronly_features.h5",
            "Extra QCD dijet events in the CATHODE signal region 3.3-3.7 TeV, LHCO features layout "
            "(pandas HDF5; read with bumphunt.io.read_lhco_features)",
            checksum_source=_NO_PUBLIC_CHECKSUM,
        ),
    ]
    for i, md5 in enumerate(_MOD_CMS_MD5):
        filename = f"CMS_Jet300_pT375-infGeV_{i}_compressed.h5"
        entries.append(
            RemoteFile(
                f"mod-cms2011a-jets-{i}",
                _MOD_CMS + filename,
                filename,
                f"CMS 2011A Open Data jets with pT > 375 GeV, MOD HDF5 file {i + 1} of 18 "
                "(read with bumphunt.io.read_mod_jets / read_mod_dijets)",
                checksum=f"md5:{md5}",
                checksum_source=(
                    "md5 from energyflow/data/CMS2011AJets.json (energyflow git commit 72cdf7a); "
                    "not compared with the Zenodo record; size not confirmed"
                ),
            )
        )
    return entries


#: All registered files by name.
REGISTRY: Mapping[str, RemoteFile] = {entry.name: entry for entry in _entries()}


def get(name: str) -> RemoteFile:
    """The registry entry ``name``; :class:`~bumphunt.errors.ConfigError` lists close names if unknown."""
    try:
        return REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(REGISTRY)}"
        raise ConfigError(f"no dataset named {name!r} in the registry{hint}") from None


def cache_dir() -> Path:
    """``$BUMPHUNT_CACHE``, or the platform's user cache directory for bumphunt."""
    configured = os.environ.get("BUMPHUNT_CACHE")
    if configured:
        return Path(configured).expanduser()
    import pooch

    return Path(pooch.os_cache("bumphunt"))


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _record_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def fetch(
    entry: str | RemoteFile,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: DownloadProgress | None = None,
    timeout: float = 60.0,
    block_size: int = 1 << 20,
) -> Path:
    """Download a registered file once into the cache, verified; return its path.

    Parameters
    ----------
    entry
        A registry name or a :class:`RemoteFile`.
    cache
        Cache directory (default :func:`cache_dir`).
    progress
        Called as ``progress(advance, total)`` while bytes arrive (see :data:`DownloadProgress`); a
        resumed download first reports the bytes already on disk.
    timeout
        Seconds to wait for the server before giving up (the partial file is kept).
    block_size
        Bytes read per network read.

    A file already in the cache without a ``.sha256`` record (copied there by hand) is checked like a
    download, and deleted if it fails.

    Raises
    ------
    bumphunt.errors.ConfigError
        For an unknown name.
    bumphunt.errors.DownloadError
        When the connection fails or breaks; the partial file is kept and the next call resumes.
    bumphunt.errors.ChecksumError
        When the complete file has the wrong size or checksum; it is deleted.
    """
    entry = get(entry) if isinstance(entry, str) else entry
    directory = Path(cache) if cache is not None else cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / entry.filename
    if target.is_file() and _record_path(target).is_file():
        return target
    partial = target.with_name(target.name + ".part")
    if target.is_file():  # present but never verified (copied in by hand, or an older bumphunt)
        target.replace(partial)
    else:
        _download(entry, partial, progress, timeout, block_size)
    _verify(entry, partial)
    partial.replace(target)
    return target


def _download(
    entry: RemoteFile, partial: Path, progress: DownloadProgress | None, timeout: float, block_size: int
) -> None:
    offset = partial.stat().st_size if partial.is_file() else 0
    if entry.size is not None and offset >= entry.size:
        return
    request = urllib.request.Request(entry.url, headers={"User-Agent": f"bumphunt/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    received = offset
    total = entry.size
    try:
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as err:
            if err.code == 416 and offset:  # nothing left to send: the partial file is complete
                return
            raise
        with response:
            if offset and response.status != 206:
                logger.info("%s: server ignored the Range request; downloading from the start", entry.url)
                offset = received = 0
            length = response.headers.get("Content-Length")
            if total is None and length is not None:
                total = offset + int(length)
            if progress is not None and offset:
                progress(offset, total)
            with partial.open("ab" if offset else "wb") as out:
                while block := response.read(block_size):
                    out.write(block)
                    received += len(block)
                    if progress is not None:
                        progress(len(block), total)
            if total is not None and received < total:
                raise http.client.IncompleteRead(b"", total - received)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        if isinstance(err, urllib.error.HTTPError) and err.code == 404:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise DownloadError(f"{entry.name}: {entry.url} answered 404 Not Found") from None
        expected = f" of {total}" if total is not None else ""
        raise DownloadError(
            f"{entry.name}: download from {entry.url} interrupted after {received}{expected} bytes "
            f"({type(err).__name__}: {one_line(err)}); the partial file {str(partial)!r} is kept and "
            "fetching again resumes it"
        ) from None


def _verify(entry: RemoteFile, partial: Path) -> None:
    size = partial.stat().st_size
    if entry.size is not None and size != entry.size:
        partial.unlink()
        raise ChecksumError(
            f"{entry.name}: downloaded file has {size} bytes, expected {entry.size}; it was deleted"
        )
    target = partial.with_name(partial.name.removesuffix(".part"))
    sha256 = _digest(partial, "sha256")
    if entry.checksum is not None:
        algorithm, expected = entry.checksum.split(":", 1)
        actual = sha256 if algorithm == "sha256" else _digest(partial, algorithm)
        if actual != expected:
            partial.unlink()
            raise ChecksumError(
                f"{entry.name}: downloaded file has {algorithm} {actual}, expected {expected}; it was deleted"
            )
    else:
        logger.warning(
            "%s: no published checksum; recorded the SHA-256 of this download: %s", entry.name, sha256
        )
    _record_path(target).write_text(f"{sha256}  {target.name}\n")

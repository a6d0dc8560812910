"""Fetching dataset files from their mirrors, verified by MD5.

A file only ever appears under its final name after its checksum matched, so
an interrupted or corrupted download can never be mistaken for data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from nnlab import NnlabError, __version__
from nnlab.files import write_error

if TYPE_CHECKING:
    from nnlab.data.datasets import DatasetInfo

ProgressFn = Callable[[str, int, Optional[int]], None]

CHUNK = 64 * 1024
# The largest file nnlab downloads is ~26 MB; a mirror sending more than this
# is broken and must not be allowed to fill the disk before the MD5 check.
MAX_DOWNLOAD_BYTES = 512 * 1024**2
# ValueError: a malformed mirror URL; HTTPException: a broken HTTP response.
_NETWORK_ERRORS = (OSError, http.client.HTTPException, ValueError)


class DownloadError(NnlabError):
    """No mirror delivered a file with the expected checksum."""


class _MirrorFailed(Exception):
    """One attempt failed; the message is the reason, the next mirror is tried."""


def _present(dest_dir: Path, filename: str) -> bool:
    # A file the user unpacked themselves counts as present too.
    raw_name = filename[:-3] if filename.endswith(".gz") else filename
    return (dest_dir / filename).is_file() or (dest_dir / raw_name).is_file()


def download_dataset(
    info: "DatasetInfo",
    dest_dir: str | os.PathLike,
    on_progress: ProgressFn | None = None,
    timeout: float = 30,
) -> dict[str, Path]:
    """Download every file of ``info`` that ``dest_dir`` does not hold yet.

    Mirrors are tried in order for each file. ``on_progress(filename,
    done_bytes, total_bytes_or_None)`` is called as data arrives. Returns
    role -> path of the files fetched. Raises :class:`DownloadError` when
    every mirror failed for some file.
    """
    dest = Path(dest_dir)
    fetched = {}
    for role, (filename, md5) in info.files.items():
        if _present(dest, filename):
            continue
        fetched[role] = _fetch_file(info, dest, filename, md5, on_progress, timeout)
    return fetched


def _fetch_file(info, dest: Path, filename: str, md5: str, on_progress, timeout) -> Path:
    if not info.mirrors:
        raise DownloadError(f"cannot download {filename}: {info.name} has no mirrors")
    last = ""
    for mirror in info.mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += filename
        try:
            return _fetch_from(url, dest, filename, md5, on_progress, timeout)
        except _MirrorFailed as err:
            last = f"{url}: {err}"
    tried = len(info.mirrors)
    mirrors = "the only mirror" if tried == 1 else f"all {tried} mirrors"
    raise DownloadError(f"could not download {filename} from {mirrors} (last: {last})")


def _fetch_from(url: str, dest: Path, filename: str, md5: str, on_progress, timeout) -> Path:
    final = dest / filename
    # A unique temp name, so two nnlab processes filling the same cache cannot
    # write into each other's file; still dot-prefixed to stay out of sight.
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest)
    except OSError as err:
        raise DownloadError(write_error(err, dest, "write to")) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, filename, on_progress, timeout)
        if digest != md5.lower():
            raise _MirrorFailed(f"checksum mismatch (MD5 {digest}, expected {md5})")
        os.replace(tmp, final)
        return final
    except OSError as err:
        # Local trouble (disk full, read-only folder) would fail on every
        # mirror alike, so it ends the download right here.
        raise DownloadError(write_error(err, final)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _stream(url: str, out, filename: str, on_progress, timeout) -> str:
    """Copy ``url`` into ``out``; return the MD5 hex digest of what arrived.

    Network trouble raises :class:`_MirrorFailed`; a failing ``out.write``
    raises its OSError, which is local and so not worth another mirror.
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"nnlab/{__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        raise _MirrorFailed(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise _MirrorFailed(_reason(err.reason)) from None
    except _NETWORK_ERRORS as err:
        raise _MirrorFailed(_reason(err)) from None
    md5, done = hashlib.md5(), 0
    with response:
        total = _content_length(response)
        if total is not None and total > MAX_DOWNLOAD_BYTES:
            raise _MirrorFailed(f"refusing a {total}-byte file")
        if on_progress:
            on_progress(filename, 0, total)
        while True:
            try:
                chunk = response.read(CHUNK)
            except _NETWORK_ERRORS as err:
                raise _MirrorFailed(_reason(err)) from None
            if not chunk:
                break
            done += len(chunk)
            if done > MAX_DOWNLOAD_BYTES:
                raise _MirrorFailed(f"sent more than {MAX_DOWNLOAD_BYTES} bytes")
            md5.update(chunk)
            out.write(chunk)
            if on_progress:
                on_progress(filename, done, total)
    if total is not None and done < total:
        raise _MirrorFailed(f"connection closed after {done} of {total} bytes")
    return md5.hexdigest()


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None and int(value) >= 0 else None
    except ValueError:
        return None


def _reason(err) -> str:
    """A short, one-line, lower-case description of a network or OS error."""
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, socket.gaierror):
        return "cannot resolve host name (offline?)"
    if isinstance(err, OSError) and err.strerror:
        text = err.strerror
    else:
        text = str(err) or type(err).__name__
    text = " ".join(text.split())
    return text[:1].lower() + text[1:]

"""Crash-safe file writes: whole files replaced atomically, records appended durably one line at a time.

Long runs are killed (``kill -9``, preemption) and run out of disk. Two rules keep what they leave
readable:

* a file rewritten as a whole (a summary, a metadata record, a pairs file) is written to a temporary
  file next to it, fsynced and renamed over the target (:func:`atomic_writer`, :func:`write_text_atomic`),
  so a reader sees the old content or the new, never a half;
* a record appended to a log (a tree, an episode) is one ``write`` of one line, fsynced
  (:func:`append_line`). A kill leaves at most one partial last line, which readers drop; a failed write
  (disk full, file too large, read-only file system) is cut back off before :class:`OutputError` is
  raised, so the lines already there stay intact and the file ends on a line boundary.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from agentsearch.errors import OutputError

__all__ = ["append_line", "atomic_writer", "open_log", "open_maybe_gzipped", "write_text_atomic"]


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on a clean exit fsync it and rename it over ``path``.

    Raises:
        OutputError: the file could not be written (the target keeps its previous content).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        encoding = None if "b" in mode else "utf-8"
        with tmp.open(mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as err:
        raise OutputError(path, err) from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Replace ``path`` by ``text`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path) as handle:
        handle.write(text)
    return Path(path)


def open_maybe_gzipped(path: str | os.PathLike[str], mode: str = "rt") -> IO[Any]:
    """Open ``path`` for reading, decompressing it when its name ends in ``.gz``.

    Shipped data files are gzipped (``data/demos/*.jsonl.gz``); runs write plain files, and every reader
    accepts both. ``mode`` is ``"rt"`` (UTF-8 text) or ``"rb"``.
    """
    encoding = None if "b" in mode else "utf-8"
    if Path(path).suffix == ".gz":
        return gzip.open(path, mode, encoding=encoding)
    return open(path, mode, encoding=encoding)


def open_log(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a JSONL log for :func:`append_line` (binary append).

    Raises:
        OutputError: the file cannot be opened for writing (read-only folder, permissions ...).
    """
    try:
        return Path(path).open("ab")
    except OSError as err:
        raise OutputError(path, err) from err


def append_line(handle: Any, line: str | bytes) -> None:
    """Append ``line`` (newline added) to the file open as ``handle`` in one write, then fsync it.

    ``line`` is text, or its UTF-8 bytes (a record a worker serialised already). On a failed write the
    file is truncated back to where the line began, so no partial line stays.

    Raises:
        OutputError: the line could not be written (disk full, file size limit, read-only ...).
    """
    data = line + b"\n" if isinstance(line, bytes) else (line + "\n").encode("utf-8")
    handle.flush()  # anything buffered goes first, so the line lands in order
    fd = handle.fileno()
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        view = memoryview(data)
        while view:  # a regular file takes it in one call; a short write (disk nearly full) loops
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise OutputError(getattr(handle, "name", fd), err) from err

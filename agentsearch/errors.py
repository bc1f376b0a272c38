"""Exceptions raised by agentsearch.

Every error derives from one base class, so ``except AgentSearchError`` catches them all::

    AgentSearchError
    ├── ConfigError          a user option or name is wrong (unknown env, algorithm, strategy ...)
    ├── DataFileError        a data file (catalog, goals, trees, pairs) is malformed; names file and line
    ├── EnvError             an environment cannot serve a request (unknown task id, stale snapshot ...)
    ├── ActionParseError     model text holds no parsable action (agents turn it into an invalid action)
    ├── BackendError         a generation backend failed; ``retryable`` tells whether a retry may help
    └── OutputError          an output file cannot be written (disk full, size limit, read-only folder)

Messages say what was expected, what came, and how to fix it.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable

__all__ = [
    "AgentSearchError",
    "ConfigError",
    "DataFileError",
    "EnvError",
    "ActionParseError",
    "BackendError",
    "OutputError",
    "did_you_mean",
]


class AgentSearchError(Exception):
    """Base class of every agentsearch exception."""


class ConfigError(AgentSearchError, ValueError):
    """A user-supplied option, name or configuration value is invalid."""


class DataFileError(AgentSearchError, ValueError):
    """A data file is malformed.

    Args:
        path: the file that failed to load.
        line: 1-based line number of the offending record, or ``None`` when the whole file is bad.
        reason: what was wrong.
    """

    def __init__(self, path: object, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class EnvError(AgentSearchError, RuntimeError):
    """An environment cannot serve the request (unknown task id, snapshot from another episode ...)."""


class ActionParseError(AgentSearchError, ValueError):
    """Model output contains no action that can be parsed."""


class BackendError(AgentSearchError, RuntimeError):
    """A generation backend failed.

    Args:
        message: what went wrong.
        retryable: whether the same request may succeed when retried (HTTP 429/5xx, timeouts).
        status: HTTP status code where there is one.
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class OutputError(AgentSearchError, OSError):
    """An output file cannot be written; what it already holds is left intact.

    Args:
        path: the file being written.
        cause: the operating system's error (``ENOSPC``, ``EFBIG``, ``EROFS``, ``EACCES`` ...).
    """

    def __init__(self, path: object, cause: OSError) -> None:
        self.path = str(path)
        self.cause = cause
        reason = cause.strerror or str(cause)
        hint = _OUTPUT_HINTS.get(cause.errno or 0, "")
        self.message = (
            f"cannot write {self.path}: {reason}{hint}; what it already holds is intact: free space (or "
            "choose another output) and rerun to resume"
        )
        super().__init__(cause.errno, self.message)

    def __str__(self) -> str:
        return self.message


_OUTPUT_HINTS = {
    errno.ENOSPC: " (disk full)",
    errno.EFBIG: " (file size limit)",
    errno.EROFS: " (read-only file system)",
    errno.EACCES: " (permission denied)",
}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean `x`?"`` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean `{close[0]}`?" if close else ""

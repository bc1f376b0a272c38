"""Local ``agentsearch serve`` processes, for tests and benchmarks of collections over model servers.

Each server is a separate process of this interpreter (``python -m agentsearch.cli serve``) on a free
port, with its own copy of the model and ``threads`` torch threads (``OMP_NUM_THREADS``, read by torch at
start-up; ``serve`` has no thread flag). :func:`local_servers` returns once every server answers
``/health``, so their start-up is not part of what the caller measures. Clients spread requests over
them by passing every URL to the ``openai`` backend (``base_url=servers.urls``).

Example::

    from agentsearch.llm.openai import OpenAIBackend
    from agentsearch.run.servers import local_servers

    with local_servers("tiny-random", count=2) as servers:
        llm = OpenAIBackend("tiny-random", base_url=servers.urls)
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from agentsearch.errors import BackendError
from agentsearch.run.cluster import free_port

__all__ = ["LocalServer", "LocalServers", "local_servers"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalServer:
    """One started server: its ``/v1`` base URL, its process and the file its stderr goes to."""

    url: str
    process: subprocess.Popen
    log: IO[bytes]

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        self.process.terminate()  # uvicorn shuts down on SIGTERM
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class LocalServers:
    """The started servers, in start order."""

    servers: list[LocalServer] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]


def _health(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url.removesuffix('/v1')}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def local_servers(
    model: str, count: int = 1, *, threads: int = 1, timeout_s: float = 600.0
) -> Iterator[LocalServers]:
    """Start ``count`` ``agentsearch serve --model MODEL`` processes; stop them all on exit.

    Args:
        model: what each server loads and the name clients send (``tiny-random``, ``smollm2-135m`` ...).
        count: servers to start (on free ports of 127.0.0.1).
        threads: torch threads of each server.
        timeout_s: how long the servers may take, together, to answer ``/health``.

    Raises:
        BackendError: a server exited or did not answer in time (its stderr is in the message).
    """
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    started = LocalServers()
    with contextlib.ExitStack() as logs:
        try:
            for _ in range(count):
                port = free_port()
                # stderr to a file, not a pipe: a pipe nobody reads blocks the server once it fills.
                log = logs.enter_context(tempfile.TemporaryFile())
                command = [
                    sys.executable,
                    "-m",
                    "agentsearch.cli",
                    "serve",
                    "--model",
                    model,
                    "--port",
                    str(port),
                ]
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
                started.servers.append(LocalServer(f"http://127.0.0.1:{port}/v1", process, log))
            deadline = time.monotonic() + timeout_s
            for server in started.servers:
                while not _health(server.url):
                    exited = server.process.poll() is not None
                    if exited or time.monotonic() > deadline:
                        state = (
                            f"exited with {server.process.returncode}"
                            if exited
                            else f"did not answer in {timeout_s:.0f} s"
                        )
                        raise BackendError(
                            f"`agentsearch serve --model {model}` at {server.url} {state}: "
                            f"{server.stderr_tail()}"
                        )
                    time.sleep(0.2)
            logger.info("%d servers of %s up: %s", count, model, ", ".join(started.urls))
            yield started
        finally:
            for server in started.servers:
                server.stop()

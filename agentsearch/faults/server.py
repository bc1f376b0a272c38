"""A real HTTP server in front of an OpenAI-compatible backend that injects faults on a schedule.

:class:`FaultyServer` listens on a local port (stdlib ``http.server``, one thread per connection). Each
POST takes the next fault of its schedule (cycled) and

* ``ok``: forwards the request to ``upstream`` and relays the answer;
* ``429`` / ``500``: answers that status (``Retry-After: 0`` on 429) without forwarding;
* ``malformed``: forwards, then answers 200 with half of the upstream body (complete, not JSON);
* ``truncated``: forwards, then announces the full length, sends half the body and closes the socket;
* ``timeout``: holds the connection ``hang_s`` seconds without answering (longer than the client waits);
* ``reset``: closes the connection before answering.

``GET`` requests (``/health``, ``/v1/models``) are always forwarded. :attr:`FaultyServer.injected`
counts what was served.

Example::

    with FaultyServer("http://127.0.0.1:8000", ["429", "ok", "truncated", "ok"]) as url:
        llm = OpenAIBackend("tiny-random", base_url=url, backoff_s=0.05)
"""

from __future__ import annotations

import collections
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAULTS", "FaultyServer"]

FAULTS = ("ok", "429", "500", "malformed", "truncated", "timeout", "reset")


class FaultyServer:
    """A fault-injecting proxy (see the module docstring); a context manager yielding its ``/v1`` URL.

    Args:
        upstream: base URL of the real server (``http://127.0.0.1:8000``, without ``/v1``).
        schedule: faults served to successive POSTs, cycled; names from :data:`FAULTS`.
        hang_s: how long a ``timeout`` fault holds the connection.
    """

    def __init__(self, upstream: str, schedule: Sequence[str], *, hang_s: float = 5.0) -> None:
        unknown = sorted(set(schedule) - set(FAULTS))
        if unknown or not schedule:
            raise ValueError(f"Expected a non-empty schedule of {FAULTS}, got unknown {unknown}.")
        self.upstream = upstream.rstrip("/")
        self.schedule = list(schedule)
        self.hang_s = hang_s
        self.injected: collections.Counter[str] = collections.Counter()
        self.post_times: list[float] = []  # monotonic arrival time of each POST (to measure backoff)
        self._lock = threading.Lock()
        self._posts = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _next_fault(self) -> str:
        with self._lock:
            fault = self.schedule[self._posts % len(self.schedule)]
            self._posts += 1
            self.post_times.append(time.monotonic())
            self.injected[fault] += 1
            return fault

    def _forward(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.upstream + path, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except OSError as err:  # the upstream is down: what a gateway answers
            return 502, f'{{"error": "upstream unreachable: {type(err).__name__}"}}'.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the client logs its retries
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                        length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._answer(*server._forward("GET", self.path, None))

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = server._next_fault()
                if fault == "429":
                    self._answer(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
                elif fault == "500":
                    self._answer(500, b'{"error": "internal error"}')
                elif fault == "timeout":
                    time.sleep(server.hang_s)
                    self._drop()
                elif fault == "reset":
                    self._drop()
                else:
                    status, answer = server._forward("POST", self.path, body)
                    if fault == "malformed" and status == 200:
                        self._answer(200, answer[: len(answer) // 2])
                    elif fault == "truncated" and status == 200:
                        self._answer(200, answer[: len(answer) // 2], length=len(answer))
                        self._drop()
                    else:
                        self._answer(status, answer)

        return Handler

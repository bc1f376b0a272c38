"""openai backend against real local servers: `agentsearch serve` and a fault-injecting HTTP server."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from agentsearch.errors import BackendError
from agentsearch.llm.base import Request, SamplingParams
from agentsearch.llm.openai import OpenAIBackend

CHAT = [{"role": "user", "content": "Buy a red shirt. What is your first action?"}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: str):
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "agentsearch.cli", "serve", "--model", model, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, f"{url}/v1"
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("server did not start in 300 s")


@pytest.fixture(scope="module")
def tiny_server():
    process, url = start_server("tiny-random")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_serve_lists_its_model_and_rejects_bad_input(tiny_server):
    models = httpx.get(f"{tiny_server}/models").json()
    assert [m["id"] for m in models["data"]] == ["tiny-random"]
    bad = httpx.post(f"{tiny_server}/chat/completions", json={"messages": [], "temperature": -1})
    assert bad.status_code in (400, 422)
    with pytest.raises(BackendError) as err:  # a message without content
        OpenAIBackend("tiny-random", base_url=tiny_server).generate([Request([{"role": "user"}])])
    assert not err.value.retryable and err.value.status in (400, 422)


def test_openai_client_generates_through_serve_like_the_hf_backend(tiny_server, tiny):
    client = OpenAIBackend("tiny-random", base_url=tiny_server)
    requests = [
        Request(CHAT, SamplingParams(n=3, temperature=1.0, max_tokens=6, seed=5)),
        Request("The weather today", SamplingParams(n=2, temperature=0, max_tokens=5)),
    ]
    remote = client.generate(requests)
    local = tiny.generate(requests)
    assert [len(r) for r in remote] == [3, 2]
    for got, want in zip(remote, local, strict=True):
        assert [s.text for s in got] == [s.text for s in want]
        assert [s.num_tokens for s in got] == [s.num_tokens for s in want]
        assert [s.finish_reason for s in got] == [s.finish_reason for s in want]
        assert [s.logprob for s in got] == pytest.approx([s.logprob for s in want], abs=1e-3)


def test_openai_client_scores_through_serve_like_the_hf_backend(tiny_server, tiny):
    client = OpenAIBackend("tiny-random", base_url=tiny_server, tokenizer="tiny-random")
    candidates = ["search[red shirt]", "click[Buy Now]", "I would search."]
    assert client.score(CHAT, candidates) == pytest.approx(tiny.score(CHAT, candidates), abs=1e-3)
    sky = client.score("The sky is", [" blue"])
    assert sky == pytest.approx(tiny.score("The sky is", [" blue"]), abs=1e-3)


def test_concurrent_http_requests_share_backend_batches(tiny_server):
    client = OpenAIBackend("tiny-random", base_url=tiny_server, max_concurrency=8)
    requests = [Request(f"Task {i}:", SamplingParams(n=2, max_tokens=8, seed=i)) for i in range(8)]
    results = client.generate(requests)
    assert all(len(r) == 2 and r[0].num_tokens >= 1 for r in results)


# ---------------------------------------------------------------------------- retries, keys, bad servers
class FaultServer:
    """A real HTTP server that fails the first `failures` requests with `status`, then answers `body`."""

    def __init__(self, status: int, failures: int, body: dict | str):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, PlainTextResponse
        from starlette.routing import Route

        self.calls, self.headers = 0, []

        async def handler(request):
            self.calls += 1
            self.headers.append(dict(request.headers))
            if self.calls <= failures:
                return PlainTextResponse("busy", status_code=status, headers={"retry-after": "0"})
            return JSONResponse(body) if isinstance(body, dict) else PlainTextResponse(body)

        import uvicorn

        self.port = free_port()
        app = Starlette(routes=[Route("/v1/chat/completions", handler, methods=["POST"]),
                                Route("/v1/completions", handler, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}/v1"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


GOOD = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop",
                     "logprobs": {"content": [{"token": "ok", "logprob": -0.5}]}}]}


def test_retries_transient_errors_then_succeeds():
    with FaultServer(503, failures=2, body=GOOD) as url:
        backend = OpenAIBackend("m", base_url=url, max_retries=3, backoff_s=0.01)
        [[sample]] = backend.generate([Request(CHAT)])
    assert (sample.text, sample.logprob, sample.num_tokens) == ("ok", -0.5, 1)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_gives_up_after_retries_with_a_retryable_error(status):
    with FaultServer(status, failures=100, body=GOOD) as url:
        backend = OpenAIBackend("m", base_url=url, max_retries=2, backoff_s=0.01)
        with pytest.raises(BackendError) as err:
            backend.generate([Request(CHAT)])
    assert err.value.retryable and err.value.status == status


def test_client_errors_are_not_retried():
    server = FaultServer(401, failures=100, body=GOOD)
    with server as url, pytest.raises(BackendError) as err:
        OpenAIBackend("m", base_url=url, max_retries=3, backoff_s=0.01).generate([Request(CHAT)])
    assert (err.value.retryable, err.value.status, server.calls) == (False, 401, 1)


def test_connection_refused_is_retryable():
    backend = OpenAIBackend("m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1, backoff_s=0.01)
    with pytest.raises(BackendError) as err:
        backend.generate([Request(CHAT)])
    assert err.value.retryable


@pytest.mark.parametrize("body", [{"choices": [{"index": 0}]}, {"choices": []}, {"nothing": 1}])
def test_malformed_responses_raise_backend_errors(body):
    with FaultServer(200, failures=0, body=body) as url, pytest.raises(BackendError) as err:
        OpenAIBackend("m", base_url=url).generate([Request(CHAT)])
    assert not err.value.retryable


def test_a_body_that_is_not_json_is_retried_then_gives_up_retryable():
    server = FaultServer(200, failures=0, body="not json")
    with server as url, pytest.raises(BackendError) as err:
        OpenAIBackend("m", base_url=url, max_retries=2, backoff_s=0.01).generate([Request(CHAT)])
    assert err.value.retryable and server.calls == 3


def test_api_key_comes_from_the_environment_and_is_never_logged(monkeypatch, caplog):
    monkeypatch.setenv("MY_SECRET_KEY", "sk-test-123456")
    server = FaultServer(503, failures=1, body=GOOD)
    with caplog.at_level(logging.DEBUG), server as url:
        backend = OpenAIBackend("m", base_url=url, api_key_env="MY_SECRET_KEY", backoff_s=0.01)
        backend.generate([Request(CHAT)])
    assert server.headers[-1]["authorization"] == "Bearer sk-test-123456"
    assert "sk-test" not in caplog.text and "sk-test" not in repr(backend)
    assert "503" in caplog.text  # the retry was logged, without the key


def test_requests_are_spread_over_several_servers():
    first, second = FaultServer(200, failures=0, body=GOOD), FaultServer(200, failures=0, body=GOOD)
    with first as a, second as b:
        backend = OpenAIBackend("m", base_url=f"{a},{b}")
        backend.generate([Request(CHAT)] * 6)
        backend.generate([Request(CHAT)])  # the turns go on across calls
    assert (first.calls + second.calls, sorted([first.calls, second.calls])) == (7, [3, 4])
    assert "," in repr(backend)


def test_a_dead_server_in_the_list_costs_only_a_retry_on_the_next_one():
    dead = f"http://127.0.0.1:{free_port()}/v1"
    live = FaultServer(200, failures=0, body=GOOD)
    with live as url:
        backend = OpenAIBackend("m", base_url=[dead, url], max_retries=1, backoff_s=0.01)
        samples = backend.generate([Request(CHAT)] * 4)
    assert [s.text for [s] in samples] == ["ok"] * 4 and live.calls == 4


# ---------------------------------------------------------------------------- real SmolLM2
@pytest.mark.slow
def test_smollm2_through_serve_generates_and_scores_like_the_hf_backend():
    from agentsearch.llm.hf import HFBackend

    process, url = start_server("smollm2-135m")
    try:
        client = OpenAIBackend("smollm2-135m", base_url=url)
        request = Request(CHAT, SamplingParams(n=2, temperature=0, max_tokens=24, stop=("\n\n",)))
        [remote] = client.generate([request])
        local_backend = HFBackend("smollm2-135m")
        [local] = local_backend.generate([request])
        assert remote[0].text == local[0].text and remote[0].text.strip()
        candidates = ["search[red shirt]", "click[Buy Now]"]
        remote_scores = client.score(CHAT, candidates)
        assert remote_scores == pytest.approx(local_backend.score(CHAT, candidates), abs=1e-2)
        assert remote_scores[0] > remote_scores[1]  # a search is the sensible first action
    finally:
        process.terminate()
        process.wait(timeout=30)

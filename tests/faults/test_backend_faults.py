"""The backend dies or misbehaves mid-run: retries with bounded backoff, failures recorded, runs complete.

A real ``agentsearch serve`` (tiny-random) answers behind :class:`FaultyServer`, which injects HTTP 429
and 500, bodies that are not JSON, bodies cut short, hangs and dropped connections; the server itself is
also killed and restarted under a running ``agentsearch collect --backend openai``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest
from fault_helpers import cli

from agentsearch.errors import BackendError
from agentsearch.faults.kill import read_log, trees_key
from agentsearch.faults.server import FAULTS, FaultyServer
from agentsearch.llm.base import Request, SamplingParams

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

PROMPT = [{"role": "user", "content": "Buy a red shirt. What is your first action?"}]
GREEDY = SamplingParams(n=1, temperature=0.0, max_tokens=8)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(port: int, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(cli("serve", "--model", "tiny-random", "--port", str(port)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("agentsearch serve did not come up")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def upstream(cli_env):
    port = free_port()
    proc = start_serve(port, cli_env)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


def backend(url: str, **kw):
    from agentsearch.llm.openai import OpenAIBackend

    # A loaded CI machine answers slowly: the client waits 20 s; a hang fault holds 30 s.
    options = {"timeout_s": 20.0, "max_retries": 2, "backoff_s": 0.01, **kw}
    return OpenAIBackend("tiny-random", base_url=url, **options)


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "ok"])
def test_each_fault_is_retried_and_the_answer_is_the_upstream_one(upstream, fault):
    [[direct]] = backend(f"{upstream}/v1").generate([Request(PROMPT, GREEDY)])
    server = FaultyServer(upstream, [fault, "ok"], hang_s=30.0)
    with server as url:
        [[sample]] = backend(url).generate([Request(PROMPT, GREEDY)])
    assert server.injected == {fault: 1, "ok": 1}
    assert (sample.text, sample.num_tokens) == (direct.text, direct.num_tokens)


def test_backoff_doubles_and_gives_up_after_max_retries(upstream):
    server = FaultyServer(upstream, ["500"])
    with server as url, pytest.raises(BackendError) as err:
        backend(url, max_retries=4, backoff_s=0.1).generate([Request(PROMPT, GREEDY)])
    assert err.value.retryable and err.value.status == 500
    assert server.injected["500"] == 5  # the first attempt and 4 retries, no more
    gaps = [b - a for a, b in zip(server.post_times, server.post_times[1:], strict=False)]
    for retry, gap in enumerate(gaps):  # delay = backoff * 2**retry * jitter in [0.5, 1], then the request
        assert gap >= 0.1 * 2**retry * 0.5 - 0.02, gaps
    # Bounded: the delays add up to at most 0.1 * (1 + 2 + 4 + 8); the rest is a (loaded) machine's latency.
    assert sum(gaps) <= 1.5 + 4 * 2.0, gaps


def collect_argv(out, url: str, tasks: int, *, retries: int, backoff: float, timeout: float = 20.0):
    return cli("collect", "--env", "webshop", "--backend", "openai", "--model", "tiny-random",
               "--tasks", str(tasks), "--concurrency", "2", "--search", "iterations=1",
               "--search", "n_samples=2", "--search", "max_depth=2", "--agent", "max_tokens=8",
               "--llm", f"base_url={url}",
               "--llm", f"max_retries={retries}", "--llm", f"backoff_s={backoff}",
               "--llm", f"timeout_s={timeout}", "--no-progress", "--out", str(out))


def trees(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_collection_through_every_fault_completes(upstream, tmp_path, cli_env):
    schedule = ["429", "500", "ok", "malformed", "truncated", "ok", "timeout", "reset", "ok"]
    out = tmp_path / "trees.jsonl"
    server = FaultyServer(upstream, schedule, hang_s=30.0)
    with server as url:
        proc = subprocess.run(collect_argv(out, url, 3, retries=6, backoff=0.05), env=cli_env,
                              capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(server.injected[f] >= 1 for f in FAULTS), server.injected
    records = trees(out)
    assert len(records) == len({r["task_id"] for r in records}) == 3
    assert all(r["error"] is None for r in records), [r["error"] for r in records]
    assert all(len(r["nodes"]["action"]) > 1 for r in records)  # the searches expanded their roots


def test_a_dead_backend_fails_each_task_on_record_and_the_run_completes(upstream, tmp_path, cli_env):
    out = tmp_path / "trees.jsonl"
    with FaultyServer(upstream, ["500"]) as url:
        proc = subprocess.run(collect_argv(out, url, 3, retries=1, backoff=0.01), env=cli_env,
                              capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = trees(out)
    assert sorted(r["task_id"] for r in records) == sorted({r["task_id"] for r in records})
    assert len(records) == 3
    assert all(r["error"].startswith("BackendError") and "HTTP 500" in r["error"] for r in records)


def test_serve_killed_and_restarted_under_a_collection(tmp_path, cli_env):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = start_serve(port, cli_env)
    out = tmp_path / "trees.jsonl"
    collect = subprocess.Popen(collect_argv(out, url, 8, retries=12, backoff=0.5), env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(read_log(out, trees_key).keys) < 2:
            time.sleep(0.1)
        before = len(read_log(out, trees_key).keys)
        assert 2 <= before < 8 and collect.poll() is None
        stop(server)  # the backend dies mid-run ...
        time.sleep(2.0)
        server = start_serve(port, cli_env)  # ... and comes back on the same port
        stdout, stderr = collect.communicate(timeout=600)
    finally:
        stop(server)
        if collect.poll() is None:
            collect.kill()
    assert collect.returncode == 0, stderr[-3000:]
    records = trees(out)
    assert len(records) == len({r["task_id"] for r in records}) == 8
    failed = [r for r in records if r["error"] is not None]
    assert all("BackendError" in r["error"] for r in failed)
    assert any(r["error"] is None for r in records[before:]), "nothing succeeded after the restart"

"""local_servers: real `agentsearch serve --model tiny-random` processes, started ready and stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentsearch.errors import BackendError
from agentsearch.llm.base import Request, SamplingParams
from agentsearch.run.servers import local_servers

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

CHAT = [{"role": "user", "content": "Buy a red shirt. What is your first action?"}]
GREEDY = SamplingParams(n=1, temperature=0.0, max_tokens=8)


def test_two_servers_answer_as_one_and_are_gone_after_the_block():
    from agentsearch.llm.openai import OpenAIBackend

    with local_servers("tiny-random", count=2, threads=1) as started:
        urls = started.urls
        assert len(set(urls)) == 2
        for server in started.servers:  # each was started with one torch thread
            environ = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
            assert b"OMP_NUM_THREADS=1" in environ
        each = [OpenAIBackend("tiny-random", base_url=url).generate([Request(CHAT, GREEDY)]) for url in urls]
        spread = OpenAIBackend("tiny-random", base_url=urls).generate([Request(CHAT, GREEDY)] * 4)
    [[first]], [[second]] = each
    assert first.text == second.text and first.num_tokens == 8  # the same model behind either URL
    assert [sample.text for [sample] in spread] == [first.text] * 4
    assert all(server.process.poll() is not None for server in started.servers)
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(url.removesuffix("/v1") + "/health", timeout=2)


def test_a_server_that_cannot_start_is_an_error_with_its_stderr():
    with pytest.raises(BackendError, match="no-such-model.*exited with") as err:
        with local_servers("no-such-model"):
            pass
    assert "Unknown model" in str(err.value)

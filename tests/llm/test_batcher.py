"""RequestBatcher: concurrent submitters share backend calls; errors reach every waiter."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentsearch.errors import BackendError, ConfigError
from agentsearch.llm import RequestBatcher, load_llm
from agentsearch.llm.base import Request, SamplingParams


def requests(k: int) -> list[Request]:
    params = [SamplingParams(n=2, max_tokens=4, seed=i) for i in range(k)]
    return [Request(f"Task {i}: pick an action.", p) for i, p in enumerate(params)]


def test_concurrent_submitters_make_one_backend_call(tiny):
    batcher = RequestBatcher(tiny)

    async def main():
        return await asyncio.gather(*(batcher.generate(r) for r in requests(8)))

    results = asyncio.run(main())
    assert batcher.stats.generate_calls == 1
    assert batcher.stats.generate_requests == 8
    # Each submitter gets its own request's samples, identical to a direct call.
    assert [[s.token_ids for s in r] for r in results] == [
        [s.token_ids for s in r] for r in tiny.generate(requests(8))
    ]


def test_concurrent_scores_make_one_backend_call(tiny):
    batcher = RequestBatcher(tiny)
    items = [(f"State {i}:", [" left", " right", " up"]) for i in range(5)]

    async def main():
        return await asyncio.gather(*(batcher.score(p, c) for p, c in items))

    results = asyncio.run(main())
    assert batcher.stats.score_calls == 1
    for (prompt, continuations), got in zip(items, results, strict=True):
        assert got == pytest.approx(tiny.score(prompt, continuations), abs=1e-4)


def test_requests_beyond_the_batch_limit_go_in_later_calls(tiny):
    batcher = RequestBatcher(tiny, max_batch_requests=3)

    async def main():
        return await asyncio.gather(*(batcher.generate(r) for r in requests(7)))

    assert len(asyncio.run(main())) == 7
    assert batcher.stats.generate_calls == 3


def test_requests_arriving_during_a_call_join_the_next_one(tiny):
    batcher = RequestBatcher(tiny)

    async def main():
        first = asyncio.create_task(batcher.generate(requests(1)[0]))
        await asyncio.sleep(0.01)  # the first call is now running in the worker thread
        rest = [asyncio.create_task(batcher.generate(r)) for r in requests(6)]
        await asyncio.gather(first, *rest)

    asyncio.run(main())
    assert batcher.stats.generate_calls == 2
    assert batcher.stats.generate_requests == 7


def test_backend_seconds_count_the_time_inside_backend_calls_only(tiny):
    batcher = RequestBatcher(tiny)

    async def main():
        await asyncio.sleep(0.2)  # the searches' own work, while the backend is idle
        await asyncio.gather(*(batcher.generate(r) for r in requests(4)))

    start = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - start
    assert 0 < batcher.stats.backend_seconds <= wall - 0.2


def test_the_event_loop_stays_free_while_the_backend_works(tiny):
    batcher = RequestBatcher(tiny)
    ticks = 0

    async def heartbeat(stop: asyncio.Event):
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    async def main():
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(stop))
        await batcher.generate(Request("Hello", SamplingParams(n=4, max_tokens=32, seed=0)))
        stop.set()
        await beat

    asyncio.run(main())
    assert ticks > 3


class _Failing:
    model_name, backend = "failing", "test"

    def generate(self, requests):
        raise BackendError("server said 503", retryable=True, status=503)

    def score(self, prompt, continuations):
        raise AssertionError("not called")


def test_backend_errors_reach_every_waiter():
    batcher = RequestBatcher(_Failing())

    async def main():
        return await asyncio.gather(*(batcher.generate(r) for r in requests(3)), return_exceptions=True)

    errors = asyncio.run(main())
    assert all(isinstance(e, BackendError) and e.retryable for e in errors)


def test_load_llm_suggests_the_closest_backend():
    with pytest.raises(ConfigError, match="Did you mean `openai`"):
        load_llm("opneai", "x")
    with pytest.raises(ConfigError):
        RequestBatcher(_Failing(), max_batch_requests=0)


def test_load_llm_builds_the_hf_backend():
    llm = load_llm("hf", "tiny-random", prefix_cache_tokens=0)
    assert (llm.backend, llm.model_name, llm.prefix_cache) == ("hf", "tiny-random", None)


def test_backends_declare_the_whole_llm_protocol_and_agents_read_it(tiny):
    from agentsearch.agents import make_agent
    from agentsearch.llm.base import LLM
    from agentsearch.llm.openai import OpenAIBackend

    remote = OpenAIBackend("some-api-model", base_url="http://127.0.0.1:9/v1")
    assert isinstance(tiny, LLM) and isinstance(remote, LLM)
    assert remote.tokenizer is None and remote.max_context is None
    # An agent over the local backend truncates with its tokenizer and window; over a shared batcher too.
    agent = make_agent("webshop", RequestBatcher(tiny))
    assert agent.tokenizer is tiny.tokenizer
    assert agent.max_prompt_tokens == min(tiny.max_context, 4096) - agent.max_tokens
    assert make_agent("webshop", remote).tokenizer is None  # the server renders its own prompts

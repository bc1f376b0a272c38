"""Coalesce requests from many asyncio tasks into few backend calls.

Search code stays simple: each tree (an asyncio task) awaits ``batcher.generate(request)`` as if it were
alone. Whatever is pending when the backend is free goes out as one ``generate`` call (and pending
``score`` calls as one ``score_many`` call where the backend has it), so a backend that batches, like
``hf``, sees the whole frontier of all trees at once. The blocking backend runs in a worker thread so the
event loop keeps serving the tasks (and, in ``agentsearch serve``, HTTP clients) meanwhile.

Example::

    batcher = RequestBatcher(load_llm("hf", "smollm2-135m"))

    async def expand(history):
        return await batcher.generate(Request(history, SamplingParams(n=5, temperature=1.0)))

    results = await asyncio.gather(*(expand(h) for h in frontier))   # one backend call
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agentsearch.errors import ConfigError
from agentsearch.llm.base import LLM, Completion, Prompt, Request

__all__ = ["RequestBatcher", "BatcherStats"]

logger = logging.getLogger(__name__)


@dataclass
class BatcherStats:
    """Backend calls made, requests they carried, and the time the backend spent on them."""

    generate_calls: int = 0
    generate_requests: int = 0
    score_calls: int = 0
    score_requests: int = 0
    #: wall seconds inside the backend's calls, timed in the worker thread (the hand-off to it and back
    #: is not counted): how busy the model kept, next to a run's wall time
    backend_seconds: float = 0.0


@dataclass
class _Pending:
    kind: str  # "generate" or "score"
    payload: object
    future: asyncio.Future = field(repr=False)


class RequestBatcher:
    """Batches concurrent ``generate`` and ``score`` calls into single backend calls.

    Args:
        llm: the backend; its calls run one at a time in a worker thread.
        max_batch_requests: requests per backend call at most (the rest wait for the next call).
        max_wait_s: how long a call waits for more requests to join it once the backend is free; 0 still
            lets every task that is ready in the same event-loop iteration join.
    """

    def __init__(self, llm: LLM, *, max_batch_requests: int = 256, max_wait_s: float = 0.0) -> None:
        if max_batch_requests < 1:
            raise ConfigError(f"Expected `max_batch_requests` >= 1, got {max_batch_requests}.")
        self.llm = llm
        self.max_batch_requests = max_batch_requests
        self.max_wait_s = max_wait_s
        self.stats = BatcherStats()
        self._pending: list[_Pending] = []
        self._worker: asyncio.Task | None = None

    async def generate(self, request: Request) -> list[Completion]:
        """``request.params.n`` completions, batched with whatever else is pending."""
        return await self._submit("generate", request)

    async def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        """Summed log-probability of each continuation, batched with other pending scores."""
        return await self._submit("score", (prompt, list(continuations)))

    async def _submit(self, kind: str, payload: object):
        future = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(kind, payload, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            # Let every task that is ready now (or within max_wait_s) add its request first.
            await asyncio.sleep(self.max_wait_s)
            batch, self._pending = (
                self._pending[: self.max_batch_requests],
                self._pending[self.max_batch_requests :],
            )
            generate = [p for p in batch if p.kind == "generate"]
            score = [p for p in batch if p.kind == "score"]
            if generate:
                await self._run(generate, self._call_generate)
            if score:
                await self._run(score, self._call_score)

    async def _run(self, items: list[_Pending], call) -> None:
        try:
            results = await asyncio.to_thread(self._timed, call, [item.payload for item in items])
        except Exception as err:  # every waiter gets the backend's error, typed as it was raised
            for item in items:
                if not item.future.done():
                    item.future.set_exception(err)
            return
        for item, result in zip(items, results, strict=True):
            if not item.future.done():  # the waiter may have been cancelled meanwhile
                item.future.set_result(result)

    def _timed(self, call: Callable[[list], list], payloads: list) -> list:
        start = time.perf_counter()
        try:
            return call(payloads)
        finally:
            self.stats.backend_seconds += time.perf_counter() - start

    def _call_generate(self, requests: list[Request]) -> list[list[Completion]]:
        self.stats.generate_calls += 1
        self.stats.generate_requests += len(requests)
        logger.debug("generate: %d requests in one call", len(requests))
        return self.llm.generate(requests)

    def _call_score(self, items: list[tuple[Prompt, list[str]]]) -> list[list[float]]:
        self.stats.score_calls += 1
        self.stats.score_requests += len(items)
        return self.llm.score_many(items)

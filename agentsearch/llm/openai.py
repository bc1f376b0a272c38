"""The ``openai`` backend: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, ``agentsearch serve`` ...).

Chat prompts go to ``/chat/completions``, raw text to ``/completions``, each with ``logprobs`` so samples
carry their cumulative log-probability. ``score`` sends ``prompt + continuation`` for every continuation
in one ``/completions`` request with ``echo=True, logprobs=0`` and sums the log-probs of the tokens that
start inside the continuation (vLLM's server and ``agentsearch serve`` support this; OpenAI's hosted
chat models do not). Scoring a chat prompt renders it with the model's chat template, so it needs a
local tokenizer (``tokenizer=``, default: the model name if the registry resolves it).

``base_url`` may name several servers (a list, or URLs separated by commas): requests then go to them in
turn, and a retried request goes to the next one, so a server that dies only slows the run down.

Requests run concurrently on one ``httpx.AsyncClient`` per server, bounded by one semaphore; connection
errors, timeouts, bodies cut short, 429 and 5xx answers and 200 answers that are not JSON are retried with
exponential backoff (bounded: ``max_retries`` retries, delays capped at 30 s, ``Retry-After`` honoured
up to 60 s), then surface as :class:`BackendError` with ``retryable=True``. Other 4xx answers and JSON
of the wrong shape raise at once with ``retryable=False``. The API key comes from the environment
(``OPENAI_API_KEY`` by default) and is never logged.

Example::

    llm = OpenAIBackend("smollm2-135m", base_url="http://127.0.0.1:8000/v1")
    [samples] = llm.generate([Request([{"role": "user", "content": "Hi"}], SamplingParams(n=2))])
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
from collections.abc import Iterator, Sequence
from typing import Any

from agentsearch.errors import BackendError, ConfigError
from agentsearch.llm.base import Completion, Prompt, Request

__all__ = ["OpenAIBackend", "RETRYABLE_STATUS"]

logger = logging.getLogger(__name__)

#: HTTP statuses worth retrying: rate limits and server-side failures.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIBackend:
    """Client for an OpenAI-compatible server (see the module docstring).

    Args:
        model: model name the server knows.
        base_url: the server's ``/v1`` URL, or several (a list or comma-separated), used in turn.
        api_key_env: environment variable holding the API key (none sent when unset).
        max_concurrency: HTTP requests in flight at most.
        timeout_s: per-request timeout.
        max_retries: retries after the first attempt for retryable failures.
        backoff_s: first retry delay; doubles each retry (with jitter), capped at 30 s.
        tokenizer: model name or folder whose chat template renders chat prompts for :meth:`score`.
    """

    backend = "openai"
    #: Prompts are rendered and cut by the server: agents get no tokenizer and no window to truncate to
    #: (the chat template loaded for :meth:`score` stays private).
    tokenizer = None
    max_context = None

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str] = "http://127.0.0.1:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 16,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        tokenizer: str | None = None,
    ) -> None:
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise ConfigError("Expected max_concurrency >= 1, max_retries >= 0 and timeout_s > 0.")
        urls = base_url.split(",") if isinstance(base_url, str) else list(base_url)
        self.base_urls = [url.strip().rstrip("/") for url in urls if url.strip()]
        if not self.base_urls:
            raise ConfigError("Expected at least one server URL in `base_url`.")
        self.model_name = model
        self.base_url = self.base_urls[0]
        # Turns over the servers persist across calls; a random first turn spreads many clients' first
        # requests (one per Ray worker) over the servers too.
        self._turns = itertools.count(random.randrange(len(self.base_urls)))
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._tokenizer_name = tokenizer
        self._tokenizer = None

    def __repr__(self) -> str:  # never shows the key
        urls = self.base_url if len(self.base_urls) == 1 else ",".join(self.base_urls)
        return f"OpenAIBackend(model={self.model_name!r}, base_url={urls!r})"

    # ------------------------------------------------------------------ public interface
    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Blocking wrapper of :meth:`agenerate` (call :meth:`agenerate` from async code)."""
        return _run(self.agenerate(requests))

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        """Blocking wrapper of :meth:`ascore`."""
        return _run(self.ascore(prompt, continuations))

    def score_many(self, items: Sequence[tuple[Prompt, Sequence[str]]]) -> list[list[float]]:
        """Several :meth:`score` calls, concurrently."""

        async def main():
            async with self._client() as client:
                return await asyncio.gather(*(self._score(client, p, c) for p, c in items))

        return _run(main())

    async def agenerate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """All requests concurrently (at most ``max_concurrency`` in flight); results in input order."""
        async with self._client() as client:
            return list(await asyncio.gather(*(self._generate(client, r) for r in requests)))

    async def ascore(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        async with self._client() as client:
            return await self._score(client, prompt, continuations)

    # ------------------------------------------------------------------ requests
    def _client(self):
        import httpx

        headers = {}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        clients = [
            httpx.AsyncClient(base_url=url, headers=headers, timeout=self.timeout_s) for url in self.base_urls
        ]
        return _Servers(clients, asyncio.Semaphore(self.max_concurrency), self._turns)  # bound to this loop

    async def _post(self, client, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        last: BackendError | None = None
        turn = next(client.turns)
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt, last))
            server = client.clients[(turn + attempt) % len(client.clients)]  # a retry asks the next server
            url = str(server.base_url).rstrip("/")
            try:
                async with client.semaphore:
                    response = await server.post(path, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as err:
                message = f"POST {url}{path}: {type(err).__name__}: {err}"
                last = BackendError(message, retryable=True)
                logger.warning("%s (attempt %d of %d)", last, attempt + 1, self.max_retries + 1)
                continue
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    # A body cut or garbled on the way (a proxy, a dying server) says nothing about the
                    # next answer: retried like a 5xx. Well-formed JSON of the wrong shape is not.
                    last = BackendError(
                        f"POST {url}{path}: response is not JSON: {response.text[:200]!r}",
                        retryable=True, status=200,
                    )
                    logger.warning("%s (attempt %d of %d)", last, attempt + 1, self.max_retries + 1)
                    continue
            message = f"POST {url}{path}: HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code not in RETRYABLE_STATUS:
                raise BackendError(message, retryable=False, status=response.status_code)
            last = BackendError(message, retryable=True, status=response.status_code)
            last.retry_after = response.headers.get("retry-after")
            logger.warning("%s (attempt %d of %d)", message, attempt + 1, self.max_retries + 1)
        assert last is not None
        raise last

    def _delay(self, attempt: int, last: BackendError | None) -> float:
        retry_after = getattr(last, "retry_after", None)
        if retry_after is not None:
            try:
                return min(float(retry_after), 60.0)
            except ValueError:
                pass
        return min(self.backoff_s * 2 ** (attempt - 1), 30.0) * (0.5 + random.random() / 2)

    async def _generate(self, client, request: Request) -> list[Completion]:
        params = request.params
        body: dict[str, Any] = {
            "model": self.model_name, "n": params.n, "temperature": params.temperature,
            "top_p": params.top_p, "max_tokens": params.max_tokens,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        chat = not isinstance(request.prompt, str)
        if chat:
            data = await self._post(client, "/chat/completions", {**body, "messages": request.prompt,
                                                                  "logprobs": True})
        else:
            data = await self._post(client, "/completions", {**body, "prompt": request.prompt, "logprobs": 0})
        try:
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            samples = [_parse_chat(c) if chat else _parse_text(c) for c in choices]
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise BackendError(f"Malformed completion response ({type(err).__name__}: {err}): "
                               f"{str(data)[:300]}") from err
        if len(samples) != params.n:
            raise BackendError(f"Expected {params.n} choices from the server, got {len(samples)}.")
        return samples

    async def _score(self, client, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        if not continuations:
            return []
        text = prompt if isinstance(prompt, str) else self._render(prompt)
        body = {"model": self.model_name, "prompt": [text + c for c in continuations], "echo": True,
                "logprobs": 0, "max_tokens": 1, "temperature": 0}
        data = await self._post(client, "/completions", body)
        try:
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            if len(choices) != len(continuations):
                raise ValueError(f"expected {len(continuations)} choices, got {len(choices)}")
            scores = []
            for choice, continuation in zip(choices, continuations, strict=True):
                logprobs = choice["logprobs"]
                end = len(text) + len(continuation)
                # Tokens starting inside the continuation; the one generated token starts at `end`.
                scores.append(float(sum(
                    lp for lp, offset in zip(logprobs["token_logprobs"], logprobs["text_offset"], strict=True)
                    if len(text) <= offset < end and lp is not None
                )))
        except (KeyError, TypeError, ValueError) as err:
            raise BackendError(f"Malformed echo/logprobs response ({type(err).__name__}: {err}).") from err
        return scores

    def _render(self, messages: Prompt) -> str:
        if self._tokenizer is None:
            from agentsearch.llm.models import load_tokenizer

            try:
                self._tokenizer = load_tokenizer(self._tokenizer_name or self.model_name)
            except ConfigError as err:
                raise ConfigError(
                    "Scoring a chat prompt needs the model's chat template; pass `tokenizer=` (a model name "
                    f"or folder) to OpenAIBackend, or score raw text. ({err})"
                ) from err
        return self._tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)


class _Servers:
    """The clients of one call, one per server; each request takes the next turn (``turns``)."""

    def __init__(self, clients: list[Any], semaphore: asyncio.Semaphore, turns: Iterator[int]) -> None:
        self.clients = clients
        self.semaphore = semaphore
        self.turns = turns

    async def __aenter__(self) -> _Servers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients:
            await client.aclose()


def _finish(reason: Any) -> str:
    return "length" if reason == "length" else "stop"


def _parse_chat(choice: dict[str, Any]) -> Completion:
    content = (choice.get("logprobs") or {}).get("content") or []
    logprobs = [float(token["logprob"]) for token in content]
    return Completion(
        text=choice["message"]["content"] or "",
        num_tokens=len(logprobs),
        logprob=float(sum(logprobs)),
        finish_reason=_finish(choice.get("finish_reason")),
        token_logprobs=tuple(logprobs),
    )


def _parse_text(choice: dict[str, Any]) -> Completion:
    raw = (choice.get("logprobs") or {}).get("token_logprobs") or []
    logprobs = [float(lp) for lp in raw if lp is not None]
    if not isinstance(choice["text"], str):
        raise TypeError("choice text is not a string")
    return Completion(
        text=choice["text"],
        num_tokens=len(logprobs),
        logprob=float(sum(logprobs)),
        finish_reason=_finish(choice.get("finish_reason")),
        token_logprobs=tuple(logprobs),
    )


def _run(coroutine):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise ConfigError(
        "Called a blocking OpenAIBackend method inside an event loop; await agenerate() or ascore() instead."
    )

"""``agentsearch serve``: an OpenAI-compatible HTTP server over the ``hf`` backend.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/completions`` with ``n``,
``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``, ``logprobs`` and (completions) ``echo``,
plus ``GET /health``. Concurrent HTTP requests go through a :class:`RequestBatcher`, so requests that
arrive together decode in one batch and share their common prompt prefix. ``echo=True`` with
``logprobs`` and ``max_tokens=0`` scores prompts without generating (how ``OpenAIBackend.score`` works).

Example::

    agentsearch serve --model smollm2-135m --port 8000
    curl localhost:8000/v1/chat/completions -d '{"messages": [{"role": "user", "content": "Hi"}]}'

It binds 127.0.0.1 by default and checks no API key: put it behind a proxy before exposing it.
"""

import asyncio
import logging
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentsearch.errors import AgentSearchError
from agentsearch.llm.base import Completion, Request, SamplingParams
from agentsearch.llm.batcher import RequestBatcher

__all__ = ["create_app", "serve"]

logger = logging.getLogger(__name__)


# Request bodies (module level, with real annotations: FastAPI reads them to parse JSON bodies).
class ChatMessage(BaseModel):
    role: str
    content: str


class _Sampling(BaseModel):
    model: str | None = None
    n: int = Field(1, ge=1, le=256)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None


class ChatRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False


class CompletionRequest(_Sampling):
    prompt: str | list[str]
    max_tokens: int = Field(16, ge=0)
    logprobs: int | None = Field(None, ge=0, le=20)
    echo: bool = False


def _params(body: Any, max_tokens: int) -> SamplingParams:
    stop = body.stop if isinstance(body.stop, list) else ([body.stop] if body.stop else [])
    return SamplingParams(n=body.n, temperature=body.temperature, top_p=body.top_p, max_tokens=max_tokens,
                          stop=tuple(stop), seed=body.seed)


def _finish(completion: Completion) -> str:
    return "length" if completion.finish_reason == "length" else "stop"


def create_app(llm, *, model_name: str | None = None, batcher: RequestBatcher | None = None):
    """The FastAPI app serving ``llm`` (an :class:`agentsearch.llm.hf.HFBackend`)."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    name = model_name or llm.model_name
    batcher = batcher or RequestBatcher(llm)
    tokenizer = llm.tokenizer
    app = FastAPI(title="agentsearch", description="OpenAI-compatible server over the hf backend")

    def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)

    def envelope(kind: str, choices: list, prompt_tokens: int, completion_tokens: int) -> dict:
        return {
            "id": f"{'chatcmpl' if kind == 'chat.completion' else 'cmpl'}-{uuid.uuid4().hex}",
            "object": kind,
            "created": int(time.time()),
            "model": name,
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def token_texts(ids: tuple[int, ...]) -> list[str]:
        return [tokenizer.decode([i]) for i in ids]

    @app.exception_handler(AgentSearchError)
    async def agentsearch_error(request, err: AgentSearchError):
        return error(400, str(err))

    @app.exception_handler(ValueError)
    async def value_error(request, err: ValueError):
        return error(400, str(err))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "agentsearch"}]}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest):
        messages = [{"role": m.role, "content": m.content} for m in body.messages]
        max_tokens = body.max_completion_tokens or body.max_tokens or 512
        samples = await batcher.generate(Request(messages, _params(body, max_tokens)))
        choices = []
        for index, sample in enumerate(samples):
            logprobs = None
            if body.logprobs:
                logprobs = {"content": [
                    {"token": text, "logprob": lp, "bytes": list(text.encode()), "top_logprobs": []}
                    for text, lp in zip(token_texts(sample.token_ids), sample.token_logprobs, strict=True)
                ]}
            choices.append({"index": index, "message": {"role": "assistant", "content": sample.text},
                            "logprobs": logprobs, "finish_reason": _finish(sample)})
        prompt_tokens = await asyncio.to_thread(llm.num_tokens, messages)
        return envelope("chat.completion", choices, prompt_tokens, sum(s.num_tokens for s in samples))

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        if not prompts:
            return error(400, "Expected at least one prompt.")
        encodings = [tokenizer(p, return_offsets_mapping=True) for p in prompts]
        prompt_logprobs: list[list[float | None]] = [[] for _ in prompts]
        if body.echo and body.logprobs is not None:
            # All prompts in one call: their common prefix runs once (candidate continuations of one state).
            prompt_logprobs = await asyncio.to_thread(llm.prompt_logprobs, [e.input_ids for e in encodings])
        samples: list[list[Completion]] = [[] for _ in prompts]
        if body.max_tokens > 0:
            params = _params(body, body.max_tokens)
            samples = await asyncio.gather(*(batcher.generate(Request(p, params)) for p in prompts))
        elif not body.echo:
            return error(400, "Expected `max_tokens` >= 1 unless `echo` is true.")
        choices = []
        rows = zip(prompts, encodings, prompt_logprobs, samples, strict=True)
        for prompt, encoding, echo_lps, outs in rows:
            for sample in outs or [None] * body.n:
                text = (prompt if body.echo else "") + (sample.text if sample else "")
                logprobs = None
                if body.logprobs is not None:
                    tokens, lps, offsets = [], [], []
                    if body.echo:
                        tokens += [prompt[a:b] for a, b in encoding.offset_mapping]
                        lps += echo_lps
                        offsets += [a for a, _ in encoding.offset_mapping]
                    if sample is not None:
                        start = len(prompt) if body.echo else 0
                        pieces = token_texts(sample.token_ids)
                        for k, piece in enumerate(pieces):
                            offsets.append(start + len(tokenizer.decode(sample.token_ids[:k])))
                            tokens.append(piece)
                        lps += list(sample.token_logprobs)
                    logprobs = {"tokens": tokens, "token_logprobs": lps,
                                "top_logprobs": None, "text_offset": offsets}
                choices.append({"index": len(choices), "text": text, "logprobs": logprobs,
                                "finish_reason": _finish(sample) if sample else "length"})
        completion_tokens = sum(s.num_tokens for outs in samples for s in outs)
        prompt_tokens = sum(len(e.input_ids) for e in encodings)
        return envelope("text_completion", choices, prompt_tokens, completion_tokens)

    return app


def serve(model: str = "smollm2-135m", *, host: str = "127.0.0.1", port: int = 8000,
          served_name: str | None = None, log_level: Literal["info", "warning", "error"] = "info",
          **backend_kwargs: Any) -> None:
    """Load ``model`` in the ``hf`` backend and serve it until interrupted."""
    import uvicorn

    from agentsearch.llm.hf import HFBackend

    llm = HFBackend(model, **backend_kwargs)
    app = create_app(llm, model_name=served_name or model)
    logger.info("Serving %s on http://%s:%d/v1", served_name or model, host, port)
    uvicorn.run(app, host=host, port=port, log_level=log_level)

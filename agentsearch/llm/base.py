"""The one generation interface every backend implements, in vLLM's vocabulary.

A :class:`Request` is a prompt (raw text, or chat messages rendered with the tokenizer's chat template
plus the generation prompt) and a :class:`SamplingParams`. ``LLM.generate(requests)`` returns, in input
order, one list of ``params.n`` :class:`Completion` per request. ``LLM.score(prompt, continuations)``
returns the summed log-probability of each continuation's tokens given the prompt.

Backends: ``hf`` (transformers), ``vllm`` (in-process vLLM) and ``openai`` (any OpenAI-compatible
server); :func:`agentsearch.llm.load_llm` builds one by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

__all__ = ["Message", "Prompt", "SamplingParams", "Request", "Completion", "LLM"]


class Message(TypedDict):
    """One chat turn: ``{"role": "system" | "user" | "assistant", "content": str}``."""

    role: str
    content: str


#: Raw prompt text, or chat messages (rendered with the tokenizer's template and the generation prompt).
Prompt = str | list[Message]

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class SamplingParams:
    """How to sample, as in ``vllm.SamplingParams``.

    Attributes:
        n: samples per prompt; the prompt is prefilled once for all of them.
        temperature: 0 means greedy (then all ``n`` samples are identical).
        top_p: nucleus sampling mass.
        max_tokens: new tokens per sample at most.
        stop: strings that end a sample; the stop string itself is not included in the text.
        seed: per-request seed, for reproducible sampling with deterministic backends.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"Expected `n` >= 1, got {self.n}.")
        if self.temperature < 0:
            raise ValueError(f"Expected `temperature` >= 0, got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"Expected 0 < `top_p` <= 1, got {self.top_p}.")
        if self.max_tokens < 1:
            raise ValueError(f"Expected `max_tokens` >= 1, got {self.max_tokens}.")
        if isinstance(self.stop, str):  # a bare string would be iterated character by character
            object.__setattr__(self, "stop", (self.stop,))


@dataclass(frozen=True)
class Request:
    """A prompt and how to sample from it."""

    prompt: Prompt
    params: SamplingParams = field(default_factory=SamplingParams)


@dataclass(frozen=True)
class Completion:
    """One sample.

    Attributes:
        text: generated text, without the stop string.
        num_tokens: generated tokens (including a matched stop sequence's tokens).
        logprob: sum of the sampled tokens' log-probabilities under the model (untempered).
        finish_reason: ``"stop"`` (EOS or stop string), ``"length"`` (hit ``max_tokens``) or ``"error"``.
        token_ids: the generated token ids, where the backend exposes them (empty otherwise).
        token_logprobs: each generated token's log-probability, where the backend exposes them.
    """

    text: str
    num_tokens: int
    logprob: float
    finish_reason: FinishReason
    token_ids: tuple[int, ...] = ()
    token_logprobs: tuple[float, ...] = ()


@runtime_checkable
class LLM(Protocol):
    """What every backend provides.

    ``tokenizer`` and ``max_context`` may be ``None`` where the backend has no local tokenizer or does not
    know its window (``openai``); agents then neither truncate prompts nor count tokens.
    """

    #: Model name or path, recorded in trees and eval results.
    model_name: str
    #: Backend name: ``"hf"``, ``"vllm"`` or ``"openai"``.
    backend: str
    #: The model's ``transformers`` tokenizer (chat template, token counts, prompt truncation), or ``None``.
    tokenizer: Any | None
    #: The context window in tokens, or ``None`` when unknown.
    max_context: int | None

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Sample ``request.params.n`` completions for each request; results in input order."""
        ...

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        """Summed log-probability of each continuation's tokens given ``prompt`` (in nats)."""
        ...

    def score_many(self, items: Sequence[tuple[Prompt, Sequence[str]]]) -> list[list[float]]:
        """:meth:`score` of each ``(prompt, continuations)``, in one call (batched where the backend can)."""
        ...

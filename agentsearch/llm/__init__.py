"""Generation backends behind one interface: n samples per prompt and log-prob scoring of continuations.

Backends (see :mod:`agentsearch.llm.base` for the interface):

* ``hf``: transformers in-process, shared-prefix batching and a prefix KV cache (CPU or GPU).
* ``vllm``: in-process ``vllm.LLM`` with prefix caching (its own environment: ``scripts/install_vllm.sh``).
* ``openai``: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, OpenAI, ``agentsearch serve``).

Example::

    from agentsearch.llm import Request, SamplingParams, load_llm

    llm = load_llm("hf", "smollm2-135m")
    [samples] = llm.generate([Request("2 + 2 =", SamplingParams(n=2, max_tokens=4, seed=0))])
    llm.score("2 + 2 =", [" 4", " 5"])
"""

from __future__ import annotations

from typing import Any

from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.llm.base import LLM, Completion, Message, Prompt, Request, SamplingParams
from agentsearch.llm.batcher import RequestBatcher

__all__ = [
    "BACKENDS",
    "LLM",
    "Completion",
    "Message",
    "Prompt",
    "Request",
    "RequestBatcher",
    "SamplingParams",
    "load_llm",
]

#: Backend name -> "module:class", imported on use so that only the chosen backend's dependencies load.
BACKENDS: dict[str, str] = {
    "hf": "agentsearch.llm.hf:HFBackend",
    "vllm": "agentsearch.llm.vllm:VLLMBackend",
    "openai": "agentsearch.llm.openai:OpenAIBackend",
}


def load_llm(backend: str, model: str, **kwargs: Any) -> LLM:
    """Build backend ``backend`` for ``model`` (a registry name, model folder, or the server's model name).

    Keyword arguments go to the backend's constructor (for example ``base_url`` for ``openai``,
    ``prefix_cache_tokens`` for ``hf``).

    Raises:
        ConfigError: unknown backend name.
    """
    if backend not in BACKENDS:
        raise ConfigError(
            f"Unknown LLM backend `{backend}`: expected one of {sorted(BACKENDS)}."
            f"{did_you_mean(backend, BACKENDS)}"
        )
    import importlib

    module_name, class_name = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(module_name), class_name)(model, **kwargs)

"""Agents: per-environment prompts, action parsing, and the LLM agent that proposes candidate actions.

Build one with :func:`make_agent`::

    import asyncio
    from agentsearch.agents import make_agent, run_episode
    from agentsearch.envs import make
    from agentsearch.llm import load_llm

    agent = make_agent("alfworld", load_llm("hf", "smollm2-135m"), action_mode="score_valid")
    result = asyncio.run(run_episode(make("alfworld"), agent, temperature=0.0, max_steps=8))

Any object following the :class:`~agentsearch.agents.base.Agent` protocol works with search and
evaluation; :class:`LLMAgent` is the prompted one.
"""

from __future__ import annotations

import inspect
from typing import Any

from agentsearch.agents.base import Agent, Candidate, History, Turn
from agentsearch.agents.llm_agent import DEFAULT_CONTEXT_TOKENS, LLMAgent
from agentsearch.agents.parsing import format_response, parse_action
from agentsearch.agents.prompts import EnvPrompt
from agentsearch.agents.runner import EpisodeResult, run_episode
from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.llm.base import LLM
from agentsearch.llm.batcher import RequestBatcher

__all__ = [
    "Agent",
    "Candidate",
    "EnvPrompt",
    "EpisodeResult",
    "History",
    "LLMAgent",
    "Turn",
    "format_response",
    "make_agent",
    "make_prompt",
    "parse_action",
    "run_episode",
]


def make_prompt(env_name: str) -> EnvPrompt:
    """The prompt configuration of ``env_name``: its plug-in's (``agentsearch.plugins``), or the generic one.

    ``env_name`` is a short name (``"webshop"``) or a gymnasium id; an unknown name raises
    :class:`ConfigError` listing the registered environments.
    """
    from agentsearch.plugins import get_env_plugin

    return get_env_plugin(env_name).make_prompt()


def make_agent(env_name: str, llm_or_batcher: LLM | RequestBatcher, **options: Any) -> LLMAgent:
    """An :class:`LLMAgent` with ``env_name``'s prompts.

    Args:
        env_name: a registered environment's short name (``"webshop"`` ...) or a gymnasium id.
        llm_or_batcher: an ``agentsearch.llm`` backend (wrapped in a
            :class:`~agentsearch.llm.batcher.RequestBatcher`), or a batcher shared by many agents.
        **options: :class:`LLMAgent` keyword arguments (``react``, ``icl``, ``action_mode``,
            ``max_tokens``, ``tokenizer``, ``context_tokens`` ...). The tokenizer defaults to the
            backend's, the context to the backend's ``max_context`` capped at 4096 tokens. A policy
            fine-tuned by ``train-sft`` for ``env_name`` defaults to the ``react``/``icl`` it was trained
            with (:func:`agentsearch.llm.models.agent_defaults`).
    """
    from agentsearch.llm.models import agent_defaults

    known = [name for name in inspect.signature(LLMAgent).parameters if name not in ("prompt", "backend")]
    for name in options:
        if name not in known:
            raise ConfigError(
                f"Unknown agent option {name!r}; expected one of {known}.{did_you_mean(name, known)}"
            )
    batcher = llm_or_batcher if isinstance(llm_or_batcher, RequestBatcher) else RequestBatcher(llm_or_batcher)
    llm = batcher.llm
    options = {**agent_defaults(llm.model_name, env_name), **options}
    prompt = make_prompt(env_name)
    if "tokenizer" not in options:
        options["tokenizer"] = llm.tokenizer
    if "context_tokens" not in options and llm.max_context is not None:
        options["context_tokens"] = min(int(llm.max_context), DEFAULT_CONTEXT_TOKENS)
    return LLMAgent(prompt, batcher, **options)

"""Prompts to token ids, with the one truncation rule every local backend applies.

A chat prompt is rendered with the tokenizer's own chat template and the generation prompt (the
assistant header), exactly as TRL and vLLM render it; a raw string is tokenized as it is, with the
tokenizer's special tokens. Continuations (for ``score``) are tokenized on their own, without special
tokens, so their tokens are the same whatever prompt they follow.

Truncation rule (a prompt longer than ``budget`` tokens, where ``budget`` is the context window minus the
tokens to generate): keep the head, the system prompt and first user turn (the task instruction) of a
chat, capped at half the budget, or the first quarter of the budget for raw text, and fill the rest with
the *end* of the prompt, so the latest observation and the generation prompt survive. Cuts fall between
tokens, never inside one; a warning is logged. Agents should truncate history by whole turns before this
last-resort rule applies.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentsearch.errors import ConfigError
from agentsearch.llm.base import Prompt

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["render_prompt", "prompt_head_length", "truncate_ids", "encode_prompt", "encode_continuation"]

logger = logging.getLogger(__name__)

#: Share of the budget kept from the start of a raw-text prompt when it is truncated.
RAW_HEAD_FRACTION = 0.25


def render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Prompt) -> list[int]:
    """Token ids of ``prompt``: a chat through the tokenizer's template plus the generation prompt."""
    if isinstance(prompt, str):
        return list(tokenizer(prompt).input_ids)
    if not prompt:
        raise ConfigError("Expected a non-empty chat prompt (a list of messages).")
    return list(_chat_ids(tokenizer, prompt, add_generation_prompt=True))


def _chat_ids(
    tokenizer: PreTrainedTokenizerBase, messages: Sequence, add_generation_prompt: bool
) -> list[int]:
    if tokenizer.chat_template is None:
        raise ConfigError(
            f"Tokenizer `{tokenizer.name_or_path}` has no chat template; pass raw text prompts instead."
        )
    encoded = tokenizer.apply_chat_template(
        list(messages), add_generation_prompt=add_generation_prompt, tokenize=True
    )
    # transformers 5 returns a BatchEncoding-like mapping; older versions a plain list.
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def prompt_head_length(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, budget: int) -> int:
    """Tokens kept from the start of ``prompt`` when it is truncated to ``budget`` tokens."""
    if isinstance(prompt, str):
        return int(budget * RAW_HEAD_FRACTION)
    # The head of a chat is everything up to and including its first user turn (the instruction).
    first_user = next((i for i, message in enumerate(prompt) if message["role"] == "user"), 0)
    head = len(_chat_ids(tokenizer, prompt[: first_user + 1], add_generation_prompt=False))
    return min(head, budget // 2)


def truncate_ids(ids: list[int], budget: int, head: int) -> list[int]:
    """Keep ``ids`` whole if it fits ``budget``; else its first ``head`` and last ``budget - head`` tokens."""
    if budget < 1:
        raise ConfigError(f"Expected a positive token budget for the prompt, got {budget}.")
    if len(ids) <= budget:
        return ids
    head = max(0, min(head, budget - 1))
    logger.warning("Prompt of %d tokens truncated to %d (kept the first %d and the last %d)",
                   len(ids), budget, head, budget - head)
    return ids[:head] + ids[len(ids) - (budget - head):]


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, budget: int) -> list[int]:
    """:func:`render_prompt` then :func:`truncate_ids` to ``budget`` tokens."""
    ids = render_prompt(tokenizer, prompt)
    if len(ids) <= budget:
        return ids
    return truncate_ids(ids, budget, prompt_head_length(tokenizer, prompt, budget))


def encode_continuation(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of a continuation to score, without special tokens."""
    return list(tokenizer(text, add_special_tokens=False).input_ids)

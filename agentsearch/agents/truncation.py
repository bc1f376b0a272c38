"""Fit a chat into a token budget: keep the instruction, drop the oldest turns, cut by tokens.

An agent's chat is a fixed *head* (instruction, "OK", few-shot example, the task) followed by
(assistant response, user observation) pairs, one per step taken. When the rendered prompt is over
budget, :func:`fit_messages` applies these rules in order and stops at the first that fits:

1. drop the oldest pairs, keeping as many of the latest as fit (the latest pair always stays);
2. cut the latest observation to its first tokens (decoded from whole tokens, never mid-token) and
   mark the cut with :data:`TRUNCATION_MARK`;
3. otherwise raise :class:`~agentsearch.errors.ConfigError`: the head alone does not fit.

Token counts are exact: the chat is rendered with the tokenizer's chat template plus the generation
prompt (what a backend sends to the model) and tokenized.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from agentsearch.errors import ConfigError
from agentsearch.llm.base import Message
from agentsearch.llm.tokens import render_prompt

__all__ = ["TRUNCATION_MARK", "count_chat_tokens", "fit_messages"]

logger = logging.getLogger(__name__)

TRUNCATION_MARK = " [...]"


def count_chat_tokens(tokenizer: Any, messages: Sequence[Message]) -> int:
    """Tokens of ``messages`` as a backend sends them (chat template plus the generation prompt)."""
    return len(render_prompt(tokenizer, list(messages)))


def _largest_fitting(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """Largest ``k`` in ``[low, high]`` with ``fits(k)``, for ``fits`` true up to a point, then false."""
    if not fits(low):
        return None
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def fit_messages(
    messages: Sequence[Message], num_head: int, tokenizer: Any, max_tokens: int
) -> list[Message]:
    """``messages`` cut to at most ``max_tokens`` prompt tokens by the rules in the module docstring.

    Args:
        messages: the head followed by (assistant, user) pairs.
        num_head: how many leading messages form the head, which is never dropped.
        tokenizer: a Hugging Face tokenizer with a chat template.
        max_tokens: the prompt budget (context window minus the tokens reserved for the answer).
    """
    messages = list(messages)
    head, tail = messages[:num_head], messages[num_head:]
    if len(tail) % 2:
        raise ValueError(
            f"Expected (assistant, user) pairs after the {num_head} head messages, got {len(tail)}."
        )

    def count(pairs_kept: int, last: list[Message] | None = None) -> int:
        kept = tail[len(tail) - 2 * pairs_kept :] if pairs_kept else []
        if last is not None:
            kept = [*kept[:-1], *last]
        return count_chat_tokens(tokenizer, head + kept)

    num_pairs = len(tail) // 2
    if count(num_pairs) <= max_tokens:
        return messages
    kept_pairs = _largest_fitting(min(num_pairs, 1), num_pairs, lambda k: count(k) <= max_tokens)
    if kept_pairs is not None:
        logger.debug(
            "Dropped the %d oldest of %d turns to fit %d tokens.",
            num_pairs - kept_pairs,
            num_pairs,
            max_tokens,
        )
        return head + tail[len(tail) - 2 * kept_pairs :]

    # Even the latest pair alone is too long: cut its observation (or, without turns, the task's).
    if num_pairs:
        prefix, last = head + tail[-2:-1], tail[-1]
    else:
        prefix, last = head[:-1], head[-1]
    ids = tokenizer(last["content"], add_special_tokens=False)["input_ids"]

    def with_cut(k: int) -> list[Message]:
        text = tokenizer.decode(ids[:k]) + TRUNCATION_MARK
        return [*prefix, {"role": last["role"], "content": text}]

    kept_tokens = _largest_fitting(
        0, len(ids), lambda k: count_chat_tokens(tokenizer, with_cut(k)) <= max_tokens
    )
    if kept_tokens is None:
        raise ConfigError(
            f"The instruction and few-shot example alone take more than the prompt budget of {max_tokens} "
            f"tokens; use a larger budget or drop the example (icl=False)."
        )
    logger.debug(
        "Cut the latest observation to %d of %d tokens to fit %d tokens.", kept_tokens, len(ids), max_tokens
    )
    return with_cut(kept_tokens)

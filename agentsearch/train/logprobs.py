"""Log-probabilities of several completions that share one prompt, with the prompt computed once.

Step-level data is a long history (hundreds of tokens) followed by short candidate responses (tens of
tokens). Scoring each (prompt, response) row separately recomputes the prompt per row, and a causal LM
head over every position computes logits nobody reads. :func:`shared_prefix_logprobs` runs the prompt
once with a KV cache, runs all completions as one batch against that cache (repeated across the batch),
and projects through the LM head only the hidden states that predict completion tokens.

The result equals the per-token log-probabilities of a plain forward over ``prompt + completion`` (up to
float32 rounding); gradients flow through the cache back into the prompt's computation, so the same
function serves training (TRL's DPO loss) and inference (Q-values).

:func:`tokenize_step` tokenizes a (messages, response) pair exactly as TRL's ``DPOTrainer`` does for
conversational records, so training and scoring see the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["CompletionLogprobs", "StepTokens", "causal_lm", "shared_prefix_logprobs", "tokenize_step"]


@dataclass(frozen=True)
class StepTokens:
    """A prompt and the completions that follow it, as token ids.

    Attributes:
        prompt_ids: the tokens shared by every completion (the chat history plus the generation prompt).
        completion_ids: per completion, the tokens of the assistant turn after ``prompt_ids``
            (including the template's end-of-turn tokens, as TRL trains them).
    """

    prompt_ids: list[int]
    completion_ids: list[list[int]]


def tokenize_step(
    tokenizer: PreTrainedTokenizerBase, messages: Sequence[dict[str, Any]], responses: Sequence[str]
) -> StepTokens:
    """Tokenize ``messages`` followed by each assistant ``response`` as TRL's DPOTrainer does.

    TRL renders ``prompt`` with the generation prompt and ``prompt + [assistant turn]`` without it; the
    completion starts where the two token sequences diverge (``common_prefix_length``). The shared prompt
    here is the shortest such prefix over all responses, so every completion is scored from one cache.
    """
    from trl.data_utils import _tokenize, common_prefix_length

    prompt = list(messages)
    prompt_ids = _tokenize(tokenizer, prompt, add_generation_prompt=True)["input_ids"]
    full = [
        _tokenize(tokenizer, prompt + [{"role": "assistant", "content": response}])["input_ids"]
        for response in responses
    ]
    prefix = min((common_prefix_length(prompt_ids, ids) for ids in full), default=len(prompt_ids))
    return StepTokens(list(prompt_ids[:prefix]), [list(ids[prefix:]) for ids in full])


def causal_lm(model: Any) -> PreTrainedModel:
    """The ``*ForCausalLM`` module inside ``model`` (unwrapping a PEFT model; LoRA layers stay injected)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


@dataclass
class CompletionLogprobs:
    """Per-token results for a batch of completions of one prompt.

    Attributes:
        logprobs: per completion, a 1-D tensor of the log-probability of each completion token.
        logits: the LM-head logits at those positions, flattened over completions (``(tokens, vocab)``),
            for metrics; ``None`` unless requested.
    """

    logprobs: list[torch.Tensor]
    logits: torch.Tensor | None = None


def shared_prefix_logprobs(
    model: Any,
    prompt_ids: Sequence[int],
    completion_ids: Sequence[Sequence[int]],
    *,
    return_logits: bool = False,
) -> CompletionLogprobs:
    """Log-probability of every token of each completion given ``prompt_ids``; the prompt runs once.

    Args:
        model: a causal LM (``LlamaForCausalLM`` ...), optionally wrapped by PEFT. Gradients are kept when
            autograd is enabled, so the result can be trained on.
        prompt_ids: the shared prefix (at least one token).
        completion_ids: the completions; they may differ in length, and may be empty.
        return_logits: also return the completion positions' logits (for TRL's entropy/accuracy metrics).

    Returns:
        :class:`CompletionLogprobs` with one tensor per completion, in input order.
    """
    import torch

    if not prompt_ids:
        raise ValueError("shared_prefix_logprobs needs a non-empty prompt.")
    lm = causal_lm(model)
    backbone = getattr(lm, lm.base_model_prefix)
    head = lm.get_output_embeddings()
    device = head.weight.device
    n = len(completion_ids)
    lengths = [len(ids) for ids in completion_ids]
    longest = max(lengths, default=0)
    if n == 0 or longest == 0:
        return CompletionLogprobs([head.weight.new_zeros(length) for length in lengths])

    prompt = torch.tensor([list(prompt_ids)], device=device)
    prompt_out = backbone(input_ids=prompt, use_cache=longest > 1)
    hidden = prompt_out.last_hidden_state[:, -1:].expand(n, 1, -1)
    if longest > 1:
        # Right-padded completions need no attention mask: a real token never attends to the padding after it.
        batch = torch.zeros((n, longest - 1), dtype=torch.long, device=device)
        for row, ids in enumerate(completion_ids):
            if len(ids) > 1:
                batch[row, : len(ids) - 1] = torch.tensor(list(ids[:-1]), dtype=torch.long)
        cache = prompt_out.cache
        cache.batch_repeat_interleave(n)
        completion_out = backbone(input_ids=batch, cache=cache, use_cache=False)
        hidden = torch.cat([hidden, completion_out.last_hidden_state], dim=1)

    positions = torch.arange(longest, device=device)
    mask = positions.unsqueeze(0) < torch.tensor(lengths, device=device).unsqueeze(1)
    targets = torch.zeros((n, longest), dtype=torch.long, device=device)
    for row, ids in enumerate(completion_ids):
        if ids:
            targets[row, : len(ids)] = torch.tensor(list(ids), dtype=torch.long)
    logits = head(hidden[mask]).float()  # only the positions that predict a completion token
    token_logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets[mask].unsqueeze(-1)).squeeze(-1)
    per_completion = list(torch.split(token_logprobs, lengths))
    return CompletionLogprobs(per_completion, logits if return_logits else None)

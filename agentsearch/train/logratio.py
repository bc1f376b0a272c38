"""Policy and reference log-probs of a LoRA Q-model's candidates, with the unadapted layers run once.

A Q-value needs every candidate's log-probs twice: with the adapter (pi_theta) and without it (pi_ref).
When LoRA adapts only the top decoder layers (``--lora-top-layers``), the layers below the first adapted
one compute the same hidden states and KV in both passes, so :func:`adapter_logprob_pairs` runs them
once and only the adapted layers twice (adapter on, then off). The candidates of one state are packed
into a single row after the history (no copy of the history's KV per candidate): each candidate token
sees the whole history and the earlier tokens of its own candidate, through a block-causal mask.

The layer loop is the decoder's own (embeddings, rotary position embeddings, decoder layers, final norm),
so it is only used for the architectures listed in :data:`LAYER_LOOP_MODELS`, whose forward is exactly
that loop; anything else goes through two calls of
:func:`~agentsearch.train.logprobs.shared_prefix_logprobs`, with the same result.

Consecutive states of an episode extend each other's history (the last one, the agent's step, the new
observation), so a :class:`HistoryKV` given to :func:`adapter_logprob_pairs` keeps the KV of the last few
histories and each call runs only the tokens past the longest one it extends.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicLayer

from agentsearch.llm.hf import attention_mask, packed_allowed
from agentsearch.train.logprobs import causal_lm, shared_prefix_logprobs

__all__ = [
    "LAYER_LOOP_MODELS",
    "AdapterLogprobs",
    "HistoryKV",
    "adapter_logprob_pairs",
    "adapter_pair_outputs",
    "first_adapted_layer",
    "shares_unadapted_layers",
]

#: Backbones whose forward is embed -> rotary -> decoder layers -> norm, with nothing in between.
LAYER_LOOP_MODELS = frozenset({"LlamaModel", "MistralModel", "Qwen2Model", "Qwen3Model"})

_LAYER_INDEX = re.compile(r"\.layers\.(\d+)\.")


def first_adapted_layer(model: Any) -> int | None:
    """Index of the lowest decoder layer holding a LoRA module (``None``: no LoRA or no layer index)."""
    found = [
        int(match.group(1))
        for name, _ in model.named_modules()
        if name.endswith("lora_A") and (match := _LAYER_INDEX.search(name))
    ]
    return min(found) if found else None


#: Per layer (shared layers, then the policy's and the reference's adapted layers): keys and values.
LayerKV = list[tuple[torch.Tensor, torch.Tensor]]


class HistoryKV:
    """The KV of the last ``max_entries`` histories scored, least recently used dropped first.

    One entry per live episode is enough (each step extends that episode's last history); an entry of a
    1,500-token SmolLM2-135M history holds about 80 MB.
    """

    def __init__(self, max_entries: int = 8) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, ...], LayerKV] = OrderedDict()
        #: History tokens read from entries, and history tokens run.
        self.reused_tokens = 0
        self.computed_tokens = 0

    def longest_prefix(self, ids: Sequence[int], limit: int) -> tuple[int, LayerKV | None]:
        """The longest stored history that starts ``ids``, cut to at most ``limit`` tokens."""
        best: tuple[int, ...] | None = None
        for key in self._entries:
            if len(key) > len(ids) or (best is not None and len(key) <= len(best)):
                continue
            if tuple(ids[: len(key)]) == key:
                best = key
        if best is None:
            return 0, None
        self._entries.move_to_end(best)
        length = min(len(best), limit)
        return length, [(k[:, :, :length], v[:, :, :length]) for k, v in self._entries[best]]

    def store(self, ids: Sequence[int], kv: LayerKV) -> None:
        key = tuple(ids)
        self._entries[key] = kv
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _seeded_layer(kv: tuple[torch.Tensor, torch.Tensor] | None) -> DynamicLayer:
    """A cache layer that starts with ``kv`` (not copied: ``DynamicLayer.update`` concatenates anew)."""
    layer = DynamicLayer()
    if kv is not None:
        layer.keys, layer.values = kv
        layer.device, layer.is_initialized = kv[0].device, True
    return layer


def _mask(allowed: torch.Tensor, backbone: Any) -> torch.Tensor:
    """``allowed`` [query, key] as the 4-D mask the backbone's attention implementation takes."""
    return attention_mask(
        allowed[None, None],
        boolean=backbone.config._attn_implementation == "sdpa",
        dtype=backbone.embed_tokens.weight.dtype,
    )


def _run_layers(
    backbone: Any,
    hidden: torch.Tensor,
    layers: Sequence[int],
    positions: torch.Tensor,
    mask: torch.Tensor,
    cache: Any,
) -> torch.Tensor:
    rotary = backbone.rotary_emb(hidden, position_ids=positions)
    for index in layers:
        hidden = backbone.layers[index](
            hidden,
            attention_mask=mask,
            position_embeddings=rotary,
            position_ids=positions,
            cache=cache,
            use_cache=True,
        )
    return hidden


@dataclass
class AdapterLogprobs:
    """Per-token results of :func:`adapter_pair_outputs` for the completions of one prompt.

    Attributes:
        policy, reference: per completion, a 1-D tensor of token log-probs with the adapter on and off.
        policy_logits, reference_logits: the LM-head logits at those positions, flattened over
            completions (``(tokens, vocab)``), for TRL's metrics; ``None`` unless requested.
    """

    policy: list[torch.Tensor]
    reference: list[torch.Tensor]
    policy_logits: torch.Tensor | None = None
    reference_logits: torch.Tensor | None = None


def shares_unadapted_layers(model: Any) -> bool:
    """Whether :func:`adapter_pair_outputs` runs the layers below the adapter once for both streams."""
    lm = causal_lm(model)
    backbone = getattr(lm, lm.base_model_prefix)
    return bool(first_adapted_layer(model)) and type(backbone).__name__ in LAYER_LOOP_MODELS


def adapter_logprob_pairs(
    model: Any,
    prompt_ids: Sequence[int],
    completion_ids: Sequence[Sequence[int]],
    history_kv: HistoryKV | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-token log-probs of each completion with the PEFT adapter enabled and disabled.

    Args:
        model: a PEFT model (``disable_adapter()``) over a causal LM.
        prompt_ids: the shared history (at least one token).
        completion_ids: the candidates' tokens.
        history_kv: KV of earlier histories to start from (and to store this one in), or ``None``.

    Returns:
        ``(policy, reference)``: per completion, a 1-D tensor of token log-probs, in input order.
    """
    result = adapter_pair_outputs(model, prompt_ids, completion_ids, history_kv)
    return result.policy, result.reference


def adapter_pair_outputs(
    model: Any,
    prompt_ids: Sequence[int],
    completion_ids: Sequence[Sequence[int]],
    history_kv: HistoryKV | None = None,
    *,
    return_logits: bool = False,
) -> AdapterLogprobs:
    """:func:`adapter_logprob_pairs`, optionally with the logits; gradients reach the adapter's stream.

    Under autograd (step-DPO training with the reference computed in the same pass) the policy stream
    keeps its graph; the reference stream and the unadapted layers, which hold no trainable weight, are
    computed without one.
    """
    lm = causal_lm(model)
    backbone = getattr(lm, lm.base_model_prefix)
    split = first_adapted_layer(model)
    lengths = [len(ids) for ids in completion_ids]
    if not shares_unadapted_layers(model) or not prompt_ids or not any(lengths):
        policy = shared_prefix_logprobs(model, prompt_ids, completion_ids, return_logits=return_logits)
        with model.disable_adapter(), torch.no_grad():
            reference = shared_prefix_logprobs(model, prompt_ids, completion_ids, return_logits=return_logits)
        return AdapterLogprobs(policy.logprobs, reference.logprobs, policy.logits, reference.logits)

    head = lm.get_output_embeddings()
    device = head.weight.device
    total = len(backbone.layers)
    history = len(prompt_ids)
    # At least the history's last token runs: its hidden state predicts each candidate's first token.
    reused, stored = history_kv.longest_prefix(prompt_ids, history - 1) if history_kv else (0, None)
    seeds = stored or [None] * (split + 2 * (total - split))
    shared_layers = [_seeded_layer(kv) for kv in seeds[:split]]
    top_seeds = {"policy": seeds[split:total], "reference": seeds[total:]}
    caches = {
        stream: Cache(layers=shared_layers + [_seeded_layer(kv) for kv in top_seeds[stream]])
        for stream in ("policy", "reference")
    }

    # Packed candidates: every token but each candidate's last is an input (the last is only a target);
    # the history's last position predicts each candidate's first token.
    inputs = [t for ids in completion_ids for t in ids[:-1]]
    owner = torch.tensor([c for c, ids in enumerate(completion_ids) for _ in ids[:-1]], dtype=torch.long)
    offset = torch.tensor([i for ids in completion_ids for i in range(len(ids) - 1)], dtype=torch.long)
    segments = [
        (
            torch.tensor([list(prompt_ids[reused:])], device=device),
            torch.arange(reused, history, device=device)[None],
            _mask(torch.ones(history, history, dtype=torch.bool, device=device).tril()[reused:], backbone),
        ),
    ]
    if inputs:
        history_keys = torch.ones(len(inputs), history, dtype=torch.bool)
        allowed = torch.cat([history_keys, packed_allowed(owner, offset)], dim=1)
        segments.append(
            (
                torch.tensor([inputs], device=device),
                (history + offset)[None].to(device),
                _mask(allowed.to(device), backbone),
            )
        )

    outputs: dict[str, list[torch.Tensor]] = {"policy": [], "reference": []}
    for number, (ids, positions, mask) in enumerate(segments):
        with torch.no_grad():
            hidden = _run_layers(
                backbone, backbone.embed_tokens(ids), range(split), positions, mask, caches["policy"]
            )
        top = _run_layers(backbone, hidden, range(split, total), positions, mask, caches["policy"])
        outputs["policy"].append(backbone.norm(top)[0])
        with model.disable_adapter(), torch.no_grad():
            top = _run_layers(backbone, hidden, range(split, total), positions, mask, caches["reference"])
            outputs["reference"].append(backbone.norm(top)[0])
        if number == 0 and history_kv is not None:  # the history alone: what the next state extends
            layers = [*caches["policy"].layers, *caches["reference"].layers[split:]]
            history_kv.store(prompt_ids, [(layer.keys, layer.values) for layer in layers])
            history_kv.reused_tokens += reused
            history_kv.computed_tokens += history - reused

    # Row of each completion token's prediction: the history's last position, then its own inputs
    # (rows count from the first history token this call ran).
    rows, start = [], history - reused
    for ids in completion_ids:
        if ids:
            rows += [history - reused - 1] + list(range(start, start + len(ids) - 1))
        start += max(len(ids) - 1, 0)
    rows_t = torch.tensor(rows, dtype=torch.long, device=device)
    targets = torch.tensor([t for ids in completion_ids for t in ids], dtype=torch.long, device=device)
    logprobs, logits = {}, {}
    for stream in ("policy", "reference"):
        hidden = torch.cat(outputs[stream])[rows_t]
        logits[stream] = head(hidden).float()
        picked = torch.log_softmax(logits[stream], dim=-1).gather(-1, targets[:, None])[:, 0]
        logprobs[stream] = list(torch.split(picked, lengths))
    if not return_logits:
        return AdapterLogprobs(logprobs["policy"], logprobs["reference"])
    return AdapterLogprobs(logprobs["policy"], logprobs["reference"], logits["policy"], logits["reference"])

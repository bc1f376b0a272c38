"""The ``hf`` backend: transformers models with shared-prefix batching, for CPU and GPU.

Why not ``model.generate``: a search tree asks for n samples of many prompts that share long prefixes
(instruction, few-shot example, history). ``generate(num_return_sequences=n)`` prefills n copies of every
prompt; here each prompt is prefilled once, its KV cache is copied to its n sample rows, and all rows of all
requests decode together in one left-padded batch. A block-level prefix cache (vLLM's automatic prefix
caching, in miniature) keyed by token ids lets a prompt reuse the KV of any earlier prompt that shares
its first blocks, across calls. ``score`` prefills the prompt once and runs every continuation in one
batched pass over that shared prefix.

Decoding writes into preallocated KV buffers (one slot per step instead of re-concatenating the cache)
and passes explicit 4-D attention masks, so rows of different prompt lengths share a batch.

Example::

    from agentsearch.llm import Request, SamplingParams
    from agentsearch.llm.hf import HFBackend

    llm = HFBackend("smollm2-135m")
    chat = [{"role": "user", "content": "Name a colour."}]
    [samples] = llm.generate([Request(chat, SamplingParams(n=3, temperature=0.8, max_tokens=10, seed=0))])
    llm.score(chat, ["Blue.", "Seven."])
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from transformers import AttentionInterface
from transformers.cache_utils import Cache, DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from agentsearch.errors import ConfigError
from agentsearch.llm.base import Completion, Prompt, Request, SamplingParams
from agentsearch.llm.models import load_model, load_tokenizer
from agentsearch.llm.tokens import encode_continuation, encode_prompt

__all__ = ["HFBackend", "PrefixCache", "BackendStats", "attention_mask", "packed_allowed"]

logger = logging.getLogger(__name__)



#: Per layer: keys and values, each ``[batch, kv_heads, tokens, head_dim]``.
KV = list[tuple[torch.Tensor, torch.Tensor]]
#: A prompt's token ids and the token ids of the continuations to score after it.
ScoreJob = tuple[list[int], Sequence[Sequence[int]]]
#: Name under which the shared-prefix decode attention is registered with transformers.
SHARED_PREFIX_ATTENTION = "agentsearch_shared_prefix"
@dataclass
class RowPrompts:
    """The prompts a decode batch reads: each prompt's KV once, and which prompt each row continues.

    Rows of one prompt (its ``n`` samples) are contiguous; :meth:`keep` follows the batch when finished
    rows leave it.
    """

    #: per prompt, per layer: keys and values ``[kv_heads, tokens, head_dim]``
    kv: list[KV]
    #: prompt index of each batch row
    row_prompt: list[int]

    def spans(self) -> list[tuple[int, int, int]]:
        """``(prompt, first row, row after the last)`` of each run of rows that continue one prompt."""
        spans: list[tuple[int, int, int]] = []
        for row, prompt in enumerate(self.row_prompt):
            if spans and spans[-1][0] == prompt:
                spans[-1] = (prompt, spans[-1][1], row + 1)
            else:
                spans.append((prompt, row, row + 1))
        return spans

    def keep(self, rows: Sequence[int]) -> None:
        self.row_prompt = [self.row_prompt[r] for r in rows]


_row_prompts: contextvars.ContextVar[RowPrompts | None] = contextvars.ContextVar(
    "agentsearch_row_prompts", default=None
)


def shared_prefix_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Decode attention over each row's prompt, stored once per prompt, plus the row's own new tokens.

    The ``n`` samples of a prompt read the same long prompt KV. Instead of a copy per row, left-padded
    to the longest prompt of the batch (which makes plain batched decoding memory-bound: every step
    reads every row's padded copy), each prompt's KV is stored once (:class:`RowPrompts`) and its rows'
    queries meet it in one matrix product; ``key``/``value`` hold only what the rows generated.
    Grouped-query heads are handled by reshaping queries, never by repeating keys. Anything else
    (prefill, scoring, no prompts set) goes to the regular SDPA path.
    """
    prompts = _row_prompts.get()
    if prompts is None or query.shape[2] != 1:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
    batch, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    scaling = scaling if scaling is not None else dim**-0.5
    grouped = query.reshape(batch, kv_heads, groups, dim)  # query head h reads kv head h // groups
    own = torch.matmul(grouped, key.transpose(-1, -2)) * scaling  # [batch, kv_heads, groups, own]
    own = own.masked_fill(~attention_mask[:, :, -1:, :], float("-inf"))
    out = torch.empty_like(grouped)
    for prompt, first, stop in prompts.spans():
        prompt_keys, prompt_values = prompts.kv[prompt][module.layer_idx]
        rows, length = stop - first, prompt_keys.shape[1]
        flat = grouped[first:stop].permute(1, 0, 2, 3).reshape(kv_heads, rows * groups, dim)
        common = torch.matmul(flat, prompt_keys.transpose(-1, -2)) * scaling  # [kv_heads, rows*groups, L]
        common = common.reshape(kv_heads, rows, groups, length).permute(1, 0, 2, 3)
        weights = torch.cat([common, own[first:stop]], dim=-1).softmax(dim=-1)
        from_prompt = torch.matmul(
            weights[..., :length].permute(1, 0, 2, 3).reshape(kv_heads, rows * groups, length), prompt_values
        ).reshape(kv_heads, rows, groups, dim).permute(1, 0, 2, 3)
        out[first:stop] = from_prompt + torch.matmul(weights[..., length:], value[first:stop])
    return out.reshape(batch, 1, heads, dim), None


AttentionInterface.register(SHARED_PREFIX_ATTENTION, shared_prefix_attention)


def packed_allowed(group: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Which packed tokens each packed token may attend to: ``[..., query, key]`` booleans.

    Rows pack a shared tail and several candidates after it (``group`` -1 for the tail, ``k`` for
    candidate ``k``, -2 for padding; ``offset`` is the position within the tail or candidate). A tail token
    sees the tail causally; a candidate token sees the whole tail and its own earlier tokens, never another
    candidate's; padding sees only itself, so its attention row stays well defined.
    """
    query_group, key_group = group[..., :, None], group[..., None, :]
    causal = offset[..., None, :] <= offset[..., :, None]
    tail_key = (key_group == -1) & (query_group != -2) & ((query_group >= 0) | causal)
    own_key = (key_group == query_group) & (query_group >= 0) & causal
    padding = (group == -2)[..., :, None] & torch.eye(group.shape[-1], dtype=torch.bool)
    return tail_key | own_key | padding


#: Attention keys per query that cost about what one token costs in the linear layers (SmolLM2-135M on
#: a CPU, where masked attention runs far below the matmul peak).
ATTENTION_KEYS_PER_TOKEN = 400
#: Fixed cost of one more forward pass, in tokens (layer calls, masks, buffers).
PASS_OVERHEAD_TOKENS = 64


def similar_rows(shapes: Sequence[tuple[int, int]], waste: float = 1.25) -> list[list[int]]:
    """Group rows ``(cached, new)`` into passes whose padded cost stays within ``waste`` x their own.

    A pass costs ``rows x W x (1 + (C + W) / ATTENTION_KEYS_PER_TOKEN)`` for its widest new width ``W``
    and longest cached prefix ``C``; rows are taken by new width, and a row joins the current pass when
    that pass, padded, still costs at most ``waste`` times its rows' own cost plus one pass overhead.
    """

    def cost(cached: int, new: int, rows: int = 1) -> float:
        return rows * new * (1 + (cached + new) / ATTENTION_KEYS_PER_TOKEN)

    passes: list[list[int]] = []
    own = 0.0
    for index in sorted(range(len(shapes)), key=lambda i: (shapes[i][1], shapes[i][0])):
        row_cost = cost(*shapes[index])
        if passes:
            current = passes[-1]
            widest = max(shapes[i][1] for i in [*current, index])
            longest = max(shapes[i][0] for i in [*current, index])
            if cost(longest, widest, len(current) + 1) <= waste * (own + row_cost) + PASS_OVERHEAD_TOKENS:
                current.append(index)
                own += row_cost
                continue
        passes.append([index])
        own = row_cost
    return passes


def nucleus(logits: torch.Tensor, top_p: float, candidates: int = 64) -> torch.Tensor:
    """``logits`` with every token outside each row's top-p nucleus set to -inf.

    A token is dropped once the probability mass of the tokens ranked above it reaches ``top_p``; the most
    likely token always stays. The nucleus is looked for among the ``candidates`` most likely tokens
    first: sorting a 49k-token vocabulary for every row at every decode step cost as much as SmolLM2's
    forward pass. Rows whose top ``candidates`` hold less than ``top_p`` of the mass are fully sorted.
    """
    probs = logits.softmax(dim=-1)
    top, order = probs.topk(min(candidates, logits.shape[-1]), dim=-1)
    short = top.sum(dim=-1) < top_p
    if bool(short.any()):
        top, order = probs.sort(dim=-1, descending=True)
    keep = top.cumsum(dim=-1) - top < top_p
    kept = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, keep)
    return logits.masked_fill(~kept, float("-inf"))


def attention_mask(allowed: torch.Tensor, *, boolean: bool, dtype: torch.dtype) -> torch.Tensor:
    """A boolean 4-D ``allowed`` mask as an attention implementation takes it: as is where it reads
    booleans (SDPA), else additive (0 where allowed, the dtype's minimum elsewhere)."""
    if boolean:
        return allowed
    bias = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return bias.masked_fill_(~allowed, torch.finfo(dtype).min)


@contextlib.contextmanager
def _decoding_with_row_prompts(model, prompts: RowPrompts) -> Iterator[None]:
    """Route the model's attention through :func:`shared_prefix_attention` for the duration."""
    config = model.config
    previous = config._attn_implementation
    token = _row_prompts.set(prompts)
    config._attn_implementation = SHARED_PREFIX_ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = previous
        _row_prompts.reset(token)


@dataclass
class BackendStats:
    """Work counters, for tests and benchmarks."""

    prompt_tokens: int = 0
    #: prompt tokens whose KV came from the prefix cache instead of a forward pass
    cached_tokens: int = 0
    generated_tokens: int = 0
    #: continuation tokens run after their prompt by ``score`` (a continuation's last token is only
    #: predicted, never run)
    scored_tokens: int = 0
    #: positions run through the model, padding and finished decode rows included: what the
    #: forward passes cost, next to the real tokens of the counters above
    computed_tokens: int = 0
    forward_calls: int = 0


class PrefixCache:
    """KV of earlier prompts in blocks of ``block_size`` tokens, keyed by the token ids up to each block end.

    A block's key chains its parent's key with its own token ids (as vLLM's block hashes do), so a lookup
    walks a prompt block by block and stops at the first block never seen. Least recently used blocks are
    evicted beyond ``max_tokens``; a parent is always used more recently than its children, so children
    go first.
    """

    def __init__(self, block_size: int = 32, max_tokens: int = 32768) -> None:
        if block_size < 1 or max_tokens < block_size:
            raise ConfigError(f"Expected 1 <= block_size <= max_tokens, got {block_size} and {max_tokens}.")
        self.block_size = block_size
        self.max_blocks = max_tokens // block_size
        self._blocks: OrderedDict[tuple[int, tuple[int, ...]], KV] = OrderedDict()

    def __len__(self) -> int:
        return len(self._blocks)

    def _keys(self, ids: Sequence[int], limit: int) -> list[tuple[int, tuple[int, ...]]]:
        keys, parent = [], 0
        for start in range(0, limit - self.block_size + 1, self.block_size):
            key = (parent, tuple(ids[start : start + self.block_size]))
            keys.append(key)
            parent = hash(key)
        return keys

    def lookup(self, ids: Sequence[int], limit: int) -> tuple[int, KV | None]:
        """Longest cached block-aligned prefix of ``ids[:limit]``: its length and its KV (or ``0, None``)."""
        found: list[KV] = []
        for key in self._keys(ids, limit):
            block = self._blocks.get(key)
            if block is None:
                break
            self._blocks.move_to_end(key)
            found.append(block)
        if not found:
            return 0, None
        kv = [
            (torch.cat([b[layer][0] for b in found], dim=2), torch.cat([b[layer][1] for b in found], dim=2))
            for layer in range(len(found[0]))
        ]
        return len(found) * self.block_size, kv

    def cached_length(self, ids: Sequence[int], limit: int) -> int:
        """What :meth:`lookup` would find, without reading the KV or refreshing the blocks."""
        found = 0
        for key in self._keys(ids, limit):
            if key not in self._blocks:
                break
            found += self.block_size
        return found

    def insert(self, ids: Sequence[int], kv: KV) -> None:
        """Store the full blocks of ``ids`` whose KV (batch row 0 of ``kv``) is not cached yet."""
        for index, key in enumerate(self._keys(ids, len(ids))):
            if key in self._blocks:
                self._blocks.move_to_end(key)
                continue
            span = slice(index * self.block_size, (index + 1) * self.block_size)
            self._blocks[key] = [(k[:1, :, span].clone(), v[:1, :, span].clone()) for k, v in kv]
        while len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)


class _BufferLayer(DynamicLayer):
    """One layer's KV in a preallocated buffer: a decode step writes one slot instead of copying the cache."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, length: int = 0) -> None:
        super().__init__()
        self.keys_buffer, self.values_buffer = keys, values
        self.device = keys.device
        self.is_initialized = True
        self._set_length(length)

    def _set_length(self, length: int) -> None:
        self.length = length
        self.keys = self.keys_buffer[:, :, :length]
        self.values = self.values_buffer[:, :, :length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        end = self.length + key_states.shape[-2]
        self.keys_buffer[:, :, self.length : end] = key_states
        self.values_buffer[:, :, self.length : end] = value_states
        self._set_length(end)
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.length + query_length, 0

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.keys_buffer = self.keys_buffer[indices]
        self.values_buffer = self.values_buffer[indices]
        self._set_length(self.length)


@dataclass
class _Sample:
    """Decoding state of one sample row."""

    request: int
    generator: torch.Generator | None
    params: SamplingParams
    token_ids: list[int]
    token_logprobs: list[float]
    text: str | None = None
    finish_reason: str | None = None


@dataclass
class _Pass:
    """What :meth:`HFBackend._extend` computed: KV buffers, their layout, every position's hidden state."""

    layers: list[_BufferLayer]
    #: column where every row's new tokens start (its cached KV ends there)
    width_cached: int
    #: per row, how many of its prefix tokens came from cached KV
    cached: list[int]
    hidden: torch.Tensor

    @staticmethod
    def row_kv(layers: list[_BufferLayer], width_cached: int, row: int, cached: int, stop: int) -> KV:
        """Row ``row``'s KV of prompt positions ``[0, stop)``, ``[1, heads, stop, dim]`` per layer."""
        span = slice(width_cached - cached, width_cached - cached + stop)
        return [(layer.keys_buffer[row : row + 1, :, span], layer.values_buffer[row : row + 1, :, span])
                for layer in layers]


def _serialized(method):
    """Run one public call at a time: the model, its attention switch and the prefix cache are shared."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class HFBackend:
    """Generation and scoring with a transformers causal LM (see the module docstring).

    Calls are thread-safe and run one at a time.

    Args:
        model: registry name, model folder or ``.gguf`` file (see :mod:`agentsearch.llm.models`).
        device: torch device.
        dtype: defaults to float32 (bfloat16 ran 8x slower on CPUs without fast bf16).
        max_batch_rows: sample rows decoded together at most; more requests run in successive batches.
        prefix_cache_tokens: capacity of the prefix KV cache in tokens (0 disables it).
        block_size: prefix cache granularity in tokens.
        max_context: context window; defaults to the model's ``max_position_embeddings``.
        score_batch_tokens: new tokens (uncached prompt tails plus continuations) per scoring pass, about;
            bounds the pass's activation and attention memory.
    """

    backend = "hf"

    def __init__(
        self,
        model: str | os.PathLike[str] = "smollm2-135m",
        *,
        device: str = "cpu",
        dtype: torch.dtype | None = None,
        max_batch_rows: int = 128,
        prefix_cache_tokens: int = 32768,
        block_size: int = 32,
        max_context: int | None = None,
        score_batch_tokens: int = 4096,
    ) -> None:
        self.model_name = str(model)
        self.model = load_model(model, dtype=dtype, device=device)
        self.tokenizer = load_tokenizer(model)
        self.device = torch.device(device)
        config = self.model.config
        self.max_context = max_context or getattr(config, "max_position_embeddings", 2048)
        self.max_batch_rows = max_batch_rows
        self.score_batch_tokens = score_batch_tokens
        self.prefix_cache = PrefixCache(block_size, prefix_cache_tokens) if prefix_cache_tokens else None
        self.stats = BackendStats()
        self._lock = threading.RLock()
        self._num_layers = config.num_hidden_layers
        self._kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        self._head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self._bool_masks = config._attn_implementation == "sdpa"
        eos = self.model.generation_config.eos_token_id
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        self.eos_token_ids = frozenset(eos + [self.tokenizer.eos_token_id])

    # ------------------------------------------------------------------ public interface
    @_serialized
    @torch.inference_mode()
    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Sample ``params.n`` completions per request; one prefill per prompt, all rows decoded together."""
        results: list[list[Completion]] = [[] for _ in requests]
        group: list[int] = []
        rows = 0
        for index, request in enumerate(requests):
            if group and rows + request.params.n > self.max_batch_rows:
                self._generate_group(requests, group, results)
                group, rows = [], 0
            group.append(index)
            rows += request.params.n
        if group:
            self._generate_group(requests, group, results)
        return results

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]:
        """Summed log-probability of each continuation given ``prompt``; one batched pass over the prefix."""
        return self.score_many([(prompt, continuations)])[0]

    @_serialized
    @torch.inference_mode()
    def score_many(self, items: Sequence[tuple[Prompt, Sequence[str]]]) -> list[list[float]]:
        """:meth:`score` for several prompts, batched: the uncached part of every prompt and all of its
        continuations run in one forward pass (chunked by ``score_batch_tokens``)."""
        jobs = []
        for prompt, continuations in items:
            suffixes = [encode_continuation(self.tokenizer, text) for text in continuations]
            longest = max((len(s) for s in suffixes), default=0)
            jobs.append((encode_prompt(self.tokenizer, prompt, self._budget(longest)), suffixes))
        return [[float(sum(lps)) for lps in per_token] for per_token in self._score_jobs(jobs)]

    @_serialized
    @torch.inference_mode()
    def prompt_logprobs(self, prompts: Sequence[Sequence[int]]) -> list[list[float | None]]:
        """Log-probability of every token of each prompt given the tokens before it (``None`` for the first).

        The prompts' longest common prefix is run once, then the rest of each prompt in one batched pass:
        how an OpenAI ``echo=True, logprobs`` request over candidate completions stays cheap.
        """
        prompts = [list(p) for p in prompts]
        if not prompts or any(not p for p in prompts):
            raise ConfigError("Expected non-empty token lists to score.")
        common = os.path.commonprefix(prompts)
        if not common:  # nothing shared: each prompt is its own prefix
            return [self.prompt_logprobs([p])[0] for p in prompts]
        # All logits of the common part (which also puts its KV in the prefix cache), then the tails.
        _, logits = self._prefill(common, all_logits=True)
        head = self._token_logprobs(logits[:-1], common[1:]) if len(common) > 1 else []
        [tails] = self._score_jobs([(common, [p[len(common) :] for p in prompts])])
        return [[None, *head, *tail] for tail in tails]

    def num_tokens(self, prompt: Prompt) -> int:
        """Prompt length in tokens after rendering (untruncated)."""
        return len(encode_prompt(self.tokenizer, prompt, budget=1 << 62))

    # ------------------------------------------------------------------ prefill and KV buffers
    def _budget(self, new_tokens: int) -> int:
        budget = self.max_context - new_tokens
        if budget < 1:
            raise ConfigError(
                f"Expected fewer than {self.max_context} new tokens (the context window), got {new_tokens}."
            )
        return budget

    def _layers(self, batch: int, capacity: int) -> list[_BufferLayer]:
        shape = (batch, self._kv_heads, capacity, self._head_dim)
        dtype = self.model.dtype
        # Zeros, not empty: masked slots still enter attention as 0 * value, and garbage may hold NaNs.
        return [
            _BufferLayer(torch.zeros(shape, dtype=dtype, device=self.device),
                         torch.zeros(shape, dtype=dtype, device=self.device))
            for _ in range(self._num_layers)
        ]

    def _mask(self, allowed: torch.Tensor) -> torch.Tensor:
        """A 4-D ``[batch, 1, query, key]`` mask in the form the attention implementation expects."""
        return attention_mask(allowed, boolean=self._bool_masks, dtype=self.model.dtype)

    def _causal(self, queries: int, past: int) -> torch.Tensor:
        """Causal mask ``[1, 1, queries, past + queries]`` for ``queries`` new tokens after ``past`` ones."""
        keys = torch.arange(past + queries, device=self.device)
        rows = torch.arange(queries, device=self.device)[:, None] + past
        return self._mask((keys[None, :] <= rows)[None, None])

    def _forward(self, input_ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor,
                 layers: list[_BufferLayer], all_logits: bool = False) -> torch.Tensor:
        self.stats.forward_calls += 1
        self.stats.computed_tokens += input_ids.numel()
        out = self.model(
            input_ids=input_ids,
            position_ids=positions,
            attention_mask=mask,
            cache=Cache(layers=layers),
            use_cache=True,
            logits_to_keep=0 if all_logits else 1,
        )
        return out.logits.float()

    def _hidden(self, input_ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor,
                layers: list[_BufferLayer]) -> torch.Tensor:
        """Last hidden states of every position (the LM head is applied only where logits are needed)."""
        self.stats.forward_calls += 1
        self.stats.computed_tokens += input_ids.numel()
        backbone = getattr(self.model, self.model.base_model_prefix)
        out = backbone(input_ids=input_ids, position_ids=positions, attention_mask=mask,
                       cache=Cache(layers=layers), use_cache=True)
        return out.last_hidden_state

    def _prefill(self, ids: list[int], all_logits: bool = False) -> tuple[KV, torch.Tensor]:
        """KV of ``ids`` ``[1, heads, len, dim]`` per layer, and the last position's logits (or all of them).

        With ``all_logits`` every position's logits are needed, so no cached KV is read (the cache is only
        fed).
        """
        length = len(ids)
        cached, cached_kv = (0, None)
        if self.prefix_cache is not None and not all_logits:
            # Leave at least one token to run: its logits predict the first new token.
            cached, cached_kv = self.prefix_cache.lookup(ids, limit=length - 1)
        layers = self._layers(1, length)
        if cached_kv is not None:
            for layer, (k, v) in zip(layers, cached_kv, strict=False):
                layer.keys_buffer[:, :, :cached] = k
                layer.values_buffer[:, :, :cached] = v
                layer._set_length(cached)
        new = torch.tensor([ids[cached:]], device=self.device)
        positions = torch.arange(cached, length, device=self.device)[None]
        logits = self._forward(new, positions, self._causal(length - cached, cached), layers, all_logits)[0]
        kv = [(layer.keys_buffer, layer.values_buffer) for layer in layers]
        self.stats.prompt_tokens += length
        self.stats.cached_tokens += cached
        if self.prefix_cache is not None:
            self.prefix_cache.insert(ids, kv)
        return kv, logits

    # ------------------------------------------------------------------ scoring
    @staticmethod
    def _token_logprobs(logits: torch.Tensor, targets: Sequence[int]) -> list[float]:
        logprobs = torch.log_softmax(logits, dim=-1)
        index = torch.tensor(list(targets), device=logits.device)[:, None]
        return logprobs.gather(-1, index)[:, 0].tolist()

    def _score_jobs(self, jobs: Sequence[ScoreJob]) -> list[list[list[float]]]:
        """Per-token log-probs of each job's suffixes after its prefix, jobs batched into few passes.

        Jobs with the same prefix run as one row, each distinct suffix once: an agent asking for its
        greedy and its sampled actions at one state scores the same valid actions twice at once, and the
        prefix cache cannot share them (a pass looks it up before it fills it). Rows of a similar shape
        (cached prefix, new tokens) share a pass (:func:`similar_rows`), about ``score_batch_tokens`` new
        tokens at most: on a CPU a pass gains little from its batch, and padding costs what tokens cost.
        """
        rows: dict[tuple[int, ...], dict[tuple[int, ...], int]] = {}  # prefix -> suffix -> index in its row
        for prefix, suffixes in jobs:
            row = rows.setdefault(tuple(prefix), {})
            for suffix in suffixes:
                row.setdefault(tuple(suffix), len(row))
        merged: list[ScoreJob] = [(list(prefix), list(row)) for prefix, row in rows.items()]
        shapes = []
        for prefix, suffixes in merged:
            cached = self._cached_length(prefix)
            shapes.append((cached, len(prefix) - cached + sum(max(len(s) - 1, 0) for s in suffixes)))
        per_row: list[list[list[float]]] = [[] for _ in merged]
        for group in similar_rows(shapes):
            chunk: list[int] = []
            for index in group:  # by new width, so a chunk's rows pad little
                if chunk and (len(chunk) + 1) * shapes[index][1] > self.score_batch_tokens:
                    self._score_batch([merged[i] for i in chunk], [per_row[i] for i in chunk])
                    chunk = []
                chunk.append(index)
            self._score_batch([merged[i] for i in chunk], [per_row[i] for i in chunk])
        by_prefix = {prefix: per_row[i] for i, prefix in enumerate(rows)}
        return [
            [by_prefix[tuple(prefix)][rows[tuple(prefix)][tuple(suffix)]] for suffix in suffixes]
            for prefix, suffixes in jobs
        ]

    def _cached_length(self, ids: Sequence[int]) -> int:
        """Prefix-cache tokens a pass over ``ids`` would read (at least one token is always run)."""
        return self.prefix_cache.cached_length(ids, len(ids) - 1) if self.prefix_cache else 0

    def _score_batch(self, jobs: Sequence[ScoreJob], out: list[list[list[float]]]) -> None:
        """One :meth:`_extend` pass over ``jobs``; appends each suffix's per-token log-probs to ``out``."""
        pass_ = self._extend(jobs)
        # Positions whose hidden state predicts a suffix token, and those tokens.
        picks, targets, lengths = [], [], []
        for r, ((prefix, suffixes), cached) in enumerate(zip(jobs, pass_.cached, strict=True)):
            last_tail, start = len(prefix) - cached - 1, len(prefix) - cached
            for suffix in suffixes:
                if suffix:
                    picks += [(r, last_tail)] + [(r, start + i) for i in range(len(suffix) - 1)]
                    targets += list(suffix)
                start += max(len(suffix) - 1, 0)
                lengths.append(len(suffix))
        logprobs: list[float] = []
        if picks:
            logits = self._logits(pass_.hidden, picks)
            index = torch.tensor(targets, device=self.device)[:, None]
            logprobs = torch.log_softmax(logits, dim=-1).gather(-1, index)[:, 0].tolist()
        cursor, position = 0, 0
        for r, (_, suffixes) in enumerate(jobs):
            for _ in suffixes:
                out[r].append(logprobs[position : position + lengths[cursor]])
                position += lengths[cursor]
                cursor += 1

    def _logits(self, hidden: torch.Tensor, picks: Sequence[tuple[int, int]]) -> torch.Tensor:
        """LM-head logits at the ``(row, column)`` positions of ``hidden`` only."""
        index = torch.tensor(picks, device=self.device)
        return self.model.get_output_embeddings()(hidden[index[:, 0], index[:, 1]]).float()

    def _extend(self, jobs: Sequence[ScoreJob], known: tuple[int, KV] | None = None) -> _Pass:
        """One forward pass: per row, a job's cached prefix KV, then its uncached prefix tail and all of its
        suffixes packed one after another (each suffix sees the whole prefix and its own earlier tokens,
        never another suffix). Every prefix's KV goes to the prefix cache.

        Layout of row ``r`` (cached length ``c``, tail ``t``): cached KV right-aligned to column ``C``
        (the longest cached prefix), new tokens from column ``C``, right-padded to the widest row. The KV
        of ``known`` (a length and its KV, batch row 0) stands in for the cache where it is longer.
        """
        cached_lengths, cached_kvs = [], []
        for prefix, _ in jobs:
            cached, cached_kv = 0, None
            if self.prefix_cache is not None:
                # Leave at least one token to run: its hidden state predicts what follows the prefix.
                cached, cached_kv = self.prefix_cache.lookup(prefix, limit=len(prefix) - 1)
            if known is not None and cached < known[0] < len(prefix):
                cached, cached_kv = known[0], [(k[:, :, : known[0]], v[:, :, : known[0]])
                                               for k, v in known[1]]
            cached_lengths.append(cached)
            cached_kvs.append(cached_kv)
        width_cached = max(cached_lengths)
        width = max(
            len(prefix) - cached + sum(max(len(s) - 1, 0) for s in suffixes)
            for (prefix, suffixes), cached in zip(jobs, cached_lengths, strict=True)
        )
        batch = len(jobs)
        layers = self._layers(batch, width_cached + width)
        input_ids = torch.full((batch, width), self.tokenizer.pad_token_id, dtype=torch.long)
        positions = torch.zeros((batch, width), dtype=torch.long)
        group = torch.full((batch, width), -2, dtype=torch.long)  # -1: prefix tail, k: suffix k, -2: padding
        offset = torch.zeros((batch, width), dtype=torch.long)
        cached_keys = torch.zeros((batch, width_cached), dtype=torch.bool)
        for r, ((prefix, suffixes), cached, cached_kv) in enumerate(
            zip(jobs, cached_lengths, cached_kvs, strict=True)
        ):
            if cached_kv is not None:
                for layer, (k, v) in zip(layers, cached_kv, strict=False):
                    layer.keys_buffer[r, :, width_cached - cached : width_cached] = k[0]
                    layer.values_buffer[r, :, width_cached - cached : width_cached] = v[0]
                cached_keys[r, width_cached - cached :] = True
            tail = len(prefix) - cached
            tokens = list(prefix[cached:])
            groups, offsets = [-1] * tail, list(range(tail))
            for k, suffix in enumerate(suffixes):
                tokens += suffix[:-1]
                groups += [k] * (len(suffix) - 1)
                offsets += list(range(len(suffix) - 1))
            input_ids[r, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            group[r, : len(tokens)] = torch.tensor(groups, dtype=torch.long)
            offset[r, : len(tokens)] = torch.tensor(offsets, dtype=torch.long)
            positions[r, : len(tokens)] = torch.tensor(
                [cached + o if g < 0 else len(prefix) + o for g, o in zip(groups, offsets, strict=True)],
                dtype=torch.long,
            )
        for layer in layers:
            layer._set_length(width_cached)
        allowed_cached = cached_keys[:, None, :] & (group != -2)[:, :, None]
        allowed = torch.cat([allowed_cached, packed_allowed(group, offset)], dim=2)[:, None]
        hidden = self._hidden(input_ids.to(self.device), positions.to(self.device),
                              self._mask(allowed.to(self.device)), layers)
        for r, ((prefix, suffixes), cached) in enumerate(zip(jobs, cached_lengths, strict=True)):
            self.stats.prompt_tokens += len(prefix)
            self.stats.cached_tokens += cached
            self.stats.scored_tokens += sum(max(len(s) - 1, 0) for s in suffixes)
            if self.prefix_cache is not None:
                self.prefix_cache.insert(prefix, _Pass.row_kv(layers, width_cached, r, cached, len(prefix)))
        return _Pass(layers, width_cached, cached_lengths, hidden)

    # ------------------------------------------------------------------ generation
    def _prompt_passes(
        self, encoded: list[list[int]], known: tuple[int, KV] | None
    ) -> tuple[list[KV], torch.Tensor]:
        """Each prompt's KV and its last position's logits, prompts of a similar shape sharing a pass.

        A row of a pass is padded to the widest uncached tail, and its attention to the longest cached
        prefix; that padding costs what real tokens cost, and on a CPU a prefill gains little from
        sharing a pass, so rows share one only while the padding stays small (:func:`similar_rows`).
        """
        shapes = []
        for ids in encoded:
            cached = self._cached_length(ids)
            if known is not None and cached < known[0] < len(ids):
                cached = known[0]
            shapes.append((cached, len(ids) - cached))
        kvs: list[KV] = [[] for _ in encoded]
        logits: list[torch.Tensor] = [torch.empty(0) for _ in encoded]
        for rows in similar_rows(shapes):
            pass_ = self._extend([(encoded[i], ()) for i in rows], known=known)
            ends = []
            for r, (i, cached) in enumerate(zip(rows, pass_.cached, strict=True)):
                kvs[i] = _Pass.row_kv(pass_.layers, pass_.width_cached, r, cached, len(encoded[i]))
                ends.append((r, len(encoded[i]) - cached - 1))
            for i, row_logits in zip(rows, self._logits(pass_.hidden, ends), strict=True):
                logits[i] = row_logits
        return kvs, torch.stack(logits)

    def _generate_group(self, requests: Sequence[Request], group: list[int],
                        results: list[list[Completion]]) -> None:
        encoded = [
            encode_prompt(self.tokenizer, requests[i].prompt, self._budget(requests[i].params.max_tokens))
            for i in group
        ]
        # Requests with the same prompt (an agent's greedy and sampled actions at one state) prefill it
        # once: the prefix cache cannot share it, since a pass looks the cache up before it fills it.
        unique: dict[tuple[int, ...], int] = {}
        prompt_of = [unique.setdefault(tuple(ids), len(unique)) for ids in encoded]
        distinct = [list(ids) for ids in unique]
        # The prefix every prompt of the group shares runs once, to the token (the block cache only
        # shares whole blocks); each prompt then runs its own tail.
        shared_length = len(os.path.commonprefix(distinct))
        known = None
        if len(distinct) > 1 and shared_length > 1:
            known = (shared_length, self._prefill(distinct[0][:shared_length])[0])
        kvs, last_logits = self._prompt_passes(distinct, known)
        del known
        # Each prompt's KV is kept once for decoding (RowPrompts); each row holds only what it generates.
        prompts = RowPrompts([[(k[0], v[0]) for k, v in kv] for kv in kvs], [])
        del kvs
        capacity = max(requests[i].params.max_tokens for i in group)
        samples: list[_Sample] = []
        first_logits, positions = [], []
        # Rows of one prompt stay contiguous, so decoding reads each prompt's KV in one span.
        for position in sorted(range(len(group)), key=prompt_of.__getitem__):
            i, ids, index = group[position], encoded[position], prompt_of[position]
            params = requests[i].params
            generator = None
            if params.temperature > 0:
                generator = torch.Generator(device=self.device)
                seed = params.seed if params.seed is not None else int(torch.randint(0, 2**62, ()).item())
                generator.manual_seed(seed)
            for _ in range(params.n):
                samples.append(_Sample(i, generator, params, [], []))
                positions.append(len(ids))
                prompts.row_prompt.append(index)
            first_logits.append(last_logits[index].expand(params.n, -1))
        layers = self._layers(len(samples), capacity)
        # Every live row has generated as many tokens as the others: all of its own columns are real.
        attend = torch.ones((len(samples), capacity), dtype=torch.bool, device=self.device)
        logits = torch.cat(first_logits)
        positions_t = torch.tensor(positions, device=self.device)
        live = list(range(len(samples)))  # sample index of each batch row
        with _decoding_with_row_prompts(self.model, prompts):
            while True:
                tokens = self._sample_step(logits, [samples[s] for s in live])
                if all(samples[s].finish_reason for s in live):
                    break
                finished = [r for r, s in enumerate(live) if samples[s].finish_reason]
                if len(finished) * 4 >= len(live):  # drop finished rows once they are a quarter of the batch
                    keep = [r for r, s in enumerate(live) if not samples[s].finish_reason]
                    index = torch.tensor(keep, device=self.device)
                    for layer in layers:
                        layer.batch_select_indices(index)
                    attend, positions_t, tokens = attend[index], positions_t[index], tokens[index]
                    live = [live[r] for r in keep]
                    prompts.keep(keep)
                column = layers[0].length
                mask = attend[:, None, None, : column + 1]
                logits = self._forward(tokens[:, None], positions_t[:, None], mask, layers)[:, -1]
                positions_t = positions_t + 1
        for sample in samples:
            results[sample.request].append(self._finish(sample))

    def _sample_step(self, logits: torch.Tensor, rows: list[_Sample]) -> torch.Tensor:
        """Pick one token per row (rows already finished keep a placeholder) and update the samples."""
        logprobs = torch.log_softmax(logits, dim=-1)
        tokens = torch.full((len(rows),), self.tokenizer.pad_token_id, dtype=torch.long, device=self.device)
        start = 0
        while start < len(rows):
            stop = start
            while stop < len(rows) and rows[stop].request == rows[start].request:
                stop += 1
            active = [r for r in range(start, stop) if rows[r].finish_reason is None]
            if active:
                index = torch.tensor(active, device=self.device)
                tokens[index] = self._pick(logits[index], rows[start].params, rows[start].generator)
            start = stop
        picked = logprobs.gather(-1, tokens[:, None])[:, 0].tolist()
        for row, sample in enumerate(rows):
            if sample.finish_reason is None:
                self._append(sample, int(tokens[row]), picked[row])
        return tokens

    @staticmethod
    def _pick(
        logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None
    ) -> torch.Tensor:
        if params.temperature == 0:
            return logits.argmax(dim=-1)
        logits = logits / params.temperature
        if params.top_p < 1:
            logits = nucleus(logits, params.top_p)
        # One draw per row by inverse CDF: torch.multinomial draws an exponential variate for every
        # vocabulary entry, a quarter of the decode time with a 49k-token vocabulary on CPU.
        cdf = logits.softmax(dim=-1).cumsum(dim=-1)
        uniform = torch.rand((logits.shape[0], 1), generator=generator, device=logits.device)
        # right=True: a token of probability 0 has the same CDF as the one before it, so it is never drawn.
        tokens = torch.searchsorted(cdf, uniform * cdf[:, -1:], right=True)[:, 0]
        return tokens.clamp_(max=logits.shape[-1] - 1)

    def _append(self, sample: _Sample, token: int, logprob: float) -> None:
        sample.token_ids.append(token)
        sample.token_logprobs.append(logprob)
        self.stats.generated_tokens += 1
        if token in self.eos_token_ids:
            sample.finish_reason = "stop"
            return
        if sample.params.stop:
            text = self.tokenizer.decode(sample.token_ids, skip_special_tokens=True)
            hits = [found for stop in sample.params.stop if (found := text.find(stop)) >= 0]
            if hits:
                sample.text = text[: min(hits)]
                sample.finish_reason = "stop"
                return
        if len(sample.token_ids) >= sample.params.max_tokens:
            sample.finish_reason = "length"

    def _finish(self, sample: _Sample) -> Completion:
        if sample.text is None:
            ids = sample.token_ids
            if ids and ids[-1] in self.eos_token_ids:
                ids = ids[:-1]
            sample.text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Completion(
            text=sample.text,
            num_tokens=len(sample.token_ids),
            logprob=float(sum(sample.token_logprobs)),
            finish_reason=sample.finish_reason or "length",
            token_ids=tuple(sample.token_ids),
            token_logprobs=tuple(sample.token_logprobs),
        )

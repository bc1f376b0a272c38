"""hf backend on tiny-random: shapes, sampling controls, and exactness against plain transformers."""

from __future__ import annotations

import dataclasses
import math
import os

import pytest
import torch

from agentsearch.errors import ConfigError
from agentsearch.llm.base import Completion, Request, SamplingParams
from agentsearch.llm.hf import HFBackend, PrefixCache, nucleus, packed_allowed

CHAT = [
    {"role": "system", "content": "You are a shopping agent. Buy what the user asks for."},
    {"role": "user", "content": "I need a red cotton t-shirt under 20 dollars."},
]


def greedy(max_tokens: int = 8, **kw) -> SamplingParams:
    return SamplingParams(temperature=0, max_tokens=max_tokens, **kw)


def plain_greedy(backend: HFBackend, ids: list[int], max_tokens: int) -> list[int]:
    out = backend.model.generate(
        torch.tensor([ids]),
        attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        max_new_tokens=max_tokens,
        do_sample=False,
    )
    return out[0, len(ids) :].tolist()


def plain_logprob_sum(backend: HFBackend, prompt_ids: list[int], continuation_ids: list[int]) -> float:
    ids = torch.tensor([prompt_ids + continuation_ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(backend.model(ids).logits[0].float(), dim=-1)
    start = len(prompt_ids)
    return sum(float(logprobs[start - 1 + j, token]) for j, token in enumerate(continuation_ids))


def test_generate_returns_n_samples_per_request_in_order(tiny):
    requests = [
        Request(CHAT, SamplingParams(n=3, temperature=1.0, max_tokens=6, seed=0)),
        Request("Once upon a time", SamplingParams(n=1, temperature=0.7, max_tokens=4, seed=1)),
        Request("Q: 2+2? A:", SamplingParams(n=2, temperature=0, max_tokens=5)),
    ]
    results = tiny.generate(requests)
    assert [len(r) for r in results] == [3, 1, 2]
    for request, samples in zip(requests, results, strict=True):
        for sample in samples:
            assert isinstance(sample, Completion)
            assert 1 <= sample.num_tokens <= request.params.max_tokens
            assert sample.num_tokens == len(sample.token_ids) == len(sample.token_logprobs)
            assert sample.logprob == pytest.approx(sum(sample.token_logprobs))
            assert math.isfinite(sample.logprob) and sample.logprob < 0
            assert sample.finish_reason in ("stop", "length")
    assert results[2][0] == results[2][1]  # greedy samples are identical
    assert tiny.generate([]) == []


def test_each_prompt_is_prefilled_once_for_its_n_samples(fresh_tiny):
    ids = fresh_tiny.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True)["input_ids"]
    fresh_tiny.generate([Request(CHAT, SamplingParams(n=5, max_tokens=3, seed=0))])
    assert fresh_tiny.stats.prompt_tokens == len(ids)


def test_requests_with_one_prompt_prefill_it_once_and_sample_as_they_do_alone(fresh_tiny):
    # An agent's greedy step and its sampled candidates at one state arrive in one call.
    ids = fresh_tiny.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True)["input_ids"]
    greedy_step = Request(CHAT, greedy(5))
    sampled = Request(CHAT, SamplingParams(n=3, temperature=1.0, max_tokens=5, seed=4))
    other = Request("Once upon a time", greedy(4))
    together = fresh_tiny.generate([greedy_step, other, sampled])
    assert fresh_tiny.stats.prompt_tokens - fresh_tiny.stats.cached_tokens <= len(ids) + len(
        fresh_tiny.tokenizer("Once upon a time")["input_ids"]
    )
    alone = [fresh_tiny.generate([r])[0] for r in (greedy_step, other, sampled)]
    assert [[s.token_ids for s in r] for r in together] == [[s.token_ids for s in r] for r in alone]


def test_greedy_matches_plain_generate_across_a_padded_batch(tiny):
    prompts = ["The capital of France is", CHAT, "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3]
    max_tokens = 10
    results = tiny.generate([Request(p, greedy(max_tokens)) for p in prompts])
    for prompt, [sample] in zip(prompts, results, strict=True):
        ids = (
            tiny.tokenizer(prompt).input_ids
            if isinstance(prompt, str)
            else tiny.tokenizer.apply_chat_template(prompt, add_generation_prompt=True)["input_ids"]
        )
        assert list(sample.token_ids) == plain_greedy(tiny, ids, max_tokens)


def test_greedy_matches_plain_generate_for_siblings_sharing_a_prefix(tiny):
    siblings = [
        CHAT + [{"role": "assistant", "content": a}, {"role": "user", "content": o}]
        for a, o in [("search[red shirt]", "3 results"), ("click[item 2]", "Price: $12. Buy Now")]
    ]
    results = tiny.generate([Request(p, greedy(8, n=2)) for p in siblings])
    for prompt, samples in zip(siblings, results, strict=True):
        ids = tiny.tokenizer.apply_chat_template(prompt, add_generation_prompt=True)["input_ids"]
        assert [list(s.token_ids) for s in samples] == [plain_greedy(tiny, ids, 8)] * 2


def test_a_shared_prefix_runs_once_per_generate_call_even_without_the_cache():
    backend = HFBackend("tiny-random", prefix_cache_tokens=0)
    siblings = [CHAT + [{"role": "assistant", "content": a}] for a in ("search[red shirt]", "click[item 2]")]
    render = backend.tokenizer.apply_chat_template
    ids = [render(p, add_generation_prompt=True)["input_ids"] for p in siblings]
    shared = len(os.path.commonprefix(ids))
    backend.generate([Request(p, greedy(2)) for p in siblings])
    computed = backend.stats.prompt_tokens - backend.stats.cached_tokens
    assert computed == len(ids[0]) + len(ids[1]) - shared


def test_counters_count_scored_continuations_and_every_position_run_padding_included():
    backend = HFBackend("tiny-random", prefix_cache_tokens=0)
    ids = backend.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True)["input_ids"]
    [[sample]] = backend.generate([Request(CHAT, greedy(6))])
    # The prompt once, then every generated token but the last, run as one decode row.
    assert backend.stats.computed_tokens == len(ids) + sample.num_tokens - 1
    encode = lambda text: backend.tokenizer(text, add_special_tokens=False).input_ids  # noqa: E731
    before = backend.stats.computed_tokens
    continuations = ["click[Buy Now]", "x", ""]
    backend.score(CHAT, continuations)
    run = sum(max(len(encode(c)) - 1, 0) for c in continuations)  # a continuation's last token is not run
    assert backend.stats.scored_tokens == run
    assert backend.stats.computed_tokens - before == len(ids) + run  # one row: no padding
    # Two rows of different widths in one pass: the narrow one is padded to the wide one.
    stats = dataclasses.replace(backend.stats)
    backend.score_many([(CHAT, ["a long answer with many words"]), ("Hi", ["x"])])
    wide = len(ids) + len(encode("a long answer with many words")) - 1
    scored = backend.stats.scored_tokens - stats.scored_tokens
    real = len(ids) + len(backend.tokenizer("Hi").input_ids) + scored
    assert backend.stats.forward_calls == stats.forward_calls + 1
    assert backend.stats.computed_tokens - stats.computed_tokens == 2 * wide > real


def test_jobs_sharing_a_prompt_score_it_once_and_each_distinct_continuation_once():
    backend = HFBackend("tiny-random", prefix_cache_tokens=0)
    actions = ["click[Buy Now]", "click[< Prev]", "search[red shirt]"]
    [alone] = backend.score_many([(CHAT, actions)])
    alone_cost = backend.stats.computed_tokens
    # An agent's greedy and sampled proposals at one state: the same valid actions, asked for at once.
    first, second, subset = backend.score_many([(CHAT, actions), (CHAT, actions), (CHAT, actions[1:])])
    assert backend.stats.computed_tokens - alone_cost == alone_cost
    assert first == second == pytest.approx(alone, abs=1e-4)
    assert subset == pytest.approx(alone[1:], abs=1e-4)


def test_a_prompt_mostly_cached_does_not_share_a_pass_with_one_run_in_full():
    backend = HFBackend("tiny-random", block_size=4)
    history = CHAT + [{"role": "assistant", "content": "search[red shirt]"},
                      {"role": "user", "content": "Results: item 1, item 2, item 3, item 4, item 5, item 6."}]
    backend.score(history, ["click[item 1]"])  # the history's KV goes to the prefix cache
    later = history + [{"role": "assistant", "content": "click[item 1]"}, {"role": "user", "content": "ok"}]
    other = " ".join(["A different task, with a long description of what to buy and nothing cached."] * 12)
    stats = dataclasses.replace(backend.stats)
    together = backend.score_many([(later, ["click[Buy Now]"]), (other, ["click[Buy Now]"])])
    assert backend.stats.forward_calls - stats.forward_calls == 2
    fresh = HFBackend("tiny-random", prefix_cache_tokens=0)
    assert together == [pytest.approx(fresh.score(p, ["click[Buy Now]"]), abs=1e-4) for p in (later, other)]


def test_sampled_token_logprobs_match_a_plain_forward(tiny):
    [[sample]] = tiny.generate([Request(CHAT, SamplingParams(temperature=1.0, max_tokens=6, seed=3))])
    ids = tiny.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True)["input_ids"]
    assert sample.logprob == pytest.approx(plain_logprob_sum(tiny, ids, list(sample.token_ids)), abs=1e-3)


def test_seeds_reproduce_and_differ(tiny):
    def run(seed):
        params = SamplingParams(n=3, temperature=1.0, max_tokens=6, seed=seed)
        [samples] = tiny.generate([Request(CHAT, params)])
        return [s.token_ids for s in samples]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert len(set(run(7))) > 1  # the n samples of one request differ from each other


def test_seeded_request_is_unaffected_by_its_batch_neighbours(tiny):
    mine = Request(CHAT, SamplingParams(n=2, temperature=1.0, max_tokens=6, seed=11))
    other = Request("unrelated words", SamplingParams(n=3, temperature=1.0, max_tokens=3, seed=5))
    alone = tiny.generate([mine])[0]
    batched = tiny.generate([other, mine])[1]
    assert [s.token_ids for s in alone] == [s.token_ids for s in batched]


def sorted_nucleus(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """The textbook top-p filter: sort the vocabulary, drop a token once the mass before it reaches top_p."""
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
    keep = probs.cumsum(dim=-1) - probs < top_p
    return logits.masked_fill(~torch.zeros_like(keep).scatter(-1, order, keep), float("-inf"))


@pytest.mark.parametrize("scale", [0.1, 1.0, 8.0])  # 0.1: flat rows, whose nucleus lies beyond the top 64
@pytest.mark.parametrize("top_p", [0.05, 0.5, 0.9, 0.99])
def test_nucleus_equals_a_full_sort(scale: float, top_p: float) -> None:
    logits = torch.randn(6, 49152, generator=torch.Generator().manual_seed(0)) * scale
    expected = sorted_nucleus(logits, top_p)
    assert torch.equal(nucleus(logits, top_p).isinf(), expected.isinf())
    assert bool((~nucleus(logits, top_p).isinf()).any(dim=-1).all())  # the most likely token always stays


def test_tiny_top_p_is_greedy(tiny):
    params = SamplingParams(temperature=1.0, top_p=1e-6, max_tokens=6, seed=0)
    [[nucleus]] = tiny.generate([Request(CHAT, params)])
    [[argmax]] = tiny.generate([Request(CHAT, greedy(6))])
    assert nucleus.token_ids == argmax.token_ids


def test_stop_string_ends_the_sample_and_is_not_returned(tiny):
    params = SamplingParams(temperature=1.0, max_tokens=12, seed=0)
    [[free]] = tiny.generate([Request(CHAT, params)])
    decode = lambda ids: tiny.tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
    # Stop on the text of a later generated token that first appears there: the sample must end right there.
    for k in range(2, 10):
        cut = len(decode(free.token_ids[:k]))
        stop = decode(free.token_ids[: k + 1])[cut:]
        if stop and free.text.find(stop) == cut:
            break
    else:
        pytest.fail("no usable stop string in the free sample")
    stopped_params = SamplingParams(temperature=1.0, max_tokens=12, seed=0, stop=(stop, "never appears"))
    [[stopped]] = tiny.generate([Request(CHAT, stopped_params)])
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:cut]
    assert stopped.num_tokens == k + 1  # the tokens of the stop string count
    assert stopped.token_ids == free.token_ids[: k + 1]


def test_max_tokens_gives_length_finish(tiny):
    [[sample]] = tiny.generate([Request("Hello", greedy(3))])
    assert (sample.num_tokens, sample.finish_reason) == (3, "length")


def test_eos_ends_a_sample_with_stop(tiny):
    # Force EOS by making it the only token the nucleus keeps: bias the model's output towards it.
    eos = tiny.tokenizer.eos_token_id
    bias = torch.zeros(tiny.model.config.vocab_size)
    bias[eos] = 1e4
    handle = tiny.model.lm_head.register_forward_hook(lambda module, args, out: out + bias)
    try:
        [[sample]] = tiny.generate([Request("Hello", greedy(5))])
    finally:
        handle.remove()
    assert (sample.num_tokens, sample.finish_reason, sample.text) == (1, "stop", "")
    assert sample.token_ids == (eos,)


def test_prefix_cache_hit_gives_the_same_logprobs_as_a_cold_run():
    warm = HFBackend("tiny-random", block_size=8)
    cold = HFBackend("tiny-random", prefix_cache_tokens=0)
    shared = [CHAT[0], {"role": "user", "content": CHAT[1]["content"] + " Also, " + "search well. " * 10}]
    sibling = shared[:1] + [{"role": "user", "content": shared[1]["content"] + " Blue is fine too."}]
    warm.generate([Request(shared, greedy(4))])
    before = warm.stats.cached_tokens
    params = SamplingParams(n=2, temperature=1.0, max_tokens=6, seed=4)
    hot = warm.generate([Request(sibling, params)])[0]
    assert warm.stats.cached_tokens - before >= 32  # the shared blocks came from the cache
    reference = cold.generate([Request(sibling, params)])[0]
    assert cold.stats.cached_tokens == 0
    assert [s.token_ids for s in hot] == [s.token_ids for s in reference]
    for a, b in zip(hot, reference, strict=True):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
    candidates = ["Buy it", "No"]
    assert warm.score(sibling, candidates) == pytest.approx(cold.score(sibling, candidates), abs=1e-4)


def test_score_equals_a_hand_computed_log_softmax_sum(tiny):
    continuations = ["search[red cotton t-shirt]", "click[Buy Now]", "x", ""]
    scores = tiny.score(CHAT, continuations)
    ids = tiny.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True)["input_ids"]
    for text, score in zip(continuations, scores, strict=True):
        expected = plain_logprob_sum(tiny, ids, tiny.tokenizer(text, add_special_tokens=False).input_ids)
        assert score == pytest.approx(expected, abs=1e-3)
    assert scores[-1] == 0.0


def test_score_runs_the_prompt_and_all_continuations_in_one_pass():
    backend = HFBackend("tiny-random", prefix_cache_tokens=0)
    backend.score(CHAT, ["a long answer with many words", "short", "click[Buy Now]", "b", "think[ok]"])
    assert backend.stats.forward_calls == 1  # the prompt once, every continuation packed after it


def test_score_many_batches_prompts_with_different_cached_prefixes_in_one_pass():
    backend = HFBackend("tiny-random", block_size=8)
    long_chat = [CHAT[0], {"role": "user", "content": CHAT[1]["content"] + " Also, " + "search well. " * 10}]
    backend.score(long_chat, ["warm"])  # puts the long chat's blocks in the prefix cache
    before = backend.stats.forward_calls, backend.stats.cached_tokens
    sibling = long_chat[:1] + [{"role": "user", "content": long_chat[1]["content"] + " Blue too."}]
    items = [(sibling, ["Buy it", "No", ""]), ("The sky is", [" blue", " green today"]), (CHAT, ["x"])]
    scores = backend.score_many(items)
    assert backend.stats.forward_calls == before[0] + 1  # three prompts, one forward pass
    assert backend.stats.cached_tokens - before[1] >= 32  # the sibling's shared blocks were reused
    for (prompt, continuations), got in zip(items, scores, strict=True):
        if isinstance(prompt, str):
            ids = backend.tokenizer(prompt).input_ids
        else:
            ids = backend.tokenizer.apply_chat_template(prompt, add_generation_prompt=True)["input_ids"]
        for text, score in zip(continuations, got, strict=True):
            suffix = backend.tokenizer(text, add_special_tokens=False).input_ids
            assert score == pytest.approx(plain_logprob_sum(backend, ids, suffix), abs=1e-3)


def test_score_many_matches_score(tiny):
    items = [(CHAT, ["yes", "no thanks"]), ("The sky is", [" blue", " green"])]
    assert tiny.score_many(items) == [pytest.approx(tiny.score(p, c), abs=1e-4) for p, c in items]


def test_prompt_logprobs_match_a_plain_forward(tiny):
    base = tiny.tokenizer("The quick brown fox").input_ids
    prompts = [
        base + tiny.tokenizer(" jumps", add_special_tokens=False).input_ids,
        base + tiny.tokenizer(" sleeps all day", add_special_tokens=False).input_ids,
    ]
    for prompt, logprobs in zip(prompts, tiny.prompt_logprobs(prompts), strict=True):
        assert logprobs[0] is None and len(logprobs) == len(prompt)
        expected = plain_logprob_sum(tiny, prompt[:1], prompt[1:])
        assert sum(logprobs[1:]) == pytest.approx(expected, abs=1e-3)


def test_long_prompt_is_truncated_to_the_context_keeping_head_and_tail():
    backend = HFBackend("tiny-random", max_context=96)
    history = [CHAT[0], CHAT[1]] + [
        {"role": role, "content": f"turn {i} " + "filler words " * 8}
        for i, role in zip(range(12), ["assistant", "user"] * 6, strict=True)
    ]
    assert backend.num_tokens(history) > 96
    [[sample]] = backend.generate([Request(history, greedy(16))])
    assert sample.num_tokens == 16
    assert backend.stats.prompt_tokens == 96 - 16
    with pytest.raises(ConfigError):
        backend.generate([Request(CHAT, greedy(96))])


def test_prefix_cache_evicts_beyond_capacity():
    cache = PrefixCache(block_size=2, max_tokens=4)
    kv = [(torch.randn(1, 1, 6, 2), torch.randn(1, 1, 6, 2))]
    cache.insert([1, 2, 3, 4, 5, 6], kv)
    assert len(cache) == 2
    assert cache.lookup([9, 9, 9], limit=3) == (0, None)
    found, _ = cache.lookup([1, 2, 3, 4, 5, 6], limit=5)
    assert found == 0  # the first block was evicted (least recently used), so nothing chains from it
    cache.insert([1, 2, 3, 4], kv)
    found, got = cache.lookup([1, 2, 3, 4, 7], limit=4)
    assert found == 4
    assert torch.equal(got[0][0], kv[0][0][:, :, :4])


def test_packed_allowed_isolates_candidates_and_padding() -> None:
    # One row: a 2-token tail, candidate 0 (2 tokens), candidate 1 (1 token), one padding slot.
    group = torch.tensor([-1, -1, 0, 0, 1, -2])
    offset = torch.tensor([0, 1, 0, 1, 0, 0])
    allowed = packed_allowed(group, offset)
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0, 0],  # tail token 0: itself
            [1, 1, 0, 0, 0, 0],  # tail token 1: the tail, causally
            [1, 1, 1, 0, 0, 0],  # candidate 0: the tail and itself
            [1, 1, 1, 1, 0, 0],  # candidate 0, second token: the tail and its own tokens
            [1, 1, 0, 0, 1, 0],  # candidate 1: the tail, never candidate 0
            [0, 0, 0, 0, 0, 1],  # padding: only itself
        ],
        dtype=torch.bool,
    )
    assert torch.equal(allowed, expected)


def test_similar_rows_share_a_pass_and_very_different_rows_do_not() -> None:
    from agentsearch.llm.hf import similar_rows

    # Decode-time prompts (a few new tokens each) batch together; a long fresh prompt runs alone,
    # and so does a short tail behind a long cached prefix next to an uncached one.
    assert similar_rows([(0, 5), (0, 6), (0, 4)]) == [[2, 0, 1]]
    assert similar_rows([(0, 5), (0, 1200), (0, 6)]) == [[0, 2], [1]]
    assert sorted(map(sorted, similar_rows([(1400, 300), (0, 300), (1400, 310)]))) == [[0, 2], [1]]
    assert similar_rows([]) == []


def test_prompts_of_very_different_shapes_generate_as_they_do_alone(tiny):
    long_prompt = "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 20
    prompts = ["The capital of France is", long_prompt, CHAT]
    together = tiny.generate([Request(p, greedy(6)) for p in prompts])
    alone = [tiny.generate([Request(p, greedy(6))])[0] for p in prompts]
    assert [[list(s.token_ids) for s in r] for r in together] == [
        [list(s.token_ids) for s in r] for r in alone
    ]

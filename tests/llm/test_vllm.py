"""vllm backend with real SmolLM2 (runs only where vLLM imports: `bash scripts/test_vllm.sh`)."""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")

import torch  # noqa: E402

from agentsearch.llm.base import Request, SamplingParams  # noqa: E402

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

CHAT = [{"role": "user", "content": "Buy a red shirt. What is your first action?"}]


@pytest.fixture(scope="module")
def vllm_backend():
    from agentsearch.llm.vllm import VLLMBackend

    return VLLMBackend("smollm2-135m", max_model_len=2048)


@pytest.fixture(scope="module")
def plain():
    from agentsearch.llm.models import load_model, load_tokenizer

    return load_model("smollm2-135m"), load_tokenizer("smollm2-135m")


def plain_logprob_sum(plain, prompt_ids, continuation_ids) -> float:
    model, _ = plain
    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids + continuation_ids])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(float(logprobs[len(prompt_ids) - 1 + j, t]) for j, t in enumerate(continuation_ids))


def test_vllm_generates_n_samples_with_logprobs(vllm_backend, plain):
    requests = [Request(CHAT, SamplingParams(n=3, temperature=1.0, max_tokens=12, seed=0)),
                Request("The capital of France is", SamplingParams(n=2, temperature=0, max_tokens=6))]
    results = vllm_backend.generate(requests)
    assert [len(r) for r in results] == [3, 2]
    for samples, request in zip(results, requests, strict=True):
        for s in samples:
            assert 1 <= s.num_tokens <= request.params.max_tokens
            assert s.finish_reason in ("stop", "length")
            assert s.logprob == pytest.approx(sum(s.token_logprobs), abs=1e-3)
    greedy = results[1][0]
    assert greedy == results[1][1]
    _, tokenizer = plain
    prompt_ids = tokenizer("The capital of France is").input_ids
    # vLLM's log-probs are the model's own: they match a plain transformers forward.
    expected = plain_logprob_sum(plain, prompt_ids, list(greedy.token_ids))
    assert greedy.logprob == pytest.approx(expected, abs=0.05)
    assert "Paris" in greedy.text
    again = vllm_backend.generate(requests[:1])[0]
    assert [s.token_ids for s in again] == [s.token_ids for s in results[0]]  # seeded


def test_vllm_scores_like_a_plain_forward(vllm_backend, plain):
    _, tokenizer = plain
    candidates = ["search[red shirt]", "click[Buy Now]", ""]
    scores = vllm_backend.score(CHAT, candidates)
    prompt_ids = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True)["input_ids"]
    for text, score in zip(candidates[:2], scores, strict=False):
        expected = plain_logprob_sum(plain, prompt_ids, tokenizer(text, add_special_tokens=False).input_ids)
        assert score == pytest.approx(expected, abs=0.05)
    assert scores[2] == 0.0
    assert scores[0] > scores[1]

"""hf backend with the real SmolLM2-135M: generation and scoring agree with plain transformers."""

from __future__ import annotations

import pytest
import torch

from agentsearch.llm.base import Request, SamplingParams

pytestmark = pytest.mark.slow

SYSTEM = {"role": "system", "content": "You are a web shopping agent. Act with search[...] or click[...]."}


@pytest.fixture(scope="module")
def smollm2():
    from agentsearch.llm.hf import HFBackend

    return HFBackend("smollm2-135m")


def test_smollm2_greedy_batch_matches_plain_generate(smollm2):
    prompts = [[SYSTEM, {"role": "user", "content": "Instruction: buy a red cotton shirt."}],
               [SYSTEM, {"role": "user", "content": "Instruction: buy wireless headphones under 50 dollars, "
                                                    "black, with a long battery life."}],
               "The capital of France is"]
    params = SamplingParams(n=2, temperature=0, max_tokens=20)
    results = smollm2.generate([Request(p, params) for p in prompts])
    for prompt, samples in zip(prompts, results, strict=True):
        ids = smollm2.tokenizer(prompt).input_ids if isinstance(prompt, str) else \
            smollm2.tokenizer.apply_chat_template(prompt, add_generation_prompt=True)["input_ids"]
        mask = torch.ones(1, len(ids), dtype=torch.long)
        plain = smollm2.model.generate(torch.tensor([ids]), attention_mask=mask, max_new_tokens=20,
                                       do_sample=False)[0, len(ids):].tolist()
        assert list(samples[0].token_ids) == plain[: samples[0].num_tokens]
        assert samples[0] == samples[1]
    assert "Paris" in results[2][0].text


def test_smollm2_sampling_and_scoring_are_sensible(smollm2):
    chat = [SYSTEM, {"role": "user", "content": "Instruction: buy a red cotton shirt. Your first action?"}]
    [samples] = smollm2.generate([Request(chat, SamplingParams(n=4, temperature=1.0, max_tokens=24, seed=0))])
    assert len({s.text for s in samples}) > 1 and all(s.text.strip() for s in samples)
    good, bad = smollm2.score(chat, ["search[red cotton shirt]", "click[zzqx 1234 !!]"])
    assert good > bad

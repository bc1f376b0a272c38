"""QValueModel: Q = beta * summed log-ratio over the response tokens TRL trains, batched over candidates."""

from __future__ import annotations

import pytest
import torch
from train_helpers import step_messages

from agentsearch.train.logprobs import shared_prefix_logprobs, tokenize_step
from agentsearch.train.qmodel import QValueModel

RESPONSES = ["Thought: search.\nAction: search[red shoes]", "Action: click[b0001]", "ok"]


def lora_model(base, top_layers: int | None = None):
    """The tiny model with a LoRA adapter whose weights are random, so pi_theta != pi_ref."""
    import copy

    from peft import get_peft_model

    from agentsearch.train.fit import lora_config

    torch.manual_seed(1)
    config = lora_config(base, r=4, alpha=8, top_layers=top_layers)
    config.init_lora_weights = False
    return get_peft_model(copy.deepcopy(base), config).eval()


def full_sequence_logprobs(model, tokenizer, messages, response):
    """log pi(response tokens | messages) from one plain forward over the whole rendered chat."""
    prompt_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(
        messages + [{"role": "assistant", "content": response}], tokenize=False
    )
    assert full_text.startswith(prompt_text)
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full_text, add_special_tokens=False)["input_ids"]
    assert full_ids[: len(prompt_ids)] == prompt_ids
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([full_ids])).logits[0, :-1]
    logprobs = torch.log_softmax(logits.float(), -1)
    targets = torch.tensor(full_ids[1:])
    per_token = logprobs.gather(-1, targets[:, None]).squeeze(-1)
    return per_token[len(prompt_ids) - 1 :]


def test_shared_prefix_logprobs_equal_a_plain_forward(tiny):
    model, tokenizer = tiny
    messages = step_messages(3)
    tokens = tokenize_step(tokenizer, messages, RESPONSES)
    with torch.no_grad():
        batched = shared_prefix_logprobs(model, tokens.prompt_ids, tokens.completion_ids).logprobs
    for response, logprobs in zip(RESPONSES, batched, strict=True):
        expected = full_sequence_logprobs(model, tokenizer, messages, response)
        assert logprobs.shape == expected.shape
        torch.testing.assert_close(logprobs, expected, atol=1e-4, rtol=1e-4)


def test_completion_tokens_include_end_of_turn_as_trl_trains_them(tiny):
    _, tokenizer = tiny
    tokens = tokenize_step(tokenizer, step_messages(0), ["Action: click[b0001]"])
    text = tokenizer.decode(tokens.completion_ids[0])
    assert text.startswith("Action: click[b0001]") and "<|im_end|>" in text


@pytest.mark.parametrize("top_layers", [None, 1])  # LoRA everywhere; only the top layer (bottom shared)
def test_q_equals_beta_times_summed_log_ratio_by_hand(tiny, top_layers):
    base, tokenizer = tiny
    model = lora_model(base, top_layers)
    qmodel = QValueModel(model, tokenizer, beta=0.1)
    messages = step_messages(7)
    values = qmodel.q(messages, RESPONSES)
    for response, value in zip(RESPONSES, values, strict=True):
        theta = full_sequence_logprobs(model, tokenizer, messages, response)
        with model.disable_adapter():
            ref = full_sequence_logprobs(model, tokenizer, messages, response)
        expected = 0.1 * float((theta - ref).sum())
        assert abs(expected) > 1e-3  # the adapter really changes the model
        assert value == pytest.approx(expected, abs=1e-4)


def test_prior_one_ranks_by_the_trained_policys_own_log_probability(tiny):
    base, tokenizer = tiny
    model = lora_model(base)
    qmodel = QValueModel(model, tokenizer, beta=0.1)
    messages = step_messages(5)
    plain = qmodel.q(messages, RESPONSES)
    regularised = qmodel.q(messages, RESPONSES, prior=1.0)
    half = qmodel.q(messages, RESPONSES, prior=0.5)
    for response, q, value, mid in zip(RESPONSES, plain, regularised, half, strict=True):
        theta = full_sequence_logprobs(model, tokenizer, messages, response)
        with model.disable_adapter():
            ref = full_sequence_logprobs(model, tokenizer, messages, response)
        assert value == pytest.approx(0.1 * float(theta.sum()), abs=1e-4)  # beta * log pi_theta
        assert mid == pytest.approx(q + 0.5 * 0.1 * float(ref.sum()), abs=1e-4)
        assert value < q  # a log-probability is negative: the prior term is a real penalty


def test_shared_lower_layers_give_the_two_pass_log_probs(tiny):
    from agentsearch.train.logratio import adapter_logprob_pairs, first_adapted_layer

    base, tokenizer = tiny
    model = lora_model(base, top_layers=1)
    assert first_adapted_layer(model) == base.config.num_hidden_layers - 1
    tokens = tokenize_step(tokenizer, step_messages(5), RESPONSES)
    completions = [*tokens.completion_ids, [], tokens.completion_ids[0][:1]]  # empty and 1-token ones too
    with torch.no_grad():
        policy, reference = adapter_logprob_pairs(model, tokens.prompt_ids, completions)
        expected_policy = shared_prefix_logprobs(model, tokens.prompt_ids, completions).logprobs
        with model.disable_adapter():
            expected_reference = shared_prefix_logprobs(model, tokens.prompt_ids, completions).logprobs
    for got, want in zip([*policy, *reference], [*expected_policy, *expected_reference], strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(policy[0], reference[0])


def test_history_kv_reuses_an_episodes_earlier_history_with_the_same_log_probs(tiny):
    from agentsearch.train.logratio import HistoryKV, adapter_logprob_pairs

    base, tokenizer = tiny
    model = lora_model(base, top_layers=1)
    first = step_messages(3)
    # The next state: the same history, the agent's step, the new observation.
    second = [*first, {"role": "assistant", "content": RESPONSES[0]},
              {"role": "user", "content": "Observation: results page [SEP] b0001 [SEP] b0002"}]
    cache = HistoryKV(max_entries=2)
    with torch.no_grad():
        for messages in (first, second, second):  # the repeated state reuses all but its last token
            tokens = tokenize_step(tokenizer, messages, RESPONSES)
            cached = adapter_logprob_pairs(model, tokens.prompt_ids, tokens.completion_ids, history_kv=cache)
            plain = adapter_logprob_pairs(model, tokens.prompt_ids, tokens.completion_ids)
            for got, want in zip([*cached[0], *cached[1]], [*plain[0], *plain[1]], strict=True):
                torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    first_len = len(tokenize_step(tokenizer, first, RESPONSES).prompt_ids)
    second_len = len(tokenize_step(tokenizer, second, RESPONSES).prompt_ids)
    assert cache.reused_tokens == first_len + (second_len - 1)
    assert cache.computed_tokens == first_len + (second_len - first_len) + 1


def test_length_normalized_divides_by_token_count(tiny):
    base, tokenizer = tiny
    model = lora_model(base)
    messages = step_messages(2)
    summed = QValueModel(model, tokenizer, beta=0.5).q(messages, RESPONSES)
    mean = QValueModel(model, tokenizer, beta=0.5, length_normalized=True).q(messages, RESPONSES)
    counts = [len(ids) for ids in tokenize_step(tokenizer, messages, RESPONSES).completion_ids]
    for s, m, count in zip(summed, mean, counts, strict=True):
        assert m == pytest.approx(s / count, rel=1e-5)


def test_adapter_disabled_reference_equals_the_base_model(tiny):
    base, tokenizer = tiny
    model = lora_model(base)
    tokens = tokenize_step(tokenizer, step_messages(4), RESPONSES)
    with torch.no_grad():
        with model.disable_adapter():
            reference = shared_prefix_logprobs(model, tokens.prompt_ids, tokens.completion_ids).logprobs
        plain = shared_prefix_logprobs(base, tokens.prompt_ids, tokens.completion_ids).logprobs
        adapted = shared_prefix_logprobs(model, tokens.prompt_ids, tokens.completion_ids).logprobs
    for r, p, a in zip(reference, plain, adapted, strict=True):
        torch.testing.assert_close(r, p)
        assert not torch.allclose(a, p)


def test_untrained_adapter_gives_zero_q(tiny):
    import copy

    from peft import LoraConfig, get_peft_model

    base, tokenizer = tiny
    model = get_peft_model(copy.deepcopy(base), LoraConfig(r=4, target_modules="all-linear"))  # B = 0 at init
    assert QValueModel(model, tokenizer, beta=0.1).q(step_messages(1), RESPONSES) == pytest.approx(
        [0.0] * 3, abs=1e-6
    )


def test_full_model_needs_a_reference(tiny):
    from agentsearch.errors import ConfigError

    base, tokenizer = tiny
    with pytest.raises(ConfigError, match="reference"):
        QValueModel(base, tokenizer, beta=0.1)
    assert QValueModel(base, tokenizer, beta=0.1, reference=base).q(step_messages(1), RESPONSES) == [0.0] * 3


def test_concurrent_scoring_from_threads_gives_the_same_values(tiny):
    from concurrent.futures import ThreadPoolExecutor

    base, tokenizer = tiny
    qmodel = QValueModel(lora_model(base), tokenizer, beta=0.1)
    states = [step_messages(i) for i in range(4)]
    expected = [qmodel.q(m, RESPONSES) for m in states]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda m: qmodel.q(m, RESPONSES), states * 3))
    for values, want in zip(got, expected * 3, strict=True):
        assert values == pytest.approx(want, abs=1e-5)

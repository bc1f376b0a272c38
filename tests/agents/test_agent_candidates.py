"""Candidate deduplication and the score_valid draw, on hand-made completions and scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agentsearch.agents.llm_agent import dedupe_completions, sample_scored
from agentsearch.llm.base import Completion


def completion(text: str, logprob: float, tokens: int = 5) -> Completion:
    return Completion(text=text, num_tokens=tokens, logprob=logprob, finish_reason="stop")


def test_dedupe_counts_duplicates_and_keeps_best_logprob() -> None:
    completions = [
        completion("Thought: a\nAction: click[x]", -3.0),
        completion("Thought: b\nAction: click[y]", -1.0),
        completion("Thought: c\nAction: click[x]", -2.0, tokens=7),
        completion("Thought: d\nAction: click[x]", -4.0),
        completion("garbage", -0.5),
    ]
    actions = ["click[x]", "click[y]", "click[x]", "click[x]", "garbage"]
    candidates = dedupe_completions(completions, actions)
    assert [c.action for c in candidates] == ["click[x]", "garbage", "click[y]"]
    assert [c.count for c in candidates] == [3, 1, 1]
    best_x = candidates[0]
    assert (
        best_x.logprob == -2.0
        and best_x.response == "Thought: c\nAction: click[x]"
        and best_x.num_tokens == 7
    )
    assert sum(c.count for c in candidates) == len(completions)


def test_dedupe_strips_response_whitespace() -> None:
    (candidate,) = dedupe_completions([completion("  Action: look \n", -1.0)], ["look"])
    assert candidate.response == "Action: look"


def test_greedy_draw_takes_the_argmax_n_times() -> None:
    counts, probabilities = sample_scored([-5.0, -1.0, -3.0], 4, 0.0, np.random.default_rng(0))
    assert counts.tolist() == [0, 4, 0]
    assert probabilities.tolist() == [0.0, 1.0, 0.0]


def test_draw_follows_the_softmax() -> None:
    logprobs = [math.log(0.7), math.log(0.2), math.log(0.1)]
    counts, probabilities = sample_scored(logprobs, 20_000, 1.0, np.random.default_rng(0))
    assert probabilities == pytest.approx([0.7, 0.2, 0.1])
    assert counts / counts.sum() == pytest.approx([0.7, 0.2, 0.1], abs=0.02)
    # A higher temperature flattens the distribution.
    _, hot = sample_scored(logprobs, 1, 10.0, np.random.default_rng(0))
    assert hot.max() < 0.4


def test_draw_is_seeded() -> None:
    a, _ = sample_scored([0.0, 0.0, 0.0], 10, 1.0, np.random.default_rng(3))
    b, _ = sample_scored([0.0, 0.0, 0.0], 10, 1.0, np.random.default_rng(3))
    assert a.tolist() == b.tolist()


def test_impossible_actions_get_no_probability() -> None:
    counts, probabilities = sample_scored([-math.inf, -2.0, math.nan], 5, 1.0, np.random.default_rng(0))
    assert probabilities.tolist() == [0.0, 1.0, 0.0] and counts.tolist() == [0, 5, 0]
    _, uniform = sample_scored([-math.inf, -math.inf], 1, 1.0, np.random.default_rng(0))
    assert uniform.tolist() == [0.5, 0.5]

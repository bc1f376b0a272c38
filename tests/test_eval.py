"""Evaluation: bootstrap intervals and summaries on fixed data, argmax selection, a resumable run."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentsearch.agents.base import Candidate, History, sampling_for
from agentsearch.agents.qguided import QGuidedAgent, likelihood_scorer, rank_candidates
from agentsearch.errors import ConfigError
from agentsearch.eval import (
    EvalConfig,
    Interval,
    bootstrap_ci,
    evaluate,
    format_table,
    read_episodes,
    summarize,
)
from agentsearch.llm.base import SamplingParams


def record(config, task, score, success, steps, tokens=10):
    return {
        "config": config,
        "task_id": task,
        "score": score,
        "success": success,
        "steps": steps,
        "tokens": tokens,
    }


def test_bootstrap_of_constant_data_is_a_point():
    assert bootstrap_ci([0.5] * 20) == Interval(0.5, 0.5, 0.5)


def test_bootstrap_interval_on_fixed_data():
    values = [1.0] * 30 + [0.0] * 70
    interval = bootstrap_ci(values, resamples=20_000, seed=0)
    assert interval.mean == pytest.approx(0.3)
    # Normal approximation: 0.3 +- 1.96 * sqrt(0.3 * 0.7 / 100) = [0.210, 0.390].
    assert interval.low == pytest.approx(0.21, abs=0.02) and interval.high == pytest.approx(0.39, abs=0.02)
    assert bootstrap_ci(values, resamples=20_000, seed=0) == interval  # deterministic for a seed
    assert bootstrap_ci([], resamples=10).mean != bootstrap_ci([], resamples=10).mean  # NaN for no data


def test_summarize_groups_by_config():
    records = [
        record("greedy", "1", 0.5, False, 4),
        record("greedy", "2", 1.0, True, 6),
        record("qguided", "1", 1.0, True, 3),
        record("qguided", "2", 1.0, True, 5),
    ]
    summaries = summarize(records, resamples=200)
    assert summaries["greedy"].episodes == 2
    assert summaries["greedy"].score.mean == pytest.approx(0.75)
    assert summaries["greedy"].success.mean == pytest.approx(0.5)
    assert summaries["qguided"].success == Interval(1.0, 1.0, 1.0)
    assert summaries["qguided"].steps.mean == pytest.approx(4.0)
    table = format_table(summaries)
    assert "greedy" in table and "qguided" in table and "1.000 [1.000, 1.000]" in table


def test_format_table_widens_the_name_column_for_long_config_names():
    records = [record("greedy", "1", 0.5, False, 4), record("qguided-no-greedy", "1", 1.0, True, 3)]
    header, _, greedy, qguided = format_table(summarize(records, resamples=50)).splitlines()
    # The score column starts at the same place in the header and in both rows.
    assert header.index("score") == greedy.index("0.500") == qguided.index("1.000")


def candidate(action, logprob, count=1):
    return Candidate(response=f"Action: {action}", action=action, logprob=logprob, num_tokens=3, count=count)


def test_rank_candidates_puts_the_argmax_first_and_keeps_agent_order_on_ties():
    cands = [candidate("a", -1.0, 3), candidate("b", -2.0), candidate("c", -3.0)]
    ranked = rank_candidates(cands, [0.1, 0.7, 0.2])
    assert [c.action for c in ranked] == ["b", "c", "a"]
    assert ranked[0].extras["score"] == pytest.approx(0.7)
    tied = rank_candidates(cands, [0.5, 0.5, 0.1])
    assert [c.action for c in tied] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        rank_candidates(cands, [0.1])


class FixedAgent:
    """A real Agent whose samples are a fixed list (deterministic, no model)."""

    env_name = "webshop"
    default_sampling = SamplingParams(temperature=0.3)

    def __init__(self, cands):
        self.cands = cands
        self.calls = []

    def messages(self, history):
        return [{"role": "user", "content": history.observation}]

    async def propose(self, history, sampling, *, valid_actions=None):
        self.calls.append((sampling.n, sampling.temperature))
        return list(self.cands)


def test_qguided_agent_executes_the_highest_scored_candidate():
    inner = FixedAgent([candidate("a", -1.0, 3), candidate("b", -2.0), candidate("c", -0.5)])
    scores = {"a": 0.0, "b": 0.9, "c": -0.3}
    agent = QGuidedAgent(inner, lambda h, cs: [scores[c.action] for c in cs], candidates=5)
    history = History("buy", "start")
    (best,) = asyncio.run(agent.propose(history, sampling_for(agent, 1)))
    assert best.action == "b"
    assert agent.default_sampling.temperature == 1.0  # its own temperature over the inner agent's 0.3
    assert inner.calls == [(5, 1.0)]  # N samples at its default temperature
    asyncio.run(agent.propose(history, sampling_for(agent, 1, 0.5)))
    assert inner.calls[-1] == (5, 0.5)  # a call's temperature is the one sampled at
    top2 = asyncio.run(agent.propose(history, sampling_for(agent, 2)))
    assert [c.action for c in top2] == ["b", "a"]
    by_likelihood = QGuidedAgent(inner, likelihood_scorer, candidates=5)
    assert asyncio.run(by_likelihood.propose(history, sampling_for(by_likelihood, 1)))[0].action == "c"
    with pytest.raises(ConfigError):
        QGuidedAgent(inner, likelihood_scorer, candidates=0)


class GreedyAwareAgent(FixedAgent):
    """Proposes ``greedy`` at temperature 0 and the fixed samples otherwise."""

    def __init__(self, greedy, cands):
        super().__init__(cands)
        self.greedy = greedy

    async def propose(self, history, sampling, *, valid_actions=None):
        self.calls.append((sampling.n, sampling.temperature))
        return [self.greedy] if sampling.temperature == 0 else list(self.cands)


def test_qguided_agent_can_score_the_greedy_action_among_the_samples():
    inner = GreedyAwareAgent(candidate("g", -0.1), [candidate("a", -1.0, 2), candidate("g", -0.1, 3)])
    scores = {"a": 0.2, "g": 0.5}
    seen = []

    def scorer(history, cands):
        seen.append([(c.action, c.count) for c in cands])
        return [scores[c.action] for c in cands]

    history = History("buy", "start")
    plain = QGuidedAgent(inner, scorer, candidates=5)
    assert asyncio.run(plain.propose(history, sampling_for(plain, 1)))[0].action == "g"
    assert inner.calls == [(5, 1.0)]
    inner.calls.clear()
    with_greedy = QGuidedAgent(inner, scorer, candidates=5, include_greedy=True)
    assert asyncio.run(with_greedy.propose(history, sampling_for(with_greedy, 1)))[0].action == "g"
    assert inner.calls == [(5, 1.0), (1, 0.0)]
    # The greedy action comes first and absorbs its sampled duplicate's count.
    assert seen[-1] == [("g", 4), ("a", 2)]
    alone = GreedyAwareAgent(candidate("g", -0.1), [candidate("a", -1.0)])
    scores["a"] = 0.9
    picker = QGuidedAgent(alone, scorer, candidates=5, include_greedy=True)
    chosen = asyncio.run(picker.propose(history, sampling_for(picker, 1)))
    assert chosen[0].action == "a"  # the scorer, not the agent, still decides


def test_qguided_agent_scores_only_what_the_page_offers_unless_nothing_is():
    inner = FixedAgent(
        [
            candidate("click[B0HALLUCIN]", -0.2),
            candidate("click[b0real001]", -1.0),
            candidate("search[red shirt]", -2.0),
        ]
    )
    scores = {"click[B0HALLUCIN]": 0.9, "click[b0real001]": 0.1, "search[red shirt]": 0.5}
    agent = QGuidedAgent(inner, lambda h, cs: [scores[c.action] for c in cs], candidates=3)
    history = History("buy", "results")
    page = ["click[back to search]", "click[b0real001]"]
    assert (
        asyncio.run(agent.propose(history, sampling_for(agent, 1), valid_actions=page))[0].action
        == "click[b0real001]"
    )
    # A template admits every filling of its slot; nothing admissible leaves every candidate in.
    template = ["search[<query>]"]
    assert (
        asyncio.run(agent.propose(history, sampling_for(agent, 1), valid_actions=template))[0].action
        == "search[red shirt]"
    )
    assert (
        asyncio.run(agent.propose(history, sampling_for(agent, 1), valid_actions=["click[next >]"]))[0].action
        == "click[B0HALLUCIN]"
    )
    unfiltered = QGuidedAgent(inner, agent.scorer, candidates=3, admissible_only=False)
    assert (
        asyncio.run(unfiltered.propose(history, sampling_for(unfiltered, 1), valid_actions=page))[0].action
        == "click[B0HALLUCIN]"
    )


def test_eval_config_validation():
    with pytest.raises(ConfigError, match="Did you mean `greedy`"):
        EvalConfig(compare=["greedi"])
    with pytest.raises(ConfigError, match="needs a Q-model"):
        EvalConfig(compare=["qguided"])
    with pytest.raises(ConfigError, match="needs a tuned policy"):
        EvalConfig(compare=["greedy", "policy"])


def test_evaluate_is_resumable_and_writes_summary_and_plot(tmp_path):
    from agentsearch.search.scripted import RandomValidAgent

    config = EvalConfig(
        env="webshop",
        split="test",
        tasks=3,
        compare=["greedy", "bestofn"],
        out=str(tmp_path),
        max_steps=3,
        bootstrap=100,
        concurrency=2,
    )
    played = []
    result = evaluate(config, agent=RandomValidAgent("webshop"), progress=played.append)
    assert len(played) == 6
    records = read_episodes(result.episodes_path)
    tasks = sorted({r["task_id"] for r in records})
    assert len(records) == 6 and len(tasks) == 3
    assert {(r["config"], r["task_id"]) for r in records} == {
        (c, t) for c in ("greedy", "bestofn") for t in tasks
    }
    first = records[0]
    assert set(first) >= {"task_id", "actions", "rewards", "success", "steps", "tokens", "score"}
    assert 1 <= first["steps"] <= 3
    # Same seed per task in every configuration.
    seeds = {(r["task_id"], r["seed"]) for r in records}
    assert len(seeds) == 3
    assert result.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(result.summary_path.read_text())
    assert summary["summaries"]["greedy"]["episodes"] == 3

    # Kill mid-write: a partial last line is cut off and that episode redone; finished ones are skipped.
    with result.episodes_path.open("ab") as handle:
        handle.write(b'{"config": "greedy", "task_')
    again = []
    evaluate(config, agent=RandomValidAgent("webshop"), progress=again.append)
    assert again == []
    assert len(read_episodes(result.episodes_path)) == 6

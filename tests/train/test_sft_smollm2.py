"""End to end with the real SmolLM2: a few SFT steps on expert demos, then a greedy episode with them."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.slow


def test_sft_steps_on_smollm2_then_a_greedy_webshop_episode(tmp_path):
    from agentsearch.agents import make_agent, run_episode
    from agentsearch.data.demos import DemosConfig, write_demos
    from agentsearch.envs import make
    from agentsearch.llm import load_llm
    from agentsearch.train.sft import train_sft

    demos = tmp_path / "demos.jsonl"
    assert write_demos(DemosConfig(env="webshop", tasks=4, out=str(demos))).written == 4
    result = train_sft(
        [demos],
        "smollm2-135m",
        tmp_path / "sft",
        max_steps=2,
        eval_fraction=0.25,
        learning_rate=3e-4,
        gradient_accumulation_steps=1,
        curve_steps=0,
        logging_steps=1,
    )
    assert result.meta.data["train_paths"] == 3 and len(result.meta.curve) == 2
    assert 0.0 <= result.metrics["eval_action_accuracy"] <= 1.0
    assert result.metrics["eval_loss"] < 1.5  # the prompted model starts near 1.0 on these tokens

    llm = load_llm("hf", str(tmp_path / "sft"))
    agent = make_agent("webshop", llm, action_mode="score_valid", max_tokens=32)
    assert (agent.react, agent.icl) == (False, False)  # the options it was trained with
    episode = asyncio.run(run_episode(make("webshop", split="test"), agent, task_id="0", max_steps=5))
    assert episode.actions and episode.actions[0].startswith("search[")
    assert not episode.invalid_actions  # clickables are scored, the search is forced: nothing invalid

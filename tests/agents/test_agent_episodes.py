"""End to end: a greedy SmolLM2-135M agent plays short episodes of every environment.

Success is not expected of a 135M model; the test checks that episodes run to their end (or the step
cap) through the real model, prompts, parser and environment, and that invalid actions are counted.
"""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("transformers")
pytest.importorskip("agentsearch.llm.batcher", reason="the RequestBatcher (issue 5 item 6) has not landed")

from agentsearch.agents import make_agent, run_episode  # noqa: E402

MAX_STEPS = 4


def _env_available(name: str) -> bool:
    return importlib.util.find_spec(f"agentsearch.envs.{name}") is not None


@pytest.fixture(scope="module")
def smollm2():
    from agentsearch.llm.hf import HFBackend

    return HFBackend("smollm2-135m")


# (env, agent options): each environment in the mode its actions call for.
CASES = [
    ("webshop", {"react": True, "action_mode": "score_valid", "max_tokens": 32}),
    ("alfworld", {"react": False, "action_mode": "score_valid", "max_tokens": 32}),
    ("math", {"react": False, "action_mode": "generate", "max_tokens": 48}),
]


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("env_name", "options"), CASES, ids=[case[0] for case in CASES])
def test_greedy_smollm2_plays_an_episode(smollm2, env_name: str, options: dict) -> None:
    if not _env_available(env_name):
        pytest.skip(f"the {env_name} environment is not in this checkout")
    from agentsearch.envs import make

    env = make(env_name, split="test")
    task_id = env.task_ids("test")[0]
    agent = make_agent(env_name, smollm2, **options)
    result = asyncio.run(run_episode(env, agent, task_id=task_id, temperature=0.0, max_steps=MAX_STEPS))

    assert result.task_id == task_id
    assert 1 <= result.steps <= MAX_STEPS
    assert result.terminated or result.truncated or result.steps == MAX_STEPS
    assert len(result.actions) == len(result.responses) == len(result.rewards) == result.steps
    assert 0 <= result.invalid_actions <= result.steps
    assert result.tokens > 0
    if env_name == "alfworld":  # score_valid picks among admissible commands only
        assert result.invalid_actions == 0
    print(
        f"{env_name}: {result.steps} steps, {result.invalid_actions} invalid, won={result.won}, "
        f"reward={result.reward}, actions={result.actions}"
    )

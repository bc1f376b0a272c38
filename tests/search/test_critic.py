"""The self-critique evaluator on a real (tiny, random-weight) model through the request batcher."""

import asyncio

import pytest
from lock_env import LockEnv

from agentsearch.llm import load_llm
from agentsearch.llm.batcher import RequestBatcher
from agentsearch.search import MCTSConfig, RandomValidAgent, mcts
from agentsearch.search.critic import SelfCritique


@pytest.fixture(scope="module")
def batcher():
    return RequestBatcher(load_llm("hf", "tiny-random"))


def test_self_critique_values_are_probabilities_and_drive_mcts(batcher):
    agent = RandomValidAgent("lock")
    critic = SelfCritique(batcher, agent.messages)
    tree = asyncio.run(
        mcts(
            LockEnv(),
            agent,
            "t2",
            MCTSConfig(value="critic", iterations=4, early_stop=False),
            evaluator=critic,
        )
    )
    values = [tree.q(n) for n in range(1, tree.num_nodes) if tree.visits[n] and not tree.terminal[n]]
    assert values and all(0.0 < v < 1.0 for v in values)
    # the value is P(Yes) / (P(Yes) + P(No)) under the model, recomputed directly
    node = next(n for n in range(1, tree.num_nodes) if tree.visits[n] == 1 and not tree.terminal[n])
    yes, no = asyncio.run(
        batcher.score(
            [*agent.messages(tree.history(node)), {"role": "user", "content": critic.question}], ["Yes", "No"]
        )
    )
    import math

    # (batched and single scoring passes differ by float rounding, a few hundredths of a nat)
    assert tree.q(node) == pytest.approx(1 / (1 + math.exp(no - yes)), rel=0.05)

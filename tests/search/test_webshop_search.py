"""Search on the real WebShop environment, driven by the zero-latency RandomValidAgent."""

import asyncio

import pytest

from agentsearch.data import preference_pairs, value_labels
from agentsearch.envs import make
from agentsearch.search import (
    MCTSConfig,
    RandomValidAgent,
    SearchTree,
    algorithm_names,
    get_algorithm,
    make_search_config,
    mcts,
)
from agentsearch.search.tree import ROOT


@pytest.fixture(scope="module")
def env():
    return make("webshop")


@pytest.fixture(scope="module")
def trees(env):
    ids = list(env.task_ids("train"))[:3]
    agent = RandomValidAgent("webshop")
    return [asyncio.run(mcts(env, agent, task_id, MCTSConfig(early_stop=False), seed=0)) for task_id in ids]


def test_mcts_trees_are_complete_and_replayable(env, trees):
    for tree in trees:
        assert tree.visits[ROOT] >= 25  # 30 iterations, a few may end in already-exhausted branches
        assert max(tree.depth) <= 10
        assert SearchTree.from_json(tree.to_json()) == tree
        # every recorded observation is what a fresh episode replaying the path sees (snapshots are exact)
        for node in range(0, tree.num_nodes, 7):
            observation, _ = env.reset(options={"task_id": tree.task_id})
            for step in tree.path(node)[1:]:
                observation, reward, *_ = env.step(tree.action[step])
                assert reward == tree.reward[step]
            assert observation == tree.observation[node]


def test_webshop_pairs_and_labels(trees):
    for tree in trees:
        pairs = preference_pairs(tree, "all_siblings")
        assert pairs, "random search on WebShop always has siblings with different Q"
        for pair in pairs:
            assert pair["prompt"][0]["role"] == "user" and pair["chosen"][0]["role"] == "assistant"
            assert pair["q_chosen"] > pair["q_rejected"]
        assert all(0.0 <= label["q"] <= 1.0 for label in value_labels(tree))


@pytest.mark.parametrize("name", algorithm_names())
def test_every_algorithm_runs_on_webshop(env, name):
    task_id = env.task_ids("train")[5]
    tree = asyncio.run(
        get_algorithm(name).search(
            env, RandomValidAgent("webshop"), task_id, make_search_config(name), seed=1
        )
    )
    assert tree.num_nodes > 1 and tree.env == "agentsearch/WebShop-v0" and tree.error is None

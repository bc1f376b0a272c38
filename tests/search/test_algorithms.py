import asyncio

import pytest
from lock_env import LockEnv, NoSnapshotLockEnv

from agentsearch.data import preference_pairs
from agentsearch.errors import ConfigError
from agentsearch.search.algorithms import (
    algorithm_names,
    get_algorithm,
    make_search_config,
    register_algorithm,
)
from agentsearch.search.beam import BeamConfig
from agentsearch.search.best_of_n import BestOfNConfig
from agentsearch.search.dfsdt import DFSDTConfig, dfsdt
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent
from agentsearch.search.tree import ROOT, SearchTree


def run(name, config, *, seed=0, env=None, task="t2") -> SearchTree:
    search = get_algorithm(name).search
    return asyncio.run(search(env or LockEnv(), RandomValidAgent("lock"), task, config, seed=seed))


def check_tree(tree: SearchTree) -> None:
    assert SearchTree.from_json(tree.to_json()) == tree
    for node in range(1, tree.num_nodes):
        assert tree.depth[node] == tree.depth[tree.parent[node]] + 1
    for node in range(tree.num_nodes):
        assert tree.visits[node] >= sum(tree.visits[c] for c in tree.children(node))
        actions = [tree.action[c] for c in tree.children(node)]
        assert len(actions) == len(set(actions))
        if len(actions) > 1:  # every branching point keeps the prompt its pairs need
            assert tree.prompt[node] is not None


@pytest.mark.parametrize("name", algorithm_names())
def test_every_algorithm_writes_a_valid_tree(name):
    tree = run(name, make_search_config(name, {"early_stop": False}), seed=4)
    assert tree.algorithm == name
    check_tree(tree)
    assert tree.visits[ROOT] > 0 and tree.num_nodes > 1
    # and the same seed gives the same tree, with snapshots or by replay
    assert (
        run(name, make_search_config(name, {"early_stop": False}), seed=4).to_dict()["nodes"]
        == tree.to_dict()["nodes"]
    )
    replayed = run(name, make_search_config(name, {"early_stop": False}), seed=4, env=NoSnapshotLockEnv())
    assert replayed.to_dict()["nodes"] == tree.to_dict()["nodes"]


def test_dfsdt_backtracks_until_it_wins():
    tree = run("dfsdt", DFSDTConfig(n_samples=16, max_expansions=200, max_depth=3), task="t0", seed=0)
    assert tree.success
    # depth-first: the winning branch was the last one explored
    assert tree.best_path[-1] == max(n for n in range(tree.num_nodes))
    assert sum(tree.expanded) <= 200


def test_dfsdt_respects_the_expansion_budget():
    tree = run("dfsdt", DFSDTConfig(n_samples=2, max_expansions=3, early_stop=False), task="t2")
    assert sum(tree.expanded) == 3


def test_beam_keeps_at_most_width_states_per_depth():
    tree = run("beam", BeamConfig(beam_width=2, n_samples=4, early_stop=False, max_depth=4))
    for depth in range(1, 4):
        expanded = [n for n in range(tree.num_nodes) if tree.depth[n] == depth and tree.expanded[n]]
        assert len(expanded) <= 2
    assert max(tree.depth) <= 4


def test_best_of_n_samples_n_trajectories_and_yields_pairs():
    tree = run("best_of_n", BestOfNConfig(n=12, early_stop=False))
    assert tree.visits[ROOT] == 12
    assert not any(tree.is_rollout)
    pairs = preference_pairs(tree, "all_siblings")
    assert pairs and all(p["prompt"] for p in pairs)


def test_unknown_algorithm_and_option():
    with pytest.raises(ConfigError, match="dfsdt"):
        make_search_config("dfsd")
    with pytest.raises(ConfigError, match=r"known: \['beam', 'best_of_n', 'dfsdt', 'mcts'"):
        get_algorithm("alphazero")
    with pytest.raises(ConfigError, match="beam_width"):
        make_search_config("beam", {"beam_widht": 2})


def test_a_taken_name_is_refused_and_unused_evaluators_are_not_ignored():
    async def impostor(env, agent, task_id, config=None, *, seed=0, evaluator=None):
        raise AssertionError("never run")

    with pytest.raises(ConfigError, match="already registered"):
        register_algorithm("mcts", MCTSConfig)(impostor)
    assert get_algorithm("mcts").search is mcts
    with pytest.raises(ConfigError, match="takes no `evaluator`"):
        asyncio.run(dfsdt(LockEnv(), RandomValidAgent("lock"), "t0", evaluator=_HalfCritic()))
    assert not DFSDTConfig().needs_evaluator and MCTSConfig(value="mixed").needs_evaluator


class _HalfCritic:
    async def evaluate(self, tree, node):
        return 0.5

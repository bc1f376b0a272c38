import asyncio

import pytest
from lock_env import LockEnv, NoSnapshotLockEnv

from agentsearch.errors import ConfigError
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent
from agentsearch.search.tree import ROOT


def run(config=None, seed=0, env=None, task="t2"):
    return asyncio.run(mcts(env or LockEnv(), RandomValidAgent("lock"), task, config, seed=seed))


def test_paper_defaults():
    config = MCTSConfig()
    assert (config.iterations, config.n_samples, config.temperature, config.max_depth) == (30, 5, 1.0, 10)
    assert config.c == pytest.approx(2**0.5)
    assert (config.rollouts, config.invalid_penalty, config.depth_penalty, config.early_stop) == (
        1,
        -1.0,
        -0.5,
        True,
    )


@pytest.mark.parametrize(
    "field,value", [("iterations", 0), ("n_samples", 0), ("selection", "ucb"), ("rollouts", -1)]
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ConfigError, match=field):
        MCTSConfig(**{field: value})


def test_tree_invariants_and_backups():
    tree = run(MCTSConfig(early_stop=False, iterations=20), seed=5)
    assert tree.algorithm == "mcts" and tree.config["iterations"] == 20
    for node in range(1, tree.num_nodes):
        assert tree.depth[node] == tree.depth[tree.parent[node]] + 1 <= 10
        # a parent's visits cover its children's (each backup passes through the parent)
    for node in range(tree.num_nodes):
        kids = tree.children(node)
        assert tree.visits[node] >= sum(tree.visits[k] for k in kids)
        actions = [tree.action[k] for k in kids]
        assert len(actions) == len(set(actions))  # dedup by action
        if tree.expanded[node] and node != ROOT:
            assert tree.prompt[node] is not None
    # 20 iterations = at most 20 backups through the root (dead-end iterations add none)
    assert 0 < tree.visits[ROOT] <= 20
    assert any(tree.is_rollout)
    assert all(-1.0 <= tree.q(n) <= 1.0 for n in range(tree.num_nodes))


def test_early_stop_keeps_the_successful_tree():
    trees = [run(seed=seed, task="t0") for seed in range(5)]
    assert sum(t.success for t in trees) >= 2  # a root that never sampled "press a" cannot win
    tree = next(t for t in trees if t.success)
    assert tree.best_reward == 1.0 and tree.won[tree.best_path[-1]]
    assert [tree.action[n] for n in tree.best_path[1:]] == ["press a", "press b", "submit"]
    # stopped early: no iteration ran after the one that found the win
    assert tree.iteration[tree.best_path[-1]] == max(tree.iteration) < 30


def test_seeded_search_is_reproducible_and_branching_mode_does_not_matter():
    a, b = run(seed=11), run(seed=11)
    assert a.to_dict()["nodes"] == b.to_dict()["nodes"]
    replayed = run(seed=11, env=NoSnapshotLockEnv())
    assert replayed.to_dict()["nodes"] == a.to_dict()["nodes"]
    assert replayed.provenance["branching"] == "replay" and replayed.provenance["replay_steps"] > 0
    assert a.provenance["replay_steps"] == 0
    assert run(seed=12).to_dict()["nodes"] != a.to_dict()["nodes"]


def test_depth_limit_penalty_and_invalid_penalty():
    tree = run(MCTSConfig(max_depth=1, iterations=10, early_stop=False), task="t2")
    # depth 1: a press leaves a non-terminal node at the limit -> its return is -0.5
    presses = [n for n in tree.children(ROOT) if tree.action[n].startswith("press")]
    visited = [n for n in presses if tree.visits[n]]
    assert visited and all(tree.q(n) == pytest.approx(-0.5) for n in visited)


def test_puct_sets_priors():
    tree = run(MCTSConfig(selection="puct", early_stop=False, iterations=5), seed=2)
    kids = tree.children(ROOT)
    assert sum(tree.prior[k] for k in kids) == pytest.approx(1.0)


def test_critic_value_requires_evaluator():
    with pytest.raises(ConfigError, match="evaluator"):
        run(MCTSConfig(value="critic"))


def test_critic_value_is_backed_up():
    class HalfCritic:
        async def evaluate(self, tree, node):
            return 0.25

    tree = asyncio.run(
        mcts(
            LockEnv(),
            RandomValidAgent("lock"),
            "t3",
            MCTSConfig(value="critic", iterations=3, early_stop=False),
            evaluator=HalfCritic(),
        )
    )
    assert not any(tree.is_rollout)  # the critic replaces rollouts
    nonterminal_backups = [n for n in tree.children(ROOT) if tree.visits[n] and not tree.terminal[n]]
    assert nonterminal_backups and all(tree.q(n) == pytest.approx(0.25) for n in nonterminal_backups)

import asyncio

import pytest
from lock_env import LockEnv, NoisyLockEnv, NoSnapshotLockEnv

from agentsearch.errors import ConfigError
from agentsearch.search.branching import Branching
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent
from agentsearch.search.tree import ROOT, SearchTree


def grow(branch: Branching, tree: SearchTree, parent: int, action: str) -> int:
    observation, reward, terminated, truncated, info = branch.step(tree, parent, action)
    child = tree.add_node(
        parent,
        response=action,
        action=action,
        observation=observation,
        reward=reward,
        terminal=terminated or truncated,
    )
    branch.commit(child)
    return child


@pytest.mark.parametrize("env_class,mode", [(LockEnv, "snapshot"), (NoSnapshotLockEnv, "replay")])
def test_branching_restores_sibling_states(env_class, mode):
    env = env_class()
    branch = Branching(env, "t2")
    observation, info = branch.reset()
    assert branch.mode == mode
    tree = SearchTree.new(env="lock", task_id="t2", instruction=info["instruction"], observation=observation)
    a = grow(branch, tree, ROOT, "press a")
    ab = grow(branch, tree, a, "press b")
    b = grow(branch, tree, ROOT, "press b")  # sibling of a: must start from the root state
    assert tree.observation[b] == "Pressed: 'b'"
    abc = grow(branch, tree, ab, "press c")  # back into a deeper branch
    assert tree.observation[abc] == "Pressed: 'abc'"
    win = grow(branch, tree, abc, "submit")
    assert tree.reward[win] == 1.0
    assert not any(tree.diverged)
    assert (branch.replay_steps > 0) == (mode == "replay")


def test_forcing_snapshots_on_an_env_without_them_fails_clearly():
    with pytest.raises(ConfigError, match="replay"):
        Branching(NoSnapshotLockEnv(), "t0", mode="snapshot").reset()


def test_replay_on_a_snapshot_env_is_allowed():
    branch = Branching(LockEnv(), "t0", mode="replay")
    branch.reset()
    assert branch.mode == "replay"


def test_replay_divergence_is_detected_and_marked():
    env = NoisyLockEnv()
    branch = Branching(env, "t2")
    observation, info = branch.reset()
    tree = SearchTree.new(env="lock", task_id="t2", instruction=info["instruction"], observation=observation)
    a = grow(branch, tree, ROOT, "press a")
    grow(branch, tree, ROOT, "press b")  # env now elsewhere: reaching `a` again needs a replay
    assert branch.step(tree, a, "press b") is None
    assert tree.diverged[a]
    assert tree.children(a) == []


def test_mcts_on_nondeterministic_env_never_grows_diverged_branches():
    tree = asyncio.run(
        mcts(
            NoisyLockEnv(),
            RandomValidAgent("lock"),
            "t2",
            MCTSConfig(iterations=10, early_stop=False),
            seed=0,
        )
    )
    diverged = [n for n in range(tree.num_nodes) if tree.diverged[n]]
    assert diverged
    for node in diverged:  # a diverged node's whole branch is marked
        assert all(tree.diverged[child] for child in tree.children(node))
    tree.finalize()
    assert not set(tree.best_path) & set(diverged)

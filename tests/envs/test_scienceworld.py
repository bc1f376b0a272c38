"""ScienceWorld through agentsearch (the optional `scienceworld` extra; skipped without it or Java)."""

from __future__ import annotations

import asyncio

import pytest

from agentsearch.envs.scienceworld import canonical_observation, scienceworld_available

needs_scienceworld = pytest.mark.skipif(
    not scienceworld_available(), reason="needs pip install 'agentsearch[scienceworld]' and Java 17"
)


def test_canonical_observation_sorts_each_listing_only() -> None:
    text = "The kitchen. In it, you see:\n\tb cup\n\ta chair\nYou also see:\n\tz door\n\ty door"
    assert canonical_observation(text) == (
        "The kitchen. In it, you see:\n\ta chair\n\tb cup\nYou also see:\n\ty door\n\tz door"
    )


@pytest.fixture(scope="module")
def env():
    from agentsearch.envs import make

    made = make("scienceworld", split="train")
    yield made
    made.close()


@needs_scienceworld
def test_task_ids_come_from_the_simulators_splits_task_types_interleaved(env) -> None:
    train, test = env.task_ids("train"), env.task_ids("test")
    assert len(set(train)) == len(train) == 3592 and not set(train) & set(test)
    assert len({task.rpartition(":")[0] for task in train[:30]}) == 30  # one variation of each type first
    assert "boil:0" in train and "boil:29" in test


@needs_scienceworld
def test_the_gold_path_wins_and_the_return_is_the_normalised_score(env) -> None:
    observation, info = env.reset(options={"task_id": "find-living-thing:0"})
    assert info["instruction"].startswith("Your task is to find")
    assert "look around" in info["valid_actions"]
    rewards = [env.step(action)[1] for action in env.expert_plan()]
    assert env.info["won"] and env.done
    assert sum(rewards) == pytest.approx(1.0) and env.info["score"] == pytest.approx(1.0)
    assert env.step("look around")[4]["invalid_action"]  # the episode is over


@needs_scienceworld
def test_mcts_branches_by_replay_without_divergence(env) -> None:
    from agentsearch.search.mcts import MCTSConfig, mcts
    from agentsearch.search.scripted import RandomValidAgent

    # Three iterations: whichever children the search picks, reaching a second one means replaying
    # its path (one iteration alone may roll out from the child it just stepped into: no replay).
    config = MCTSConfig(iterations=3, n_samples=2, max_depth=2, early_stop=False)
    tree = asyncio.run(mcts(env, RandomValidAgent("scienceworld"), "boil:0", config, seed=0))
    assert tree.provenance["branching"] == "replay" and tree.provenance["replay_steps"] > 0
    assert tree.num_nodes >= 3 and not any(tree.diverged)  # canonical observations replay exactly

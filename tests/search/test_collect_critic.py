"""`collect` builds the evaluator its search config asks for: MCTS valued by self-critique, from the CLI."""

import math

import pytest

from agentsearch.cli import main
from agentsearch.errors import ConfigError
from agentsearch.search.collect import CollectConfig
from agentsearch.search.tree import read_trees


def test_collect_with_a_critic_value_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "trees.jsonl"
    code = main([
        "collect", "--env", "webshop", "--model", "tiny-random", "--tasks", "2", "--concurrency", "2",
        "--out", str(out), "--no-progress",
        "--search", "value=critic", "iterations=3", "n_samples=2", "max_depth=3", "early_stop=false",
        "--agent", "max_tokens=12",
    ])
    assert code == 0, capsys.readouterr().err
    trees = list(read_trees(out))
    assert len(trees) == 2
    for tree in trees:
        assert tree.error is None, tree.error
        assert tree.config["value"] == "critic"
        # The critic replaces the rollout: no simulated steps, and every value backed up from a
        # non-terminal leaf is a probability P(Yes) / (P(Yes) + P(No)), strictly inside (0, 1).
        assert not any(tree.is_rollout)
        valued = [n for n in range(1, tree.num_nodes) if tree.visits[n] and not tree.terminal[n]]
        assert valued
        assert all(0.0 < tree.q(n) < 1.0 and not math.isclose(tree.q(n), -0.5) for n in valued)


def test_a_critic_needs_a_model():
    with pytest.raises(ConfigError, match="agent's own model"):
        CollectConfig(model="random", search={"value": "critic"})

import asyncio
import json

import pytest
from lock_env import LockEnv

from agentsearch.agents.base import History, Turn
from agentsearch.errors import DataFileError
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent
from agentsearch.search.tree import ROOT, SCHEMA_VERSION, SearchTree, append_tree, read_trees, scan_tree_file


@pytest.fixture(scope="module")
def tree() -> SearchTree:
    return asyncio.run(mcts(LockEnv(), RandomValidAgent("lock"), "t2", MCTSConfig(), seed=3))


def test_round_trip_is_lossless(tree):
    tree.round = 2
    tree.provenance["note"] = "unicode ✓"
    line = tree.to_json()
    assert "\n" not in line
    again = SearchTree.from_json(line)
    assert again == tree
    assert again.to_json() == line
    assert json.loads(line)["schema_version"] == SCHEMA_VERSION
    assert again.children(ROOT) == tree.children(ROOT)


def test_unknown_schema_version_rejected(tree):
    data = tree.to_dict()
    data["schema_version"] = 999
    with pytest.raises(ValueError, match="schema_version"):
        SearchTree.from_dict(data)


def test_path_and_history(tree):
    leaf = tree.best_path[-1]
    path = tree.path(leaf)
    assert path == tree.best_path and path[0] == ROOT
    assert [tree.depth[n] for n in path] == list(range(len(path)))
    history = tree.history(leaf)
    assert isinstance(history, History)
    assert history.observation == tree.observation[ROOT]
    assert history.turns == tuple(
        Turn(tree.response[n], tree.action[n], tree.observation[n]) for n in path[1:]
    )


def test_to_networkx(tree):
    graph = tree.to_networkx()
    assert graph.number_of_nodes() == tree.num_nodes
    assert graph.number_of_edges() == tree.num_nodes - 1
    child = tree.children(ROOT)[0]
    assert graph.nodes[child]["q"] == tree.q(child)
    assert graph.nodes[child]["action"] == tree.action[child]


def test_jsonl_append_scan_and_truncation(tmp_path, tree, caplog):
    path = tmp_path / "trees.jsonl"
    with path.open("ab") as handle:
        append_tree(handle, tree)
        append_tree(handle, tree)
    with path.open("ab") as handle:
        handle.write(tree.to_json()[:100].encode())  # a write cut short by a kill
    scan = scan_tree_file(path)
    assert scan.truncated and scan.task_ids == ["t2", "t2"]
    assert scan.good_bytes == len((tree.to_json() + "\n").encode()) * 2
    assert len(list(read_trees(path))) == 2
    assert "truncated" in caplog.text


def test_bad_middle_line_names_file_and_line(tmp_path, tree):
    path = tmp_path / "trees.jsonl"
    path.write_text(tree.to_json() + "\n{broken\n" + tree.to_json() + "\n")
    with pytest.raises(DataFileError, match=r"trees.jsonl.*2"):
        list(read_trees(path))
    with pytest.raises(DataFileError, match=r"trees.jsonl.*2"):
        scan_tree_file(path)

import gzip

import pytest

from agentsearch.data import (
    load_pairs,
    pair_stats,
    preference_pairs,
    q_values,
    read_jsonl,
    tree_stats,
    value_labels,
    write_jsonl,
)
from agentsearch.errors import ConfigError, DataFileError
from agentsearch.search.scripted import RandomValidAgent
from agentsearch.search.tree import ROOT, SearchTree


def hand_tree() -> tuple[SearchTree, dict[str, int]]:
    """root -> A, B, C (invalid, -1); A -> D (won, 1), E (.25), F (unvisited, 0); B -> G, H (tied at 0)."""
    tree = SearchTree.new(env="shop", task_id="7", instruction="buy a lamp", observation="home")
    add = tree.add_node
    ids = {}
    ids["A"] = add(
        ROOT,
        response="Thought: a\nAction: search[lamp]",
        action="search[lamp]",
        observation="results",
        reward=0.0,
        terminal=False,
    )
    ids["B"] = add(
        ROOT,
        response="Thought: b\nAction: search[desk]",
        action="search[desk]",
        observation="desks",
        reward=0.0,
        terminal=False,
    )
    ids["C"] = add(
        ROOT,
        response="Action: jump",
        action="jump",
        observation="Invalid action!",
        reward=0.0,
        terminal=False,
        invalid=True,
        init_value=-1.0,
    )
    ids["D"] = add(
        ids["A"],
        response="Action: buy",
        action="click[buy now]",
        observation="score 1",
        reward=1.0,
        terminal=True,
        won=True,
    )
    ids["E"] = add(
        ids["A"],
        response="Action: buy other",
        action="click[other]",
        observation="score .25",
        reward=0.25,
        terminal=True,
    )
    ids["F"] = add(
        ids["A"],
        response="Action: next",
        action="click[next >]",
        observation="page 2",
        reward=0.0,
        terminal=False,
    )
    ids["G"] = add(
        ids["B"], response="Action: g", action="click[g]", observation="0", reward=0.0, terminal=True
    )
    ids["H"] = add(
        ids["B"], response="Action: h", action="click[h]", observation="0", reward=0.0, terminal=True
    )
    for leaf in ("D", "E", "G", "H"):
        tree.backup(ids[leaf], tree.reward[ids[leaf]])
    agent = RandomValidAgent("shop")
    for node in (ROOT, ids["A"], ids["B"]):
        tree.expanded[node] = True
        tree.prompt[node] = agent.messages(tree.history(node))
    tree.finalize()
    return tree, ids


def triples(records):
    return [(r["state_node"], r["chosen_node"], r["rejected_node"]) for r in records]


def test_q_values_of_hand_tree():
    tree, ids = hand_tree()
    q = {v.node: (v.q, v.visits) for v in q_values(tree)}
    assert q[ids["A"]] == (pytest.approx(0.625), 2)  # backups 1.0 and 0.25
    assert q[ids["B"]] == (0.0, 2)
    assert q[ids["C"]] == (-1.0, 0)
    assert q[ids["F"]] == (0.0, 0)
    assert tree.best_path == [ROOT, ids["A"], ids["D"]]


def test_best_path_extremes():
    tree, ids = hand_tree()
    pairs = preference_pairs(tree, "best_path_extremes")
    assert triples(pairs) == [(ROOT, ids["A"], ids["C"]), (ids["A"], ids["D"], ids["F"])]
    first = pairs[0]
    assert first["gap"] == pytest.approx(1.625) and first["depth"] == 0
    assert first["chosen"] == [{"role": "assistant", "content": "Thought: a\nAction: search[lamp]"}]
    assert first["rejected"] == [{"role": "assistant", "content": "Action: jump"}]
    assert first["prompt"] == [{"role": "user", "content": "buy a lamp\n\nhome"}]
    assert (first["env"], first["task_id"], first["strategy"]) == ("shop", "7", "best_path_extremes")
    assert pairs[1]["prompt"][-2:] == [
        {"role": "assistant", "content": "Thought: a\nAction: search[lamp]"},
        {"role": "user", "content": "results"},
    ]


def test_best_path_extremes_skips_ties_and_honours_min_gap():
    tree, ids = hand_tree()
    tree.best_path = [ROOT, ids["B"]]  # B's children G and H tie at 0
    assert triples(preference_pairs(tree, "best_path_extremes")) == [(ROOT, ids["A"], ids["C"])]
    assert preference_pairs(tree, "best_path_extremes", min_gap=2.0) == []


def test_all_siblings():
    tree, ids = hand_tree()
    a, b, c, d, e, f = (ids[k] for k in "ABCDEF")
    expected = [(ROOT, a, b), (ROOT, a, c), (ROOT, b, c), (a, d, e), (a, d, f), (a, e, f)]
    assert triples(preference_pairs(tree, "all_siblings")) == expected
    assert triples(preference_pairs(tree, "all_siblings", min_gap=0.7)) == [
        (ROOT, a, c),
        (ROOT, b, c),
        (a, d, e),
        (a, d, f),
    ]


def test_min_visits_keeps_only_explored_actions():
    tree, ids = hand_tree()
    a, b, d, e = (ids[k] for k in "ABDE")
    # C (invalid, never selected) and F (never selected) drop out; terminal D and E stay though unvisited
    # by rollouts below them. At the root, A (0.625) vs B (0.0) is then the extreme pair.
    explored = preference_pairs(tree, "best_path_extremes", min_visits=1)
    assert triples(explored) == [(ROOT, a, b), (a, d, e)]
    assert triples(preference_pairs(tree, "all_siblings", min_visits=1)) == [(ROOT, a, b), (a, d, e)]
    assert triples(preference_pairs(tree, "all_siblings", min_visits=3)) == [(a, d, e)]


def test_success_path_vs_failed():
    tree, ids = hand_tree()
    # B failed (explored, no win below); C and F were never explored; E is a failed terminal.
    assert triples(preference_pairs(tree, "success_path_vs_failed")) == [
        (ROOT, ids["A"], ids["B"]),
        (ids["A"], ids["D"], ids["E"]),
    ]
    tree.won[ids["D"]] = False
    assert preference_pairs(tree, "success_path_vs_failed") == []


def test_unknown_strategy_suggests():
    tree, _ = hand_tree()
    with pytest.raises(ConfigError, match="all_siblings"):
        preference_pairs(tree, "all_sibling")


def test_missing_prompt_needs_messages_fn():
    tree, ids = hand_tree()
    tree.prompt[ROOT] = None
    with pytest.raises(ConfigError, match="messages_fn"):
        preference_pairs(tree, "best_path_extremes")
    rebuilt = preference_pairs(tree, "best_path_extremes", messages_fn=RandomValidAgent("shop").messages)
    assert rebuilt == preference_pairs(hand_tree()[0], "best_path_extremes")


def test_value_labels_clip_to_unit_interval():
    tree, ids = hand_tree()
    labels = {r["node"]: r for r in value_labels(tree)}
    assert labels[ids["C"]]["q"] == 0.0 and labels[ids["C"]]["q_raw"] == -1.0
    assert labels[ids["A"]]["q"] == pytest.approx(0.625)
    assert set(labels) == {ids[k] for k in "ABCDEFGH"}
    assert {r["node"] for r in value_labels(tree, min_visits=1)} == {ids[k] for k in "ABDEGH"}


def test_jsonl_and_dataset_round_trip(tmp_path):
    tree, _ = hand_tree()
    pairs = preference_pairs(tree, "all_siblings")
    path = tmp_path / "pairs.jsonl"
    assert write_jsonl(pairs, path) == 6
    assert list(read_jsonl(path)) == pairs
    gzipped = tmp_path / "pairs.jsonl.gz"
    gzipped.write_bytes(gzip.compress(path.read_bytes()))
    assert list(read_jsonl(gzipped)) == pairs  # shipped files are gzipped
    dataset = load_pairs(path)
    assert len(dataset) == 6 and {"prompt", "chosen", "rejected", "q_chosen"} <= set(dataset.column_names)
    path.write_text(path.read_text() + '{"prompt": []}\n')
    with pytest.raises(DataFileError, match=r"pairs.jsonl:7"):
        load_pairs(path)


def test_stats():
    tree, _ = hand_tree()
    stats = pair_stats(preference_pairs(tree, "all_siblings"))
    assert stats["pairs"] == 6 and stats["pairs_per_depth"] == {0: 3, 1: 3}
    assert sum(c for *_, c in stats["gap_histogram"]) == 6
    figures = tree_stats([tree])
    assert (
        figures["success_rate"] == 1.0
        and figures["mean_best_reward"] == 1.0
        and figures["nodes_per_tree"] == 9
    )


def test_the_pair_writer_and_the_training_reader_share_one_record_type(tmp_path):
    from agentsearch.data.pairs import PairRecord, pair_records
    from agentsearch.train.pairs import read_pair_records

    tree, _ = hand_tree()
    written = pair_records(tree, "all_siblings")
    assert written and all(isinstance(r, PairRecord) and r.line is None for r in written)
    assert [r.to_json() for r in written] == preference_pairs(tree, "all_siblings")
    write_jsonl(preference_pairs(tree, "all_siblings"), tmp_path / "pairs.jsonl")
    read = read_pair_records(tmp_path / "pairs.jsonl")
    assert read == written  # the same records, metadata included (the line is not compared)
    assert [r.line for r in read] == list(range(1, len(written) + 1))
    with pytest.raises(DataFileError, match=r"pairs.jsonl:1.*identical"):
        PairRecord.from_json({**written[0].to_json(), "rejected": written[0].chosen}, "pairs.jsonl", 1)

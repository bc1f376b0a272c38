import math

import pytest

from agentsearch.search.mcts import select_leaf
from agentsearch.search.selection import priors_from_logprobs, puct, uct
from agentsearch.search.tree import ROOT, SearchTree


def hand_tree() -> tuple[SearchTree, list[int]]:
    """Root visited 10 times; A: 4 visits summing 2.0; B: never visited; C: invalid, never visited."""
    tree = SearchTree.new(env="lock", task_id="t", instruction="i", observation="o")
    a = tree.add_node(ROOT, response="r", action="a", observation="oa", reward=0.0, terminal=False)
    b = tree.add_node(ROOT, response="r", action="b", observation="ob", reward=0.0, terminal=False)
    c = tree.add_node(
        ROOT,
        response="r",
        action="c",
        observation="oc",
        reward=0.0,
        terminal=False,
        invalid=True,
        init_value=-1.0,
    )
    tree.expanded[ROOT] = True
    tree.visits[ROOT], tree.value_sum[ROOT] = 10, 3.0
    tree.visits[a], tree.value_sum[a] = 4, 2.0
    tree.prior[a], tree.prior[b], tree.prior[c] = 0.6, 0.4, 0.0
    return tree, [a, b, c]


def test_uct_hand_computed():
    tree, (a, b, c) = hand_tree()
    # 0.5 + sqrt(2) * sqrt(ln 10 / 4)
    assert uct(tree, a) == pytest.approx(1.5729830131446738)
    assert uct(tree, a, c=0.0) == pytest.approx(0.5)  # the mean, not divided by visits again


def test_uct_zero_visits():
    tree, (a, b, c) = hand_tree()
    assert uct(tree, b) == math.inf
    assert uct(tree, c) == -1.0  # penalised invalid action keeps its value


def test_puct_hand_computed():
    tree, (a, b, c) = hand_tree()
    assert puct(tree, a, c_init=1.0) == pytest.approx(0.5 + 0.6 * math.sqrt(10) / 5)
    assert puct(tree, b, c_init=1.0) == pytest.approx(0.4 * math.sqrt(10))  # zero visits: Q=0, 1+N=1
    assert puct(tree, a, c_init=1.0, c_base=19652) == pytest.approx(0.8796856659896495)


def test_priors_from_logprobs_length_normalised():
    priors = priors_from_logprobs([-2.0, -6.0], [3, 2], length_penalty=1.25)
    assert priors == pytest.approx([0.88248047, 0.11751953])
    assert sum(priors) == pytest.approx(1.0)
    assert priors_from_logprobs([], []) == []


def test_backup_is_running_mean():
    tree, (a, b, c) = hand_tree()
    leaf = tree.add_node(b, response="r", action="x", observation="o", reward=1.0, terminal=True)
    tree.backup(leaf, 1.0)
    tree.backup(leaf, 0.0)
    tree.backup(leaf, 0.5)
    assert (tree.visits[b], tree.q(b)) == (3, pytest.approx(0.5))
    assert (tree.visits[ROOT], tree.q(ROOT)) == (13, pytest.approx(4.5 / 13))
    assert tree.q(c) == -1.0  # never visited: initial value


def test_select_leaf_descends_by_rule_and_prunes():
    tree, (a, b, c) = hand_tree()
    rule = lambda t, n: uct(t, n)  # noqa: E731
    assert select_leaf(tree, rule, set()) == b  # unvisited, +inf
    tree.visits[b] = 1
    tree.terminal[b] = True
    exhausted: set[int] = set()
    assert select_leaf(tree, rule, exhausted) == a  # terminal b skipped; A beats C's -1
    tree.expanded[a] = True  # expanded but childless: exhausted, selection restarts
    assert select_leaf(tree, rule, exhausted) == c
    assert a in exhausted
    tree.terminal[c] = True
    assert select_leaf(tree, rule, exhausted) is None
    assert ROOT in exhausted

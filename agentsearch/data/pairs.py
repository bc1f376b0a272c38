"""Step-level preference pairs from search trees: sibling actions from the same history, ranked by Q.

Strategies (pure functions of a :class:`~agentsearch.search.tree.SearchTree`):

* ``best_path_extremes`` (Zhai et al., ``qvalue-method.md`` 1.3): along the best trajectory, at each
  state the highest-Q child is chosen and the lowest-Q child rejected (first occurrence on ties);
  states whose children all tie are skipped. "Chosen" need not be the on-path child.
* ``all_siblings`` (Agent Q, 3.2): every pair of children of every state whose Q gap is at least
  ``min_gap`` (and strictly positive).
* ``success_path_vs_failed`` (TP-LLaMA, 4): along the path to a winning node, the on-path child is
  chosen against each sibling known to have failed (explored, and no win below it).

Each record is in TRL's conversational preference format: ``prompt`` holds the chat messages of the
full history exactly as the agent saw them, ``chosen``/``rejected`` one assistant turn each with the
full response; metadata columns (``q_chosen``, ``q_rejected``, ``gap``, ``depth``, ``env``, ``task_id``,
``tree_id``, node ids, ``round``, ``strategy``) ride along and TRL ignores them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from agentsearch.data.qvalues import MessagesFn, state_prompt
from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.search.tree import SearchTree

__all__ = ["STRATEGIES", "preference_pairs"]

#: (state node, chosen node, rejected node) triples.
Triple = tuple[int, int, int]


def _children(tree: SearchTree, node: int, min_visits: int = 0) -> list[int]:
    """Children that may enter a pair: not diverged, and visited ``min_visits`` times or terminal."""
    return [
        c for c in tree.children(node)
        if not tree.diverged[c] and (tree.visits[c] >= min_visits or tree.terminal[c])
    ]


def best_path_extremes(tree: SearchTree, *, min_gap: float = 0.0, min_visits: int = 0) -> Iterator[Triple]:
    """Zhai et al.: per state on the best path, argmax-Q child vs argmin-Q child."""
    for state in tree.best_path:
        children = _children(tree, state, min_visits)
        if len(children) < 2:
            continue
        qs = [tree.q(c) for c in children]
        hi, lo = qs.index(max(qs)), qs.index(min(qs))
        if hi != lo and qs[hi] - qs[lo] > 0 and qs[hi] - qs[lo] >= min_gap:
            yield state, children[hi], children[lo]


def all_siblings(tree: SearchTree, *, min_gap: float = 0.0, min_visits: int = 0) -> Iterator[Triple]:
    """Agent Q: every sibling pair with ``|Q_w - Q_l| >= min_gap`` (ties never form a pair)."""
    for state in range(tree.num_nodes):
        for a, b in itertools.combinations(_children(tree, state, min_visits), 2):
            gap = tree.q(a) - tree.q(b)
            if gap != 0 and abs(gap) >= min_gap:
                yield (state, a, b) if gap > 0 else (state, b, a)


def success_path_vs_failed(
    tree: SearchTree, *, min_gap: float = 0.0, min_visits: int = 1
) -> Iterator[Triple]:
    """TP-LLaMA: on the path to the first winning node, the on-path child vs each failed sibling.

    A sibling has failed when it was explored (visited, or terminal) and no node below it won;
    unexplored siblings carry no evidence and are skipped (``min_visits`` is at least 1 here). ``min_gap``
    is not used (labels are binary).
    """
    winners = [n for n in range(tree.num_nodes) if tree.won[n] and not tree.diverged[n]]
    if not winners:
        return
    won_below = set()
    for winner in winners:
        won_below.update(tree.path(winner))
    path = tree.path(winners[0])
    for state, on_path in zip(path, path[1:], strict=False):
        for sibling in _children(tree, state, max(min_visits, 1)):
            if sibling != on_path and sibling not in won_below:
                yield state, on_path, sibling


STRATEGIES: dict[str, Callable[..., Iterator[Triple]]] = {
    "best_path_extremes": best_path_extremes,
    "all_siblings": all_siblings,
    "success_path_vs_failed": success_path_vs_failed,
}


def preference_pairs(
    tree: SearchTree,
    strategy: str = "best_path_extremes",
    *,
    min_gap: float = 0.0,
    min_visits: int = 0,
    messages_fn: MessagesFn | None = None,
) -> list[dict[str, Any]]:
    """Step-level preference records of ``tree`` under ``strategy`` (see the module docstring).

    Args:
        tree: a finished search tree (``best_path`` filled).
        strategy: a key of :data:`STRATEGIES`.
        min_gap: smallest Q gap a pair may have.
        min_visits: fewest visits a non-terminal child needs to enter a pair. 0 (the paper) lets a child
            the search never selected stand in with its initial value (0, or the invalid-action
            penalty), so an unexplored action can be "chosen" over one whose rollout hit the depth limit;
            1 keeps only children with a Monte-Carlo estimate.
        messages_fn: renders a history into the agent's chat (``agent.messages``); by default the prompts
            stored in the tree are used, so no agent or model is needed.

    Returns:
        Records with ``prompt``/``chosen``/``rejected`` (TRL conversational format) and metadata.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"Unknown pair strategy {strategy!r}; known: {sorted(STRATEGIES)}."
            f"{did_you_mean(strategy, STRATEGIES)}"
        )
    records = []
    for state, chosen, rejected in STRATEGIES[strategy](tree, min_gap=min_gap, min_visits=min_visits):
        q_chosen, q_rejected = tree.q(chosen), tree.q(rejected)
        records.append(
            {
                "prompt": state_prompt(tree, state, messages_fn),
                "chosen": [{"role": "assistant", "content": tree.response[chosen]}],
                "rejected": [{"role": "assistant", "content": tree.response[rejected]}],
                "q_chosen": q_chosen,
                "q_rejected": q_rejected,
                "gap": q_chosen - q_rejected,
                "depth": tree.depth[state],
                "env": tree.env,
                "task_id": tree.task_id,
                "tree_id": tree.tree_id,
                "state_node": state,
                "chosen_node": chosen,
                "rejected_node": rejected,
                "round": tree.round,
                "strategy": strategy,
            }
        )
    return records

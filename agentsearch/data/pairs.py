"""Step-level preference pairs from search trees: sibling actions from the same history, ranked by Q.

Strategies (pure functions of a :class:`~agentsearch.search.tree.SearchTree`):

* ``best_path_extremes`` (Zhai et al., ``qvalue-method.md`` 1.3): along the best trajectory, at each
  state the highest-Q child is chosen and the lowest-Q child rejected (first occurrence on ties);
  states whose children all tie are skipped. "Chosen" need not be the on-path child.
* ``all_siblings`` (Agent Q, 3.2): every pair of children of every state whose Q gap is at least
  ``min_gap`` (and strictly positive).
* ``success_path_vs_failed`` (TP-LLaMA, 4): along the path to a winning node, the on-path child is
  chosen against each sibling known to have failed (explored, and no win below it).

Each pair is a :class:`PairRecord`, the one type the writer here and the reader before training
(:func:`agentsearch.train.pairs.read_pair_records`) share. Its JSON row is TRL's conversational
preference format: ``prompt`` holds the chat messages of the full history exactly as the agent saw
them, ``chosen``/``rejected`` one assistant turn each with the full response; metadata columns
(``q_chosen``, ``q_rejected``, ``gap``, ``depth``, ``env``, ``task_id``, ``tree_id``, node ids, ``round``,
``strategy``) ride along and TRL ignores them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentsearch.data.qvalues import MessagesFn, state_prompt
from agentsearch.errors import ConfigError, DataFileError, did_you_mean
from agentsearch.search.tree import SearchTree

__all__ = ["STRATEGIES", "TRL_COLUMNS", "PairRecord", "pair_records", "preference_pairs"]

#: The columns TRL's ``DPOTrainer`` reads; every other key of a row is metadata.
TRL_COLUMNS = ("prompt", "chosen", "rejected")


@dataclass(frozen=True)
class PairRecord:
    """One step-level preference pair.

    Attributes:
        prompt: the chat messages of the history, as the agent saw them.
        chosen: the preferred assistant turn (one message ending in the full response).
        rejected: the other assistant turn, from the same history.
        meta: every other column (``q_chosen``, ``q_rejected``, ``gap``, ``depth``, ``task_id`` ...).
        line: the line of the file it was read from (``None`` for a record built from a tree); error
            messages name it.
    """

    prompt: list[dict[str, str]]
    chosen: list[dict[str, str]]
    rejected: list[dict[str, str]]
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = field(default=None, compare=False)

    def trl_row(self) -> dict[str, Any]:
        """The three columns TRL trains on."""
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}

    def to_json(self) -> dict[str, Any]:
        """The JSONL row: TRL's columns first, then the metadata."""
        return {**self.trl_row(), **self.meta}

    @classmethod
    def from_json(cls, raw: object, path: str | os.PathLike[str], line: int) -> PairRecord:
        """Parse and check one row of ``path``; a bad row raises :class:`DataFileError` naming its line.

        A row must be a JSON object with non-empty ``prompt``/``chosen``/``rejected`` chat messages,
        both sides ending in an assistant turn, and the two sides different.
        """
        if not isinstance(raw, Mapping):
            raise DataFileError(path, line, "expected a JSON object with prompt/chosen/rejected.")
        missing = [key for key in TRL_COLUMNS if key not in raw]
        if missing:
            raise DataFileError(path, line, f"one-sided or incomplete pair: missing {missing}.")
        chosen = _messages(raw["chosen"], "chosen", path, line)
        rejected = _messages(raw["rejected"], "rejected", path, line)
        if chosen[-1]["role"] != "assistant" or rejected[-1]["role"] != "assistant":
            raise DataFileError(path, line, "`chosen` and `rejected` must end with an assistant message.")
        if chosen == rejected:
            raise DataFileError(path, line, "chosen and rejected are identical: no preference to learn.")
        meta = {key: value for key, value in raw.items() if key not in TRL_COLUMNS}
        return cls(_messages(raw["prompt"], "prompt", path, line), chosen, rejected, meta, line)


def _messages(value: Any, what: str, path: str | os.PathLike[str], line: int) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DataFileError(
            path, line, f"`{what}` must be a non-empty list of chat messages, got {type(value).__name__}."
        )
    for message in value:
        if not (
            isinstance(message, dict)
            and isinstance(message.get("role"), str)
            and isinstance(message.get("content"), str)
        ):
            raise DataFileError(
                path, line, f"`{what}` holds a message without string `role` and `content`: {message!r:.120}"
            )
    return [{"role": m["role"], "content": m["content"]} for m in value]


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
    """The JSONL rows (:meth:`PairRecord.to_json`) of :func:`pair_records`, ready for ``write_jsonl``."""
    return [
        record.to_json()
        for record in pair_records(
            tree, strategy, min_gap=min_gap, min_visits=min_visits, messages_fn=messages_fn
        )
    ]


def pair_records(
    tree: SearchTree,
    strategy: str = "best_path_extremes",
    *,
    min_gap: float = 0.0,
    min_visits: int = 0,
    messages_fn: MessagesFn | None = None,
) -> list[PairRecord]:
    """Step-level preference pairs of ``tree`` under ``strategy`` (see the module docstring).

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
        One :class:`PairRecord` per (state, chosen, rejected) triple of the strategy.
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
            PairRecord(
                prompt=state_prompt(tree, state, messages_fn),
                chosen=[{"role": "assistant", "content": tree.response[chosen]}],
                rejected=[{"role": "assistant", "content": tree.response[rejected]}],
                meta={
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
                },
            )
        )
    return records

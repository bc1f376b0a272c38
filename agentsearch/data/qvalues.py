"""Step-level Q-values and value-model labels read off a search tree.

Q(s, a) of a child node is the running mean of the returns backed up through it (Zhai et al.,
``../shared/reference/qvalue-method.md`` 1.3); a child never visited keeps its initial value (its
immediate reward, or the invalid-action penalty).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from agentsearch.agents.base import History
from agentsearch.errors import ConfigError
from agentsearch.llm.base import Message
from agentsearch.search.tree import SearchTree

__all__ = ["StepValue", "q_values", "value_labels", "state_prompt", "MessagesFn"]

#: Renders a history into the chat the agent saw (an agent's ``messages`` method).
MessagesFn = Callable[[History], list[Message]]


@dataclass(frozen=True)
class StepValue:
    """One (state, action) of a tree with its Q-value.

    Attributes:
        state: id of the node whose state the action was taken in (the parent).
        node: id of the child the action leads to.
        depth: depth of ``state`` (0 = the reset state).
        action: the action string; ``response`` the full assistant turn.
        q: the raw Q (returns in [-1, 1] with the penalties).
        visits: N(s, a).
        is_rollout: the action came from a simulation rather than an expansion.
    """

    state: int
    node: int
    depth: int
    action: str
    response: str
    q: float
    visits: int
    is_rollout: bool


def q_values(tree: SearchTree) -> list[StepValue]:
    """Every (state, action) edge of ``tree`` with its Q and visit count, diverged branches excluded."""
    values = []
    for node in range(1, tree.num_nodes):
        if tree.diverged[node]:
            continue
        state = tree.parent[node]
        values.append(
            StepValue(
                state=state,
                node=node,
                depth=tree.depth[state],
                action=tree.action[node],
                response=tree.response[node],
                q=tree.q(node),
                visits=tree.visits[node],
                is_rollout=tree.is_rollout[node],
            )
        )
    return values


def state_prompt(tree: SearchTree, node: int, messages_fn: MessagesFn | None = None) -> list[Message]:
    """The chat the agent saw at ``node``: the stored prompt, else ``messages_fn(tree.history(node))``."""
    if messages_fn is not None:
        return messages_fn(tree.history(node))
    stored = tree.prompt[node]
    if stored is None:
        raise ConfigError(
            f"Tree {tree.tree_id or tree.task_id!r} stores no prompt at node {node}; pass `messages_fn` "
            "(the agent's `messages`) to rebuild it."
        )
    return [dict(m) for m in stored]  # type: ignore[misc]


def value_labels(
    tree: SearchTree, *, messages_fn: MessagesFn | None = None, min_visits: int = 0
) -> list[dict[str, Any]]:
    """Value-model training records: state prompt, action turn, Q clipped to [0, 1], visits.

    ``q`` maps the penalties (invalid -1, depth limit -0.5) to 0, the floor of the env reward; ``q_raw``
    keeps the unclipped value. Edges with fewer than ``min_visits`` visits are left out, and so are
    edges whose state has no stored prompt (rollout steps) unless ``messages_fn`` rebuilds it.
    """
    records = []
    for value in q_values(tree):
        if value.visits < min_visits or (messages_fn is None and tree.prompt[value.state] is None):
            continue
        records.append(
            {
                "prompt": state_prompt(tree, value.state, messages_fn),
                "completion": [{"role": "assistant", "content": value.response}],
                "q": min(1.0, max(0.0, value.q)),
                "q_raw": value.q,
                **{k: v for k, v in asdict(value).items() if k not in ("q", "response")},
                "env": tree.env,
                "task_id": tree.task_id,
                "tree_id": tree.tree_id,
                "round": tree.round,
            }
        )
    return records

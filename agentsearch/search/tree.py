"""The one search-tree schema every algorithm writes: a flat node table, like mctx's ``Tree``.

A :class:`SearchTree` keeps one parallel list per node attribute, indexed by node id. Node
:data:`ROOT` (0) is the state after ``env.reset``; every other node is one agent turn (the model's full
response and the action parsed from it) plus what the environment returned for it. Children are found
through ``parent``; :meth:`SearchTree.children` caches the index.

Values follow Zhai et al. (``../shared/reference/qvalue-method.md`` 1.2-1.3): ``visits`` and
``value_sum`` accumulate backed-up returns, so the Q-value of the (state, action) a node stands for is
the running mean ``value_sum / visits``; a node never visited keeps its initial value (its immediate
reward, or a penalty for an invalid action).

Trees serialise to one JSON object per line (:meth:`SearchTree.to_json` / :meth:`SearchTree.from_json`,
versioned by :data:`SCHEMA_VERSION`); :func:`read_trees` and :func:`append_tree` handle JSONL files. A
:class:`TreeLine` is a tree already serialised as its line, with the counts a progress report needs, so a
writer appends it without parsing it (a remote worker sends finished trees so).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from agentsearch.agents.base import History, Turn
from agentsearch.errors import DataFileError
from agentsearch.files import append_line, open_maybe_gzipped
from agentsearch.llm.base import Message

__all__ = [
    "SCHEMA_VERSION",
    "ROOT",
    "NO_PARENT",
    "SearchTree",
    "TreeFileScan",
    "TreeLine",
    "append_tree",
    "read_trees",
    "scan_tree_file",
]

logger = logging.getLogger(__name__)

#: Version of the JSON layout written by :meth:`SearchTree.to_json`; bump on incompatible changes.
SCHEMA_VERSION = 1
ROOT = 0
NO_PARENT = -1

#: Per-node columns, in serialisation order. Each is a list with one entry per node.
NODE_FIELDS: tuple[str, ...] = (
    "parent",
    "depth",
    "response",
    "action",
    "observation",
    "reward",
    "terminal",
    "won",
    "invalid",
    "visits",
    "value_sum",
    "init_value",
    "logprob",
    "prior",
    "num_tokens",
    "count",
    "is_rollout",
    "expanded",
    "diverged",
    "iteration",
    "valid_actions",
    "prompt",
)


@dataclass
class SearchTree:
    """A search tree over one task, with everything needed to rebuild its training data offline.

    Per-node columns (lists of equal length, indexed by node id):
        parent: parent id, :data:`NO_PARENT` for the root.
        depth: number of actions from the root (root = 0).
        response: the model's full turn (``Thought: ... Action: ...``); ``""`` at the root.
        action: the action parsed from ``response`` and sent to ``env.step``; ``""`` at the root.
        observation: what the environment returned (the reset observation at the root).
        reward: the environment's immediate reward for this step (WebShop: score in [0, 1] on purchase).
        terminal: the episode ended here (terminated or truncated by the env).
        won: the environment reported the task solved at this step.
        invalid: the environment rejected the action (state unchanged).
        visits: N(s, a), backups that went through this node.
        value_sum: sum of backed-up returns; Q(s, a) = value_sum / visits.
        init_value: Q of a node before any backup (immediate reward, or the invalid-action penalty).
        logprob: summed log-probability of ``response`` under the policy (nats).
        prior: the policy prior used by PUCT (normalised over siblings); 0 when unused.
        num_tokens: tokens in ``response``.
        count: how many of the samples of the expansion produced this action.
        is_rollout: created by a simulation (one sample per step), not by an expansion.
        expanded: the search sampled children for this node.
        diverged: replaying the path from reset did not reproduce the recorded observations; the
            node is dead for search and excluded from training data.
        iteration: the search iteration that created the node (0 for the root).
        valid_actions: the environment's valid actions *at the state after* this node, or ``None``.
        prompt: the chat messages the agent saw when it expanded this node (``None`` if it did not),
            so preference pairs can be rebuilt without the agent.

    Tree metadata: ``env``, ``task_id``, ``instruction``, ``algorithm``, ``config``, ``model``, ``backend``,
    ``seed``, ``timings`` (seconds by phase), ``tokens`` (generated tokens), ``best_path`` (node ids from
    the root), ``best_reward``, ``success``, ``error`` (a message when the search failed), ``round`` (the
    iteration of an expert-iteration loop that produced it) and ``provenance`` (free-form).
    """

    env: str
    task_id: str
    instruction: str
    algorithm: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    backend: str = ""
    seed: int | None = None
    tree_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    tokens: int = 0
    best_path: list[int] = field(default_factory=list)
    best_reward: float = 0.0
    success: bool = False
    error: str | None = None
    round: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)

    parent: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    response: list[str] = field(default_factory=list)
    action: list[str] = field(default_factory=list)
    observation: list[str] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    terminal: list[bool] = field(default_factory=list)
    won: list[bool] = field(default_factory=list)
    invalid: list[bool] = field(default_factory=list)
    visits: list[int] = field(default_factory=list)
    value_sum: list[float] = field(default_factory=list)
    init_value: list[float] = field(default_factory=list)
    logprob: list[float] = field(default_factory=list)
    prior: list[float] = field(default_factory=list)
    num_tokens: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    is_rollout: list[bool] = field(default_factory=list)
    expanded: list[bool] = field(default_factory=list)
    diverged: list[bool] = field(default_factory=list)
    iteration: list[int] = field(default_factory=list)
    valid_actions: list[list[str] | None] = field(default_factory=list)
    prompt: list[list[Message] | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        lengths = {name: len(getattr(self, name)) for name in NODE_FIELDS}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Per-node columns differ in length: {lengths}.")
        self._children: list[list[int]] = [[] for _ in self.parent]
        for node, parent in enumerate(self.parent):
            if parent != NO_PARENT:
                self._children[parent].append(node)

    # ------------------------------------------------------------------ construction
    @classmethod
    def new(
        cls,
        *,
        env: str,
        task_id: str,
        instruction: str,
        observation: str,
        valid_actions: Sequence[str] | None = None,
        **metadata: Any,
    ) -> SearchTree:
        """A tree holding only the root (the reset state)."""
        tree = cls(env=env, task_id=task_id, instruction=instruction, **metadata)
        tree._append(
            parent=NO_PARENT,
            depth=0,
            response="",
            action="",
            observation=observation,
            reward=0.0,
            terminal=False,
            won=False,
            invalid=False,
            init_value=0.0,
            logprob=0.0,
            prior=0.0,
            num_tokens=0,
            count=1,
            is_rollout=False,
            iteration=0,
            valid_actions=list(valid_actions) if valid_actions is not None else None,
        )
        return tree

    def add_node(
        self,
        parent: int,
        *,
        response: str,
        action: str,
        observation: str,
        reward: float,
        terminal: bool,
        won: bool = False,
        invalid: bool = False,
        init_value: float | None = None,
        logprob: float = 0.0,
        num_tokens: int = 0,
        count: int = 1,
        is_rollout: bool = False,
        iteration: int = 0,
        valid_actions: Sequence[str] | None = None,
    ) -> int:
        """Append a child of ``parent`` and return its id."""
        if not 0 <= parent < self.num_nodes:
            raise IndexError(f"No node {parent} in a tree of {self.num_nodes} nodes.")
        return self._append(
            parent=parent,
            depth=self.depth[parent] + 1,
            response=response,
            action=action,
            observation=observation,
            reward=float(reward),
            terminal=bool(terminal),
            won=bool(won),
            invalid=bool(invalid),
            init_value=float(reward if init_value is None else init_value),
            logprob=float(logprob),
            prior=0.0,
            num_tokens=int(num_tokens),
            count=int(count),
            is_rollout=bool(is_rollout),
            iteration=int(iteration),
            valid_actions=list(valid_actions) if valid_actions is not None else None,
        )

    def _append(self, **values: Any) -> int:
        node = len(self.parent)
        parent = values["parent"]
        # Spelled out (not a loop over NODE_FIELDS): node creation is the engine's innermost loop.
        self.parent.append(parent)
        self.depth.append(values["depth"])
        self.response.append(values["response"])
        self.action.append(values["action"])
        self.observation.append(values["observation"])
        self.reward.append(values["reward"])
        self.terminal.append(values["terminal"])
        self.won.append(values["won"])
        self.invalid.append(values["invalid"])
        self.visits.append(0)
        self.value_sum.append(0.0)
        self.init_value.append(values["init_value"])
        self.logprob.append(values["logprob"])
        self.prior.append(values["prior"])
        self.num_tokens.append(values["num_tokens"])
        self.count.append(values["count"])
        self.is_rollout.append(values["is_rollout"])
        self.expanded.append(False)
        self.diverged.append(False)
        self.iteration.append(values["iteration"])
        self.valid_actions.append(values["valid_actions"])
        self.prompt.append(None)
        self._children.append([])
        if parent != NO_PARENT:
            self._children[parent].append(node)
        return node

    # ------------------------------------------------------------------ views
    @property
    def num_nodes(self) -> int:
        return len(self.parent)

    def children(self, node: int) -> list[int]:
        """Child ids of ``node`` in creation order."""
        return list(self._children[node])

    def q(self, node: int) -> float:
        """Q(s, a) of the action leading to ``node``: the running mean of backed-up returns.

        A node never visited keeps its initial value (Zhai et al.: children never selected keep their
        immediate reward, or -1 for an invalid WebShop action).
        """
        visits = self.visits[node]
        return self.value_sum[node] / visits if visits else self.init_value[node]

    def qvalues(self, node: int) -> list[float]:
        """Q-values of the children of ``node``, in :meth:`children` order."""
        return [self.q(child) for child in self._children[node]]

    def path(self, node: int) -> list[int]:
        """Node ids from the root down to ``node`` (inclusive)."""
        path = []
        while node != NO_PARENT:
            path.append(node)
            node = self.parent[node]
        return path[::-1]

    def history(self, node: int) -> History:
        """The :class:`~agentsearch.agents.base.History` an agent sees at ``node``."""
        turns = tuple(
            Turn(self.response[n], self.action[n], self.observation[n]) for n in self.path(node)[1:]
        )
        return History(self.instruction, self.observation[ROOT], turns)

    def backup(self, node: int, value: float) -> None:
        """Add ``value`` to every node from ``node`` up to the root (running-mean backup)."""
        while node != NO_PARENT:
            self.visits[node] += 1
            self.value_sum[node] += value
            node = self.parent[node]

    def best_node(self) -> int:
        """The node with the highest immediate reward (earliest wins ties), diverged nodes excluded.

        Rollout nodes count: a rollout that reaches reward 1 found a real trajectory. Returns the root
        when no node has a positive reward.
        """
        best, best_reward = ROOT, 0.0
        for node in range(1, self.num_nodes):
            if not self.diverged[node] and self.reward[node] > best_reward:
                best, best_reward = node, self.reward[node]
        return best

    def finalize(self) -> None:
        """Fill ``best_path``, ``best_reward`` and ``success`` from the nodes."""
        best = self.best_node()
        self.best_path = self.path(best)
        self.best_reward = self.reward[best] if best != ROOT else 0.0
        self.success = any(w and not d for w, d in zip(self.won, self.diverged, strict=True))

    def summary(self) -> dict[str, Any]:
        """Small per-tree figures for logs and progress bars."""
        return {
            "task_id": self.task_id,
            "nodes": self.num_nodes,
            "success": self.success,
            "best_reward": self.best_reward,
            "tokens": self.tokens,
            "error": self.error,
        }

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` with one vertex per node (attributes: the per-node columns and ``q``)."""
        import networkx as nx

        graph = nx.DiGraph(env=self.env, task_id=self.task_id, tree_id=self.tree_id)
        for node in range(self.num_nodes):
            attrs = {name: getattr(self, name)[node] for name in NODE_FIELDS if name != "parent"}
            graph.add_node(node, q=self.q(node), **attrs)
            if self.parent[node] != NO_PARENT:
                graph.add_edge(self.parent[node], node)
        return graph

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        meta = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in NODE_FIELDS}
        return {
            "schema_version": SCHEMA_VERSION,
            **meta,
            "nodes": {name: getattr(self, name) for name in NODE_FIELDS},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchTree:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"Unsupported tree schema_version {version!r}; this version reads {SCHEMA_VERSION}."
            )
        nodes = data.get("nodes")
        if not isinstance(nodes, dict):
            raise ValueError("Tree record has no `nodes` object.")
        missing = [name for name in NODE_FIELDS if name not in nodes]
        if missing:
            raise ValueError(f"Tree record lacks node columns {missing}.")
        meta_names = {f.name for f in fields(cls)} - set(NODE_FIELDS)
        meta = {k: v for k, v in data.items() if k in meta_names}
        return cls(**meta, **{name: list(nodes[name]) for name in NODE_FIELDS})

    def to_json(self) -> str:
        """One line of JSON (no newline); ``allow_nan=False`` keeps the file readable by any parser."""
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> SearchTree:
        return cls.from_dict(json.loads(line))


# ---------------------------------------------------------------------------- JSONL files
@dataclass(frozen=True)
class TreeFileScan:
    """What :func:`scan_tree_file` found in a trees file.

    Attributes:
        task_ids: task ids of the complete trees, in file order.
        good_bytes: length of the prefix holding only complete lines.
        truncated: the file ended in a partial line (a write cut short by a kill).
    """

    task_ids: list[str]
    good_bytes: int
    truncated: bool


def scan_tree_file(path: str | os.PathLike[str]) -> TreeFileScan:
    """Check a trees file line by line; a partial *last* line is reported, any other bad line raises.

    Raises:
        DataFileError: a line other than the last is not a valid tree (names file and line).
    """
    path = Path(path)
    if not path.exists():
        return TreeFileScan([], 0, False)
    task_ids: list[str] = []
    good_bytes = 0
    with path.open("rb") as handle:
        lines = handle.read().split(b"\n")
    # split() leaves a final "" when the file ends with a newline; anything else is a partial line.
    *complete, tail = lines
    for number, raw in enumerate(complete, start=1):
        if raw.strip():
            try:
                record = json.loads(raw)
                task_ids.append(str(record["task_id"]))
                SearchTree.from_dict(record)
            except (ValueError, KeyError, TypeError) as err:
                raise DataFileError(path, number, f"not a valid search tree ({err})") from err
        good_bytes += len(raw) + 1
    truncated = bool(tail.strip())
    if truncated:
        logger.warning(
            "%s: line %d is truncated (%d bytes, an interrupted write); ignoring it.",
            path,
            len(complete) + 1,
            len(tail),
        )
    return TreeFileScan(task_ids, good_bytes, truncated)


def read_trees(path: str | os.PathLike[str]) -> Iterator[SearchTree]:
    """Yield the trees of a JSONL file; a truncated last line is logged and skipped.

    Raises:
        DataFileError: a line (other than a truncated last one) is not a valid tree.
    """
    path = Path(path)
    with open_maybe_gzipped(path) as handle:
        lines = handle.read().split("\n")
    *complete, tail = lines
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            yield SearchTree.from_json(line)
        except (ValueError, KeyError, TypeError) as err:
            raise DataFileError(path, number, f"not a valid search tree ({err})") from err
    if tail.strip():
        logger.warning(
            "%s: line %d is truncated (an interrupted write); ignoring it.", path, len(complete) + 1
        )


@dataclass(frozen=True)
class TreeLine:
    """A finished tree as the UTF-8 bytes of its JSONL line (:meth:`SearchTree.to_json`, no newline),
    with the facts a writer counts, so the one who writes it needs neither to parse nor to re-serialise.

    Attributes:
        task_id: the tree's task; ``success``, ``failed`` (``error`` is set), ``nodes`` and ``tokens`` its
            counts; ``line`` the encoded JSON.
    """

    task_id: str
    line: bytes
    success: bool
    failed: bool
    nodes: int
    tokens: int

    @classmethod
    def of(cls, tree: SearchTree) -> TreeLine:
        return cls(
            task_id=tree.task_id,
            line=tree.to_json().encode("utf-8"),
            success=bool(tree.success),
            failed=tree.error is not None,
            nodes=tree.num_nodes,
            tokens=tree.tokens,
        )

    def tree(self) -> SearchTree:
        """The tree, parsed back from the line."""
        return SearchTree.from_json(self.line.decode("utf-8"))


def append_tree(handle: Any, tree: SearchTree) -> None:
    """Write ``tree`` as one line to an open binary or text handle, then fsync it.

    The line is written in one call so a kill leaves at most one partial line at the end; a failed write
    (disk full) is cut back off and raises :class:`~agentsearch.errors.OutputError`.
    """
    append_line(handle, tree.to_json())

"""Putting an environment back into the state of any tree node: snapshots, or replay from reset.

Environments that implement ``snapshot()``/``restore()`` branch in O(1): each node keeps the snapshot
taken right after its step. An environment without snapshots (no ``snapshot``/``restore`` methods, as a
plain gymnasium env behind its wrappers, ``snapshot()`` raising ``NotImplementedError``, or
``supports_snapshot = False``) is replayed: reset to the task,
then step every action on the path again, checking each observation and reward against the recorded
one. A mismatch (a nondeterministic environment) marks the node and its subtree ``diverged`` in the
tree instead of silently attaching children to a state that is not the one recorded; searches never
select diverged nodes, and Q-values, best paths and pairs leave them out.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from agentsearch.errors import ConfigError
from agentsearch.search.tree import ROOT, SearchTree

__all__ = ["Branching", "BranchMode", "StepResult"]

logger = logging.getLogger(__name__)

BranchMode = Literal["auto", "snapshot", "replay"]

#: What ``env.step`` returns: (observation, reward, terminated, truncated, info).
StepResult = tuple[str, float, bool, bool, dict[str, Any]]


class Branching:
    """Moves one environment instance between the states of one tree's nodes.

    Args:
        env: a :class:`~agentsearch.envs.base.TextEnv` (or any env with ``reset(options={"task_id"})``).
        task_id: the task every replay resets to.
        mode: ``"snapshot"``, ``"replay"``, or ``"auto"`` (snapshots when the env supports them).
    """

    def __init__(self, env: Any, task_id: str, *, mode: BranchMode = "auto") -> None:
        if mode not in ("auto", "snapshot", "replay"):
            raise ConfigError(f"Unknown branching mode {mode!r}; expected 'auto', 'snapshot' or 'replay'.")
        self.env = env
        self.task_id = task_id
        self.requested_mode = mode
        self.mode: Literal["snapshot", "replay"] = "replay" if mode == "replay" else "snapshot"
        self._snapshots: dict[int, Any] = {}
        self._current: int | None = None
        #: Environment steps spent on replays (0 with snapshots).
        self.replay_steps = 0

    def reset(self) -> tuple[str, dict[str, Any]]:
        """Reset to the task and remember the root state; decides the mode under ``"auto"``."""
        observation, info = self.env.reset(options={"task_id": self.task_id})
        self._snapshots.clear()
        if self.mode == "snapshot":
            snapshot = self._try_snapshot()
            if snapshot is None:
                if self.requested_mode == "snapshot":
                    raise ConfigError(
                        f"{type(self.env).__name__} does not support snapshot(); use mode='replay'."
                    )
                logger.info("%s has no snapshots; branching by replay.", type(self.env).__name__)
                self.mode = "replay"
            else:
                self._snapshots[ROOT] = snapshot
        self._current = ROOT
        return observation, info

    def _try_snapshot(self) -> Any | None:
        if getattr(self.env, "supports_snapshot", True) is False:
            return None
        snapshot, restore = getattr(self.env, "snapshot", None), getattr(self.env, "restore", None)
        if not (callable(snapshot) and callable(restore)):
            return None
        try:
            return snapshot()
        except NotImplementedError:
            return None

    def goto(self, tree: SearchTree, node: int) -> bool:
        """Put the env in the state after ``node``; ``False`` if a replay diverged (node marked)."""
        if self._current == node:
            return True
        if self.mode == "snapshot":
            self.env.restore(self._snapshots[node])
            self._current = node
            return True
        return self._replay(tree, node)

    def _replay(self, tree: SearchTree, node: int) -> bool:
        self.env.reset(options={"task_id": self.task_id})
        self._current = ROOT
        for step_node in tree.path(node)[1:]:
            observation, reward, *_ = self.env.step(tree.action[step_node])
            self.replay_steps += 1
            if observation != tree.observation[step_node] or reward != tree.reward[step_node]:
                logger.warning(
                    "task %s: replaying node %d gave a different %s than recorded; marking it diverged.",
                    self.task_id,
                    step_node,
                    "observation" if observation != tree.observation[step_node] else "reward",
                )
                self._mark_diverged(tree, step_node)
                self._current = None
                return False
            self._current = step_node
        return True

    @staticmethod
    def _mark_diverged(tree: SearchTree, node: int) -> None:
        """Mark ``node`` and its whole subtree: none of it can be reached again as recorded."""
        stack = [node]
        while stack:
            current = stack.pop()
            tree.diverged[current] = True
            stack.extend(tree.children(current))

    def step(self, tree: SearchTree, parent: int, action: str) -> StepResult | None:
        """Step ``action`` from the state of ``parent``; ``None`` if ``parent`` could not be reached."""
        if not self.goto(tree, parent):
            return None
        result = self.env.step(action)
        self._current = None  # the env is in the new child's state; commit() names it
        return result

    def commit(self, node: int) -> None:
        """Record that the env is now in the state of the freshly added ``node``."""
        if self.mode == "snapshot":
            self._snapshots[node] = self.env.snapshot()
        self._current = node

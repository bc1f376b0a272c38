"""Any gymnasium environment with text observations and text actions, under the :class:`TextEnv` contract.

:class:`GymTextEnv` wraps an env that knows nothing of agentsearch so search, pairs and evaluation can
run on it unchanged::

    env = GymTextEnv(gym.make("mypkg/MyEnv-v0"), valid_actions_key="admissible_commands")

* Tasks: an env whose ``unwrapped`` has ``task_ids(split)`` is reset with ``options={"task_id": ...}``;
  any other env's tasks are reset seeds (:data:`SEED_SPLITS`), so ``task_id="7"`` is ``reset(seed=7)``.
* ``info`` gets the contract's keys: ``instruction`` from ``info[instruction_key]``, ``valid_actions``
  from ``info[valid_actions_key]`` (without a key named, the first of :data:`VALID_ACTION_KEYS` present;
  ``None``, i.e. free-form actions, when there is none), ``won`` from ``info["won"]`` or a positive reward
  on termination.
* Branching: where the wrapped env has ``snapshot()``/``restore()``, snapshots hold its snapshot; else
  ``supports_snapshot`` is ``False`` and search replays actions from reset, checking each observation.
* The step limit is the id's ``max_episode_steps``, counted inside this wrapper (gymnasium's
  ``TimeLimit`` is peeled off with the other wrappers, since it would not rewind on restore).
* An exception raised by the wrapped env's ``step`` (an action it cannot parse) becomes an invalid-action
  observation, as the contract promises; the wrapped env is assumed unchanged by a step it rejected.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from agentsearch.envs.base import SPLITS, TextEnv, Transition, check_split

__all__ = ["GymTextEnv", "SEED_SPLITS", "VALID_ACTION_KEYS"]

logger = logging.getLogger(__name__)

#: Task ids (reset seeds) of each split for envs without their own task lists.
SEED_SPLITS: dict[str, range] = {
    "train": range(0, 1000), "eval": range(1000, 1100), "test": range(1100, 1300),
}

#: ``info`` keys that commonly list the valid actions (agentsearch, TextWorld, ALFWorld, ScienceWorld).
VALID_ACTION_KEYS: tuple[str, ...] = ("valid_actions", "admissible_commands", "available_actions", "valid")

#: Steps per episode when the gymnasium id sets no ``max_episode_steps``.
DEFAULT_MAX_STEPS = 30


class GymTextEnv(TextEnv):
    """A gymnasium text environment seen through the :class:`TextEnv` contract (module docstring).

    Args:
        env: the environment (wrapped or not; its ``unwrapped`` is driven).
        valid_actions_key: the ``info`` key listing valid actions; ``None`` looks for a common one.
        instruction_key: the ``info`` key holding the task instruction.
        max_steps: step limit (default: the id's ``max_episode_steps``, else 30).
        split: the split a ``reset`` without ``task_id`` draws from.
    """

    def __init__(
        self,
        env: gym.Env,
        *,
        valid_actions_key: str | None = None,
        instruction_key: str = "instruction",
        max_steps: int | None = None,
        split: str = "train",
        render_mode: str | None = None,
    ) -> None:
        spec = env.spec
        limit = max_steps or (spec.max_episode_steps if spec is not None else None) or DEFAULT_MAX_STEPS
        super().__init__(max_steps=limit, split=split, render_mode=render_mode)
        self.env = env.unwrapped
        self.spec = spec
        self.valid_actions_key = valid_actions_key
        self.instruction_key = instruction_key
        inner_snapshots = callable(getattr(self.env, "snapshot", None)) and callable(
            getattr(self.env, "restore", None)
        )
        #: Read by search's branching: without the wrapped env's own snapshots, branch by replay.
        self.supports_snapshot = inner_snapshots and getattr(self.env, "supports_snapshot", True) is not False
        self._inner_info: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"GymTextEnv({self.spec.id if self.spec else type(self.env).__name__})"

    # ------------------------------------------------------------------ TextEnv subclass API
    def task_ids(self, split: str) -> Sequence[str]:
        check_split(split)
        own = getattr(self.env, "task_ids", None)
        if callable(own):
            return [str(t) for t in own(split)]
        return [str(seed) for seed in SEED_SPLITS[split]]

    def _has_task(self, task_id: str) -> bool:
        if callable(getattr(self.env, "task_ids", None)):
            return any(task_id in self.task_ids(split) for split in SPLITS)
        return task_id.isdigit()

    def _reset_task(self, task_id: str) -> tuple[str, str, dict[str, Any]]:
        if callable(getattr(self.env, "task_ids", None)):
            observation, info = self.env.reset(options={"task_id": task_id})
        else:
            observation, info = self.env.reset(seed=int(task_id))
        self._inner_info = dict(info)
        instruction = info.get(self.instruction_key, "")
        return str(observation), str(instruction or ""), self._extras(info)

    def _step(self, action: str) -> Transition:
        try:
            observation, reward, terminated, truncated, info = self.env.step(action)
        except Exception as err:  # the contract: what an agent typed never raises
            logger.debug("%r rejected %r: %s", self, action[:80], err)
            return Transition(f"Invalid action: {err}", invalid_action=True)
        self._inner_info = dict(info)
        won = bool(info.get("won", terminated and float(reward) > 0))
        # The wrapped env's own time limit ends the episode too; TextEnv only counts its max_steps.
        return Transition(
            str(observation),
            reward=float(reward),
            terminated=bool(terminated or truncated),
            won=won,
            invalid_action=bool(info.get("invalid_action", False)),
            extras=self._extras(info),
        )

    def _valid_actions(self) -> list[str] | None:
        keys = (self.valid_actions_key,) if self.valid_actions_key else VALID_ACTION_KEYS
        for key in keys:
            value = self._inner_info.get(key)
            if isinstance(value, list | tuple):
                return [str(action) for action in value]
        return None

    def _extras(self, info: dict[str, Any]) -> dict[str, Any]:
        """The wrapped env's own info entries that do not clash with the contract's keys."""
        reserved = {"instruction", "task_id", "valid_actions", "won", "invalid_action", "step"}
        return {key: value for key, value in info.items() if key not in reserved}

    def _get_state(self) -> Any:
        if not self.supports_snapshot:
            raise NotImplementedError(f"{self!r} has no snapshot(); search branches by replay.")
        return (self.env.snapshot(), tuple(self._inner_info.items()))

    def _set_state(self, state: Any) -> None:
        snapshot, inner_info = state
        self.env.restore(snapshot)
        self._inner_info = dict(inner_info)

    def close(self) -> None:
        self.env.close()

"""ScienceWorld (Wang et al., 2022) as an agentsearch environment: ``agentsearch/ScienceWorld-v0``.

Needs the optional extra: ``pip install 'agentsearch[scienceworld]'`` (PyPI ``scienceworld``, whose wheel
ships the simulator jar) and Java 17+. The adapter is thin:

* task ids are ``"<task name>:<variation>"`` (``"boil:3"``), from ScienceWorld's own train / dev / test
  variation lists (our ``train`` / ``eval`` / ``test``; shipped in ``tasks.json`` since listing them
  costs 30 task loads). Split lists interleave task types: the first 30 ids are one variation of each.
* observations list a room's objects in the simulator's hash order, which changes from one load to the
  next; each run of tab-indented lines is sorted, so replaying a path gives the recorded text again.
* valid actions are ``get_valid_action_object_combinations()`` (sorted; the simulator names ambiguous
  objects differently from one reset to the next, so the list may vary between replays of one path);
  the instruction is the task description.
* rewards: ScienceWorld scores progress 0-100 (-100 on a failed task); the reward of a step is the change
  of ``max(score, 0) / 100``, so an episode's return is its final normalised score, and ``won`` means 100.
* no snapshots: the simulator cannot copy its state, so search branches by replay (deterministic).
* ``expert_plan()`` is ScienceWorld's gold action sequence.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from agentsearch.envs.base import SPLITS, TextEnv, Transition, check_split
from agentsearch.errors import ConfigError

__all__ = ["ScienceWorldEnv", "TASKS_FILE", "canonical_observation", "scienceworld_available"]

logger = logging.getLogger(__name__)

TASKS_FILE = Path(__file__).with_name("tasks.json")


def scienceworld_available() -> bool:
    """Whether the ``scienceworld`` package and a Java runtime are installed."""
    import importlib.util

    return importlib.util.find_spec("scienceworld") is not None and shutil.which("java") is not None


def canonical_observation(text: str) -> str:
    """``text`` with each run of tab-indented lines (a room's or container's contents) sorted."""
    lines: list[str] = []
    listing: list[str] = []
    for line in text.split("\n"):
        if line.startswith("\t"):
            listing.append(line)
            continue
        lines.extend(sorted(listing))
        listing = []
        lines.append(line)
    lines.extend(sorted(listing))
    return "\n".join(lines)


@cache
def _split_ids() -> dict[str, tuple[str, ...]]:
    """Task ids per split, task types interleaved (variation k of every type before variation k + 1)."""
    tasks = json.loads(TASKS_FILE.read_text(encoding="utf-8"))["tasks"]
    ids: dict[str, tuple[str, ...]] = {}
    for split in SPLITS:
        per_task = [
            [f"{name}:{v}" for low, high in spans[split] for v in range(low, high + 1)]
            for name, spans in tasks.items()
        ]
        longest = max(len(column) for column in per_task)
        ids[split] = tuple(column[k] for k in range(longest) for column in per_task if k < len(column))
    return ids


@cache
def _all_ids() -> frozenset[str]:
    return frozenset(i for ids in _split_ids().values() for i in ids)


class ScienceWorldEnv(TextEnv):
    """ScienceWorld's elementary-science tasks behind the :class:`TextEnv` contract (module docstring).

    Args:
        simplifications: ScienceWorld's simplification string (``"easy"``, ``"teleportAction"`` ...).
        max_steps, split, render_mode: as in :class:`TextEnv`.
    """

    default_max_steps = 40
    #: The simulator cannot copy its state: search branches by replay from reset.
    supports_snapshot = False
    #: Its valid-action lists name ambiguous objects differently from one reset to the next (observations
    #: and scores do not vary); replay checks observations and rewards only, so search is unaffected.
    nondeterministic_info = ("valid_actions",)

    def __init__(
        self,
        *,
        simplifications: str = "",
        max_steps: int | None = None,
        split: str = "train",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=max_steps, split=split, render_mode=render_mode)
        if not scienceworld_available():
            raise ConfigError(
                "ScienceWorld needs its extra and Java 17+: pip install 'agentsearch[scienceworld]'."
            )
        from scienceworld import ScienceWorldEnv as Simulator

        self.simplifications = simplifications
        # The simulator's own limit stays out of the way: TextEnv counts max_steps (and rewinds them).
        self._sim = Simulator("", envStepLimit=10**6)
        self._score = 0.0
        self._gold: list[str] = []

    def task_ids(self, split: str) -> Sequence[str]:
        check_split(split)
        return _split_ids()[split]

    def _has_task(self, task_id: str) -> bool:
        return task_id in _all_ids()

    def _reset_task(self, task_id: str) -> tuple[str, str, dict[str, Any]]:
        name, _, variation = task_id.rpartition(":")
        self._sim.load(name, int(variation), self.simplifications, generateGoldPath=True)
        observation, info = self._sim.reset()
        self._score = 0.0
        self._gold = list(self._sim.get_gold_action_sequence())
        return canonical_observation(observation), self._sim.get_task_description(), {"score": 0.0}

    def _step(self, action: str) -> Transition:
        if not action.strip():
            return self._rejected()
        try:
            observation, _, completed, info = self._sim.step(action)
        except Exception as err:  # the Java side rejects some inputs outright; its state is unchanged
            logger.warning("ScienceWorld rejected %r: %s", action[:80], err)
            return self._rejected()
        score = max(float(info["score"]), 0.0) / 100.0
        reward, self._score = score - self._score, score
        invalid = observation.startswith("No known action matches")
        return Transition(
            canonical_observation(observation),
            reward=reward,
            terminated=bool(completed),
            won=float(info["score"]) >= 100,
            invalid_action=invalid,
            extras=self._extras(),
        )

    def _rejected(self) -> Transition:
        return Transition("No known action matches that input.", invalid_action=True, extras=self._extras())

    def _extras(self) -> dict[str, Any]:
        return {"score": self._score}

    def _valid_actions(self) -> list[str] | None:
        return sorted(self._sim.get_valid_action_object_combinations())

    def expert_plan(self) -> list[str] | None:
        """ScienceWorld's gold actions from the start of the task (only right after ``reset``)."""
        return list(self._gold) if self.step_count == 0 and self._gold else None

    def _get_state(self) -> Any:
        raise NotImplementedError("ScienceWorld has no snapshots; search branches by replay.")

    def _set_state(self, state: Any) -> None:
        raise NotImplementedError("ScienceWorld has no snapshots; search branches by replay.")

    def close(self) -> None:
        self._sim.close()

"""The contract every agentsearch environment follows.

An agentsearch environment is a :class:`gymnasium.Env` whose observations and actions are strings.
Subclasses implement a handful of underscore methods; :class:`TextEnv` owns everything the contract
promises on top of them, so all environments behave alike:

* ``reset(seed=None, options={"task_id": ...})`` -> ``(observation, info)``;
  ``step(action)`` -> ``(observation, reward, terminated, truncated, info)``.
* ``info`` always holds ``instruction``, ``task_id``, ``valid_actions`` (list of strings, or ``None`` for
  free-form environments), ``won``, ``invalid_action`` and ``step``.
* ``max_steps`` truncation is counted *inside* the environment, so ``snapshot()``/``restore()`` rewinds it
  too (gymnasium's ``TimeLimit`` wrapper would keep counting across a restore).
* ``snapshot()`` returns an immutable :class:`EnvSnapshot`; ``restore()`` puts the environment back in
  that state in O(1): subclasses keep their state in small immutable values, never deep copies of
  catalogs.
* ``task_ids(split)`` lists the tasks of ``"train"``, ``"eval"`` and ``"test"``.

Any action string, however malformed, yields an observation with ``info["invalid_action"] = True``;
``step`` never raises because of what an agent typed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
from gymnasium import spaces

from agentsearch.errors import ConfigError, EnvError, did_you_mean

__all__ = ["SPLITS", "AnyText", "EnvSnapshot", "TextEnv", "Transition"]

SPLITS: tuple[str, ...] = ("train", "eval", "test")

#: Upper bound on observation and action lengths advertised by the spaces (characters).
MAX_TEXT_LENGTH = 1 << 20


class AnyText(spaces.Text):
    """A :class:`gymnasium.spaces.Text` that admits any string up to ``max_length`` characters.

    gymnasium's ``Text`` limits strings to a charset (alphanumerics by default); web pages and agent
    actions contain punctuation and unicode, so membership here only checks type and length.
    Sampling still draws from the default alphanumeric charset.
    """

    def __init__(self, max_length: int = MAX_TEXT_LENGTH) -> None:
        super().__init__(max_length=max_length, min_length=0)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"AnyText(max_length={self.max_length})"


@dataclass(frozen=True)
class Transition:
    """What a subclass's ``_step`` returns; :class:`TextEnv` turns it into gymnasium's five-tuple.

    Attributes:
        observation: the text the agent sees next.
        reward: immediate reward of this step.
        terminated: the episode ended inside the MDP (purchase, goal reached, final answer).
        won: the task was solved (reward 1.0 in WebShop, goal satisfied in ALFWorld ...).
        invalid_action: the action was not understood or not allowed; the state did not change.
        extras: environment-specific entries merged into ``info``.
    """

    observation: str
    reward: float = 0.0
    terminated: bool = False
    won: bool = False
    invalid_action: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvSnapshot:
    """An opaque, immutable copy of an environment's state, taken by :meth:`TextEnv.snapshot`.

    ``state`` is whatever the subclass returned from ``_get_state``; it must be immutable (or never
    mutated afterwards) so taking a snapshot costs O(1).
    """

    env_class: str
    episode: int
    task_id: str
    step: int
    terminated: bool
    truncated: bool
    observation: str
    info: tuple[tuple[str, Any], ...]
    state: Hashable | Any


class TextEnv(gym.Env[str, str]):
    """Base class of agentsearch environments: text observations, text actions, snapshots, splits.

    Subclasses set ``default_max_steps`` and implement:

    * ``task_ids(split) -> Sequence[str]``
    * ``_reset_task(task_id) -> (observation, instruction, extras)``
    * ``_step(action) -> Transition``
    * ``_valid_actions() -> list[str] | None``
    * ``_get_state()`` / ``_set_state(state)``: the subclass's own state as a small immutable value.

    Args:
        max_steps: steps after which an episode is truncated (``None`` takes ``default_max_steps``).
        split: the split a ``reset`` without ``task_id`` draws its task from.
        render_mode: ``"ansi"`` (``render`` returns the observation) or ``"human"`` (prints it).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"], "render_fps": 1}
    default_max_steps: ClassVar[int] = 15
    #: ``info`` keys that may differ between two runs of the same actions (a simulator that names
    #: objects in hash order); the contract checker leaves them out of its determinism checks.
    nondeterministic_info: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, max_steps: int | None = None, split: str = "train", render_mode: str | None = None):
        max_steps = self.default_max_steps if max_steps is None else max_steps
        if max_steps <= 0:
            raise ConfigError(f"Expected `max_steps` to be positive, got {max_steps}.")
        check_split(split)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"Unknown render_mode {render_mode!r}; expected one of {self.metadata['render_modes']}."
            )
        self.max_steps = max_steps
        self.split = split
        self.render_mode = render_mode
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self._episode = 0
        self._task_id: str | None = None
        self._instruction = ""
        self._step_count = 0
        self._terminated = False
        self._truncated = False
        self._observation = ""
        self._info: dict[str, Any] = {}

    # ------------------------------------------------------------------ subclass API
    def task_ids(self, split: str) -> Sequence[str]:
        """Task ids of ``split`` (one of :data:`SPLITS`), in a fixed order."""
        raise NotImplementedError

    def _reset_task(self, task_id: str) -> tuple[str, str, dict[str, Any]]:
        """Start ``task_id``; return ``(observation, instruction, extras for info)``."""
        raise NotImplementedError

    def _step(self, action: str) -> Transition:
        raise NotImplementedError

    def _valid_actions(self) -> list[str] | None:
        raise NotImplementedError

    def _get_state(self) -> Any:
        raise NotImplementedError

    def _set_state(self, state: Any) -> None:
        raise NotImplementedError

    def expert_plan(self) -> list[str] | None:
        """Actions that win the task from the current state (for demonstrations); ``None`` without an expert.

        Environments with an expert override this: ALFWorld's walkthrough or planner, WebShop's
        instruction-query expert, math's reference steps.
        """
        return None

    def _has_task(self, task_id: str) -> bool:
        """Whether ``task_id`` exists; subclasses with a faster lookup than the split lists override it."""
        return any(task_id in self.task_ids(split) for split in SPLITS)

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode on ``options["task_id"]``, or on a task of ``self.split`` drawn with ``seed``."""
        super().reset(seed=seed)
        options = options or {}
        task_id = options.get("task_id")
        if task_id is None:
            ids = self.task_ids(self.split)
            if not ids:
                raise EnvError(f"{type(self).__name__} has no tasks in split {self.split!r}.")
            task_id = ids[int(self.np_random.integers(len(ids)))]
        task_id = str(task_id)
        if not self._has_task(task_id):
            raise EnvError(f"{type(self).__name__} has no task {task_id!r}.")
        observation, instruction, extras = self._reset_task(task_id)
        self._episode += 1
        self._task_id = task_id
        self._instruction = instruction
        self._step_count = 0
        self._terminated = False
        self._truncated = False
        self._observation = observation
        self._info = self._make_info(won=False, invalid_action=False, extras=extras)
        return observation, dict(self._info)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Apply ``action``; see the module docstring for what ``info`` holds."""
        if self._task_id is None:
            raise EnvError("Call reset() before step().")
        if self._terminated or self._truncated:
            # The episode is over: nothing the agent types changes it.
            info = {**self._info, "invalid_action": True}
            return self._observation, 0.0, self._terminated, self._truncated, info
        if not isinstance(action, str):
            transition = Transition(self._observation, invalid_action=True)
        else:
            transition = self._step(action)
        self._step_count += 1
        self._terminated = transition.terminated
        self._truncated = not transition.terminated and self._step_count >= self.max_steps
        self._observation = transition.observation
        self._info = self._make_info(
            won=transition.won, invalid_action=transition.invalid_action, extras=transition.extras
        )
        if self.render_mode == "human":
            self.render()
        reward = float(transition.reward)
        return transition.observation, reward, self._terminated, self._truncated, dict(self._info)

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._observation
        if self.render_mode == "human":
            print(self._observation)  # noqa: T201  (render_mode="human" means print)
        return None

    # ------------------------------------------------------------------ branching
    def snapshot(self) -> EnvSnapshot:
        """Capture the full state (task, step counter, page/world state) in O(1)."""
        if self._task_id is None:
            raise EnvError("Call reset() before snapshot().")
        return EnvSnapshot(
            env_class=type(self).__qualname__,
            episode=self._episode,
            task_id=self._task_id,
            step=self._step_count,
            terminated=self._terminated,
            truncated=self._truncated,
            observation=self._observation,
            info=tuple(self._info.items()),
            state=self._get_state(),
        )

    def restore(self, snapshot: EnvSnapshot) -> None:
        """Return to the state captured by :meth:`snapshot`; the next ``step`` continues from there."""
        if not isinstance(snapshot, EnvSnapshot) or snapshot.env_class != type(self).__qualname__:
            raise EnvError(
                f"Expected a snapshot taken by {type(self).__qualname__}, got {type(snapshot).__name__}."
            )
        self._set_state(snapshot.state)
        self._task_id = snapshot.task_id
        self._step_count = snapshot.step
        self._terminated = snapshot.terminated
        self._truncated = snapshot.truncated
        self._observation = snapshot.observation
        self._info = dict(snapshot.info)
        self._instruction = self._info.get("instruction", "")

    # ------------------------------------------------------------------ accessors
    @property
    def task_id(self) -> str | None:
        return self._task_id

    @property
    def instruction(self) -> str:
        return self._instruction

    @property
    def observation(self) -> str:
        """The latest observation (after ``reset``, ``step`` or ``restore``)."""
        return self._observation

    @property
    def info(self) -> dict[str, Any]:
        """A copy of the latest ``info``."""
        return dict(self._info)

    @property
    def step_count(self) -> int:
        return self._step_count

    @property
    def done(self) -> bool:
        return self._terminated or self._truncated

    def _make_info(self, *, won: bool, invalid_action: bool, extras: dict[str, Any]) -> dict[str, Any]:
        return {
            **extras,
            "instruction": self._instruction,
            "task_id": self._task_id,
            "valid_actions": self._valid_actions(),
            "won": bool(won),
            "invalid_action": bool(invalid_action),
            "step": self._step_count,
        }


def check_split(split: str) -> None:
    """Raise :class:`ConfigError` unless ``split`` is one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise ConfigError(f"Unknown split {split!r}; expected one of {SPLITS}.{did_you_mean(split, SPLITS)}")

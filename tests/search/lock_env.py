"""Small real environments for search tests: a code-lock TextEnv, with snapshots, without, and a noisy one."""

from __future__ import annotations

import itertools

import gymnasium as gym

from agentsearch.envs.base import TextEnv, Transition
from agentsearch.errors import EnvError

CODES = {"t0": "ab", "t1": "ba", "t2": "abc", "t3": "cc"}
#: Many more tasks, for collection runs long enough to be killed midway.
CODES.update({f"g{i:04d}": "abc"[i % 3] + "abc"[i // 3 % 3] + "abc"[i // 9 % 3] for i in range(3000)})
TRAIN = list(CODES)
#: An "eval" task whose env crashes on the first step (collect must record it and go on).
CRASH = "boom"
ENV_ID = "agentsearch-test/Lock-v0"


class LockEnv(TextEnv):
    """Press letters, then ``submit``: reward 1 for the task's code, else the fraction of the code matched.

    The state is the tuple of letters pressed so far (immutable, so snapshots cost O(1)).
    """

    default_max_steps = 8

    def task_ids(self, split):
        return TRAIN if split == "train" else [CRASH] if split == "eval" else []

    def _has_task(self, task_id):
        return task_id in CODES or task_id == CRASH

    def _reset_task(self, task_id):
        self._code = CODES.get(task_id, "crash")
        self._pressed: tuple[str, ...] = ()
        return "The lock is closed. Pressed: ''", f"Open the lock {task_id}.", {}

    def _valid_actions(self):
        return ["press a", "press b", "press c", "submit"]

    def _step(self, action):
        if self._code == "crash":
            raise EnvError("simulated crash of the environment")
        if action.startswith("press ") and action[6:] in ("a", "b", "c"):
            self._pressed = (*self._pressed, action[6:])
            return Transition(f"Pressed: {''.join(self._pressed)!r}")
        if action == "submit":
            typed = "".join(self._pressed)
            matched = sum(1 for x, y in zip(typed, self._code, strict=False) if x == y)
            won = typed == self._code
            reward = 1.0 if won else matched / (2 * len(self._code))
            return Transition(f"Submitted {typed!r}.", reward=reward, terminated=True, won=won)
        return Transition("Invalid action!", invalid_action=True)

    def _get_state(self):
        return (self._code, self._pressed)

    def _set_state(self, state):
        self._code, self._pressed = state


class NoSnapshotLockEnv(LockEnv):
    """The same env without snapshots: search must branch by replay."""

    supports_snapshot = False

    def _get_state(self):
        raise NotImplementedError


class NoisyLockEnv(NoSnapshotLockEnv):
    """Nondeterministic: each observation carries a counter that never rewinds (not part of any state)."""

    _clock = itertools.count()

    def _step(self, action):
        transition = super()._step(action)
        return Transition(
            f"{transition.observation} [t={next(self._clock)}]",
            transition.reward,
            transition.terminated,
            transition.won,
            transition.invalid_action,
        )


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=LockEnv)

"""A plain gymnasium text environment that knows nothing of agentsearch (no TextEnv, no snapshots).

Importing this module registers ``agentsearch-test/Corridor-v0``, as a third-party package would; tests
drive it through ``agentsearch.envs.make`` (which wraps it in ``GymTextEnv``) and the CLI's ``--import``.
"""

from __future__ import annotations

import string

import gymnasium as gym
from gymnasium import spaces

ENV_ID = "agentsearch-test/Corridor-v0"
MOVES = ["go left", "go right", "wait"]


class CorridorEnv(gym.Env):
    """Walk a corridor of rooms to the exit; the exit's room is drawn from the reset seed.

    Valid actions are listed in ``info["moves"]`` (a key agentsearch does not guess). Actions longer
    than 64 characters raise ``ValueError``, as parsers of real envs do.
    """

    metadata = {"render_modes": []}

    def __init__(self, length: int = 4) -> None:
        self.length = length
        self.observation_space = spaces.Text(max_length=256, charset=string.printable)
        self.action_space = spaces.Text(max_length=64, charset=string.printable)
        self._room = 0
        self._exit = 1

    def _observation(self) -> str:
        return f"You are in room {self._room} of a corridor of {self.length} rooms."

    def _info(self) -> dict:
        return {"instruction": f"Leave by the exit in room {self._exit}.", "moves": list(MOVES)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._room = 0
        self._exit = int(self.np_random.integers(1, self.length))
        return self._observation(), self._info()

    def step(self, action):
        if len(action) > 64:
            raise ValueError(f"action too long ({len(action)} characters)")
        if action == "go left":
            self._room = max(self._room - 1, 0)
        elif action == "go right":
            self._room = min(self._room + 1, self.length - 1)
        won = self._room == self._exit and action != "wait"
        observation = "You leave through the exit." if won else self._observation()
        return observation, float(won), won, False, self._info()


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=CorridorEnv, max_episode_steps=10)

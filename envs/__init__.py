"""agentsearch environments, installed as ``agentsearch.envs``.

Each environment is a :class:`~agentsearch.envs.base.TextEnv` registered with gymnasium as
``agentsearch/<Name>-v0``. Importing this package (or ``agentsearch``) registers them::

    import gymnasium as gym
    import agentsearch

    env = gym.make("agentsearch/WebShop-v0")
    obs, info = env.reset(options={"task_id": "0"})

Without importing agentsearch first, ``gym.make("agentsearch.envs:WebShop-v0")`` imports this package and
finds the same environment. Environments hold no LLM code.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from agentsearch.envs.base import SPLITS, AnyText, EnvSnapshot, TextEnv, Transition
from agentsearch.errors import ConfigError, did_you_mean

__all__ = ["ENVS", "SPLITS", "AnyText", "EnvSnapshot", "TextEnv", "Transition", "make", "env_id"]

#: Short names (as used on the command line) -> (gymnasium id, entry point).
ENVS: dict[str, tuple[str, str]] = {
    "webshop": ("WebShop-v0", "agentsearch.envs.webshop:WebShopEnv"),
    "alfworld": ("ALFWorld-v0", "agentsearch.envs.alfworld:ALFWorldEnv"),
    "math": ("Math-v0", "agentsearch.envs.math:MathEnv"),
}

NAMESPACE = "agentsearch"


def _register_all() -> None:
    for name, entry_point in ENVS.values():
        # The namespaced id is the public one; the bare id serves gymnasium's "module:Name-v0" form,
        # which imports this module and then looks the bare name up.
        for env_id_ in (f"{NAMESPACE}/{name}", name):
            if env_id_ not in gym.registry:
                # No max_episode_steps: truncation is counted inside the env so snapshots rewind it.
                gym.register(id=env_id_, entry_point=entry_point, disable_env_checker=False)


def env_id(name: str) -> str:
    """The gymnasium id of a short name (``"webshop"`` -> ``"agentsearch/WebShop-v0"``); ids pass through."""
    if name in ENVS:
        return f"{NAMESPACE}/{ENVS[name][0]}"
    if name in gym.registry:
        return name
    raise ConfigError(f"Unknown environment {name!r}; known: {sorted(ENVS)}.{did_you_mean(name, ENVS)}")


def make(name: str, **kwargs: Any) -> TextEnv:
    """Create an environment by short name or gymnasium id and return the unwrapped :class:`TextEnv`.

    Search code needs ``snapshot()``/``restore()``, which gymnasium's wrappers do not forward.
    """
    env = gym.make(env_id(name), disable_env_checker=True, **kwargs).unwrapped
    if not isinstance(env, TextEnv):  # a user-registered id that is not an agentsearch environment
        kind = type(env).__name__
        raise ConfigError(f"{name!r} is a {kind}, not an agentsearch TextEnv (no snapshot/restore).")
    return env


_register_all()

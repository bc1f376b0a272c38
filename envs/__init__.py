"""agentsearch environments, installed as ``agentsearch.envs``.

Each environment is a :class:`~agentsearch.envs.base.TextEnv` registered with gymnasium as
``agentsearch/<Name>-v0``. Importing this package (or ``agentsearch``) registers them::

    import gymnasium as gym
    import agentsearch

    env = gym.make("agentsearch/WebShop-v0")
    obs, info = env.reset(options={"task_id": "0"})

Without importing agentsearch first, ``gym.make("agentsearch.envs:WebShop-v0")`` imports this package and
finds the same environment. Environments hold no LLM code.

:func:`make` also takes any other gymnasium id with text observations and actions (``"mypkg/MyEnv-v0"``,
or ``"mypkg.module:MyEnv-v0"`` to import the module that registers it first): an env that is not a
:class:`TextEnv` comes wrapped in :class:`~agentsearch.envs.gym_text.GymTextEnv`.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import gymnasium as gym

from agentsearch.envs.base import SPLITS, AnyText, EnvSnapshot, TextEnv, Transition
from agentsearch.errors import ConfigError, did_you_mean

__all__ = [
    "ENVS", "SPLITS", "AnyText", "EnvSnapshot", "TextEnv", "Transition", "make", "env_id", "short_name",
]

#: The environments of this package: short names (as used on the command line) -> (gymnasium id, entry
#: point). What agentsearch needs beyond the env (prompts, parser, search defaults) is its plug-in record
#: (``agentsearch.plugins``).
ENVS: dict[str, tuple[str, str]] = {
    "webshop": ("WebShop-v0", "agentsearch.envs.webshop:WebShopEnv"),
    "alfworld": ("ALFWorld-v0", "agentsearch.envs.alfworld:ALFWorldEnv"),
    "math": ("Math-v0", "agentsearch.envs.math:MathEnv"),
    "scienceworld": ("ScienceWorld-v0", "agentsearch.envs.scienceworld:ScienceWorldEnv"),
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


def short_name(env: str) -> str:
    """The short name of an environment id: ``"agentsearch/WebShop-v0"`` -> ``"webshop"``.

    Namespace, ``module:`` prefix and version go; short names pass through (``"webshop"``).
    """
    base = env.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return re.sub(r"-v\d+$", "", base).lower()


def env_id(name: str) -> str:
    """The gymnasium id of a short name or id (``"webshop"`` -> ``"agentsearch/WebShop-v0"``).

    Registered ids pass through; ``"module:Id"`` imports ``module`` (which registers ``Id``) first; a short
    name matches the registered ids whose :func:`short_name` it is (the ``agentsearch`` namespace first).
    """
    if name in ENVS:
        return f"{NAMESPACE}/{ENVS[name][0]}"
    if name in gym.registry:
        return name
    if ":" in name:
        module, _, bare = name.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(f"Cannot import {module!r} for environment {name!r}: {err}") from err
        if bare in gym.registry:
            return bare
        namespaced = sorted(i for i in gym.registry if i.rsplit("/", 1)[-1] == bare)
        if len(namespaced) == 1:  # the module registered `namespace/Id`
            return namespaced[0]
        raise ConfigError(f"Importing {module!r} registered no gymnasium environment {bare!r}.")
    matches = sorted((i for i in gym.registry if short_name(i) == name.lower()), key=_namespace_first)
    if matches:
        return matches[0]
    known = sorted(ENVS)
    raise ConfigError(
        f"Unknown environment {name!r}; known: {known}, or a registered gymnasium id (import the package "
        f"that registers it, or write `module:Id`).{did_you_mean(name, known)}"
    )


def _namespace_first(registered: str) -> tuple[bool, int, str]:
    """Sort key of ids sharing a short name: agentsearch's first, then the newest version."""
    version = re.search(r"-v(\d+)$", registered)
    return (not registered.startswith(f"{NAMESPACE}/"), -int(version.group(1)) if version else 0, registered)


def make(name: str, **kwargs: Any) -> TextEnv:
    """Create an environment by short name or gymnasium id and return it as a :class:`TextEnv`.

    agentsearch environments come unwrapped: search needs ``snapshot()``/``restore()``, which gymnasium's
    wrappers do not forward. Any other env is wrapped in :class:`GymTextEnv`; its options
    ``valid_actions_key`` and ``instruction_key`` are taken out of ``kwargs`` for the wrapper.
    """
    adapter = {key: kwargs.pop(key) for key in ADAPTER_OPTIONS if key in kwargs}
    resolved = env_id(name)
    made = gym.make(resolved, disable_env_checker=True, **_constructor_kwargs(resolved, kwargs))
    env = made.unwrapped
    if isinstance(env, TextEnv):
        if adapter:
            raise ConfigError(f"{sorted(adapter)} only apply to plain gymnasium envs, not to {name!r}.")
        return env
    from agentsearch.envs.gym_text import GymTextEnv

    return GymTextEnv(made, split=kwargs.get("split", "train"), **adapter)


#: ``make`` options meant for :class:`GymTextEnv`, not for the env's constructor.
ADAPTER_OPTIONS: tuple[str, ...] = ("valid_actions_key", "instruction_key")


def _constructor_kwargs(resolved: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for the env's constructor; ``split`` goes to the wrapper when a plain env lacks it."""
    if "split" not in kwargs:
        return kwargs
    entry = gym.registry[resolved].entry_point
    env_class = _resolve_entry_point(entry)
    if isinstance(env_class, type) and issubclass(env_class, TextEnv):
        return kwargs
    import inspect

    try:
        accepts_split = "split" in inspect.signature(env_class).parameters
    except (TypeError, ValueError):
        accepts_split = False
    return kwargs if accepts_split else {k: v for k, v in kwargs.items() if k != "split"}


def _resolve_entry_point(entry: Any) -> Any:
    if not isinstance(entry, str):
        return entry
    module, _, attr = entry.partition(":")
    return getattr(importlib.import_module(module), attr)


_register_all()

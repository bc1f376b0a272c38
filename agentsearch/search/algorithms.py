"""The search algorithms by name, and building their configs from plain dicts (YAML, CLI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.search.base import SearchConfig
from agentsearch.search.beam import BeamConfig, beam
from agentsearch.search.best_of_n import BestOfNConfig, best_of_n
from agentsearch.search.dfsdt import DFSDTConfig, dfsdt
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.tree import SearchTree

__all__ = ["ALGORITHMS", "SearchFn", "get_algorithm", "make_search_config"]

#: ``async fn(env, agent, task_id, config, *, seed) -> SearchTree``.
SearchFn = Callable[..., Awaitable[SearchTree]]

ALGORITHMS: dict[str, tuple[SearchFn, type[SearchConfig]]] = {
    "mcts": (mcts, MCTSConfig),
    "dfsdt": (dfsdt, DFSDTConfig),
    "beam": (beam, BeamConfig),
    "best_of_n": (best_of_n, BestOfNConfig),
}


def get_algorithm(name: str) -> tuple[SearchFn, type[SearchConfig]]:
    """The search function and config class registered as ``name``."""
    if name not in ALGORITHMS:
        raise ConfigError(
            f"Unknown search algorithm {name!r}; known: {sorted(ALGORITHMS)}.{did_you_mean(name, ALGORITHMS)}"
        )
    return ALGORITHMS[name]


def make_search_config(name: str, values: Mapping[str, Any] | None = None) -> SearchConfig:
    """``name``'s config with ``values`` overriding its defaults; unknown keys raise :class:`ConfigError`."""
    _, config_class = get_algorithm(name)
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(config_class)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{config_class.__name__} has no option {key!r}.{did_you_mean(key, known)}")
    return config_class(**values)

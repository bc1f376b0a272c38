"""The registry of search algorithms, and building their configs from plain dicts (YAML, CLI).

Each algorithm registers itself beside its code::

    @register_algorithm("beam", BeamConfig)
    async def beam(env, agent, task_id, config=None, *, seed=0, evaluator=None) -> SearchTree: ...

so ``collect``, the CLI's ``--algo`` and the docs read one table. The built-in algorithms are imported
(and so registered) by :mod:`agentsearch.search`; a plug-in's module registers its own when imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.search.base import SearchAlgorithm, SearchConfig

__all__ = [
    "RegisteredAlgorithm",
    "algorithm_names",
    "get_algorithm",
    "make_search_config",
    "register_algorithm",
]

AlgorithmT = TypeVar("AlgorithmT", bound=SearchAlgorithm[Any])


@dataclass(frozen=True)
class RegisteredAlgorithm:
    """One registered algorithm: its name (stored in trees), its search function and its config class."""

    name: str
    search: SearchAlgorithm[Any]
    config_class: type[SearchConfig]


_REGISTRY: dict[str, RegisteredAlgorithm] = {}


def register_algorithm(name: str, config_class: type[SearchConfig]) -> Callable[[AlgorithmT], AlgorithmT]:
    """Register the decorated :class:`~agentsearch.search.base.SearchAlgorithm` as ``name``.

    Raises:
        ConfigError: ``name`` is taken by another function, or ``config_class`` is no :class:`SearchConfig`.
    """
    if not (isinstance(config_class, type) and issubclass(config_class, SearchConfig)):
        raise ConfigError(f"Algorithm {name!r}: expected a SearchConfig subclass, got {config_class!r}.")

    def register(search: AlgorithmT) -> AlgorithmT:
        known = _REGISTRY.get(name)
        if known is not None and known.search is not search:
            raise ConfigError(f"Search algorithm {name!r} is already registered ({known.search!r}).")
        _REGISTRY[name] = RegisteredAlgorithm(name, search, config_class)
        return search

    return register


def algorithm_names() -> list[str]:
    """The registered algorithms' names, sorted."""
    return sorted(_REGISTRY)


def get_algorithm(name: str) -> RegisteredAlgorithm:
    """The algorithm registered as ``name``; an unknown name raises :class:`ConfigError` listing the known."""
    if name not in _REGISTRY:
        raise ConfigError(
            f"Unknown search algorithm {name!r}; known: {algorithm_names()}.{did_you_mean(name, _REGISTRY)}"
        )
    return _REGISTRY[name]


def make_search_config(name: str, values: Mapping[str, Any] | None = None) -> SearchConfig:
    """``name``'s config with ``values`` overriding its defaults; unknown keys raise :class:`ConfigError`."""
    config_class = get_algorithm(name).config_class
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(config_class)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{config_class.__name__} has no option {key!r}.{did_you_mean(key, known)}")
    return config_class(**values)

"""Best-of-N: sample N complete trajectories from the reset state and keep them all as one tree.

Each trajectory samples one response per step at ``temperature`` until the episode ends or the depth
limit; trajectories that share a prefix share its nodes (children are deduplicated by action), so the
result is a tree whose branching points yield preference pairs like any other. Each trajectory backs
its return up its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentsearch.agents.base import Agent
from agentsearch.errors import ConfigError
from agentsearch.search.algorithms import register_algorithm
from agentsearch.search.base import Evaluator, SearchConfig, SearchContext, refuse_evaluator
from agentsearch.search.tree import ROOT, SearchTree

__all__ = ["BestOfNConfig", "best_of_n"]


@dataclass(frozen=True)
class BestOfNConfig(SearchConfig):
    """Best-of-N settings.

    Attributes:
        n: trajectories sampled (``n_samples`` is unused: each step draws one sample).
    """

    n: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n < 1:
            raise ConfigError(f"Expected `n` >= 1, got {self.n}.")


@register_algorithm("best_of_n", BestOfNConfig)
async def best_of_n(
    env: Any,
    agent: Agent,
    task_id: str,
    config: BestOfNConfig | None = None,
    *,
    seed: int = 0,
    evaluator: Evaluator | None = None,
) -> SearchTree:
    """Sample ``config.n`` trajectories on one task and return them as a tree.

    ``evaluator`` must be ``None``: every trajectory is played to its end, so nothing needs a value.
    """
    refuse_evaluator("best_of_n", evaluator)
    config = config or BestOfNConfig()
    ctx = SearchContext(env, agent, task_id, algorithm="best_of_n", config=config, seed=seed)
    tree = ctx.tree
    for trajectory in range(1, config.n + 1):
        end, value = await ctx.rollout(ROOT, iteration=trajectory, is_rollout=False)
        tree.backup(end, value)
        if tree.won[end] and config.early_stop:
            break
    return ctx.finish()

"""DFSDT: depth-first search with backtracking over agent turns (ToolLLaMA, Qin et al. 2023).

From each state the agent samples ``n_samples`` candidates; the search descends into the most
preferred one (most sampled, then highest log-prob) and only when that branch ends without success
(a failed terminal, the depth limit, or an exhausted subtree) backtracks to the next sibling. Every
branch end backs its return up the path, so Q-values are running means exactly as in MCTS and the tree
feeds the same pair extraction; TP-LLaMA's ``success_path_vs_failed`` pairs come from trees like these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentsearch.agents.base import Agent
from agentsearch.errors import ConfigError
from agentsearch.search.algorithms import register_algorithm
from agentsearch.search.base import Evaluator, SearchConfig, SearchContext, refuse_evaluator
from agentsearch.search.tree import ROOT, SearchTree

__all__ = ["DFSDTConfig", "dfsdt"]


@dataclass(frozen=True)
class DFSDTConfig(SearchConfig):
    """DFSDT settings.

    Attributes:
        n_samples: candidates per expansion (ToolLLaMA's ``tree_beam_size`` is 2).
        max_expansions: expansions (model calls with ``n_samples``) per task; the budget counterpart of
            MCTS's iterations.
    """

    n_samples: int = 2
    max_expansions: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_expansions < 1:
            raise ConfigError(f"Expected `max_expansions` >= 1, got {self.max_expansions}.")


@register_algorithm("dfsdt", DFSDTConfig)
async def dfsdt(
    env: Any,
    agent: Agent,
    task_id: str,
    config: DFSDTConfig | None = None,
    *,
    seed: int = 0,
    evaluator: Evaluator | None = None,
) -> SearchTree:
    """Run DFSDT on one task and return the whole tree (see the module docstring).

    ``evaluator`` must be ``None``: DFSDT orders children by the policy's own preference.
    """
    refuse_evaluator("dfsdt", evaluator)
    config = config or DFSDTConfig()
    ctx = SearchContext(env, agent, task_id, algorithm="dfsdt", config=config, seed=seed)
    tree = ctx.tree
    expansions = 0

    async def visit(node: int) -> bool:
        """Search below ``node``; ``True`` once a win is found (and the search should stop)."""
        nonlocal expansions
        if ctx.dead(node):
            tree.backup(node, ctx.leaf_return(node))
            return tree.won[node] and config.early_stop
        if expansions >= config.max_expansions:
            return False
        expansions += 1
        await ctx.expand(node, iteration=expansions)
        children = [c for c in tree.children(node) if not tree.diverged[c] and not tree.invalid[c]]
        children.sort(key=lambda c: (-tree.count[c], -tree.logprob[c]))
        for child in children:
            if await visit(child):
                return True
        return False

    await visit(ROOT)
    return ctx.finish()

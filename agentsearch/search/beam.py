"""Beam search over agent turns: keep the ``beam_width`` best states at each depth.

Every state in the beam is expanded with ``n_samples`` candidates (the model calls of one depth are
issued together, so a batching backend serves them in one pass); the children are ranked by the
summed log-probability of their path (the policy's own preference), or by an :class:`Evaluator` (a
value or Q-model) when one is given, and the best ``beam_width`` non-terminal, valid children form the
next beam. Terminal children back their reward up, states left at the depth limit back up
``depth_penalty``, so the tree carries Q-values like MCTS trees.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from agentsearch.agents.base import Agent
from agentsearch.errors import ConfigError
from agentsearch.search.algorithms import register_algorithm
from agentsearch.search.base import Evaluator, SearchConfig, SearchContext
from agentsearch.search.tree import ROOT, SearchTree

__all__ = ["BeamConfig", "beam"]


@dataclass(frozen=True)
class BeamConfig(SearchConfig):
    """Beam search settings.

    Attributes:
        beam_width: states kept per depth.
        n_samples: candidates sampled per state in the beam.
    """

    beam_width: int = 3
    n_samples: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beam_width < 1:
            raise ConfigError(f"Expected `beam_width` >= 1, got {self.beam_width}.")


@register_algorithm("beam", BeamConfig)
async def beam(
    env: Any,
    agent: Agent,
    task_id: str,
    config: BeamConfig | None = None,
    *,
    seed: int = 0,
    evaluator: Evaluator | None = None,
) -> SearchTree:
    """Run beam search on one task and return the whole tree (see the module docstring)."""
    config = config or BeamConfig()
    ctx = SearchContext(env, agent, task_id, algorithm="beam", config=config, seed=seed)
    tree = ctx.tree
    path_logprob = {ROOT: 0.0}
    frontier = [ROOT]
    for depth in range(1, config.max_depth + 1):
        proposals = await asyncio.gather(
            *(ctx.propose(node, config.n_samples, config.temperature) for node in frontier)
        )
        children: list[int] = []
        for node, candidates in zip(frontier, proposals, strict=True):
            if config.store_prompts:
                tree.prompt[node] = agent.messages(tree.history(node))
            tree.expanded[node] = True
            for candidate in candidates:
                child = ctx.add_child(node, candidate, iteration=depth)
                if child is None:
                    break
                if child not in path_logprob:
                    path_logprob[child] = path_logprob[node] + tree.logprob[child]
                    children.append(child)
        for child in children:
            if tree.terminal[child]:
                tree.backup(child, tree.reward[child])
        if config.early_stop and ctx.winning(children) is not None:
            break
        alive = [c for c in children if not ctx.dead(c) and not tree.invalid[c]]
        if evaluator is not None:
            scores = dict(
                zip(alive, await asyncio.gather(*(evaluator.evaluate(tree, c) for c in alive)), strict=True)
            )
        else:
            scores = {c: path_logprob[c] for c in alive}
        frontier = sorted(alive, key=lambda c: -scores[c])[: config.beam_width]
        if not frontier:
            break
    for node in frontier:
        if node != ROOT and not tree.expanded[node]:  # left at the depth limit
            tree.backup(node, ctx.leaf_return(node))
    return ctx.finish()

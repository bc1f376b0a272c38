"""Monte-Carlo tree search over agent turns, as in Zhai et al. (step-level Q-value models), fixed.

One iteration: select a leaf by UCT (or PUCT) from the root, skipping terminal and exhausted
children; expand it by sampling ``n_samples`` responses and stepping each distinct action in the
environment (a child holds action and observation); simulate from the best new child with one sample
per step until the episode ends or ``max_depth`` (every simulated step is kept in the tree,
``is_rollout=True``); back the return up the path as a running mean. Defaults are the paper's WebShop
settings (``../shared/reference/qvalue-method.md`` 1.2): c = sqrt(2), 5 samples at temperature 1.0,
30 iterations, depth 10, one rollout, early stop on reward 1, invalid action -1, depth limit -0.5.

Fixes relative to the reference code:

* The exploitation term is the running mean ``value_sum / visits``. The reference code stores the mean
  already and divides it by ``visits`` a second time (inherited from LATS), which shrinks Q of
  well-visited children toward 0.
* A tree is returned (and saved by ``collect``) whatever the outcome; the reference code's first WebShop
  version returned on early success *before* saving, so successful searches were lost.
* The depth-limit penalty is really applied (the reference's ``reward == -0.5`` is a no-op comparison).
* Re-selection after a dead end restarts from the root instead of calling a misspelled option.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agentsearch.agents.base import Agent
from agentsearch.errors import ConfigError
from agentsearch.search.algorithms import register_algorithm
from agentsearch.search.base import Evaluator, SearchConfig, SearchContext
from agentsearch.search.selection import priors_from_logprobs, puct, uct
from agentsearch.search.tree import ROOT, SearchTree

__all__ = ["MCTSConfig", "mcts", "select_leaf"]

SelectionRule = Callable[[SearchTree, int], float]


@dataclass(frozen=True)
class MCTSConfig(SearchConfig):
    """MCTS settings; defaults are Zhai et al.'s WebShop collection (``--iterations 30``).

    Attributes:
        iterations: select-expand-simulate-backup rounds (Zhai WebShop 30; HotPotQA 30-70).
        selection: ``"uct"`` (Zhai, Eq. 4) or ``"puct"`` (MCTS-DPO; priors from the policy's log-probs).
        c: UCT exploration constant on ``sqrt(ln N / n)`` (Zhai: sqrt 2, i.e. UCB1).
        c_puct: PUCT constant ``c_init`` (MCTS-DPO ``w_exp = 1.0``).
        c_base: AlphaZero's ``c_base`` for a visit-dependent PUCT constant; ``None`` keeps it fixed.
        prior_length_penalty: exponent of the length normalisation of log-prob priors (MCTS-DPO 1.25).
        rollouts: simulations from the best new child per iteration (Zhai ``rollout_width = 1``).
        value: ``"rollout"`` (Zhai), ``"critic"`` (an :class:`Evaluator`, Agent Q's AI feedback, replaces
            the rollout) or ``"mixed"`` (``critic_weight * critic + (1 - critic_weight) * rollout``).
        critic_weight: Agent Q's alpha blending critic and rollout values under ``"mixed"``.
    """

    iterations: int = 30
    selection: Literal["uct", "puct"] = "uct"
    c: float = math.sqrt(2)
    c_puct: float = 1.0
    c_base: float | None = None
    prior_length_penalty: float = 1.25
    rollouts: int = 1
    value: Literal["rollout", "critic", "mixed"] = "rollout"
    critic_weight: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.iterations < 1:
            raise ConfigError(f"Expected `iterations` >= 1, got {self.iterations}.")
        if self.rollouts < 0:
            raise ConfigError(f"Expected `rollouts` >= 0, got {self.rollouts}.")
        if self.selection not in ("uct", "puct"):
            raise ConfigError(f"Expected `selection` in ('uct', 'puct'), got {self.selection!r}.")
        if self.value not in ("rollout", "critic", "mixed"):
            raise ConfigError(f"Expected `value` in ('rollout', 'critic', 'mixed'), got {self.value!r}.")
        if not 0 <= self.critic_weight <= 1:
            raise ConfigError(f"Expected 0 <= `critic_weight` <= 1, got {self.critic_weight}.")

    @property
    def needs_evaluator(self) -> bool:
        return self.value != "rollout"

    def selection_rule(self) -> SelectionRule:
        if self.selection == "puct":
            return functools.partial(puct, c_init=self.c_puct, c_base=self.c_base)
        return functools.partial(uct, c=self.c)


def select_leaf(tree: SearchTree, rule: SelectionRule, exhausted: set[int]) -> int | None:
    """Descend from the root by ``rule`` to a node not yet expanded; ``None`` when nothing is left.

    Terminal, diverged and exhausted children are skipped; a node whose children are all skipped is
    exhausted itself (the reference code's "backtrack"), and selection restarts from the root.
    """
    while True:
        node = ROOT
        while tree.expanded[node]:
            options = [
                child
                for child in tree.children(node)
                if child not in exhausted and not tree.terminal[child] and not tree.diverged[child]
            ]
            if not options:
                exhausted.add(node)
                if node == ROOT:
                    return None
                break
            node = max(options, key=lambda child: rule(tree, child))
        else:
            return node


@register_algorithm("mcts", MCTSConfig)
async def mcts(
    env: Any,
    agent: Agent,
    task_id: str,
    config: MCTSConfig | None = None,
    *,
    seed: int = 0,
    evaluator: Evaluator | None = None,
) -> SearchTree:
    """Run MCTS on one task and return the whole tree.

    Args:
        env: an environment instance used by this search only.
        agent: proposes candidate turns (its model calls may be batched with other searches).
        task_id: the task to search.
        config: :class:`MCTSConfig` (paper defaults when ``None``).
        seed: seeds sampling and tie-breaking; equal seeds give equal trees with a deterministic agent.
        evaluator: required when ``config.value`` is ``"critic"`` or ``"mixed"``.
    """
    config = config or MCTSConfig()
    if config.value != "rollout" and evaluator is None:
        raise ConfigError(f"MCTSConfig(value={config.value!r}) needs an `evaluator`.")
    ctx = SearchContext(env, agent, task_id, algorithm="mcts", config=config, seed=seed)
    tree = ctx.tree
    rule = config.selection_rule()
    exhausted: set[int] = set()
    for iteration in range(1, config.iterations + 1):
        leaf = select_leaf(tree, rule, exhausted)
        if leaf is None:
            break
        if ctx.dead(leaf):
            tree.backup(leaf, ctx.leaf_return(leaf))
            exhausted.add(leaf)
            continue
        await ctx.expand(leaf, iteration=iteration)
        children = [c for c in tree.children(leaf) if not tree.diverged[c]]
        if not children:
            exhausted.add(leaf)
            continue
        if config.selection == "puct":
            priors = priors_from_logprobs(
                [tree.logprob[c] for c in children],
                [tree.num_tokens[c] for c in children],
                length_penalty=config.prior_length_penalty,
            )
            for child, prior in zip(children, priors, strict=True):
                tree.prior[child] = prior
        winner = ctx.winning(children)
        if winner is not None and config.early_stop:
            tree.backup(winner, tree.reward[winner])
            break
        best = _best_child(ctx, children)
        if await _simulate(ctx, best, iteration, evaluator):
            break
    return ctx.finish()


def _best_child(ctx: SearchContext, children: list[int]) -> int:
    """The child with the highest Q (ties broken at random, so equal children share the rollouts)."""
    qs = [ctx.tree.q(c) for c in children]
    top = max(qs)
    ties = [c for c, q in zip(children, qs, strict=True) if q == top]
    return ties[ctx.rng.randrange(len(ties))] if len(ties) > 1 else ties[0]


async def _simulate(ctx: SearchContext, node: int, iteration: int, evaluator: Evaluator | None) -> bool:
    """Value ``node`` (rollouts and/or critic) and back the value up; ``True`` to stop the search."""
    tree, config = ctx.tree, ctx.config
    if tree.terminal[node] or tree.diverged[node]:
        tree.backup(node, ctx.leaf_return(node))
        return False
    critic = (
        await evaluator.evaluate(tree, node) if evaluator is not None and config.value != "rollout" else 0.0
    )
    if config.value == "critic" or config.rollouts == 0:
        tree.backup(node, critic)
        return False
    for _ in range(config.rollouts):
        end, value = await ctx.rollout(node, iteration=iteration)
        if config.value == "mixed":
            value = config.critic_weight * critic + (1 - config.critic_weight) * value
        tree.backup(end, value)
        if tree.won[end] and config.early_stop:
            return True
    return False

"""Selection rules as small pure functions of a tree and a child node (mctx style).

Bind the constants from a config with :func:`functools.partial`; the search calls
``rule(tree, child)`` for every selectable child of a node and descends into the argmax.
"""

from __future__ import annotations

import math

from agentsearch.search.tree import SearchTree

__all__ = ["uct", "puct", "priors_from_logprobs"]


def uct(tree: SearchTree, child: int, *, c: float = math.sqrt(2)) -> float:
    """UCB1 score ``Q + c * sqrt(ln N(parent) / N(child))`` (Zhai et al. Eq. 4, c = sqrt 2).

    ``Q`` is the running mean (not divided by the visits a second time, unlike the reference code).
    A child never visited scores ``+inf`` so every child is tried once, except a child whose initial
    value is negative (an invalid action, penalised -1): it keeps that value, as in the reference code,
    so the search does not spend iterations on actions the environment rejected.
    """
    visits = tree.visits[child]
    if visits == 0:
        return math.inf if tree.init_value[child] >= 0 else tree.init_value[child]
    parent_visits = max(tree.visits[tree.parent[child]], 1)
    return tree.q(child) + c * math.sqrt(math.log(parent_visits) / visits)


def puct(tree: SearchTree, child: int, *, c_init: float = 1.0, c_base: float | None = None) -> float:
    """PUCT score ``Q + c * P(a|s) * sqrt(N(parent)) / (1 + N(child))`` with the policy prior ``P``.

    ``c = c_init`` (MCTS-DPO's ``w_exp = 1.0``), or AlphaZero's ``c_init + ln((N + c_base + 1) / c_base)``
    when ``c_base`` is given. ``P`` is :attr:`SearchTree.prior` (see :func:`priors_from_logprobs`).
    A child never visited has Q = its initial value, so an unvisited child with a high prior wins.
    """
    parent_visits = tree.visits[tree.parent[child]]
    c = c_init if c_base is None else c_init + math.log((parent_visits + c_base + 1) / c_base)
    return tree.q(child) + c * tree.prior[child] * math.sqrt(parent_visits) / (1 + tree.visits[child])


def priors_from_logprobs(
    logprobs: list[float], num_tokens: list[int], *, length_penalty: float = 1.25
) -> list[float]:
    """Normalised priors ``p_i ∝ exp(logprob_i / len_i ** length_penalty)`` (MCTS-DPO, lambda = 1.25).

    Length-normalising keeps long responses from getting vanishing priors; the softmax is taken over
    siblings, so only differences matter.
    """
    if not logprobs:
        return []
    scores = [lp / max(n, 1) ** length_penalty for lp, n in zip(logprobs, num_tokens, strict=True)]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]

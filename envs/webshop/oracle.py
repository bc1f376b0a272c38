"""An oracle that reads the goal and buys the goal's product with the goal's options.

It plans with privileged knowledge (the goal's asin and options) but acts only through ``env.step``, so a
reward of 1.0 proves the goal is reachable through the environment's own search engine and pages:

1. search for the product's title (brackets removed), else the title with the goal's option values and the
   product's attributes, else the instruction, else the scraping query: the first query whose top-50 hits
   contain the goal's asin;
2. ``click[next >]`` to the results page that lists it, ``click[<asin>]``;
3. ``click[<value>]`` for each goal option value the product offers, then ``click[buy now]``.

The action lists it produces also serve as demonstrations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentsearch.envs.webshop.env import WebShopEnv
from agentsearch.envs.webshop.pages import PRODUCT_WINDOW
from agentsearch.errors import EnvError

__all__ = ["OracleResult", "oracle_actions", "run_oracle"]

_PRICE_CLAUSE = re.compile(r", and price lower than [\d.]+ dollars$")


@dataclass(frozen=True)
class OracleResult:
    """What :func:`run_oracle` did: the actions, the final reward and whether the episode was won."""

    task_id: str
    actions: tuple[str, ...]
    reward: float
    won: bool


def _clean_query(text: str) -> str:
    return " ".join(re.sub(r"[\[\]\n]", " ", text).split()).lower()


def oracle_actions(env: WebShopEnv) -> list[str]:
    """The actions that buy the current goal's product with its options (the env must be freshly reset)."""
    goal = env.goal
    world = env.world
    product = world.product(goal.asin)
    candidates = (
        _clean_query(product.title),
        # In large catalogs many products share a title: add what sets the goal's product apart.
        _clean_query(" ".join([product.title, *goal.option_values(), *product.attributes])),
        _clean_query(_PRICE_CLAUSE.sub("", goal.instruction_text)),
        _clean_query(product.query),
    )
    for query in candidates:
        hits = [p.asin for p in world.results(tuple(query.split(" ")))]
        if goal.asin in hits:
            rank = hits.index(goal.asin)
            break
    else:
        raise EnvError(f"The goal's product {goal.asin} is not among the top hits of any oracle query.")
    actions = [f"search[{query}]"]
    actions += ["click[next >]"] * (rank // PRODUCT_WINDOW)
    actions.append(f"click[{goal.asin.lower()}]")
    offered = {value for values in product.options.values() for value in values}
    actions += [f"click[{value}]" for value in goal.option_values() if value in offered]
    actions.append("click[buy now]")
    return actions


def run_oracle(env: WebShopEnv, task_id: str) -> OracleResult:
    """Reset ``env`` on ``task_id``, play the oracle's actions and report the outcome."""
    env.reset(options={"task_id": task_id})
    actions = oracle_actions(env)
    reward, won = 0.0, False
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        if info["invalid_action"]:
            raise EnvError(f"Oracle action {action!r} was refused on task {task_id}.")
        if terminated or truncated:
            won = bool(info["won"])
            break
    return OracleResult(task_id, tuple(actions), float(reward), won)

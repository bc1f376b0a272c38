"""An oracle that reads the goal and buys the goal's product with the goal's options.

It plans with privileged knowledge (the goal's asin and options) but acts only through ``env.step``, so a
reward of 1.0 proves the goal is reachable through the environment's own search engine and pages:

1. search for the product's title (brackets removed), else the title with the goal's option values and the
   product's attributes, else the instruction, else the scraping query: the first query whose top-50 hits
   contain the goal's asin;
2. ``click[next >]`` to the results page that lists it, ``click[<asin>]``;
3. ``click[<value>]`` for each goal option value the product offers, then ``click[buy now]``.

:func:`expert_actions` is the non-privileged variant behind ``WebShopEnv.expert_plan()`` and the
demonstrations: its query is the instruction without its price clause (a policy can read it), never the
product's title; it still clicks the goal's product and options, which the instruction describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentsearch.envs.webshop.env import WebShopEnv
from agentsearch.envs.webshop.pages import PRODUCT_WINDOW
from agentsearch.errors import EnvError

__all__ = ["OracleResult", "expert_actions", "instruction_query", "oracle_actions", "run_oracle"]

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


def instruction_query(instruction: str) -> str:
    """The search query a policy can write from the instruction alone: the instruction without its price."""
    return _clean_query(_PRICE_CLAUSE.sub("", instruction))


def oracle_actions(env: WebShopEnv) -> list[str]:
    """The actions that buy the current goal's product with its options (the env must be freshly reset)."""
    goal = env.goal
    product = env.world.product(goal.asin)
    candidates = (
        _clean_query(product.title),
        # In large catalogs many products share a title: add what sets the goal's product apart.
        _clean_query(" ".join([product.title, *goal.option_values(), *product.attributes])),
        instruction_query(goal.instruction_text),
        _clean_query(product.query),
    )
    actions = _purchase(env, candidates)
    if actions is None:
        raise EnvError(f"The goal's product {goal.asin} is not among the top hits of any oracle query.")
    return actions


def expert_actions(env: WebShopEnv) -> list[str] | None:
    """The non-privileged expert's actions, or ``None`` when its query does not find the goal's product."""
    return _purchase(env, (instruction_query(env.goal.instruction_text),))


def _purchase(env: WebShopEnv, queries: tuple[str, ...]) -> list[str] | None:
    """Search the first query whose top hits hold the goal's product, page to it, pick its options, buy."""
    goal = env.goal
    world = env.world
    for query in queries:
        hits = [p.asin for p in world.results(tuple(query.split(" ")))]
        if goal.asin in hits:
            rank = hits.index(goal.asin)
            break
    else:
        return None
    product = world.product(goal.asin)
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

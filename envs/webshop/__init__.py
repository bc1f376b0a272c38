"""WebShop, offline: the original text interface, page logic and reward over a shipped generated catalog.

``WebShopEnv`` is registered as ``agentsearch/WebShop-v0``::

    import gymnasium as gym
    import agentsearch

    env = gym.make("agentsearch/WebShop-v0")
    obs, info = env.reset(options={"task_id": "0"})
    obs, reward, terminated, truncated, info = env.step("search[shampoo]")

Modules: :mod:`.catalog` (product schema and loading), :mod:`.goals` (goal generators and splits),
:mod:`.search` (BM25), :mod:`.pages` (text observations), :mod:`.reward` (``get_reward``), :mod:`.nouns`
(title nouns), :mod:`.env` (the environment), :mod:`.oracle` (a solver that reads the goal),
:mod:`.generate` (the catalog generator).
"""

from agentsearch.envs.webshop.catalog import Catalog, Product, load_catalog
from agentsearch.envs.webshop.env import SEARCH_TEMPLATE, WebShopEnv, WebShopWorld, load_world, parse_action
from agentsearch.envs.webshop.goals import Goal
from agentsearch.envs.webshop.reward import RewardInfo, get_reward

__all__ = [
    "Catalog",
    "Goal",
    "Product",
    "RewardInfo",
    "SEARCH_TEMPLATE",
    "WebShopEnv",
    "WebShopWorld",
    "get_reward",
    "load_catalog",
    "load_world",
    "parse_action",
]

"""WebShop's purchase reward, ``web_agent_site/engine/goal.py::get_reward``, term by term.

For a purchased product P, a goal G, the reward price ``price`` of P and the selected options::

    total = r_type * (n_att + n_opt + r_price) / (len(G.attributes) + len(G.goal_options) + 1)

* ``r_price`` = ``price <= G.price_upper`` (goals without a price clause have ``price_upper = 1_000_000``).
* ``n_att``: goal attributes matched by a product attribute with ``token_set_ratio > 85``, or found as a
  substring of the lower-cased title, joined bullet points or description.
* ``n_opt``: goal options matched (``token_set_ratio > 85``) by a selected option value, both sides passed
  through :func:`normalize_color`. Synthetic goals hold options as a dict; the original iterates its
  ``(name, value)`` items, so the fuzzy match sees the stringified tuple (``"('color', 'navy')"``).
* ``r_type``: the product-type gate from query, breadcrumb and title-noun overlap (:func:`type_reward`).

``token_set_ratio`` reproduces thefuzz 0.19 (the original's library): inputs that are not strings are
stringified, characters 128-255 are dropped (``force_ascii``), then rapidfuzz's ``default_process``
(lower-case, non-alphanumerics to spaces, strip); each ratio is rounded to an integer as thefuzz does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, utils

__all__ = [
    "COLOR_SET",
    "RewardInfo",
    "attribute_reward",
    "get_reward",
    "normalize_color",
    "option_reward",
    "token_set_ratio",
    "type_reward",
]

#: ``web_agent_site/engine/normalize.py::COLOR_SET``; order matters (the first substring hit wins).
COLOR_SET: tuple[str, ...] = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue", "blush",
    "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne", "charcoal", "cheetah",
    "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral", "cranberry", "cream",
    "crystal", "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite", "grape",
    "graphite", "grass", "gray", "green", "grey", "heather", "indigo", "ivory", "ivy", "khaki", "lavender",
    "lemon", "leopard", "light", "lilac", "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint",
    "mocha", "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive", "orange", "peach",
    "pewter", "pink", "plum", "purple", "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire",
    "seashell", "silver", "skull", "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe",
    "teal",
    "tiger", "turquoise", "violet", "walnut", "wheat", "white", "wine", "yellow",
)  # fmt: skip

MATCH_THRESHOLD = 85
NO_PRICE_LIMIT = 1_000_000

_DROP_LATIN1 = {code: None for code in range(128, 256)}


def _thefuzz_process(value: Any) -> str:
    text = value.translate(_DROP_LATIN1) if isinstance(value, str) else str(value)
    return utils.default_process(text)


def token_set_ratio(a: Any, b: Any) -> int:
    """thefuzz 0.19 ``fuzz.token_set_ratio(a, b)`` with its default processing, as an integer 0-100."""
    return int(round(fuzz.token_set_ratio(_thefuzz_process(a), _thefuzz_process(b))))


def normalize_color(value: Any) -> Any:
    """The first ``COLOR_SET`` entry contained in ``value`` (substring test; element test for tuples)."""
    for color in COLOR_SET:
        if color in value:
            return color
    return value


def type_reward(
    purchased_query: str,
    purchased_category: str,
    purchased_nouns: Sequence[str],
    goal_query: str,
    goal_category: str,
    goal_nouns: Sequence[str],
) -> dict[str, Any]:
    """``get_type_reward``: ``{r_type, query_match, category_match, title_score}``.

    ``*_nouns`` are the lower-cased NOUN/PROPN tokens of the product names (repeats count in the goal's
    denominator, as in the original).
    """
    query_match = purchased_query == goal_query
    purchased_parts = {part.strip() for part in purchased_category.split("›")}
    goal_parts = {part.strip() for part in goal_category.split("›")}
    category_match = len(purchased_parts & goal_parts) >= 2
    if not goal_nouns:
        title_score = 0.2
    else:
        title_score = len(set(purchased_nouns) & set(goal_nouns)) / len(goal_nouns)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {
        "r_type": r_type,
        "query_match": query_match,
        "category_match": category_match,
        "title_score": title_score,
    }


def attribute_reward(
    goal_attributes: Sequence[str],
    product_attributes: Iterable[str],
    title: str,
    bullet_points: Iterable[str] | str,
    description: str,
) -> tuple[float | None, int]:
    """``get_attribute_reward``: ``(fraction matched or None without goal attributes, number matched)``."""
    product_attributes = list(product_attributes)
    title_l = title.lower()
    bullets_l = " ".join(bullet_points).lower()
    description_l = description.lower()
    matches = 0
    for goal_attr in goal_attributes:
        if any(token_set_ratio(attr, goal_attr) > MATCH_THRESHOLD for attr in product_attributes):
            matches += 1
        elif goal_attr in title_l or goal_attr in bullets_l or goal_attr in description_l:
            matches += 1
    return (matches / len(goal_attributes) if goal_attributes else None), matches


def option_reward(purchased_options: Iterable[str], goal_options: Iterable[Any]) -> tuple[float | None, int]:
    """``get_option_reward``: ``(fraction matched or None without goal options, number matched)``."""
    purchased = [normalize_color(option) for option in purchased_options]
    goals = [normalize_color(option) for option in goal_options]
    matches = 0
    for goal_option in goals:
        if any(token_set_ratio(option, goal_option) > MATCH_THRESHOLD for option in purchased):
            matches += 1
    return (matches / len(goals) if goals else None), matches


@dataclass(frozen=True)
class RewardInfo:
    """The reward and its parts, as the original's ``verbose=True`` dict reports them."""

    reward: float
    r_type: float
    r_att: float | None
    r_option: float | None
    r_price: bool
    query_match: bool
    category_match: bool
    title_score: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def get_reward(
    product: Any,
    goal: Any,
    price: float,
    options: Mapping[str, str],
    *,
    product_nouns: Sequence[str],
    goal_nouns: Sequence[str],
) -> RewardInfo:
    """Score buying ``product`` with ``options`` at ``price`` against ``goal``.

    Args:
        product: has ``query, product_category, attributes, title, bullet_points, description``
            (a :class:`~agentsearch.envs.webshop.catalog.Product`).
        goal: has ``query, product_category, attributes, goal_options, price_upper``
            (a :class:`~agentsearch.envs.webshop.goals.Goal`); ``goal_options`` is a dict (synthetic goals) or
            a list of values (human goals).
        price: the product's reward price.
        options: selected option name -> value.
        product_nouns, goal_nouns: title nouns of ``product.name`` and ``goal.name``.
    """
    type_info = type_reward(
        product.query, product.product_category, product_nouns, goal.query, goal.product_category, goal_nouns
    )
    r_price = price <= goal.price_upper
    r_att, n_att = attribute_reward(
        goal.attributes, product.attributes, product.title, product.bullet_points, product.description
    )
    goal_options = goal.goal_options.items() if isinstance(goal.goal_options, Mapping) else goal.goal_options
    r_option, n_opt = option_reward(list(options.values()), goal_options)
    total = (n_att + n_opt + r_price) / (len(goal.attributes) + len(goal.goal_options) + 1)
    return RewardInfo(
        reward=total * type_info["r_type"],
        r_type=type_info["r_type"],
        r_att=r_att,
        r_option=r_option,
        r_price=bool(r_price),
        query_match=type_info["query_match"],
        category_match=type_info["category_match"],
        title_score=type_info["title_score"],
    )

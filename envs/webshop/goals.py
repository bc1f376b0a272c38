"""WebShop goals: the synthetic and human generators of ``engine/goal.py``, the seeded shuffle and splits.

* **Synthetic** (:func:`synthetic_goals`): for every product with a synthetic instruction, one goal per
  combination of its option values (option names sorted): ``instruction + " with n1: v1, and n2: v2" +
  price clause``; ``goal_options`` is a dict; ``weight`` is the mean of ``1/count(attribute)``.
* **Human** (:func:`human_goals`): one goal per entry of ``items_human_ins.json`` whose asin is loaded and
  whose ``instruction_attributes`` is non-empty; ``goal_options`` is the list of ``instruction_options``.

Price clause: the first four thresholds of ``10, 20, ..., 990`` above the product's price; with at least two,
two are sampled and the larger is ``price_upper`` (``", and price lower than {p:.2f} dollars"``), else no
clause and ``price_upper = 1_000_000``. The original samples with the unseeded global ``random``, so its
instructions change between runs; here a dedicated ``random.Random(233)`` draws them in product order.

Goals are then shuffled with ``random.Random(233).shuffle`` (the same permutation as the original's
``random.seed(233); random.shuffle(goals)``) and split by index: test 0-499, eval 500-1499, train 1500+.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentsearch.envs.webshop.catalog import Catalog, Product
from agentsearch.envs.webshop.jsonfiles import iter_records
from agentsearch.envs.webshop.reward import NO_PRICE_LIMIT
from agentsearch.errors import DataFileError

__all__ = [
    "Goal",
    "PRICE_RANGE",
    "SPLIT_BOUNDS",
    "synthetic_goals",
    "human_goals",
    "load_human_instructions",
    "shuffle_goals",
    "split_indices",
]

PRICE_RANGE: tuple[float, ...] = tuple(10.0 * i for i in range(1, 100))
GOAL_SEED = 233

#: Index ranges of the WebShop split convention (maintainers' rule in princeton-nlp/WebShop#1).
SPLIT_BOUNDS: dict[str, tuple[int, int | None]] = {
    "test": (0, 500),
    "eval": (500, 1500),
    "train": (1500, None),
}


@dataclasses.dataclass(frozen=True, eq=False, slots=True)
class Goal:
    """One shopping goal; field names follow the original goal dict.

    Attributes:
        asin: the product the goal was built from.
        category, query, product_category: that product's fields (inputs of the type gate).
        name: that product's name (the type gate compares title nouns with it).
        instruction_text: what the agent reads.
        attributes: attributes the purchase must have.
        price_upper: the price limit (``1_000_000`` without a price clause).
        goal_options: option name -> value (synthetic) or a list of values (human).
        weight: sampling weight of the original (``1`` for human goals).
    """

    asin: str
    category: str
    query: str
    name: str
    product_category: str
    instruction_text: str
    attributes: tuple[str, ...]
    price_upper: float
    goal_options: Mapping[str, str] | tuple[str, ...]
    weight: float = 1.0

    def option_values(self) -> tuple[str, ...]:
        """The option values the purchase should select, whatever the goal kind."""
        if isinstance(self.goal_options, Mapping):
            return tuple(self.goal_options.values())
        return tuple(self.goal_options)


def price_clause(price: float, rng: random.Random) -> tuple[float, str]:
    """``(price_upper, text)`` for a product of ``price`` (see the module docstring)."""
    thresholds = [p for p in PRICE_RANGE if p > price][:4]
    if len(thresholds) >= 2:
        _, upper = sorted(rng.sample(thresholds, 2))
        return upper, f", and price lower than {upper:.2f} dollars"
    return float(NO_PRICE_LIMIT), ""


def synthetic_goals(catalog: Catalog, *, seed: int = GOAL_SEED) -> list[Goal]:
    """Synthetic goals in generation order (not yet shuffled)."""
    rng = random.Random(seed)
    goals: list[Goal] = []
    attribute_counts: dict[str, int] = defaultdict(int)
    for product in catalog.products:
        if product.asin not in catalog.instructions:
            continue
        instruction, attributes = catalog.instructions[product.asin]
        if not attributes:
            continue  # the original asserts this never happens; skip rather than divide by zero
        price_upper, price_text = price_clause(catalog.prices[product.asin], rng)
        names = sorted(product.options)
        for combination in itertools.product(*(product.options[name] for name in names)):
            goal_options = dict(zip(names, combination, strict=True))
            option_text = ", and ".join(f"{k}: {v}" for k, v in goal_options.items())
            option_text = f" with {option_text}" if option_text else ""
            text = f"{instruction}{option_text}{price_text}"
            goals.append(_goal(product, text, attributes, price_upper, goal_options))
            for attribute in attributes:
                attribute_counts[attribute] += 1
    return [
        _with_weight(goal, sum(1.0 / attribute_counts[a] for a in goal.attributes) / len(goal.attributes))
        for goal in goals
    ]


def _goal(
    product: Product,
    instruction_text: str,
    attributes: tuple[str, ...],
    price_upper: float,
    goal_options: Mapping[str, str] | tuple[str, ...],
) -> Goal:
    """A goal on ``product`` (its ``name``: synthetic goals take ``Title``, which is the same string)."""
    return Goal(
        asin=product.asin,
        category=product.category,
        query=product.query,
        name=product.name,
        product_category=product.product_category,
        instruction_text=instruction_text,
        attributes=attributes,
        price_upper=price_upper,
        goal_options=goal_options,
    )


def _with_weight(goal: Goal, weight: float) -> Goal:
    return dataclasses.replace(goal, weight=weight)


def load_human_instructions(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read ``items_human_ins.json``: asin -> list of instruction records.

    Each record holds ``instruction`` and the lists ``instruction_attributes`` and ``instruction_options``.
    """
    entries: dict[str, list[dict[str, Any]]] = {}
    for line, asin, records in iter_records(path):
        if asin is None:
            raise DataFileError(path, line, "expected a JSON object mapping asin -> [instruction, ...]")
        if not isinstance(records, list):
            raise DataFileError(path, line, f"entry of {asin!r} must be a list of instruction objects")
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("instruction"), str):
                raise DataFileError(path, line, f"an instruction of {asin!r} lacks a string `instruction`")
            for key in ("instruction_attributes", "instruction_options"):
                value = record.get(key, [])
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise DataFileError(path, line, f"`{key}` of {asin!r} must be a list of strings")
        entries[asin] = records
    return entries


def human_goals(
    catalog: Catalog, instructions: Mapping[str, Sequence[Mapping[str, Any]]], *, seed: int = GOAL_SEED
) -> list[Goal]:
    """Human goals in generation order (not yet shuffled)."""
    rng = random.Random(seed)
    goals: list[Goal] = []
    for product in catalog.products:
        for record in instructions.get(product.asin, ()):
            attributes = tuple(record.get("instruction_attributes") or ())
            if not attributes:
                continue
            price_upper, price_text = price_clause(catalog.prices[product.asin], rng)
            text = record["instruction"].strip(".") + price_text
            options = tuple(record.get("instruction_options") or ())
            goals.append(_goal(product, text, attributes, price_upper, options))
    return goals


def shuffle_goals(goals: list[Goal], *, seed: int = GOAL_SEED) -> list[Goal]:
    """The original's ``random.seed(233); random.shuffle(goals)``, without touching the global generator."""
    shuffled = list(goals)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def split_indices(split: str, num_goals: int) -> range:
    """Goal indices of ``split`` among ``num_goals`` goals."""
    start, stop = SPLIT_BOUNDS[split]
    stop = num_goals if stop is None else min(stop, num_goals)
    return range(min(start, num_goals), stop)

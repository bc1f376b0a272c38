"""The seeded catalog generator and the shipped catalog it produced."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from agentsearch.envs.webshop import WebShopEnv, load_world
from agentsearch.envs.webshop.catalog import normalize_product
from agentsearch.envs.webshop.generate import _display, cached_catalog, write_catalog
from agentsearch.envs.webshop.reward import option_reward
from agentsearch.envs.webshop.vocab import OPTION_POOLS, PRODUCT_TYPES
from agentsearch.paths import data_dir


@pytest.fixture(scope="module")
def shipped() -> WebShopEnv:
    return WebShopEnv()


def test_regenerating_reproduces_the_shipped_files(tmp_path: Path) -> None:
    items, attrs = write_catalog(tmp_path)
    assert items.read_bytes() == data_dir("webshop", "items.jsonl.gz").read_bytes()
    assert attrs.read_bytes() == data_dir("webshop", "items_ins.json.gz").read_bytes()


def test_shipped_catalog_shape(shipped: WebShopEnv) -> None:
    products = shipped.world.catalog.products
    assert len(products) >= 2000
    assert {p.category for p in products} == {"beauty", "food", "fashion", "furniture", "electronics"}
    assert all(" › " in p.product_category for p in products)
    assert all(p.title_nouns for p in products)
    assert all(p.attributes != ("DUMMY_ATTR",) and len(p.bullet_points) >= 3 for p in products)
    assert all(p.price_tag.startswith("$") for p in products)
    assert any(" to $" in p.price_tag for p in products)  # some price ranges
    assert sum(bool(p.options) for p in products) > 0.8 * len(products)
    assert all(v == v.lower() for p in products for values in p.options.values() for v in values)


def test_every_goal_has_five_same_type_distractors(shipped: WebShopEnv) -> None:
    by_query = defaultdict(list)
    for product in shipped.world.catalog.products:
        by_query[product.query].append(product)
    prices = shipped.world.catalog.prices
    for asin in {goal.asin for goal in shipped.world.goals}:
        target = shipped.world.product(asin)
        distractors = [
            p
            for p in by_query[target.query]
            if p.asin != asin
            and (
                set(p.attributes) != set(target.attributes)
                or p.options != target.options
                or prices[p.asin] != prices[asin]
            )
        ]
        assert len(distractors) >= 5, asin


def test_goals_are_synthetic_style_with_seeded_prices(shipped: WebShopEnv) -> None:
    goals = shipped.world.goals
    assert all(g.instruction_text.startswith("Find me ") for g in goals)
    assert sum(", and price lower than " in g.instruction_text for g in goals) > 0.9 * len(goals)
    # A fresh load (bypassing the world cache) gives the same goals, prices included, in the same order.
    items, attrs = data_dir("webshop", "items.jsonl.gz"), data_dir("webshop", "items_ins.json.gz")
    fresh = load_world.__wrapped__(str(items), str(attrs), None)
    assert [g.instruction_text for g in fresh.goals] == [g.instruction_text for g in goals]


def test_option_pools_survive_normalisation_and_the_reward() -> None:
    for ptype in PRODUCT_TYPES:
        for name, pool in ptype.options:
            for value in OPTION_POOLS[pool]:
                raw = _display(value)
                record = {
                    "asin": "B1",
                    "name": "x",
                    "category": "c",
                    "query": "q",
                    "product_category": "p",
                    "customization_options": {name.title(): [{"value": raw}]},
                }
                assert normalize_product(record).options == {name: (value,)}
                # A synthetic goal on this value must be reachable at 1.0 (COLOR_SET traps excluded).
                assert option_reward([value], [(name, value)]) == (1.0, 1), value


def test_cached_catalog_generates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSEARCH_CACHE", str(tmp_path))
    items, attrs = cached_catalog(300)
    assert items.parent == tmp_path / "webshop" and items.exists() and attrs.exists()
    stamp = items.stat().st_mtime_ns
    assert cached_catalog(300) == (items, attrs)
    assert items.stat().st_mtime_ns == stamp
    env = WebShopEnv(generated_products=300)
    assert len(env.world.catalog) == 300

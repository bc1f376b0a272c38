"""Seeded generator of WebShop-style catalogs in the original file schema.

Writes two files that :func:`~agentsearch.envs.webshop.catalog.load_catalog` reads like the originals:

* ``items.jsonl.gz``: raw product records (``asin, name, category, query, product_category,
  full_description, small_description, pricing, images, customization_options``) plus ``title_nouns``, the
  nouns of ``name`` as the generator composed it (the reward's type gate reads them instead of spaCy);
* ``items_ins.json.gz``: ``asin -> {attributes, instruction?, instruction_attributes?}`` like
  ``items_ins_v2.json``; about 30% of the products carry a synthetic instruction, which the synthetic
  goal generator expands over all option combinations.

Products are spread round-robin over the product types of :mod:`~agentsearch.envs.webshop.vocab` and then
shuffled, so every type has dozens of products: each goal's product competes with many same-type
distractors that differ in attributes, options or price.

The shipped catalog (``data/webshop/``) is ``python -m agentsearch.envs.webshop.generate`` with the defaults;
:func:`cached_catalog` builds larger ones (e.g. 100,000 products) on demand under
``agentsearch.paths.cache_dir("webshop")``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import random
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentsearch.envs.webshop.vocab import OPTION_POOLS, PRODUCT_TYPES, ProductType
from agentsearch.paths import cache_dir, data_dir

__all__ = [
    "generate_catalog",
    "write_catalog",
    "cached_catalog",
    "DEFAULT_NUM_PRODUCTS",
    "DEFAULT_SEED",
    "main",
]

logger = logging.getLogger(__name__)

DEFAULT_NUM_PRODUCTS = 2000
DEFAULT_SEED = 0
INSTRUCTION_FRACTION = 0.3
RANGE_PRICE_FRACTION = 0.08
_ASIN_CHARS = string.ascii_uppercase + string.digits


def _asin(rng: random.Random, taken: set[str]) -> str:
    while True:
        asin = "B0" + "".join(rng.choices(_ASIN_CHARS, k=8))
        if asin not in taken:
            taken.add(asin)
            return asin


def _display(value: str) -> str:
    """A raw option value as a store would write it; load-time normalisation turns it back into ``value``."""
    return " ".join(w if w[:1].isdigit() else w.capitalize() for w in value.replace(" | ", "/").split(" "))


def _price(rng: random.Random, low: float, high: float) -> float:
    cents = rng.choice((0.99, 0.49, 0.95, 0.0, 0.89))
    return round(int(rng.uniform(low, high)) + cents, 2)


def _title(
    rng: random.Random, ptype: ProductType, brand: str, attributes: Sequence[str]
) -> tuple[str, list[str]]:
    features = rng.sample(ptype.features, k=rng.randint(1, 2))
    head = rng.choice(ptype.heads)
    title = f"{brand} {' '.join(features)} {head}"
    if rng.random() < 0.4:
        title += f" with {attributes[0].title()}"
    if rng.random() < 0.3:
        title += f", {rng.choice(ptype.uses).title()}"
    nouns = [w.lower() for w in brand.split()]
    nouns += [w.lower() for w in head.split() if w.lower() not in ptype.modifiers]
    return title, nouns


def _description(
    rng: random.Random, ptype: ProductType, brand: str, head: str, attributes: Sequence[str]
) -> str:
    use = rng.choice(ptype.uses)
    sentences = [
        f"The {brand} {head.lower()} is designed for {use}.",
        f"It is {attributes[0]} and {attributes[1]}, so you can use it every day with confidence.",
        rng.choice(
            (
                f"Customers love its {attributes[-1]} quality and great value.",
                f"Every {head.lower()} is made with {attributes[-1]} in mind.",
                f"Backed by {brand}'s satisfaction guarantee.",
            )
        ),
    ]
    if len(attributes) > 3 and rng.random() < 0.5:
        sentences.append(f"Also {attributes[2]}.")
    return " ".join(sentences)


def _bullets(rng: random.Random, ptype: ProductType, head: str, attributes: Sequence[str]) -> list[str]:
    templates = (
        "{A}: this {h} is {a} for everyday use",
        "{A} - made to last and easy to use",
        "Perfect for {u}: {a} and dependable",
        "What you get: one {h}, {a}, with a worry-free 30-day return policy",
        "{A} design that fits your routine",
    )
    bullets = []
    for attribute, template in zip(attributes, rng.sample(templates, k=len(templates)), strict=False):
        bullets.append(
            template.format(A=attribute.upper(), a=attribute, h=head.lower(), u=rng.choice(ptype.uses))
        )
    return bullets[: rng.randint(3, 5)]


def _options(rng: random.Random, ptype: ProductType) -> dict[str, list[dict[str, str]]]:
    roll = rng.random()
    count = min(2 if roll < 0.5 else 1 if roll < 0.85 else 0, len(ptype.options))
    groups = [ptype.options[i] for i in sorted(rng.sample(range(len(ptype.options)), k=count))]
    options: dict[str, list[dict[str, str]]] = {}
    for name, pool_name in groups:
        pool = OPTION_POOLS[pool_name]
        picked = sorted(rng.sample(range(len(pool)), k=rng.randint(2, min(5, len(pool)))))
        options[name.title()] = [
            {
                "value": _display(pool[i]),
                "image": f"https://m.media-amazon.com/images/I/{rng.getrandbits(40):x}.jpg",
            }
            for i in picked
        ]
    return options


def _instruction(rng: random.Random, ptype: ProductType, attributes: Sequence[str]) -> tuple[str, list[str]]:
    chosen = rng.sample(list(attributes), k=min(len(attributes), rng.randint(2, 3)))
    template = rng.randrange(3)
    if template == 0 or len(chosen) < 3:
        text = (
            f"Find me {', '.join(chosen)} {ptype.label}"
            if template == 0
            else (f"Find me {ptype.label} with {', '.join(chosen)}")
        )
    else:
        text = f"Find me {chosen[0]} {ptype.label} with {', '.join(chosen[1:])} for {rng.choice(ptype.uses)}"
    return text, chosen


def generate_catalog(
    num_products: int = DEFAULT_NUM_PRODUCTS, seed: int = DEFAULT_SEED
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """``(raw product records, attribute entries by asin)`` for a catalog of ``num_products``."""
    rng = random.Random(seed)
    taken: set[str] = set()
    products: list[dict[str, Any]] = []
    attributes_by_asin: dict[str, dict[str, Any]] = {}
    for index in range(num_products):
        ptype = PRODUCT_TYPES[index % len(PRODUCT_TYPES)]
        asin = _asin(rng, taken)
        brand = rng.choice(ptype.brands)
        attributes = rng.sample(ptype.attributes, k=rng.randint(3, min(5, len(ptype.attributes))))
        title, nouns = _title(rng, ptype, brand, attributes)
        head = next(h for h in sorted(ptype.heads, key=len, reverse=True) if h in title)
        if rng.random() < RANGE_PRICE_FRACTION:
            low = _price(rng, *ptype.price)
            pricing = f"${low:.2f} - ${low * rng.uniform(1.2, 2.0):.2f}"
        else:
            pricing = f"${_price(rng, *ptype.price):.2f}"
        products.append(
            {
                "asin": asin,
                "name": title,
                "category": ptype.category,
                "query": ptype.query,
                "product_category": " › ".join(ptype.breadcrumb),
                "full_description": _description(rng, ptype, brand, head, attributes),
                "small_description": _bullets(rng, ptype, head, attributes),
                "pricing": pricing,
                "images": [f"https://m.media-amazon.com/images/I/{rng.getrandbits(40):x}.jpg"],
                "customization_options": _options(rng, ptype) or None,
                "title_nouns": nouns,
            }
        )
        entry: dict[str, Any] = {"attributes": attributes}
        if rng.random() < INSTRUCTION_FRACTION:
            entry["instruction"], entry["instruction_attributes"] = _instruction(rng, ptype, attributes)
        attributes_by_asin[asin] = entry
    rng.shuffle(products)  # items_shuffle.json is shuffled too
    return products, attributes_by_asin


def write_catalog(
    folder: str | os.PathLike[str],
    num_products: int = DEFAULT_NUM_PRODUCTS,
    seed: int = DEFAULT_SEED,
    *,
    items_name: str = "items.jsonl.gz",
    attrs_name: str = "items_ins.json.gz",
) -> tuple[Path, Path]:
    """Generate a catalog and write it (atomically) into ``folder``; returns ``(items, attributes)`` paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    products, attributes = generate_catalog(num_products, seed)
    items_path, attrs_path = folder / items_name, folder / attrs_name
    _write_gzip(items_path, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in products))
    # One asin per line keeps errors in hand-edited files pointing at the right line.
    body = ",\n".join(
        f"{json.dumps(asin)}: {json.dumps(entry, ensure_ascii=False)}" for asin, entry in attributes.items()
    )
    _write_gzip(attrs_path, "{\n" + body + "\n}\n")
    logger.info("Wrote %d products to %s", len(products), items_path)
    return items_path, attrs_path


def _write_gzip(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # mtime=0 makes the archive bytes depend on the content only, so regenerating gives identical files.
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(text.encode("utf-8"))
    tmp.replace(path)


def cached_catalog(num_products: int, seed: int = DEFAULT_SEED) -> tuple[Path, Path]:
    """Paths of a generated catalog of ``num_products``, generating it into the cache on first use."""
    folder = cache_dir("webshop")
    items = folder / f"items_{num_products}_seed{seed}.jsonl.gz"
    attrs = folder / f"items_ins_{num_products}_seed{seed}.json.gz"
    if not (items.exists() and attrs.exists()):
        logger.info("Generating a %d-product catalog into %s", num_products, folder)
        write_catalog(folder, num_products, seed, items_name=items.name, attrs_name=attrs.name)
    return items, attrs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a WebShop-style catalog (default: the shipped one)."
    )
    parser.add_argument("--num-products", type=int, default=DEFAULT_NUM_PRODUCTS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--out", default=str(data_dir("webshop")), help="output folder (default: the shipped data)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_catalog(args.out, args.num_products, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

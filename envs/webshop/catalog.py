"""WebShop products: the raw record schema, its load-time normalisation, and catalog loading.

A raw product record has the keys of WebShop's ``items_shuffle*.json``: ``asin, name, category, query,
product_category, full_description, small_description, pricing, images, customization_options`` (other keys
are ignored). :func:`normalize_product` applies the original ``load_products`` rules (reference section 1.1):

* ``Title`` = ``name``; ``Description`` = ``full_description``; ``BulletPoints`` = ``small_description`` as a
  list; ``Rating`` is always ``'N.A.'`` and reviews are never loaded;
* ``pricing``: floats parsed from each ``$`` piece (``"$10.99 - $25.50"`` -> ``[10.99, 25.5]``), ``[100.0]``
  when missing; the display ``Price`` is ``f"${p}"`` or ``"$lo to $hi"``;
* options: ``{name.lower(): [value.strip().replace('/', ' | ').lower(), ...]}``;
* ``Attributes`` from the attribute file (``items_ins_v2*.json``) or ``['DUMMY_ATTR']``;
* ``query`` lower-cased and stripped; records whose asin is ``'nan'`` or longer than 10 characters, and
  repeated asins, are skipped.

The price the reward sees for a product with a price range is drawn uniformly from the range as in the
original, but seeded by the asin so that it is the same in every run (the original draw is unseeded).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agentsearch.envs.webshop.jsonfiles import iter_records
from agentsearch.errors import DataFileError

__all__ = ["Product", "Catalog", "normalize_product", "parse_pricing", "load_catalog", "load_attributes"]

logger = logging.getLogger(__name__)

DUMMY_ATTR = "DUMMY_ATTR"
MISSING_PRICE = 100.0


@dataclass(frozen=True, slots=True, eq=False)
class Product:
    """One normalised product; field names follow the original's keys in snake case.

    Attributes:
        asin: the product id (upper-case as stored).
        name: the raw ``name``; the reward's type gate compares these.
        title: what pages show (equal to ``name``).
        description: ``full_description``.
        bullet_points: ``small_description`` as a tuple.
        pricing: one price or a ``(lo, hi)`` range, as floats.
        price_tag: the display string (``"$10.99"``, ``"$15.0"``, ``"$10.99 to $25.5"``).
        options: option name -> values, in the record's order.
        attributes: from the attribute file, or ``("DUMMY_ATTR",)``.
        category: coarse bucket (beauty, food, fashion, furniture, electronics).
        query: the scraping query, lower-cased.
        product_category: ``"A › B › C"`` breadcrumb.
        main_image: first image URL.
        title_nouns: nouns of ``name`` from generator metadata, or ``None`` (then a tagger derives them).
    """

    asin: str
    name: str
    title: str
    description: str
    bullet_points: tuple[str, ...]
    pricing: tuple[float, ...]
    price_tag: str
    options: Mapping[str, tuple[str, ...]]
    attributes: tuple[str, ...]
    category: str
    query: str
    product_category: str
    main_image: str = ""
    title_nouns: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Catalog:
    """Loaded products with the lookups the environment needs.

    Attributes:
        products: in file order (the order search ties are broken by).
        by_asin: asin -> product.
        prices: asin -> the price the reward compares with the goal's ``price_upper``.
        instructions: asin -> ``(instruction, instruction_attributes)`` for products whose attribute entry has
            a synthetic instruction (the input of the synthetic goal generator).
        source: where the products came from, for logs and error messages.
    """

    products: tuple[Product, ...]
    by_asin: dict[str, Product]
    prices: dict[str, float]
    instructions: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.products)


_NON_PRICE = re.compile(r"[^\d.]")


def parse_pricing(pricing: Any) -> tuple[tuple[float, ...], str]:
    """``(prices, display string)`` of a raw ``pricing`` value, following the original parser."""
    if pricing is None or not pricing:
        return (MISSING_PRICE,), f"${MISSING_PRICE}"
    if not isinstance(pricing, str):
        raise ValueError(f"`pricing` must be a string such as '$12.99', got {type(pricing).__name__}")
    pieces = pricing.split("$")[1:]
    if not pieces:
        raise ValueError(f"`pricing` {pricing!r} holds no '$' amount")
    try:
        values = [float(Decimal(_NON_PRICE.sub("", piece))) for piece in pieces]
    except InvalidOperation:
        raise ValueError(f"`pricing` {pricing!r} is not a '$' amount or range") from None
    if len(values) == 1:
        return (values[0],), f"${values[0]}"
    return (values[0], values[1]), f"${values[0]} to ${values[1]}"


def reward_price(asin: str, pricing: Sequence[float]) -> float:
    """The price the reward uses: the single price, or a uniform draw from the range seeded by the asin."""
    if len(pricing) == 1:
        return pricing[0]
    return random.Random(asin).uniform(pricing[0], pricing[1])


def _require_str(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be a string, got {type(value).__name__}")
    return value


def _normalize_options(raw: Any) -> dict[str, tuple[str, ...]]:
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"`customization_options` must be an object or null, got {type(raw).__name__}")
    options: dict[str, tuple[str, ...]] = {}
    for option_name, contents in raw.items():
        if contents is None:
            continue
        if not isinstance(contents, list):
            raise ValueError(f"option {option_name!r} must be a list of {{value, image}} objects")
        values = []
        for content in contents:
            if not isinstance(content, Mapping) or not isinstance(content.get("value"), str):
                raise ValueError(f"option {option_name!r} has an entry without a string `value`")
            values.append(content["value"].strip().replace("/", " | ").lower())
        options[str(option_name).lower()] = tuple(values)
    return options


def normalize_product(record: Any, attributes: Sequence[str] | None = None) -> Product:
    """Normalise one raw product record (see the module docstring); raises ``ValueError`` if malformed.

    Args:
        record: a raw record with the original keys (plus an optional ``title_nouns`` list).
        attributes: the product's entry in the attribute file, or ``None`` for ``['DUMMY_ATTR']``.
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"a product must be a JSON object, got {type(record).__name__}")
    asin = _require_str(record, "asin")
    name = _require_str(record, "name")
    description = record.get("full_description") or ""
    if not isinstance(description, str):
        raise ValueError("`full_description` must be a string")
    bullets = record.get("small_description")
    if bullets is None:
        bullets = ""
    if isinstance(bullets, str):
        bullet_points: tuple[str, ...] = (bullets,)
    elif isinstance(bullets, list) and all(isinstance(b, str) for b in bullets):
        bullet_points = tuple(bullets)
    else:
        raise ValueError("`small_description` must be a string or a list of strings")
    pricing, price_tag = parse_pricing(record.get("pricing"))
    images = record.get("images") or []
    if not isinstance(images, list):
        raise ValueError("`images` must be a list")
    nouns = record.get("title_nouns")
    if nouns is not None and not (isinstance(nouns, list) and all(isinstance(n, str) for n in nouns)):
        raise ValueError("`title_nouns` must be a list of strings")
    if attributes is not None and not (
        isinstance(attributes, list | tuple) and all(isinstance(a, str) for a in attributes)
    ):
        raise ValueError("`attributes` must be a list of strings")
    return Product(
        asin=asin,
        name=name,
        title=name,
        description=description,
        bullet_points=bullet_points,
        pricing=pricing,
        price_tag=price_tag,
        options=_normalize_options(record.get("customization_options")),
        attributes=tuple(attributes) if attributes is not None else (DUMMY_ATTR,),
        category=_require_str(record, "category"),
        query=_require_str(record, "query").lower().strip(),
        product_category=_require_str(record, "product_category"),
        main_image=str(images[0]) if images else "",
        title_nouns=tuple(nouns) if nouns is not None else None,
    )


def load_attributes(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read an attribute file (``items_ins_v2*.json``): asin -> ``{attributes, instruction?, ...}``."""
    entries: dict[str, dict[str, Any]] = {}
    for line, asin, entry in iter_records(path):
        if asin is None:
            raise DataFileError(path, line, "expected a JSON object mapping asin -> {attributes, ...}")
        if not isinstance(entry, dict):
            raise DataFileError(path, line, f"entry of {asin!r} must be an object")
        attributes = entry.get("attributes", [])
        if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
            raise DataFileError(path, line, f"`attributes` of {asin!r} must be a list of strings")
        instruction = entry.get("instruction")
        if instruction is not None and not isinstance(instruction, str):
            raise DataFileError(path, line, f"`instruction` of {asin!r} must be a string")
        instruction_attributes = entry.get("instruction_attributes")
        if instruction is not None and not (
            isinstance(instruction_attributes, list)
            and all(isinstance(a, str) for a in instruction_attributes)
        ):
            raise DataFileError(path, line, f"`instruction_attributes` of {asin!r} must be a list of strings")
        entries[asin] = entry
    return entries


def load_catalog(
    items_path: str | Path, attrs_path: str | Path | None = None, *, num_products: int | None = None
) -> Catalog:
    """Load and normalise a product file and its attribute file.

    Args:
        items_path: ``items_shuffle*.json`` (array), or a JSON Lines file of the same records.
        attrs_path: ``items_ins_v2*.json``; without it every product gets ``['DUMMY_ATTR']``.
        num_products: keep only the first N records, as the original ``num_products`` does.

    Raises:
        DataFileError: a record is malformed; the message names the file and the line.
    """
    attrs = load_attributes(attrs_path) if attrs_path is not None else {}
    products: list[Product] = []
    by_asin: dict[str, Product] = {}
    instructions: dict[str, tuple[str, tuple[str, ...]]] = {}
    for index, (line, _, record) in enumerate(iter_records(items_path)):
        if num_products is not None and index >= num_products:
            break
        asin = record.get("asin") if isinstance(record, dict) else None
        if isinstance(asin, str) and (asin == "nan" or len(asin) > 10 or asin in by_asin):
            continue
        entry = attrs.get(asin) if isinstance(asin, str) else None
        try:
            product = normalize_product(
                record, entry.get("attributes") if entry and "attributes" in entry else None
            )
        except ValueError as err:
            raise DataFileError(items_path, line, str(err)) from None
        products.append(product)
        by_asin[product.asin] = product
        if entry is not None and entry.get("instruction") is not None:
            instructions[product.asin] = (
                entry["instruction"],
                tuple(entry.get("instruction_attributes") or ()),
            )
    prices = {p.asin: reward_price(p.asin, p.pricing) for p in products}
    logger.info("Loaded %d products from %s", len(products), items_path)
    return Catalog(tuple(products), by_asin, prices, instructions, source=str(items_path))

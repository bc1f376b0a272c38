"""A tiny WebShop data set in the original file schema, written by the tests into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

PRODUCTS = [
    {
        "asin": "B000000001",
        "name": "Acme Tea Tree Shampoo",
        "category": "beauty",
        "query": "Shampoo ",
        "product_category": "Beauty & Personal Care › Hair Care › Shampoos",
        "full_description": "A gentle shampoo with tea tree oil.",
        "small_description": ["Sulfate free formula", "Made in USA"],
        "pricing": "$12.99",
        "images": ["https://example.com/1.jpg"],
        "brand": "Acme",
        "customization_options": {
            "Size": [{"value": "8 Fl Oz", "image": None}, {"value": "16 Fl Oz/Pack of 2", "image": None}],
            "Scent": [{"value": "Lavender", "image": None}, {"value": "Mint", "image": None}],
        },
    },
    {  # skipped: asin 'nan'
        "asin": "nan",
        "name": "skipped",
        "category": "beauty",
        "query": "x",
        "product_category": "a",
        "full_description": "",
        "small_description": "",
        "pricing": "",
        "images": [],
        "customization_options": None,
    },
    {
        "asin": "B000000002",
        "name": "Bolt Shampoo for Dry Hair",
        "category": "beauty",
        "query": "shampoo",
        "product_category": "Beauty & Personal Care › Hair Care › Shampoos",
        "full_description": "Moisturizing shampoo.",
        "small_description": "Hydrates dry hair",
        "pricing": "$5.00 - $9.50",
        "images": ["https://example.com/2.jpg"],
        "customization_options": None,
    },
    {  # skipped: repeated asin
        "asin": "B000000001",
        "name": "duplicate",
        "category": "beauty",
        "query": "x",
        "product_category": "a",
        "full_description": "",
        "small_description": "",
        "pricing": "",
        "images": [],
        "customization_options": None,
    },
    {
        "asin": "B000000003",
        "name": "Cozy Wool Socks",
        "category": "fashion",
        "query": "socks",
        "product_category": "Clothing, Shoes & Jewelry › Men › Socks",
        "full_description": "Warm socks.",
        "small_description": ["Wool blend", ""],
        "pricing": None,
        "images": ["https://example.com/3.jpg"],
        "customization_options": {"Color": [{"value": "Grey/Black", "image": None}]},
    },
]

ATTRIBUTES = {
    "B000000001": {
        "attributes": ["tea tree", "sulfate free"],
        "instruction": "Find me sulfate free shampoo with tea tree",
        "instruction_attributes": ["tea tree", "sulfate free"],
    },
    "B000000002": {"attributes": ["dry hair"]},
}

HUMAN = {
    "B000000001": [
        {
            "asin": "B000000001",
            "instruction": "i want a tea tree shampoo that smells of lavender.",
            "attributes": ["tea tree"],
            "options": ["lavender"],
            "instruction_attributes": ["tea tree"],
            "instruction_options": ["lavender"],
            "assignment_id": "a1",
            "worker_id": "w1",
        },
        {"asin": "B000000001", "instruction": "no attributes: skipped", "instruction_attributes": []},
    ],
    "B000000003": [
        {
            "asin": "B000000003",
            "instruction": "i need grey wool socks",
            "instruction_attributes": ["wool"],
            "instruction_options": ["grey | black"],
        }
    ],
}


def write_original_files(folder: Path) -> Path:
    """Write ``items_shuffle_1000.json``, ``items_ins_v2_1000.json`` and ``items_human_ins.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items_shuffle_1000.json").write_text(json.dumps(PRODUCTS, indent=1, ensure_ascii=False))
    (folder / "items_ins_v2_1000.json").write_text(json.dumps(ATTRIBUTES, indent=1))
    (folder / "items_human_ins.json").write_text(json.dumps(HUMAN, indent=1))
    return folder

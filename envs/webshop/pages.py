"""WebShop's pages in the ``text`` observation mode, and the clickables of each page.

The original renders Jinja templates (``web_agent_site/templates/*.html``) and flattens them with
BeautifulSoup: every visible text node, stripped, joined with ``" [SEP] "``. Text nodes that are only ASCII
whitespace collapse to ``"\\n"`` (dropped) when they contain a newline and to ``" "`` (kept, as an empty
segment) otherwise. This module produces the same strings directly from the templates' text nodes, in
document order, without HTML:

* search: ``WebShop [SEP] Instruction: [SEP] <instruction> [SEP] Search``
* results: ``Instruction: [SEP] <instruction> [SEP] Back to Search [SEP] Page <p> (Total results: <n>) [SEP]
  [< Prev [SEP]] Next > [SEP] <ASIN> [SEP] <Title> [SEP] <Price> ...``
* item: ``... [SEP] Back to Search [SEP] < Prev [SEP] <option name> [SEP] <values ...> ... [SEP] <Title> [SEP]
  Price: <Price> [SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now``
* description / features / reviews: header, then the description, one segment per bullet point, or nothing.
* done: the thank-you page including its CSS-hidden debug block, ending ``Your score (min 0.0, max 1.0) [SEP]
  <reward> [SEP] Reward Details [SEP] None``.

The ``Attributes`` button and page (``show_attrs=True``, off in every published setup) are not rendered.

Clickables follow ``get_available_actions``: lower-cased texts of buttons and product links in document
order, then the option values (a value present in two option groups selects the later group, as the
original's dict does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from agentsearch.envs.webshop.catalog import Product

__all__ = ["Page", "PageState", "PRODUCT_WINDOW", "SEP", "render", "clickables", "SUB_PAGES"]

SEP = " [SEP] "
PRODUCT_WINDOW = 10

BACK_TO_SEARCH = "back to search"
NEXT_PAGE = "next >"
PREV_PAGE = "< prev"
BUY_NOW = "buy now"


class Page(StrEnum):
    SEARCH = "search"
    RESULTS = "results"
    ITEM = "item"
    DESCRIPTION = "description"
    FEATURES = "features"
    REVIEWS = "reviews"
    DONE = "done"


#: Item sub-pages by the (lower-cased) button that opens them.
SUB_PAGES: dict[str, Page] = {
    "description": Page.DESCRIPTION,
    "features": Page.FEATURES,
    "reviews": Page.REVIEWS,
}


@dataclass(frozen=True, slots=True)
class PageState:
    """Everything that determines the current page: small, immutable and hashable, so snapshots are O(1).

    Attributes:
        page: which page is shown.
        keywords: the search keywords (the lower-cased query split on single spaces).
        page_num: results page number (1-based).
        asin: the product of an item, sub or done page.
        options: selected ``(option name, value)`` pairs in selection order.
        reward: the purchase reward on the done page.
    """

    page: Page = Page.SEARCH
    keywords: tuple[str, ...] = ()
    page_num: int = 1
    asin: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    reward: float | None = None

    def options_dict(self) -> dict[str, str]:
        return dict(self.options)

    def with_option(self, name: str, value: str) -> PageState:
        options = self.options_dict()
        options[name] = value
        return PageState(
            self.page, self.keywords, self.page_num, self.asin, tuple(options.items()), self.reward
        )


_ASCII_SPACE = frozenset(" \n\t\r\f")


def _node(raw: str) -> list[str]:
    """The segments BeautifulSoup's text extraction yields for one template text node (zero or one)."""
    if not raw:
        return []
    if all(c in _ASCII_SPACE for c in raw):
        return [] if "\n" in raw else [""]
    return [raw.strip()]


def _header(instruction: str) -> list[str]:
    return ["Instruction:", *_node(instruction), "Back to Search"]


def _html_safe_json(value: Mapping[str, str]) -> str:
    """Flask's ``tojson`` filter: sorted keys, ASCII, and ``< > & '`` escaped for HTML."""
    text = json.dumps(value, sort_keys=True)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    )


def search_page(instruction: str) -> list[str]:
    return ["WebShop", "Instruction:", *_node(instruction), "Search"]


def results_page(instruction: str, page_num: int, total: int, products: Sequence[Product]) -> list[str]:
    segments = [*_header(instruction), f"Page {page_num} (Total results: {total})"]
    if page_num > 1:
        segments.append("< Prev")
    segments.append("Next >")
    for product in products:
        segments += [*_node(product.asin), *_node(product.title), *_node(product.price_tag)]
    return segments


def item_page(instruction: str, product: Product) -> list[str]:
    segments = [*_header(instruction), "< Prev"]
    for name, values in product.options.items():
        segments += _node(name)
        for value in values:
            segments += _node(value)
    segments += [*_node(product.title), f"Price: {product.price_tag}".strip(), "Rating: N.A."]
    segments += ["Description", "Features", "Reviews", "Buy Now"]
    return segments


def sub_page(instruction: str, page: Page, product: Product) -> list[str]:
    segments = [*_header(instruction), "< Prev"]
    if page is Page.DESCRIPTION:
        segments += _node(product.description)
    elif page is Page.FEATURES:
        for bullet in product.bullet_points:
            segments += _node(" " + bullet)
    return segments  # reviews are never loaded: the reviews page is the header only


def done_page(asin: str, options: Mapping[str, str], reward: float) -> list[str]:
    """The done page as the text env renders it (goal, attrs and the MTurk code are not passed: ``None``)."""
    return [
        "Thank you for shopping with us!", "Your code:", "None", "(Paste it in your MTurk interface.)",
        "Purchased", "asin", *_node(asin), "options", _html_safe_json(options), "attrs", "None",
        "category", "None", "query", "None", "product category", "None",
        "Target", "asin", "options", "attrs", "price upper", "instuction text", "category",
        "product category", "query", "Goal", "None", "Reward", "Your score (min 0.0, max 1.0)", str(reward),
        "Reward Details", "None",
    ]  # fmt: skip


def render(segments: Sequence[str]) -> str:
    return SEP.join(segments)


def results_clickables(page_num: int, products: Sequence[Product]) -> list[str]:
    buttons = [BACK_TO_SEARCH, *([PREV_PAGE] if page_num > 1 else []), NEXT_PAGE]
    return list(dict.fromkeys([*buttons, *(p.asin.lower() for p in products)]))


def item_clickables(product: Product) -> tuple[list[str], dict[str, str]]:
    """``(clickables, option value -> option name)`` of a product's item page."""
    keys: dict[str, None] = dict.fromkeys([BACK_TO_SEARCH, PREV_PAGE, *SUB_PAGES, BUY_NOW])
    value_to_name: dict[str, str] = {}
    for name, values in product.options.items():
        for value in values:
            keys[value] = None
            value_to_name[value] = name
    return list(keys), value_to_name


def clickables(page: Page) -> list[str]:
    """Clickables of the pages whose buttons do not depend on the product or the results."""
    if page is Page.SEARCH:
        return ["search"]
    if page in (Page.DESCRIPTION, Page.FEATURES, Page.REVIEWS):
        return [BACK_TO_SEARCH, PREV_PAGE]
    return []

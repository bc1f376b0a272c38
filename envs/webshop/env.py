"""The WebShop environment: product search and purchase with WebShop's text interface and reward.

Actions are ``search[<query>]`` and ``click[<clickable>]``, parsed like the original (the regex
``(.+)\\[(.+)\\]`` from the start of the string; the argument is lower-cased). ``search`` is accepted on every
page; ``click[x]`` only when ``x`` is one of the current page's clickables (``click[search]`` is refused).
Anything else changes nothing: the same observation comes back with reward 0 and
``info["invalid_action"] = True``. Buying ends the episode with the reward of
:func:`~agentsearch.envs.webshop.reward.get_reward`; ``info["won"]`` is ``reward == 1.0``.

``info`` adds to the common keys:

* ``valid_actions``: ``"search[<query>]"`` (a template: the query is free text) when the page has a search
  bar, then ``"click[x]"`` for every clickable ``x``;
* ``has_search_bar``, ``clickables``: the original ``get_available_actions()``;
* ``page``: the page type (search, results, item, description, features, reviews, done);
* ``reward_info`` (after a purchase): the reward's parts.

Data sources (see :class:`WebShopEnv`): the shipped generated catalog with synthetic goals (default), a larger
generated catalog, or the original WebShop files.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentsearch.envs.base import SPLITS, TextEnv, Transition, check_split
from agentsearch.envs.webshop import pages
from agentsearch.envs.webshop.catalog import Catalog, Product, load_catalog
from agentsearch.envs.webshop.goals import (
    Goal,
    human_goals,
    load_human_instructions,
    shuffle_goals,
    split_indices,
    synthetic_goals,
)
from agentsearch.envs.webshop.nouns import NounTagger
from agentsearch.envs.webshop.pages import Page, PageState
from agentsearch.envs.webshop.reward import RewardInfo, get_reward
from agentsearch.envs.webshop.search import SearchEngine
from agentsearch.errors import ConfigError, EnvError
from agentsearch.paths import data_dir

__all__ = ["WebShopEnv", "WebShopWorld", "load_world", "parse_action", "SEARCH_TEMPLATE", "DATA_ENV_VAR"]

logger = logging.getLogger(__name__)

#: The entry of ``valid_actions`` that stands for "search with any query".
SEARCH_TEMPLATE = "search[<query>]"
#: Environment variable naming a folder with the original WebShop data files.
DATA_ENV_VAR = "AGENTSEARCH_WEBSHOP_DATA"

SHIPPED_ITEMS = "items.jsonl.gz"
SHIPPED_ATTRS = "items_ins.json.gz"


def parse_action(action: str) -> tuple[str, str | None]:
    """``(name, argument)`` as the original's ``re.match(r'(.+)\\[(.+)\\]', action)``, in linear time.

    The regex matches within the first line (``.`` excludes newlines); greedy groups make the *last* ``[``
    that still leaves a non-empty argument open it, and the last ``]`` close it. Without a match the whole
    string is the name and the argument is ``None``.
    """
    line = action.split("\n", 1)[0]
    close = line.rfind("]")
    if close >= 3:
        open_ = line.rfind("[", 1, close - 1)
        if open_ >= 1:
            return line[:open_], line[open_ + 1 : close]
    return action, None


@dataclass(frozen=True, eq=False)
class WebShopWorld:
    """Everything the environment reads and never changes: catalog, goals, search engine, noun tagger.

    Loaded once per data source and shared by every environment on it (:func:`load_world`).
    """

    catalog: Catalog
    goals: tuple[Goal, ...]
    engine: SearchEngine
    nouns: NounTagger
    human_goals: bool
    _item_cache: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict, repr=False)

    def product(self, asin: str) -> Product:
        return self.catalog.by_asin[asin]

    def results(self, keywords: tuple[str, ...]) -> tuple[Product, ...]:
        """Search hits for the keywords, as the original joins them (single spaces)."""
        products = self.catalog.products
        return tuple(products[i] for i in self.engine.search(" ".join(keywords)))

    def item_clickables(self, asin: str) -> tuple[list[str], dict[str, str]]:
        """``(clickables, option value -> option name)`` of the item page of ``asin`` (cached)."""
        cached = self._item_cache.get(asin)
        if cached is None:
            cached = self._item_cache[asin] = pages.item_clickables(self.product(asin))
        return cached

    def score(self, goal: Goal, asin: str, options: dict[str, str]) -> RewardInfo:
        product = self.product(asin)
        return get_reward(
            product,
            goal,
            self.catalog.prices[asin],
            options,
            product_nouns=self.nouns(product.name),
            goal_nouns=self.nouns(goal.name),
        )


@functools.lru_cache(maxsize=8)
def load_world(
    items_path: str,
    attrs_path: str | None,
    human_ins_path: str | None,
    num_products: int | None = None,
    use_spacy: bool = True,
) -> WebShopWorld:
    """Load (once per argument tuple) a catalog, its goals and its search index.

    With ``human_ins_path`` the goals are the human instructions, else the synthetic ones.
    """
    catalog = load_catalog(items_path, attrs_path, num_products=num_products)
    if human_ins_path is not None:
        goals = human_goals(catalog, load_human_instructions(human_ins_path))
    else:
        goals = synthetic_goals(catalog)
    known = {p.name: p.title_nouns for p in catalog.products if p.title_nouns is not None}
    world = WebShopWorld(
        catalog=catalog,
        goals=tuple(shuffle_goals(goals)),
        engine=SearchEngine(catalog.products),
        nouns=NounTagger(known, use_spacy=use_spacy),
        human_goals=human_ins_path is not None,
    )
    logger.info("WebShop world: %d products, %d goals from %s", len(catalog), len(world.goals), items_path)
    return world


def _first_existing(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / n for n in names if (folder / n).exists()), None)


def resolve_sources(
    *,
    data_path: str | os.PathLike[str] | None,
    items_path: str | os.PathLike[str] | None,
    attrs_path: str | os.PathLike[str] | None,
    human_ins_path: str | os.PathLike[str] | None,
    human_goals: bool | None,
    generated_products: int | None,
) -> tuple[str, str | None, str | None]:
    """``(items, attributes, human instructions or None)`` from the constructor's arguments."""
    if generated_products is not None:
        from agentsearch.envs.webshop.generate import cached_catalog

        items, attrs = cached_catalog(generated_products)
        return str(items), str(attrs), None
    if items_path is None:
        folder_arg = data_path if data_path is not None else os.environ.get(DATA_ENV_VAR)
        if folder_arg:
            folder = Path(folder_arg)
            if not folder.is_dir():
                raise ConfigError(
                    f"WebShop data folder {folder} does not exist (from data_path or ${DATA_ENV_VAR})."
                )
            found = _first_existing(folder, ("items_shuffle.json", "items_shuffle_1000.json"))
            if found is None:
                raise ConfigError(f"{folder} holds no items_shuffle.json or items_shuffle_1000.json.")
            items_path = found
            attrs_path = attrs_path or _first_existing(
                folder, ("items_ins_v2.json", "items_ins_v2_1000.json")
            )
            human_ins_path = human_ins_path or _first_existing(folder, ("items_human_ins.json",))
        else:
            items_path = data_dir("webshop", SHIPPED_ITEMS)
            attrs_path = attrs_path or data_dir("webshop", SHIPPED_ATTRS)
    use_human = human_goals if human_goals is not None else human_ins_path is not None
    if use_human and human_ins_path is None:
        raise ConfigError("human_goals=True needs items_human_ins.json (human_ins_path or a data folder).")
    return (
        str(items_path),
        (str(attrs_path) if attrs_path else None),
        (str(human_ins_path) if use_human else None),
    )


class WebShopEnv(TextEnv):
    """WebShop (Yao et al., 2022) with the original's ``text`` observations, page logic and reward, offline.

    Task ids are goal indices as strings (``"0"``, ``"1"``, ...); splits follow the WebShop convention (test
    0-499, eval 500-1499, train 1500+).

    Args:
        max_steps: truncate after this many steps (default 15).
        split: the split ``reset()`` draws from when no ``task_id`` is given.
        render_mode: ``"ansi"`` or ``"human"``.
        data_path: a folder with the original files (``items_shuffle*.json``, ``items_ins_v2*.json``,
            ``items_human_ins.json``); defaults to ``$AGENTSEARCH_WEBSHOP_DATA``, else the shipped catalog.
        items_path, attrs_path, human_ins_path: the files themselves, overriding ``data_path``.
        human_goals: use human goals (default: when an ``items_human_ins.json`` is given) or synthetic ones.
        num_products: keep the first N products, as the original's ``num_products``.
        generated_products: use a generated catalog of this size (built once, cached under
            ``agentsearch.paths.cache_dir("webshop")``), e.g. 100_000 for scale benchmarks.
        use_spacy: tag title nouns with spaCy when a model is installed and the data carries no nouns.
    """

    default_max_steps = 15

    def __init__(
        self,
        *,
        max_steps: int | None = None,
        split: str = "train",
        render_mode: str | None = None,
        data_path: str | os.PathLike[str] | None = None,
        items_path: str | os.PathLike[str] | None = None,
        attrs_path: str | os.PathLike[str] | None = None,
        human_ins_path: str | os.PathLike[str] | None = None,
        human_goals: bool | None = None,
        num_products: int | None = None,
        generated_products: int | None = None,
        use_spacy: bool = True,
    ) -> None:
        super().__init__(max_steps=max_steps, split=split, render_mode=render_mode)
        sources = resolve_sources(
            data_path=data_path,
            items_path=items_path,
            attrs_path=attrs_path,
            human_ins_path=human_ins_path,
            human_goals=human_goals,
            generated_products=generated_products,
        )
        self.world = load_world(*sources, num_products, use_spacy)
        self._goal: Goal | None = None
        self._state = PageState()
        self._clickables: list[str] | None = None
        self._value_to_option: dict[str, str] = {}

    # ------------------------------------------------------------------ tasks
    def task_ids(self, split: str) -> list[str]:
        check_split(split)
        return [str(i) for i in split_indices(split, len(self.world.goals))]

    def _has_task(self, task_id: str) -> bool:
        return task_id.isdigit() and int(task_id) < len(self.world.goals) and str(int(task_id)) == task_id

    def split_of(self, task_id: str) -> str:
        """The split a task id belongs to."""
        return next(s for s in SPLITS if int(task_id) in split_indices(s, len(self.world.goals)))

    @property
    def goal(self) -> Goal:
        """The current goal (for oracles and analysis; agents see only the instruction)."""
        if self._goal is None:
            raise EnvError("Call reset() first.")
        return self._goal

    @property
    def state(self) -> PageState:
        return self._state

    def expert_plan(self) -> list[str] | None:
        """The instruction-query expert's actions (:func:`~agentsearch.envs.webshop.oracle.expert_actions`).

        Only from the search page of a fresh episode; ``None`` elsewhere or when its query misses the product.
        """
        from agentsearch.envs.webshop.oracle import expert_actions

        if self.step_count != 0:
            return None
        return expert_actions(self)

    # ------------------------------------------------------------------ TextEnv hooks
    def _reset_task(self, task_id: str) -> tuple[str, str, dict[str, Any]]:
        self._goal = self.world.goals[int(task_id)]
        self._set_page(PageState())
        return self._render(), self._goal.instruction_text, self._extras()

    def _step(self, action: str) -> Transition:
        name, arg = parse_action(action)
        if arg is not None:
            arg = arg.lower()
        if name == "search" and arg:
            self._set_page(PageState(Page.RESULTS, keywords=tuple(arg.split(" "))))
            return Transition(self._render(), extras=self._extras())
        if name == "click" and arg is not None and arg != "search" and arg in self._current_clickables():
            return self._click(arg)
        return Transition(self.observation, invalid_action=True, extras=self._extras())

    def _valid_actions(self) -> list[str]:
        search = [SEARCH_TEMPLATE] if self._state.page is Page.SEARCH else []
        return search + [f"click[{c}]" for c in self._current_clickables() if c != "search"]

    def _get_state(self) -> tuple[Goal | None, PageState]:
        return (self._goal, self._state)

    def _set_state(self, state: tuple[Goal | None, PageState]) -> None:
        self._goal, page_state = state
        self._set_page(page_state)

    # ------------------------------------------------------------------ page logic
    def _set_page(self, state: PageState) -> None:
        self._state = state
        self._clickables = None  # computed on demand: restore() stays O(1)

    def _click(self, arg: str) -> Transition:
        state = self._state
        if arg == pages.BUY_NOW:
            assert state.asin is not None
            info = self.world.score(self.goal, state.asin, state.options_dict())
            self._set_page(
                PageState(Page.DONE, state.keywords, state.page_num, state.asin, state.options, info.reward)
            )
            return Transition(
                self._render(),
                reward=info.reward,
                terminated=True,
                won=info.reward == 1.0,
                extras={**self._extras(), "reward_info": info.as_dict()},
            )
        if arg == pages.BACK_TO_SEARCH:
            new = PageState()
        elif arg == pages.NEXT_PAGE and state.page is Page.RESULTS:
            new = PageState(Page.RESULTS, state.keywords, state.page_num + 1)
        elif arg == pages.PREV_PAGE and state.page is Page.RESULTS:
            new = PageState(Page.RESULTS, state.keywords, state.page_num - 1)
        elif arg == pages.PREV_PAGE and state.page in (Page.DESCRIPTION, Page.FEATURES, Page.REVIEWS):
            new = PageState(Page.ITEM, state.keywords, state.page_num, state.asin, state.options)
        elif arg == pages.PREV_PAGE and state.page is Page.ITEM:
            new = PageState(Page.RESULTS, state.keywords, state.page_num)
        elif arg in pages.SUB_PAGES:
            new = PageState(pages.SUB_PAGES[arg], state.keywords, state.page_num, state.asin, state.options)
        elif state.page is Page.RESULTS:  # a product link
            new = PageState(Page.ITEM, state.keywords, state.page_num, arg.upper(), state.options)
        else:  # an option value on the item page
            new = state.with_option(self._value_to_option[arg], arg)
        self._set_page(new)
        return Transition(self._render(), extras=self._extras())

    def _current_clickables(self) -> list[str]:
        if self._clickables is None:
            state = self._state
            self._value_to_option = {}
            if state.page is Page.RESULTS:
                self._clickables = pages.results_clickables(state.page_num, self._page_products())
            elif state.page is Page.ITEM:
                assert state.asin is not None
                self._clickables, self._value_to_option = self.world.item_clickables(state.asin)
            else:
                self._clickables = pages.clickables(state.page)
        return self._clickables

    def _page_products(self) -> tuple[Product, ...]:
        state = self._state
        start = (state.page_num - 1) * pages.PRODUCT_WINDOW
        return self.world.results(state.keywords)[start : start + pages.PRODUCT_WINDOW]

    def _render(self) -> str:
        state = self._state
        instruction = self.goal.instruction_text
        if state.page is Page.SEARCH:
            segments = pages.search_page(instruction)
        elif state.page is Page.RESULTS:
            total = len(self.world.results(state.keywords))
            segments = pages.results_page(instruction, state.page_num, total, self._page_products())
        elif state.page is Page.ITEM:
            assert state.asin is not None
            segments = pages.item_page(instruction, self.world.product(state.asin))
        elif state.page is Page.DONE:
            assert state.asin is not None and state.reward is not None
            segments = pages.done_page(state.asin, state.options_dict(), state.reward)
        else:
            assert state.asin is not None
            segments = pages.sub_page(instruction, state.page, self.world.product(state.asin))
        return pages.render(segments)

    def _extras(self) -> dict[str, Any]:
        return {
            "page": self._state.page.value,
            "has_search_bar": self._state.page is Page.SEARCH,
            "clickables": list(self._current_clickables()),
        }

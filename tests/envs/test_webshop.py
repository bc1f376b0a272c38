"""WebShop environment: pages verbatim, state machine, original data files, splits, oracle."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from webshop_fixtures import write_original_files

from agentsearch.envs.webshop import WebShopEnv, parse_action
from agentsearch.envs.webshop.catalog import load_catalog, normalize_product
from agentsearch.envs.webshop.goals import shuffle_goals
from agentsearch.envs.webshop.oracle import oracle_actions, run_oracle
from agentsearch.envs.webshop.search import SEARCH_RETURN_N
from agentsearch.errors import DataFileError, EnvError

INSTRUCTION = (
    "Find me sulfate free shampoo with tea tree with scent: mint, and size: 16 fl oz | pack of 2, "
    "and price lower than 40.00 dollars"
)
HEADER = f"Instruction: [SEP] {INSTRUCTION} [SEP] Back to Search"
ITEM_1 = (
    f"{HEADER} [SEP] < Prev [SEP] size [SEP] 8 fl oz [SEP] 16 fl oz | pack of 2 [SEP] scent [SEP] lavender "
    "[SEP] mint [SEP] Acme Tea Tree Shampoo [SEP] Price: $12.99 [SEP] Rating: N.A. [SEP] Description [SEP] "
    "Features [SEP] Reviews [SEP] Buy Now"
)


@pytest.fixture(scope="module")
def original_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_original_files(tmp_path_factory.mktemp("webshop_original"))


@pytest.fixture
def tiny(original_folder: Path) -> WebShopEnv:
    """The tiny original-schema data set with synthetic goals; task 0 is INSTRUCTION."""
    env = WebShopEnv(data_path=original_folder, human_goals=False)
    env.reset(options={"task_id": "0"})
    return env


@pytest.fixture(scope="module")
def shipped() -> WebShopEnv:
    return WebShopEnv(split="test")


def step_ok(env: WebShopEnv, action: str) -> str:
    observation, _, _, _, info = env.step(action)
    assert not info["invalid_action"], action
    return observation


# ---------------------------------------------------------------------------- pages, verbatim
def test_search_page_text_and_actions(tiny: WebShopEnv) -> None:
    assert tiny.observation == f"WebShop [SEP] Instruction: [SEP] {INSTRUCTION} [SEP] Search"
    info = tiny.info
    assert info["has_search_bar"] is True
    assert info["clickables"] == ["search"]
    assert info["valid_actions"] == ["search[<query>]"]


def test_results_page_text_and_clickables(tiny: WebShopEnv) -> None:
    observation = step_ok(tiny, "search[Shampoo]")
    assert observation == (
        f"{HEADER} [SEP] Page 1 (Total results: 2) [SEP] Next > [SEP] B000000002 [SEP] "
        "Bolt Shampoo for Dry Hair [SEP] $5.0 to $9.5 [SEP] B000000001 [SEP] Acme Tea Tree Shampoo [SEP] "
        "$12.99"
    )
    assert tiny.info["clickables"] == ["back to search", "next >", "b000000002", "b000000001"]
    assert tiny.info["has_search_bar"] is False
    # "Next >" is shown even past the last hit; "< Prev" only from page 2 on.
    observation = step_ok(tiny, "click[next >]")
    assert observation == f"{HEADER} [SEP] Page 2 (Total results: 2) [SEP] < Prev [SEP] Next >"
    assert tiny.info["clickables"] == ["back to search", "< prev", "next >"]
    assert tiny.info["valid_actions"] == ["click[back to search]", "click[< prev]", "click[next >]"]


def test_item_page_options_and_sub_pages(tiny: WebShopEnv) -> None:
    step_ok(tiny, "search[shampoo]")
    assert step_ok(tiny, "click[B000000001]") == ITEM_1  # arguments are lower-cased before matching
    assert tiny.info["clickables"] == [
        "back to search", "< prev", "description", "features", "reviews", "buy now",
        "8 fl oz", "16 fl oz | pack of 2", "lavender", "mint",
    ]  # fmt: skip
    assert step_ok(tiny, "click[Lavender]") == ITEM_1  # selected options are not marked in text mode
    assert tiny.state.options == (("scent", "lavender"),)
    assert (
        step_ok(tiny, "click[description]")
        == f"{HEADER} [SEP] < Prev [SEP] A gentle shampoo with tea tree oil."
    )
    assert step_ok(tiny, "click[< prev]") == ITEM_1
    assert (
        step_ok(tiny, "click[features]")
        == f"{HEADER} [SEP] < Prev [SEP] Sulfate free formula [SEP] Made in USA"
    )
    step_ok(tiny, "click[< prev]")
    assert step_ok(tiny, "click[reviews]") == f"{HEADER} [SEP] < Prev"
    step_ok(tiny, "click[< prev]")
    assert tiny.state.options == (("scent", "lavender"),)  # kept across sub-pages
    # "< Prev" on the item page returns to the same results page with options cleared.
    assert step_ok(tiny, "click[< prev]").startswith(f"{HEADER} [SEP] Page 1 (Total results: 2)")
    assert tiny.state.options == ()


def test_features_page_keeps_empty_bullet_as_empty_segment(tiny: WebShopEnv) -> None:
    step_ok(tiny, "search[wool socks]")
    step_ok(tiny, "click[b000000003]")
    assert step_ok(tiny, "click[features]") == f"{HEADER} [SEP] < Prev [SEP] Wool blend [SEP] "


def test_done_page_text_reward_and_info(tiny: WebShopEnv) -> None:
    for action in ["search[shampoo]", "click[b000000001]", "click[lavender]", "click[16 fl oz | pack of 2]"]:
        step_ok(tiny, action)
    observation, reward, terminated, truncated, info = tiny.step("click[buy now]")
    # Goal: 2 attributes + 2 options + price; lavender misses "mint": (2 + 1 + 1) / 5.
    assert reward == pytest.approx(0.8)
    assert (terminated, truncated, info["won"]) == (True, False, False)
    assert observation == (
        "Thank you for shopping with us! [SEP] Your code: [SEP] None [SEP] "
        "(Paste it in your MTurk interface.) [SEP] Purchased [SEP] asin [SEP] B000000001 [SEP] options [SEP] "
        '{"scent": "lavender", "size": "16 fl oz | pack of 2"} [SEP] attrs [SEP] None [SEP] category [SEP] '
        "None [SEP] query [SEP] None [SEP] product category [SEP] None [SEP] Target [SEP] asin [SEP] options "
        "[SEP] attrs [SEP] price upper [SEP] instuction text [SEP] category [SEP] product category [SEP] "
        "query [SEP] Goal [SEP] None [SEP] Reward [SEP] Your score (min 0.0, max 1.0) [SEP] 0.8 [SEP] "
        "Reward Details [SEP] None"
    )
    assert info["reward_info"]["r_option"] == 0.5
    assert info["valid_actions"] == [] and info["page"] == "done"
    # After the purchase nothing changes the episode.
    _, reward, terminated, _, info = tiny.step("search[anything]")
    assert (reward, terminated, info["invalid_action"]) == (0.0, True, True)


def test_back_to_search_and_search_from_any_page(tiny: WebShopEnv) -> None:
    step_ok(tiny, "search[shampoo]")
    step_ok(tiny, "click[b000000001]")
    step_ok(tiny, "click[mint]")
    assert step_ok(tiny, "search[socks]").startswith(f"{HEADER} [SEP] Page 1 (Total results: 1)")
    assert tiny.state.options == () and tiny.state.asin is None
    assert (
        step_ok(tiny, "click[back to search]")
        == f"WebShop [SEP] Instruction: [SEP] {INSTRUCTION} [SEP] Search"
    )


@pytest.mark.parametrize(
    "action",
    [
        "click[search]",  # explicitly refused
        "click[buy now]",  # not on the search page
        "click[< prev]",
        "search[]",
        "search",
        "",
        "  search[shampoo]",  # the name must be exactly "search"
        "search[a[b]]",  # greedy parsing: the name becomes "search[a"
        "think[I should search]",
    ],
)
def test_invalid_actions_are_silent_no_ops(tiny: WebShopEnv, action: str) -> None:
    before = tiny.observation
    observation, reward, terminated, truncated, info = tiny.step(action)
    assert (observation, reward, terminated, truncated) == (before, 0.0, False, False)
    assert info["invalid_action"] is True
    assert info["step"] == 1


def test_option_of_another_product_and_unknown_asin_are_invalid(tiny: WebShopEnv) -> None:
    step_ok(tiny, "search[shampoo]")
    assert tiny.step("click[b999999999]")[4]["invalid_action"]
    step_ok(tiny, "click[b000000002]")  # has no options
    assert tiny.step("click[lavender]")[4]["invalid_action"]
    assert tiny.step("click[grey | black]")[4]["invalid_action"]


def test_search_with_blank_query_shows_no_results(tiny: WebShopEnv) -> None:
    observation = step_ok(tiny, "search[ ]")
    assert observation == f"{HEADER} [SEP] Page 1 (Total results: 0) [SEP] Next >"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("search[red shoes]", ("search", "red shoes")),
        ("click[< Prev]", ("click", "< Prev")),
        ("search[a[b]]", ("search[a", "b]")),
        ("click[x]]", ("click", "x]")),
        ("click[]", ("click[]", None)),
        ("[x]", ("[x]", None)),
        ("search[x]\nclick[y]", ("search", "x")),
        ("no brackets", ("no brackets", None)),
        ("a[b]c", ("a", "b")),
    ],
)
def test_parse_action_matches_the_original_regex(action: str, expected: tuple[str, str | None]) -> None:
    assert parse_action(action) == expected


def test_parse_action_is_linear_on_pathological_input() -> None:
    # The original regex backtracks quadratically here; the parser must not.
    assert parse_action("[" * 200_000) == ("[" * 200_000, None)


# ---------------------------------------------------------------------------- data, goals, splits
def test_original_files_are_normalised_like_load_products(original_folder: Path) -> None:
    catalog = load_catalog(
        original_folder / "items_shuffle_1000.json", original_folder / "items_ins_v2_1000.json"
    )
    assert [p.asin for p in catalog.products] == [
        "B000000001",
        "B000000002",
        "B000000003",
    ]  # 'nan', duplicate
    shampoo, bolt, socks = catalog.products
    assert shampoo.options == {"size": ("8 fl oz", "16 fl oz | pack of 2"), "scent": ("lavender", "mint")}
    assert shampoo.query == "shampoo" and shampoo.attributes == ("tea tree", "sulfate free")
    assert bolt.bullet_points == ("Hydrates dry hair",) and bolt.price_tag == "$5.0 to $9.5"
    assert 5.0 <= catalog.prices["B000000002"] <= 9.5
    assert socks.price_tag == "$100.0" and socks.attributes == ("DUMMY_ATTR",)
    assert socks.options == {"color": ("grey | black",)}


def test_range_price_is_the_same_in_every_load(original_folder: Path) -> None:
    first = load_catalog(original_folder / "items_shuffle_1000.json")
    second = load_catalog(original_folder / "items_shuffle_1000.json")
    assert first.prices["B000000002"] == second.prices["B000000002"]


def test_human_goals_from_original_files(original_folder: Path) -> None:
    env = WebShopEnv(data_path=original_folder)  # human goals by default when items_human_ins.json is there
    assert env.world.human_goals
    texts = sorted(goal.instruction_text for goal in env.world.goals)
    # One goal per instruction with attributes; '.' stripped; seeded price clause.
    assert len(texts) == 2
    assert texts[1].startswith("i want a tea tree shampoo that smells of lavender, and price lower than ")
    goal = next(g for g in env.world.goals if g.asin == "B000000001")
    assert goal.goal_options == ("lavender",) and goal.attributes == ("tea tree",)
    index = env.world.goals.index(goal)
    env.reset(options={"task_id": str(index)})
    for action in oracle_actions(env):
        _, reward, terminated, _, info = env.step(action)
    assert terminated and reward == 1.0 and info["won"]


def test_env_var_points_at_original_data(original_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSEARCH_WEBSHOP_DATA", str(original_folder))
    env = WebShopEnv(human_goals=False)
    assert len(env.world.catalog) == 3 and len(env.world.goals) == 4


def test_shuffle_is_the_original_seeded_permutation() -> None:
    import random

    items = list(range(100))
    expected = list(items)
    random.seed(233)
    random.shuffle(expected)
    assert shuffle_goals(items) == expected  # type: ignore[arg-type]


def test_splits_follow_the_webshop_convention(shipped: WebShopEnv) -> None:
    n = len(shipped.world.goals)
    assert n >= 1500 + 1000
    assert shipped.task_ids("test") == [str(i) for i in range(500)]
    assert shipped.task_ids("eval") == [str(i) for i in range(500, 1500)]
    assert shipped.task_ids("train") == [str(i) for i in range(1500, n)]
    assert shipped.split_of("499") == "test" and shipped.split_of("1500") == "train"
    with pytest.raises(EnvError):
        shipped.reset(options={"task_id": str(n)})
    with pytest.raises(EnvError):
        shipped.reset(options={"task_id": "01"})


def test_reset_without_task_draws_from_the_split_with_seed(shipped: WebShopEnv) -> None:
    _, first = shipped.reset(seed=7)
    _, second = shipped.reset(seed=7)
    assert first["task_id"] == second["task_id"]
    assert int(first["task_id"]) < 500


# ---------------------------------------------------------------------------- malformed files
def test_malformed_product_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "items_shuffle.json"
    good = {"asin": "B1", "name": "x", "category": "c", "query": "q", "product_category": "a › b"}
    bad = {**good, "asin": "B2", "pricing": 12.5}
    path.write_text("[\n" + json.dumps(good) + ",\n" + json.dumps(bad) + "\n]\n")
    with pytest.raises(DataFileError) as err:
        load_catalog(path)
    assert err.value.path == str(path) and err.value.line == 3
    assert "pricing" in str(err.value) and f"{path}:3" in str(err.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            '[\n{"asin": "B1", "name": "x", "category": "c", "query": "q", "product_category": "p"},\n'
            '{"asin": }\n]',
            3,
        ),
        (
            '[\n{"asin": "B1", "name": "x", "category": "c", "query": "q", "product_category": "p"}\n',
            3,
        ),  # truncated
        ('[\n"not an object"\n]', 2),
        ('{"a": 1}', None),
    ],
)
def test_malformed_json_names_the_line(tmp_path: Path, text: str, line: int | None) -> None:
    path = tmp_path / "items.json"
    path.write_text(text)
    with pytest.raises(DataFileError) as err:
        load_catalog(path)
    if line is not None:
        assert err.value.line == line
    assert str(path) in str(err.value)


def test_malformed_jsonl_gz_and_goal_files_name_file_and_line(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl.gz"
    with gzip.open(items, "wt") as f:
        f.write(
            '{"asin": "B1", "name": "x", "category": "c", "query": "q", "product_category": "p"}\n{oops\n'
        )
    with pytest.raises(DataFileError, match=r"items.jsonl.gz:2"):
        load_catalog(items)
    attrs = tmp_path / "items_ins_v2.json"
    attrs.write_text('{\n"B1": {"attributes": ["a"]},\n"B2": {"attributes": "not a list"}\n}')
    with pytest.raises(DataFileError, match=r"items_ins_v2.json:3"):
        load_catalog(tmp_path / "missing.json", attrs)
    human = tmp_path / "items_human_ins.json"
    human.write_text(
        '{\n"B1": [{"instruction": "ok", "instruction_attributes": ["a"]}],\n"B2": [{"oops": 1}]\n}'
    )
    from agentsearch.envs.webshop.goals import load_human_instructions

    with pytest.raises(DataFileError, match=r"items_human_ins.json:3"):
        load_human_instructions(human)
    with pytest.raises(DataFileError, match="file not found"):
        load_catalog(tmp_path / "missing.json")


def test_normalize_product_rejects_wrong_types() -> None:
    with pytest.raises(ValueError, match="customization_options"):
        normalize_product(
            {"asin": "B1", "name": "x", "category": "c", "query": "q", "product_category": "p",
             "customization_options": ["red"]}
        )  # fmt: skip


# ---------------------------------------------------------------------------- search and oracle
def test_search_returns_at_most_50_and_pages_of_10(shipped: WebShopEnv) -> None:
    shipped.reset(options={"task_id": "0"})
    step_ok(shipped, "search[hair]")
    hits = shipped.world.results(("hair",))
    assert len(hits) == SEARCH_RETURN_N
    assert "(Total results: 50)" in shipped.observation
    assert len([c for c in shipped.info["clickables"] if c.startswith("b0")]) == 10
    for _ in range(4):
        step_ok(shipped, "click[next >]")
    assert "Page 5 (Total results: 50)" in shipped.observation
    assert [c.upper() for c in shipped.info["clickables"][3:]] == [p.asin for p in hits[40:50]]


def test_oracle_wins_every_test_goal(shipped: WebShopEnv) -> None:
    failures = []
    for task_id in shipped.task_ids("test"):
        result = run_oracle(shipped, task_id)
        if result.reward != 1.0 or not result.won:
            failures.append((task_id, result))
    assert failures == []


def test_pages_match_the_published_eto_trajectory() -> None:
    """Pages of the WebShop in-context example that ETO publishes (eval_agent/prompt/icl_examples)."""
    from agentsearch.envs.webshop import pages

    instruction = (
        "i need a long lasting 6.76 fl oz bottle of l'eau d'issey, and price lower than 100.00 dollars"
    )
    product = normalize_product(
        {
            "asin": "B000VOHH8I",
            "name": "L'eau D'issey By Issey Miyake for MenEau De Toilette Spray, 6.7 Fl Oz Bottle",
            "category": "beauty",
            "query": "men's fragrance",
            "product_category": "Beauty & Personal Care › Fragrance › Men's › Eau de Toilette",
            "pricing": "$64.98",
            "customization_options": {"Size": [{"value": "2.5 Fl Oz"}, {"value": "6.76 Fl Oz (Pack of 1)"}]},
        }
    )
    assert pages.render(pages.search_page(instruction)) == (
        f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"
    )
    title = "L'eau D'issey By Issey Miyake for MenEau De Toilette Spray, 6.7 Fl Oz Bottle"
    header = f"Instruction: [SEP] {instruction} [SEP] Back to Search"
    assert pages.render(pages.item_page(instruction, product)) == (
        f"{header} [SEP] < Prev [SEP] size [SEP] 2.5 fl oz [SEP] 6.76 fl oz (pack of 1) [SEP] {title} "
        "[SEP] Price: $64.98 [SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now"
    )
    results = pages.render(pages.results_page(instruction, 1, 50, [product]))
    page_line = "Page 1 (Total results: 50) [SEP] Next >"
    assert results == f"{header} [SEP] {page_line} [SEP] B000VOHH8I [SEP] {title} [SEP] $64.98"
